// Sync: the state of the connection, the seller's own conflicts (the value that lost, the one
// kept, who wrote it; one tap puts hers back) and the changes the server refused, with why.
#include <ctime>

#include "output.hpp"
#include "screen.hpp"
#include "sync_wording.hpp"

namespace libreta::cli::app {
namespace {

constexpr std::size_t kShown = 50;

// A row as the seller knows it: a customer by its name, another row by its customer's.
std::string row_name(const Screen& s, std::string_view table, std::string_view id,
                     std::string* customer_id) {
  auto record = s.replica.get_with_deleted(table, id);
  if (!record) return std::string(id);
  std::string owner(id);
  if (table != tables::customers) {
    auto link = record->find("customer_id");
    if (link == record->end() || !link->second.is_text()) return std::string(id);
    owner = link->second.as_text();
    record = s.replica.get_with_deleted(tables::customers, owner);
    if (!record) return std::string(id);
  }
  if (customer_id) *customer_id = owner;
  auto name = record->find("name");
  return name != record->end() && name->second.is_text() ? name->second.as_text() : std::string(id);
}

std::string shown_value(const Screen& s, const ConflictNotice& c, const Value& v) {
  const TableSpec* table = customer_book_schema().table(c.table);
  const FieldSpec* spec = table ? table->field(c.field) : nullptr;
  if (v.is_null()) return s.tr(Msg::app_empty_value);
  return spec ? display_value(*spec, v, s.format) : value_json(v).dump();
}

// Whether the seller's lost value is still not what the row holds (else nothing to put back).
bool can_put_back(const Screen& s, const ConflictNotice& c) {
  if (c.field == "deleted") return false;
  const auto record = s.replica.get_with_deleted(c.table, c.row);
  if (!record) return false;
  const auto current = record->find(c.field);
  const Value now = current == record->end() ? Value() : current->second;
  const auto live = s.replica.get(c.table, c.row);
  return !live || !(now == c.lost);
}

bool is_automatic(std::string_view field) {
  return field == "created_at" || field == "updated_at";
}

}  // namespace

std::vector<ConflictNotice> my_conflicts(const Screen& s) {
  auto all = s.replica.reported_conflicts(client::ConflictSide::lost);
  std::erase_if(all, [](const ConflictNotice& c) { return is_automatic(c.field); });
  return all;
}

web::Response sync_screen(Screen& s) {
  std::string content = "<h1>" + h(s.tr(Msg::app_tab_sync)) + "</h1>";
  content += "<section class=\"card\" id=\"state\"><dl>";
  const auto kv = [&](Msg label, const std::string& value) {
    content += "<div class=\"kv\"><dt>" + h(s.tr(label)) + "</dt><dd>" + h(value) + "</dd></div>";
  };
  if (!s.sync) {
    kv(Msg::app_sync_state, s.tr(Msg::app_sync_alone));
  } else {
    const auto& st = *s.sync;
    kv(Msg::app_sync_state, s.tr(st.connected ? Msg::app_sync_online : Msg::app_sync_offline));
    kv(Msg::status_pending_label, std::to_string(st.pending_changes));
    kv(Msg::app_sync_last_label,
       st.last_sync_ms ? local_time(s, *st.last_sync_ms) : s.tr(Msg::status_never));
    if (st.downloading) {
      kv(Msg::app_sync_received,
         st.rows_expected > 0 ? s.tr(Msg::app_sync_downloading_of,
                                     {s.format.number(static_cast<double>(st.rows_received)),
                                      s.format.number(static_cast<double>(st.rows_expected))})
                              : std::to_string(st.rows_received));
    }
    // The last error while it still matters: not once the session is connected again.
    if (st.last_error && !st.connected) {
      kv(Msg::app_sync_last_error, s.tr(sync_error_reason(st.last_error->code)) + " (" +
                                       local_time(s, st.last_error->at_ms) + ")");
    }
  }
  content += "</dl></section>";

  const auto conflicts = my_conflicts(s);
  content += "<section class=\"card\" id=\"conflicts\"><h2>" + h(s.tr(Msg::app_conflicts)) +
             " <span class=\"count\">" + std::to_string(conflicts.size()) + "</span></h2>";
  if (conflicts.empty()) {
    content += "<p class=\"empty\">" + h(s.tr(Msg::app_no_conflicts)) + "</p>";
  } else {
    content += "<ul class=\"items conflicts\">";
    const std::size_t first = conflicts.size() > kShown ? conflicts.size() - kShown : 0;
    for (std::size_t i = conflicts.size(); i-- > first;) {
      const auto& c = conflicts[i];
      std::string customer_id;
      const std::string name = row_name(s, c.table, c.row, &customer_id);
      const std::string by =
          c.kept_user.empty() ? c.kept_version.replica.substr(0, 8) : c.kept_user;
      content += "<li class=\"conflict\"><a class=\"item\" href=\"" +
                 path_of("customers", customer_id.empty() ? c.row : customer_id) + "\"><strong>" +
                 h(name) + " · " + h(field_label(c.field, s.lang)) + "</strong></a>";
      if (c.kind == "edit_of_deleted") {
        content +=
            "<p>" +
            h(s.tr(Msg::app_conflict_deleted, {by, local_time(s, c.kept_version.hlc.millis())})) +
            "</p>";
      } else {
        content +=
            "<p>" +
            h(s.tr(Msg::app_conflict_kept,
                   {shown_value(s, c, c.kept), by, local_time(s, c.kept_version.hlc.millis())})) +
            "</p><p>" + h(s.tr(Msg::app_conflict_yours, {shown_value(s, c, c.lost)})) + "</p>";
      }
      if (can_put_back(s, c)) {
        content += form_start(s, "/sync/put-back", "inline") +
                   "<input type=\"hidden\" name=\"table\" value=\"" + h(c.table) + "\">" +
                   "<input type=\"hidden\" name=\"row\" value=\"" + h(c.row) + "\">" +
                   "<input type=\"hidden\" name=\"field\" value=\"" + h(c.field) + "\">" +
                   "<input type=\"hidden\" name=\"version\" value=\"" +
                   h(c.lost_version.to_string()) + "\"><button type=\"submit\" class=\"primary\">" +
                   h(s.tr(Msg::app_put_back)) + "</button></form>";
      }
      content += "</li>";
    }
    content += "</ul>";
  }
  content += "</section>";

  const auto refusals = s.replica.reported_refusals();
  content += "<section class=\"card\" id=\"refused\"><h2>" + h(s.tr(Msg::status_refused_heading)) +
             " <span class=\"count\">" + std::to_string(refusals.size()) + "</span></h2>";
  if (refusals.empty()) {
    content += "<p class=\"empty\">" + h(s.tr(Msg::app_no_refusals)) + "</p>";
  } else {
    content += "<ul class=\"items\">";
    const std::size_t first = refusals.size() > kShown ? refusals.size() - kShown : 0;
    for (std::size_t i = refusals.size(); i-- > first;) {
      const auto& r = refusals[i];
      std::string customer_id;
      const std::string name = row_name(s, r.table, r.row, &customer_id);
      content += "<li><strong>" + h(name) + " · " + h(field_label(r.field, s.lang)) +
                 "</strong><span class=\"detail\">" + h(s.tr(refusal_reason(r))) + "</span></li>";
    }
    content += "</ul>";
  }
  content += "</section>";
  return page(s, s.tr(Msg::app_tab_sync), content, Tab::sync);
}

web::Response put_back(Screen& s) {
  const std::string table = s.form.value("table");
  const std::string row = s.form.value("row");
  const std::string field = s.form.value("field");
  const std::string version = s.form.value("version");
  for (const auto& c : my_conflicts(s)) {
    if (c.table != table || c.row != row || c.field != field ||
        c.lost_version.to_string() != version || !can_put_back(s, c)) {
      continue;
    }
    // A value that lost to a delete comes back with its row.
    if (!s.replica.get(table, row)) s.replica.restore(table, row);
    Record record;
    record[field] = c.lost;
    s.replica.update(table, row, record);
    s.wrote();
    return web::Response::redirect("/sync?notice=put_back");
  }
  return message_page(s, 409, s.tr(Msg::app_put_back_gone));
}

}  // namespace libreta::cli::app
