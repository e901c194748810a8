// Adding and editing a customer, deleting one (asked first) and undoing the delete. A new
// customer whose tax id, email or phone is already in the book is shown with the one it
// repeats; the seller opens that one or creates the new one anyway.
#include "context.hpp"
#include "duplicate_index.hpp"
#include "form_fields.hpp"
#include "screen.hpp"

namespace libreta::cli::app {
namespace {

const TableSpec& customers_table() {
  return *customer_book_schema().table(tables::customers);
}

// The customer in the book that `record` probably repeats: the customers a search for its
// tax id, email or phones finds, checked by the same rules as an import's.
std::optional<DuplicateMatch> find_duplicate(const Screen& s, const Record& record) {
  DuplicateIndex index;
  for (const char* field : {"tax_id", "email", "phone", "mobile"}) {
    const auto value = record.find(field);
    if (value == record.end() || !value->second.is_text()) continue;
    for (const auto& hit : s.replica.search(value->second.as_text(), 20)) {
      if (auto fields = s.replica.get(tables::customers, hit.customer_id)) {
        index.add(hit.customer_id, *fields);
      }
    }
  }
  auto match = index.find(record);
  if (match && match->key == "name") return std::nullopt;  // a shared name alone is no proof
  return match;
}

std::string key_label(const Screen& s, std::string_view key) {
  return std::string(field_label(key, s.lang));
}

web::Response form_page(const Screen& s, const std::optional<std::string>& id,
                        const std::map<std::string, std::string>& texts,
                        const std::map<std::string, std::string>& errors, const std::string& notice,
                        bool confirm_duplicate = false) {
  const std::string action = id ? path_of("customers", *id, "edit") : "/customers/new";
  const std::string title = s.tr(id ? Msg::app_edit_customer : Msg::app_new_customer);
  std::string content = "<h1>" + h(title) + "</h1>";
  if (!errors.empty()) {
    content += "<p class=\"notice error\" role=\"alert\">" + h(s.tr(Msg::app_fix_errors)) + "</p>";
  }
  content += notice;
  content += form_start(s, action, "edit");
  if (confirm_duplicate) {
    content += "<input type=\"hidden\" name=\"confirm_duplicate\" value=\"1\">";
  }
  content += field_groups_html(s, customers_table(), customer_field_groups(), texts, errors);
  content += "<div class=\"form-actions\"><button type=\"submit\" class=\"primary\">" +
             h(s.tr(Msg::app_save)) + "</button><a class=\"button secondary\" href=\"" +
             (id ? path_of("customers", *id) : std::string("/customers")) + "\">" +
             h(s.tr(Msg::app_cancel)) + "</a></div></form>";
  return page(s, title, content, id ? Tab::customers : Tab::add, errors.empty() ? 200 : 422);
}

}  // namespace

web::Response customer_form(Screen& s, std::optional<std::string> id) {
  const TableSpec& table = customers_table();
  std::optional<Record> current;
  if (id) {
    current = s.replica.get(tables::customers, *id);
    if (!current) return not_found(s);
  }
  if (!s.is_post()) {
    std::map<std::string, std::string> texts;
    if (current) {
      texts = texts_of(s, table, *current);
    } else {
      texts["kind"] = "company";
      texts["status"] = "prospect";
      if (auto owner = s.replica.setting(kOwnerSetting)) texts["owner"] = *owner;
    }
    return form_page(s, id, texts, {}, "");
  }

  FormFields read = read_form_fields(s, table, group_fields(customer_field_groups()));
  if (!read.ok()) return form_page(s, id, read.texts, read.errors, "");

  if (!id) {
    if (s.form.value("confirm_duplicate") != "1") {
      if (auto match = find_duplicate(s, read.values)) {
        const auto existing = s.replica.customer(match->id);
        std::string notice =
            "<div class=\"notice warning\" role=\"alert\"><p>" +
            h(s.tr(Msg::app_duplicate_found,
                   {existing ? existing->name : match->id, key_label(s, match->key)})) +
            "</p><p><a class=\"button primary\" href=\"" + path_of("customers", match->id) + "\">" +
            h(s.tr(Msg::app_open_existing)) + "</a></p>" + "<p class=\"hint\">" +
            h(s.tr(Msg::app_duplicate_hint)) + "</p></div>";
        // The form again: saving it now creates the customer anyway.
        auto response = form_page(s, id, read.texts, {}, notice, true);
        response.status = 409;
        return response;
      }
    }
    Record record;
    for (auto& [name, value] : read.values) {
      if (!value.is_null()) record[name] = value;
    }
    record["created_at"] = Value(s.now_utc);
    const std::string new_id = s.replica.create(tables::customers, record);
    s.wrote();
    return web::Response::redirect(path_of("customers", new_id) + "?notice=saved");
  }

  Record changed = changed_fields(*current, read.values);
  if (!changed.empty()) {
    changed["updated_at"] = Value(s.now_utc);
    s.replica.update(tables::customers, *id, changed);
    s.wrote();
  }
  return web::Response::redirect(path_of("customers", *id) + "?notice=saved");
}

web::Response customer_delete(Screen& s, std::string_view id) {
  const auto customer = s.replica.customer(id);
  if (!customer) return not_found(s);
  if (!s.is_post()) {
    std::string content = "<h1>" + h(s.tr(Msg::app_delete_customer)) +
                          "</h1><p class=\"notice warning\">" +
                          h(s.tr(Msg::app_delete_ask, {customer->name})) + "</p>";
    content += form_start(s, path_of("customers", id, "delete")) +
               "<div class=\"form-actions\"><button type=\"submit\" class=\"danger\">" +
               h(s.tr(Msg::app_delete_confirm)) + "</button><a class=\"button secondary\" href=\"" +
               path_of("customers", id) + "\">" + h(s.tr(Msg::app_cancel)) + "</a></div></form>";
    return page(s, s.tr(Msg::app_delete_customer), content, Tab::customers);
  }
  s.replica.remove(tables::customers, id);
  s.wrote();
  return web::Response::redirect("/customers?notice=deleted&undo=" + web::percent_encode(id));
}

web::Response customer_restore(Screen& s, std::string_view id) {
  const auto record = s.replica.get_with_deleted(tables::customers, id);
  if (!record) return not_found(s);
  if (!s.replica.customer(id)) {
    s.replica.restore(tables::customers, id);
    s.wrote();
  }
  return web::Response::redirect(path_of("customers", id) + "?notice=restored");
}

}  // namespace libreta::cli::app
