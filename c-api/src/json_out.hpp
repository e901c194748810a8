// The JSON the C API returns: records, query results, conflicts, refusals, field versions
// and the events of the sync session, in the shapes docs/c-api.md documents. Pure
// functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "libreta/client/queries.hpp"
#include "libreta/client/sync_types.hpp"
#include "libreta/libreta.h"
#include "libreta/protocol/row_state.hpp"
#include "replica_handle.hpp"

namespace libreta::capi {

// Compact text; invalid UTF-8 in a value comes out as U+FFFD rather than failing.
std::string to_text(const nlohmann::json& json);

// {"id": id, field: value...}: the fields present.
nlohmann::json record_json(std::string_view id, const Record& fields);
template <class Entity>
nlohmann::json entity_json(const Entity& entity) {
  return record_json(entity.id, to_record(entity));
}
template <class Entity>
nlohmann::json entities_json(const std::vector<Entity>& entities) {
  auto array = nlohmann::json::array();
  for (const auto& entity : entities) array.push_back(entity_json(entity));
  return array;
}

nlohmann::json hits_json(const std::vector<client::SearchHit>& hits);
nlohmann::json due_json(const std::vector<client::DueFollowUp>& due);
nlohmann::json upcoming_json(const std::vector<client::UpcomingDate>& dates);
nlohmann::json quiet_json(const std::vector<client::QuietCustomer>& customers);
nlohmann::json lost_deals_json(const std::vector<client::LostDeal>& deals);
nlohmann::json behaviour_json(const client::Behaviour& behaviour);
nlohmann::json rfm_json(const client::RfmReport& report);
nlohmann::json conflicts_json(const std::vector<ConflictNotice>& conflicts);
nlohmann::json refusals_json(const std::vector<RefusedChange>& refusals);
// Field name to who last wrote it and when (libreta_field_versions).
nlohmann::json field_versions_json(const RowState& row);
nlohmann::json changes_json(const ChangesEvent& changes);

// The C form of a session's status.
libreta_sync_status status_of(const client::SyncStatus& status);

}  // namespace libreta::capi
