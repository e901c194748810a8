// The history of each field of a customer or a contact: every value it had as this device
// saw it, newest first, each with when it was set, on which device and by whom.
#include <algorithm>

#include "output.hpp"
#include "screen.hpp"

namespace libreta::cli::app {

std::string author_text(const Screen& s, const Version& version, const std::string& user) {
  if (version.replica == s.replica.replica_id()) return s.tr(Msg::app_this_device);
  const std::string device = version.replica.substr(0, 8);
  if (user.empty()) return s.tr(Msg::app_other_device, {device});
  return s.tr(Msg::app_by_user_device, {user, device});
}

web::Response history_screen(Screen& s, std::string_view table_name, std::string_view id) {
  const TableSpec* table = customer_book_schema().table(table_name);
  const auto record = table ? s.replica.get(table_name, id) : std::nullopt;
  if (!record) return not_found(s);
  const auto text_of = [&](const char* field) {
    const auto it = record->find(field);
    return it != record->end() && it->second.is_text() ? it->second.as_text() : std::string();
  };
  const std::string customer_id =
      table->owner_link.empty() ? std::string(id) : text_of(table->owner_link.c_str());

  std::string content =
      "<h1>" + h(s.tr(Msg::app_history_title)) + " <small>" + h(text_of("name")) + "</small></h1>";
  content += "<p class=\"hint\">" + h(s.tr(Msg::app_history_intro)) + "</p>";
  const auto changed = s.replica.fields_with_history(table_name, id);
  std::string sections;
  // In the order of the book's fields, as the card shows them.
  for (const FieldSpec& field : table->fields) {
    if (std::find(changed.begin(), changed.end(), field.name) == changed.end()) continue;
    sections += "<section class=\"card\" id=\"f-" + h(field.name) + "\"><h2>" +
                h(field_label(field.name, s.lang)) + "</h2><ol class=\"history\">";
    for (const auto& value : s.replica.field_history(table_name, id, field.name)) {
      const std::string shown =
          value.value.is_null() ? std::string() : display_value(field, value.value, s.format);
      sections += "<li";
      if (value.current) sections += " class=\"current\"";
      sections += "><strong>" + h(shown.empty() ? s.tr(Msg::app_history_cleared) : shown) +
                  "</strong><span class=\"detail\">";
      if (value.current) sections += h(s.tr(Msg::app_history_current)) + " · ";
      sections += h(local_time(s, value.version.hlc.millis()) + " · " +
                    author_text(s, value.version, value.user)) +
                  "</span></li>";
    }
    sections += "</ol></section>";
  }
  content +=
      sections.empty() ? "<p class=\"empty\">" + h(s.tr(Msg::app_history_none)) + "</p>" : sections;
  if (const auto customer = s.replica.customer(customer_id)) {
    content += "<p><a class=\"button secondary\" href=\"" + path_of("customers", customer_id) +
               "\">← " + h(customer->name) + "</a></p>";
  }
  return page(s, s.tr(Msg::app_history_title), content, Tab::customers);
}

}  // namespace libreta::cli::app
