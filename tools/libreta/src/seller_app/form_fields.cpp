#include "form_fields.hpp"

#include <ctime>

#include "field_input.hpp"
#include "locale_format.hpp"

namespace libreta::cli::app {
namespace {

const FieldGroup kCustomerGroups[] = {
    {Msg::app_group_company, {"kind", "name", "trade_name", "phone", "mobile", "email", "website"}},
    {Msg::app_group_fiscal, {"tax_id", "fiscal_regime"}},
    {Msg::app_group_billing, {"billing_address", "postal_code", "city", "region", "country"}},
    {Msg::app_group_shipping, {"shipping_address"}},
    {Msg::app_group_classification,
     {"status", "relationship", "segment", "quality_rank", "owner", "territory", "annual_revenue",
      "purchase_potential", "socioeconomic_level", "products_services", "tags"}},
    {Msg::app_group_notes, {"notes", "birthday", "anniversary"}},
};

const FieldGroup kContactGroups[] = {
    {Msg::app_group_person, {"name", "role", "mobile", "phone", "email", "social", "address"}},
    {Msg::app_group_personal,
     {"socioeconomic_level", "birthday", "anniversary", "personal_notes", "tags"}},
};

std::string input_type(FieldKind kind) {
  switch (kind) {
    case FieldKind::email:
      return "email";
    case FieldKind::phone:
      return "tel";
    case FieldKind::date:
      return "date";
    case FieldKind::date_time:
      return "datetime-local";
    default:
      return "text";
  }
}

std::string input_problem_text(const Screen& s, const InputError& error) {
  // describe() names the field; under its own control the label is already there, so the
  // message keeps only what is wrong.
  std::string text = describe(error, s.lang);
  const auto colon = text.find(": ");
  return colon == std::string::npos ? text : text.substr(colon + 2);
}

}  // namespace

std::string local_input_time(std::string_view utc_iso) {
  std::tm utc{};
  const std::string text(utc_iso);
  if (!::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &utc)) return text;
  const std::time_t t = ::timegm(&utc);
  std::tm local{};
  ::localtime_r(&t, &local);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M", &local);
  return buffer;
}

std::span<const FieldGroup> customer_field_groups() {
  return kCustomerGroups;
}
std::span<const FieldGroup> contact_field_groups() {
  return kContactGroups;
}

std::vector<std::string> group_fields(std::span<const FieldGroup> groups) {
  std::vector<std::string> out;
  for (const FieldGroup& group : groups) {
    for (const char* field : group.fields) out.emplace_back(field);
  }
  return out;
}

std::string input_text(const Screen& s, const FieldSpec& field, const Value& value) {
  if (value.is_null()) return {};
  switch (field.kind) {
    case FieldKind::decimal:
      return value.is_number() ? s.format.exact_number(value.as_number()) : std::string{};
    case FieldKind::integer:
      return value.is_integer() ? std::to_string(value.as_integer()) : std::string{};
    case FieldKind::boolean:
      return value.is_bool() && value.as_bool() ? "1" : "";
    case FieldKind::tag_set: {
      std::string text;
      if (!value.is_tags()) return text;
      for (const auto& tag : value.as_tags()) text += (text.empty() ? "" : ", ") + tag;
      return text;
    }
    case FieldKind::date:
      return value.is_text() ? value.as_text().substr(0, 10) : std::string{};
    case FieldKind::date_time:
      return value.is_text() ? local_input_time(value.as_text()) : std::string{};
    default:
      return value.is_text() ? value.as_text() : std::string{};
  }
}

