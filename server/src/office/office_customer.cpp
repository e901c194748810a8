// A customer as the office sees it: every field, with a form to change them (an ordinary
// change, sent to the owner's devices at once), its contacts, interactions and purchases,
// and its open conflicts.
#include <nlohmann/json.hpp>

#include "api/row_json.hpp"
#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/labels.hpp"
#include "office_impl.hpp"

namespace libreta::server {

namespace {

using office::h;
using office::Text;

// Child tables shown under a customer, with the columns each shows.
struct ChildList {
  const char* table;
  Text title;
  std::vector<const char*> columns;
};

const ChildList kChildren[] = {
    {"contacts", Text::contacts, {"name", "role", "mobile", "email"}},
    {"interactions", Text::interactions, {"date", "type", "outcome", "notes"}},
    {"purchases", Text::purchases, {"date", "product", "quantity", "amount"}},
};

std::string input_for(const office::Visit& v, const FieldSpec& field, const Value* value) {
  const std::string id = "e-" + field.name;
  std::string current;
  if (value && !value->is_null()) {
    if (value->is_tags()) {
      for (const auto& tag : value->as_tags()) current += (current.empty() ? "" : ", ") + tag;
    } else if (value->is_text()) {
      current = value->as_text();
    } else if (value->is_bool()) {
      current = value->as_bool() ? "true" : "false";
    } else if (value->is_integer()) {
      current = std::to_string(value->as_integer());
    } else {
      current = nlohmann::json(value->as_number()).dump();
    }
  }
  std::string out =
      "<div><label for=\"" + id + "\">" + h(field_label(field.name, v.spanish)) + "</label>";
  if (field.kind == FieldKind::choice || field.kind == FieldKind::boolean) {
    const std::vector<std::string> choices = field.kind == FieldKind::boolean
                                                 ? std::vector<std::string>{"true", "false"}
                                                 : field.choices;
    out += "<select id=\"" + id + "\" name=\"" + field.name + "\"><option value=\"\"></option>";
    for (const auto& choice : choices) {
      out += "<option value=\"" + h(choice) + "\"" + (choice == current ? " selected" : "") + ">" +
             h(choice_label(field.kind == FieldKind::boolean ? "boolean" : field.name, choice,
                            v.spanish)) +
             "</option>";
    }
    out += "</select>";
  } else if (field.kind == FieldKind::long_text) {
    out += "<textarea id=\"" + id + "\" name=\"" + field.name + "\" rows=\"3\">" + h(current) +
           "</textarea>";
  } else {
    const char* type = field.kind == FieldKind::date      ? "date"
                       : field.kind == FieldKind::email   ? "email"
                       : field.kind == FieldKind::phone   ? "tel"
                       : field.kind == FieldKind::integer ? "number"
                                                          : "text";
    out += "<input id=\"" + id + "\" name=\"" + field.name + "\" type=\"" + type + "\" value=\"" +
           h(current) + "\">";
  }
  return out + "</div>";
}

// A form's text as the JSON value of the field: "" clears it; numbers, yes/no and tags parsed.
nlohmann::json form_value(const FieldSpec& field, const std::string& text) {
  if (text.empty()) return field.kind == FieldKind::tag_set ? nlohmann::json::array() : nullptr;
  switch (field.kind) {
    case FieldKind::integer:
    case FieldKind::decimal: {
      auto number = nlohmann::json::parse(text, nullptr, false);
      return number.is_number() ? number : nlohmann::json(text);
    }
    case FieldKind::boolean:
      return text == "true";
    case FieldKind::tag_set: {
      nlohmann::json tags = nlohmann::json::array();
      std::size_t start = 0;
      while (start <= text.size()) {
        const auto comma = text.find(',', start);
        std::string tag =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        tag.erase(0, tag.find_first_not_of(' '));
        tag.erase(tag.find_last_not_of(' ') + 1);
        if (!tag.empty()) tags.push_back(tag);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return tags;
    }
    default:
      return text;
  }
}

// The customer as stored, unless it was never written or is deleted.
std::optional<ServerRow> live_customer(Store& store, const TableSpec& table,
                                       const std::string& id) {
  auto row = store.find_row(table.name, id);
  if (!row) return std::nullopt;
  const auto deleted = row->fields.find(kDeletedField);
  if (deleted != row->fields.end() && deleted->second == Value(true)) return std::nullopt;
  return row;
}

}  // namespace

web::Response OfficePages::Impl::customer(const office::Visit& v, const std::string& id,
                                          std::string notice) {
  const TableSpec& table = *schema.scope_table();
  const auto row = live_customer(store, table, id);
  if (!row) return office::message_page(v, 404, v.t(Text::not_found));
  const auto name = row->fields.find("name");
  const std::string title =
      name != row->fields.end() && name->second.is_text() ? name->second.as_text() : id;

  std::string content = "<h1>" + h(title) + "</h1>";
  if (notice.empty() && v.query.has("saved"))
    notice = "<p class=\"notice\" role=\"status\">" + h(v.t(Text::saved)) + "</p>";
  content += notice;
  content += "<section class=\"card\"><h2>" + h(v.t(Text::details)) + "</h2><dl class=\"fields\">";
  for (const auto& field : table.fields) {
    const auto it = row->fields.find(field.name);
    if (it == row->fields.end() || it->second.is_null()) continue;
    content += "<dt>" + h(field_label(field.name, v.spanish)) + "</dt><dd>" +
               h(office::shown_value(v, field.name, it->second)) + "</dd>";
  }
  content += "</dl></section>";

  content += "<section class=\"card\"><form method=\"post\" action=\"/office/customers/" +
             h(web::percent_encode(id)) + "\">" + office::csrf_field(v) +
             "<div class=\"edit-grid\">";
  for (const auto& field : table.fields) {
    if (field.automatic) continue;
    const auto it = row->fields.find(field.name);
    content += input_for(v, field, it == row->fields.end() ? nullptr : &it->second);
  }
  content +=
      "</div><p><button type=\"submit\">" + h(v.t(Text::save)) + "</button></p></form></section>";

  for (const auto& child : kChildren) {
    const TableSpec* child_table = schema.table(child.table);
    if (!child_table) continue;
    RowQuery query;
    query.table = child.table;
    query.customer = id;
    query.limit = 200;
    const auto rows = store.list_rows(query);
    content += "<section class=\"card\"><h2>" + h(v.t(child.title)) + "</h2>";
    if (rows.empty()) {
      content += "<p>" + h(v.t(Text::none)) + "</p></section>";
      continue;
    }
    content += "<div class=\"table-wrap\"><table><thead><tr>";
    for (const char* column : child.columns)
      content += "<th scope=\"col\">" + h(field_label(column, v.spanish)) + "</th>";
    content += "</tr></thead><tbody>";
    for (const auto& child_row : rows) {
      content += "<tr>";
      for (const char* column : child.columns) {
        const auto it = child_row.fields.find(column);
        content += "<td>" +
                   h(it == child_row.fields.end() ? v.t(Text::empty)
                                                  : office::shown_value(v, column, it->second)) +
                   "</td>";
      }
      content += "</tr>";
    }
    content += "</tbody></table></div></section>";
  }

  ConflictQuery conflicts;
  conflicts.table = table.name;
  conflicts.row = id;
  conflicts.limit = 20;
  const auto open = store.list_conflicts(conflicts);
  if (!open.empty()) {
    content += "<section class=\"card\"><h2>" + h(v.t(Text::customer_conflicts)) +
               "</h2><p><a href=\"/office/conflicts\">" +
               h(v.t(Text::conflicts_open, {std::to_string(open.size())})) + "</a></p></section>";
  }
  return office::page(v, title, content);
}

web::Response OfficePages::Impl::save_customer(const office::Visit& v, const std::string& id) {
  const TableSpec& table = *schema.scope_table();
  // A deleted customer is not edited here: its conflicts restore it (the inbox).
  const auto row = live_customer(store, table, id);
  if (!row) return office::message_page(v, 404, v.t(Text::not_found));
  nlohmann::json body = nlohmann::json::object();
  for (const auto& field : table.fields) {
    if (field.automatic) continue;
    if (auto text = v.form.get(field.name)) body[field.name] = form_value(field, *text);
  }
  const std::string now = date_time_from_millis(SystemClock().now_millis());
  auto changes = api::changes_for(table, id, &*row, body, now);
  if (!changes) {
    web::Response page = customer(v, id,
                                  "<p class=\"notice error\" role=\"alert\">" +
                                      h(v.t(Text::unsaved, {changes.error().what()})) + "</p>");
    page.status = 422;
    return page;
  }
  if (!changes.value().empty()) {
    if (auto failed = write(v, std::move(changes).value())) {
      web::Response page = customer(
          v, id,
          "<p class=\"notice error\" role=\"alert\">" + h(v.t(Text::unsaved, {*failed})) + "</p>");
      page.status = 422;
      return page;
    }
  }
  // After a save, a reload must not post the form again.
  return web::Response::redirect("/office/customers/" + web::percent_encode(id) + "?saved=1");
}

}  // namespace libreta::server
