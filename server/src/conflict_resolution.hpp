// What resolving a conflict of the inbox writes, whoever resolves it (the office's pages, the
// REST API): `keep` writes nothing; `take_lost` writes the losing value over the field as it
// is now; `restore` brings back a row deleted while someone edited it, with that edit. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libreta/protocol/change.hpp"
#include "libreta/server/direct_write.hpp"
#include "libreta/server/store.hpp"

namespace libreta::server {

struct ResolutionPlan {
  ConflictResolution resolution;  // "kept", "took_lost" or "restored"
  std::vector<Change> changes;    // based on the row's versions now
};

// The plan for `action` on the conflict, whose row is `row`; nothing when the action does
// not apply to that kind of conflict (take_lost a deletion, restore a concurrent edit).
std::optional<ResolutionPlan> plan_resolution(const ConflictRecord& conflict, const ServerRow& row,
                                              std::string_view action);

}  // namespace libreta::server
