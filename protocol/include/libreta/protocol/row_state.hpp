// A row as it travels from server to client: some or all of its fields with their versions
// (the tag-set and delete state included). A page of a pull, or a live update, is a list of
// row states. Converting one to change records lets the client merge it with the same rule
// as any change. Plain data.
#pragma once

#include <string>
#include <vector>

#include "libreta/protocol/change.hpp"
#include "libreta/protocol/error.hpp"
#include "libreta/protocol/row_versions.hpp"
#include "libreta/protocol/value.hpp"

#include <nlohmann/json_fwd.hpp>

namespace libreta {

struct RowState {
  std::string table;
  std::string id;
  // Field values by name, for the fields (and "deleted") that this state carries; tag sets
  // as their present tags. A field in `versions` but not here is null.
  Record fields;
  // The versions of exactly the carried keys: fields, "field+tag", "field-tag".
  RowVersions versions;

  friend bool operator==(const RowState&, const RowState&) = default;
};

// The change records equivalent to a row state, for merging.
std::vector<Change> to_changes(const RowState& row);

// {"t":table,"r":id,"v":{field:value,...},"ver":{version:[keys...],...}}
nlohmann::json row_state_to_json(const RowState& row);
// The same, as compact text.
std::string encode_row_state(const RowState& row);
Result<RowState> row_state_from_json(const nlohmann::json& json);

}  // namespace libreta
