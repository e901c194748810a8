// Adding, editing and deleting a customer's contacts, with every field of a contact.
#include "form_fields.hpp"
#include "screen.hpp"

namespace libreta::cli::app {
namespace {

const TableSpec& contacts_table() {
  return *customer_book_schema().table(tables::contacts);
}

web::Response form_page(const Screen& s, const std::string& action, const std::string& back,
                        const std::optional<std::string>& contact_id,
                        const std::map<std::string, std::string>& texts,
                        const std::map<std::string, std::string>& errors) {
  const std::string title = s.tr(contact_id ? Msg::app_edit_contact : Msg::app_new_contact);
  std::string content = "<h1>" + h(title) + "</h1>";
  if (!errors.empty()) {
    content += "<p class=\"notice error\" role=\"alert\">" + h(s.tr(Msg::app_fix_errors)) + "</p>";
  }
  content += form_start(s, action, "edit");
  content += field_groups_html(s, contacts_table(), contact_field_groups(), texts, errors);
  content += "<div class=\"form-actions\"><button type=\"submit\" class=\"primary\">" +
             h(s.tr(Msg::app_save)) + "</button><a class=\"button secondary\" href=\"" + h(back) +
             "\">" + h(s.tr(Msg::app_cancel)) + "</a></div></form>";
  if (contact_id) {
    content += "<p class=\"danger-zone\">" +
               post_button(s, path_of("contacts", *contact_id, "delete"),
                           s.tr(Msg::app_delete_contact), "danger") +
               "</p>";
  }
  return page(s, title, content, Tab::customers, errors.empty() ? 200 : 422);
}

}  // namespace

web::Response contact_form(Screen& s, std::string_view customer_id,
                           std::optional<std::string> contact_id) {
  const TableSpec& table = contacts_table();
  std::optional<Record> current;
  std::string owner(customer_id);
  if (contact_id) {
    current = s.replica.get(tables::contacts, *contact_id);
    if (!current) return not_found(s);
    owner = current->at("customer_id").as_text();
  }
  if (!s.replica.customer(owner)) return not_found(s);
  const std::string back = path_of("customers", owner);
  const std::string action = contact_id ? path_of("contacts", *contact_id, "edit")
                                        : path_of("customers", owner, "contact");
  if (!s.is_post()) {
    return form_page(s, action, back, contact_id,
                     current ? texts_of(s, table, *current) : std::map<std::string, std::string>{},
                     {});
  }
  FormFields read = read_form_fields(s, table, group_fields(contact_field_groups()));
  if (!read.ok()) return form_page(s, action, back, contact_id, read.texts, read.errors);
  if (contact_id) {
    const Record changed = changed_fields(*current, read.values);
    if (!changed.empty()) {
      s.replica.update(tables::contacts, *contact_id, changed);
      s.wrote();
    }
  } else {
    create_child(s, tables::contacts, read.values, owner);
  }
  return web::Response::redirect(back + "?notice=saved#contacts");
}

}  // namespace libreta::cli::app
