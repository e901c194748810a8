// The office's view of the devices (each one's seller, whether it is connected now, when it
// was last seen, how far its changes are stored), and reassignment: every customer of a
// seller, or of one of their territories, given to another seller, as ordinary changes of
// the owner that the sync carries to both sellers' devices.
#include "libreta/server/direct_write.hpp"
#include "office_impl.hpp"

namespace libreta::server {

namespace {

using office::h;
using office::Text;

// Owner changes written together: one write, one group commit.
constexpr std::size_t kReassignBatch = 500;

std::string text_input(const std::string& id, const std::string& label, const std::string& value,
                       bool required) {
  return "<div><label for=\"" + id + "\">" + h(label) + "</label><input id=\"" + id + "\" name=\"" +
         id + "\" value=\"" + h(value) + "\"" + (required ? " required" : "") +
         " list=\"sellers\"></div>";
}

}  // namespace

web::Response OfficePages::Impl::devices(const office::Visit& v) {
  const auto connected = service->connected_replicas();
  const auto all = store.devices(500);
  std::string content = "<h1>" + h(v.t(Text::devices_title)) + "</h1>";
  if (all.empty()) {
    content += "<p class=\"card\">" + h(v.t(Text::devices_none)) + "</p>";
    return office::page(v, v.t(Text::devices), content);
  }
  content += "<div class=\"table-wrap\"><table class=\"book devices\"><thead><tr>";
  for (Text column : {Text::device, Text::seller, Text::device_connected, Text::device_last_seen,
                      Text::device_acked})
    content += "<th scope=\"col\">" + h(v.t(column)) + "</th>";
  content += "</tr></thead><tbody>";
  for (const auto& device : all) {
    const bool server_side = is_reserved_replica_id(device.replica);
    const bool online = connected.count(device.replica) > 0;
    content += "<tr><td>" + h(device.replica) +
               (server_side ? " <small>(" + h(v.t(Text::device_server)) + ")</small>" : "") +
               "</td><td data-label=\"" + h(v.t(Text::seller)) + "\">" + h(device.record.user) +
               "</td><td data-label=\"" + h(v.t(Text::device_connected)) + "\">" +
               h(v.t(online ? Text::yes : Text::no)) + "</td><td data-label=\"" +
               h(v.t(Text::device_last_seen)) + "\">" + h(office::shown_time(device.updated_ms)) +
               "</td><td data-label=\"" + h(v.t(Text::device_acked)) + "\">" +
               std::to_string(device.record.acked) + "</td></tr>";
  }
  content += "</tbody></table></div>";
  return office::page(v, v.t(Text::devices), content);
}

web::Response OfficePages::Impl::reassign_page(const office::Visit& v, std::string notice,
                                               int status) {
  std::string content = "<h1>" + h(v.t(Text::reassign_title)) + "</h1>" + notice +
                        "<section class=\"card\"><p>" + h(v.t(Text::reassign_help)) + "</p>" +
                        "<form method=\"post\" action=\"/office/reassign\" class=\"filters\">" +
                        office::csrf_field(v);
  content += text_input("from", v.t(Text::reassign_from), v.form.value("from"), true);
  content +=
      text_input("territory", v.t(Text::reassign_territory), v.form.value("territory"), false);
  content += text_input("to", v.t(Text::reassign_to), v.form.value("to"), true);
  // The sellers with a token, offered as the browser types.
  content += "<datalist id=\"sellers\">";
  std::set<std::string> sellers;
  for (const auto& token : store.tokens()) {
    if (token.role == Role::seller && !token.revoked_ms) sellers.insert(token.user);
  }
  for (const auto& seller : sellers) content += "<option value=\"" + h(seller) + "\">";
  content += "</datalist><div><button type=\"submit\">" + h(v.t(Text::reassign)) +
             "</button></div></form></section>";
  return office::page(v, v.t(Text::reassign), content, status);
}

web::Response OfficePages::Impl::reassign(const office::Visit& v) {
  const std::string from = v.form.value("from");
  const std::string to = v.form.value("to");
  const std::string territory = v.form.value("territory");
  const auto problem = [&](const std::string& why) {
    return reassign_page(v, "<p class=\"notice error\" role=\"alert\">" + h(why) + "</p>", 422);
  };
  if (from.empty() || to.empty() || from == to) return problem(v.t(Text::reassign_missing));
  const TableSpec& customers = *schema.scope_table();
  const std::string& owner = customers.owner_field;
  std::size_t moved = 0;
  std::string previous_first;
  // Each batch is read again from the start: the customers moved by the last one no longer
  // match, so nothing is skipped and nothing is moved twice.
  for (;;) {
    RowQuery query;
    query.table = customers.name;
    query.limit = kReassignBatch;
    query.equals.emplace_back(owner, Value(from));
    if (!territory.empty()) query.equals.emplace_back("territory", Value(territory));
    const auto rows = store.list_rows(query);
    if (rows.empty()) break;
    // A batch written and still there: something kept the owner; stop rather than loop.
    if (rows.front().id == previous_first) return problem(v.t(Text::unsaved, {rows.front().id}));
    previous_first = rows.front().id;
    std::vector<Change> changes;
    for (const auto& row : rows) {
      changes.push_back(Change{
          customers.name, row.id, owner, {}, Value(to), Version{}, row.versions.field(owner)});
    }
    if (auto failed = write(v, std::move(changes))) {
      return problem(v.t(Text::unsaved, {*failed}));
    }
    moved += rows.size();
    if (rows.size() < kReassignBatch) break;
  }
  return reassign_page(v, "<p class=\"notice\" role=\"status\">" +
                              h(v.t(Text::reassign_done, {std::to_string(moved), from, to})) +
                              "</p>");
}

}  // namespace libreta::server
