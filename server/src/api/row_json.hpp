// The REST API's JSON of a row, and the changes a request's JSON body makes: one change per
// field (one per tag added or removed for a tag set), each based on the version of the field
// the row has now, so that a field changed since counts as a conflict. Pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "libreta/protocol/change.hpp"
#include "libreta/protocol/error.hpp"
#include "libreta/protocol/schema.hpp"
#include "libreta/server/store.hpp"

namespace libreta::server::api {

// {"id": ..., "field": value, ...}: every field of the table's schema the row has a value
// for (tags as an array), in the schema's order; nothing of a deleted flag.
nlohmann::json row_json(const TableSpec& table, const ServerRow& row);

// The changes that give the row `id` (`row` null: a new row) the values of `body`, a JSON
// object of field names to values (null clears a field; a tag set takes the whole array).
// `now` is the time written into the table's automatic fields (created_at on a new row,
// updated_at on every write that changes something). Errors: a body that is not an object,
// an unknown or unwritable field, a value the field does not take. No changes: nothing to do.
Result<std::vector<Change>> changes_for(const TableSpec& table, const std::string& id,
                                        const ServerRow* row, const nlohmann::json& body,
                                        const std::string& now);

}  // namespace libreta::server::api
