// `libreta-server conflicts`: the conflict inbox, the concurrent edits the merge decided,
// for a manager to review.

#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "libreta/protocol/value_json.hpp"
#include "text_table.hpp"

namespace libreta::server::app {

namespace {

nlohmann::json side_json(const Value& value, const Version& version, const std::string& user) {
  return {{"value", value_to_json(value)},
          {"user", user},
          {"device", version.replica},
          {"time", format_time(version.hlc.millis())},
          {"version", version.to_string()}};
}

// A value as JSON text; bytes that are not UTF-8 are replaced rather than failing the listing.
std::string printable(const Value& value) {
  return value_to_json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string who(const Version& version, const std::string& user) {
  return (user.empty() ? "?" : user) + " / " + (version.replica.empty() ? "?" : version.replica);
}

}  // namespace

int run_conflicts(const std::string& db, bool json, std::size_t limit) {
  return guarded([&] {
    auto store = open_store(db, /*create=*/false);
    const auto conflicts = store->conflicts(limit);
    if (json) {
      auto array = nlohmann::json::array();
      for (const auto& conflict : conflicts) {
        array.push_back(
            {{"id", conflict.id},
             {"table", conflict.table},
             {"row", conflict.row},
             {"field", conflict.field},
             {"kind", conflict.kind},
             {"detected_ms", conflict.detected_ms},
             {"kept", side_json(conflict.kept_value, conflict.kept_version, conflict.kept_user)},
             {"lost", side_json(conflict.lost_value, conflict.lost_version, conflict.lost_user)}});
      }
      std::cout << array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
      return kExitOk;
    }
    if (conflicts.empty()) {
      std::cout << "no conflicts" << std::endl;
      return kExitOk;
    }
    TextTable table({"ID", "TABLE", "ROW", "FIELD", "KIND", "KEPT", "KEPT BY (USER / DEVICE)",
                     "KEPT AT", "LOST", "LOST BY (USER / DEVICE)", "LOST AT"});
    for (const auto& c : conflicts) {
      table.add_row({std::to_string(c.id), c.table, c.row, c.field, c.kind, printable(c.kept_value),
                     who(c.kept_version, c.kept_user), format_time(c.kept_version.hlc.millis()),
                     printable(c.lost_value), who(c.lost_version, c.lost_user),
                     format_time(c.lost_version.hlc.millis())});
    }
    table.print(std::cout);
    return kExitOk;
  });
}

}  // namespace libreta::server::app