std::string field_control(const Screen& s, const TableSpec& table, const FieldSpec& field,
                          std::string_view text, std::string_view error) {
  const std::string id = "f-" + field.name;
  const std::string label(field_label(field.name, s.lang));
  std::string out = "<div class=\"field";
  if (!error.empty()) out += " invalid";
  out += "\"><label for=\"" + id + "\">" + h(label);
  if (field.required) out += " <span class=\"required\" aria-hidden=\"true\">*</span>";
  out += "</label>";
  std::string attributes = " id=\"" + id + "\" name=\"" + h(field.name) + "\"";
  if (field.required) attributes += " required";
  if (!error.empty()) {
    attributes += " aria-invalid=\"true\" aria-describedby=\"" + id + "-error\"";
  }
  switch (field.kind) {
    case FieldKind::long_text:
      out += "<textarea" + attributes + " rows=\"3\">" + h(text) + "</textarea>";
      break;
    case FieldKind::choice: {
      out += "<select" + attributes + ">";
      if (!field.required) out += "<option value=\"\"></option>";
      for (const auto& choice : field.choices) {
        out += "<option value=\"" + h(choice) + "\"";
        if (choice == text) out += " selected";
        out += ">" + h(choice_label(field.name, choice, s.lang)) + "</option>";
      }
      out += "</select>";
      break;
    }
    case FieldKind::boolean:
      out += "<input type=\"checkbox\" value=\"1\"" + attributes +
             (text.empty() ? "" : " checked") + ">";
      break;
    default: {
      out += "<input type=\"" + input_type(field.kind) + "\"" + attributes + " value=\"" + h(text) +
             "\"";
      if (field.kind == FieldKind::decimal) out += " inputmode=\"decimal\"";
      if (field.kind == FieldKind::integer) out += " inputmode=\"numeric\"";
      if (field.kind == FieldKind::email || field.kind == FieldKind::phone ||
          field.name == "tax_id") {
        out += " autocomplete=\"off\" autocapitalize=\"off\"";
      }
      out += ">";
      if (field.kind == FieldKind::tag_set) {
        out += "<p class=\"hint\">" + h(s.tr(Msg::app_tags_hint)) + "</p>";
      }
    }
  }
  if (!error.empty()) {
    out += "<p class=\"error\" id=\"" + id + "-error\">" + h(error) + "</p>";
  }
  out += "</div>";
  (void)table;
  return out;
}

std::string field_groups_html(const Screen& s, const TableSpec& table,
                              std::span<const FieldGroup> groups,
                              const std::map<std::string, std::string>& texts,
                              const std::map<std::string, std::string>& errors) {
  std::string out;
  for (const FieldGroup& group : groups) {
    out += "<fieldset><legend>" + h(s.tr(group.title)) + "</legend>";
    for (const char* name : group.fields) {
      const FieldSpec* field = table.field(name);
      if (!field) continue;
      const auto text = texts.find(name);
      const auto error = errors.find(name);
      out += field_control(s, table, *field, text == texts.end() ? "" : text->second,
                           error == errors.end() ? "" : error->second);
    }
    out += "</fieldset>";
  }
  return out;
}

FormFields read_form_fields(const Screen& s, const TableSpec& table,
                            const std::vector<std::string>& names) {
  FormFields out;
  for (const std::string& name : names) {
    const FieldSpec* field = table.field(name);
    if (!field) continue;
    std::string text = s.form.value(name);
    // A browser's date and time field holds the seller's local time, without seconds.
    const bool local_time =
        field->kind == FieldKind::date_time && text.size() == 16 && text[10] == 'T';
    FieldInput input =
        parse_field_input(table, *field, local_time ? local_to_utc(text + ":00") : text);
    if (input.ok() && field->required && input.value.is_null()) {
      input.error = InputError{InputProblem::required, table.name, field->name, text, {}};
    }
    if (input.ok()) {
      out.values[name] = std::move(input.value);
    } else {
      out.errors[name] = input_problem_text(s, *input.error);
    }
    out.texts[name] = std::move(text);
  }
  return out;
}

std::map<std::string, std::string> texts_of(const Screen& s, const TableSpec& table,
                                            const Record& record) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : record) {
    if (const FieldSpec* field = table.field(name)) out[name] = input_text(s, *field, value);
  }
  return out;
}

std::string create_child(Screen& s, std::string_view table, const Record& values,
                         const std::string& customer_id) {
  Record record;
  for (const auto& [name, value] : values) {
    if (!value.is_null()) record[name] = value;
  }
  record["customer_id"] = Value(customer_id);
  std::string id = s.replica.create(table, record);
  s.wrote();
  return id;
}

Record changed_fields(const Record& current, const Record& wanted) {
  Record out;
  for (const auto& [name, value] : wanted) {
    const auto it = current.find(name);
    const bool was_null = it == current.end() || it->second.is_null();
    if (value.is_null() ? !was_null : (was_null || !(it->second == value))) out[name] = value;
  }
  return out;
}

}  // namespace libreta::cli::app
