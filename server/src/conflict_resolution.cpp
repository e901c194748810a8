#include "conflict_resolution.hpp"

namespace libreta::server {

std::optional<ResolutionPlan> plan_resolution(const ConflictRecord& conflict, const ServerRow& row,
                                              std::string_view action) {
  ResolutionPlan plan;
  plan.resolution.id = conflict.id;
  const auto set_lost_value = [&] {
    plan.changes.push_back(Change{conflict.table,
                                  conflict.row,
                                  conflict.field,
                                  {},
                                  conflict.lost_value,
                                  Version{},
                                  row.versions.field(conflict.field)});
  };
  if (action == "keep") {
    plan.resolution.resolution = "kept";
  } else if (action == "take_lost" && conflict.kind == "concurrent_edit") {
    plan.resolution.resolution = "took_lost";
    set_lost_value();
  } else if (action == "restore" && conflict.kind == "edit_of_deleted") {
    plan.resolution.resolution = "restored";
    plan.changes.push_back(Change{conflict.table,
                                  conflict.row,
                                  kDeletedField,
                                  {},
                                  Value(false),
                                  Version{},
                                  row.versions.field(kDeletedField)});
    set_lost_value();
  } else {
    return std::nullopt;
  }
  return plan;
}

}  // namespace libreta::server
