// The conflict inbox: the open conflicts grouped by customer and shown by name, both values
// with who wrote them, from which device and when; and what the office decides of each:
// keep the value that won, take the one that lost (a new change), or bring back a customer
// deleted while someone edited it, with that edit.
#include <charconv>
#include <map>

#include "conflict_resolution.hpp"
#include "libreta/protocol/labels.hpp"
#include "office_impl.hpp"

namespace libreta::server {

namespace {

using office::h;
using office::Text;

constexpr std::size_t kInboxPage = 200;

std::string side_html(const office::Visit& v, const ConflictRecord& c, bool kept) {
  const Value& value = kept ? c.kept_value : c.lost_value;
  const Version& version = kept ? c.kept_version : c.lost_version;
  const std::string& user = kept ? c.kept_user : c.lost_user;
  const bool deletion = kept && c.kind == "edit_of_deleted";
  const std::string shown = deletion ? v.t(Text::conflict_deleted, {c.lost_user})
                                     : office::shown_value(v, c.field, value);
  return std::string("<div class=\"side ") + (kept ? "kept" : "lost") + "\"><small>" +
         h(v.t(kept ? Text::conflict_kept : Text::conflict_lost)) + "</small><strong>" + h(shown) +
         "</strong><small>" +
         h(v.t(Text::conflict_by,
               {user, version.replica.substr(0, 12), office::shown_time(version.hlc.millis())})) +
         "</small></div>";
}

std::string action_form(const office::Visit& v, const ConflictRecord& c, const char* action,
                        Text label, bool primary) {
  return "<form method=\"post\" action=\"/office/conflicts/" + std::to_string(c.id) + "\">" +
         office::csrf_field(v) + "<input type=\"hidden\" name=\"action\" value=\"" + action +
         "\"><button type=\"submit\"" + (primary ? "" : " class=\"secondary\"") + ">" +
         h(v.t(label)) + "</button></form>";
}

}  // namespace

web::Response OfficePages::Impl::inbox(const office::Visit& v, std::string notice) {
  ConflictQuery query;
  query.limit = kInboxPage;
  const auto conflicts = store.list_conflicts(query);
  // Grouped by the customer each belongs to, in the order their first conflict came.
  std::vector<std::string> order;
  std::map<std::string, std::pair<std::string, std::vector<const ConflictRecord*>>> groups;
  for (const auto& c : conflicts) {
    const auto row = store.find_row(c.table, c.row);
    const std::string customer = row ? row->customer : c.row;
    auto [it, added] = groups.try_emplace(customer);
    if (added) {
      order.push_back(customer);
      it->second.first = row ? customer_name_of(*row) : std::string();
      if (it->second.first.empty()) it->second.first = c.row;
    }
    it->second.second.push_back(&c);
  }

  std::string content = "<h1>" + h(v.t(Text::conflicts_title)) + "</h1>" + notice;
  if (conflicts.empty()) {
    content += "<p class=\"card\">" + h(v.t(Text::conflicts_none)) + "</p>";
    return office::page(v, v.t(Text::conflicts), content);
  }
  content += "<p>" +
             h(v.t(Text::conflicts_open, {std::to_string(conflicts.size()) +
                                          (conflicts.size() == kInboxPage ? "+" : "")})) +
             "</p>";
  for (const auto& customer : order) {
    const auto& [name, items] = groups[customer];
    content += "<section class=\"card group\"><h2><a href=\"/office/customers/" +
               h(web::percent_encode(customer)) + "\">" + h(name) + "</a></h2>";
    for (const ConflictRecord* c : items) {
      content += "<div class=\"conflict\" id=\"conflict-" + std::to_string(c->id) + "\"><h3>" +
                 h(field_label(c->field, v.spanish)) + "</h3><div class=\"sides\">" +
                 side_html(v, *c, true) + side_html(v, *c, false) + "</div><div class=\"actions\">";
      content += action_form(v, *c, "keep", Text::keep, false);
      if (c->kind == "edit_of_deleted")
        content += action_form(v, *c, "restore", Text::restore, true);
      else
        content += action_form(v, *c, "take_lost", Text::take_lost, true);
      content += "</div></div>";
    }
    content += "</section>";
  }
  return office::page(v, v.t(Text::conflicts), content);
}

web::Response OfficePages::Impl::resolve(const office::Visit& v, const std::string& id) {
  // The whole path part is the number, or there is no such conflict ("12abc" is not 12).
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), number);
  if (id.empty() || ec != std::errc() || end != id.data() + id.size())
    return office::message_page(v, 404, v.t(Text::not_found));
  const auto conflict = store.find_conflict(number);
  if (!conflict) return office::message_page(v, 404, v.t(Text::not_found));
  if (conflict->resolved_ms) {
    return inbox(
        v, "<p class=\"notice error\" role=\"alert\">" + h(v.t(Text::resolved_already)) + "</p>");
  }
  const auto row = store.find_row(conflict->table, conflict->row);
  if (!row) return office::message_page(v, 404, v.t(Text::not_found));
  auto plan = plan_resolution(*conflict, *row, v.form.value("action"));
  if (!plan) return office::message_page(v, 422, v.t(Text::bad_form));
  if (auto failed = write(v, std::move(plan->changes), std::move(plan->resolution))) {
    return inbox(
        v, "<p class=\"notice error\" role=\"alert\">" + h(v.t(Text::unsaved, {*failed})) + "</p>");
  }
  return web::Response::redirect("/office/conflicts");
}

}  // namespace libreta::server
