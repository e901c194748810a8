// The REST API's feed of committed changes, for integrations that mirror the book: rows in
// the order the server committed them, each with its state and the fields changed after the
// cursor, read from one snapshot per page (the same pages devices pull); and the devices.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "problem.hpp"
#include "rest_api_impl.hpp"
#include "row_json.hpp"

namespace libreta::server {

web::Response RestApi::Impl::changes(const ApiCaller& caller, const web::Request& request) {
  const web::Params params = web::Params::parse(request.query);
  const auto limit = page_limit(params);
  if (!limit) {
    return api::problem(422, "invalid_value",
                        "limit takes a number from 1 to " + std::to_string(options.max_page));
  }
  std::uint64_t since = 0;
  if (auto text = params.get("since")) {
    const auto parsed = parse_count(*text);
    if (!parsed) return api::problem(422, "invalid_value", "since takes a cursor of this feed");
    since = *parsed;
  }
  for (const auto& [name, text] : params.items()) {
    if (name != "since" && name != "limit") {
      return api::problem(422, "unknown_field", "'" + name + "' is not a parameter of the feed");
    }
  }
  const std::string* seller = caller.sees_everything() ? nullptr : &caller.user;
  const RowsPage page = store.read_page(since, *limit, seller);
  nlohmann::json items = nlohmann::json::array();
  for (const auto& row : page.rows) {
    const TableSpec* table = schema.table(row.table);
    if (!table) continue;
    std::set<std::string> changed;
    for (const auto& [key, seq] : row.key_seqs) {
      // A seller who did not have the row before gets all of it, as a device would.
      if (seq > since || (seller && row.scope_seq > since))
        changed.insert(key.substr(0, key.find_first_of("+-")));
    }
    items.push_back({{"table", row.table},
                     {"id", row.id},
                     {"seq", row.seq},
                     {"deleted", is_deleted(row)},
                     {"changed", changed},
                     {"row", api::row_json(*table, row)}});
  }
  for (const auto& eviction : page.evictions) {
    items.push_back({{"table", eviction.table},
                     {"id", eviction.row},
                     {"seq", eviction.seq},
                     {"left_scope", true}});
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const nlohmann::json& a, const nlohmann::json& b) {
                     return a["seq"].get<std::uint64_t>() < b["seq"].get<std::uint64_t>();
                   });
  nlohmann::json body{
      {"items", items}, {"next_cursor", std::to_string(page.end)}, {"more", page.more}};
  return web::Response::json(body.dump());
}

web::Response RestApi::Impl::devices(const ApiCaller& caller, const web::Request& request) {
  if (!caller.sees_everything()) {
    return api::problem(403, "forbidden", "the devices are the office's to see");
  }
  const web::Params params = web::Params::parse(request.query);
  const auto limit = page_limit(params);
  if (!limit) {
    return api::problem(422, "invalid_value",
                        "limit takes a number from 1 to " + std::to_string(options.max_page));
  }
  nlohmann::json items = nlohmann::json::array();
  const auto connected = service->connected_replicas();
  for (const auto& device : store.devices(*limit)) {
    items.push_back({{"device", device.replica},
                     {"user", device.record.user},
                     {"connected", connected.count(device.replica) > 0},
                     {"acknowledged_seq", device.record.acked},
                     {"sent_seq", device.record.sent_seq},
                     {"last_seen", date_time_from_millis(device.updated_ms)}});
  }
  return web::Response::json(nlohmann::json{{"items", items}}.dump());
}

}  // namespace libreta::server
