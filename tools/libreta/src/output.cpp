#include "output.hpp"

#include <algorithm>
#include <ostream>

#include "context.hpp"
#include "libreta/protocol/value_json.hpp"
#include "text_encoding.hpp"

namespace libreta::cli {

nlohmann::json value_json(const Value& value) {
  return value_to_json(value);
}

nlohmann::json record_json(std::string_view id, const Record& record) {
  nlohmann::json out = nlohmann::json::object();
  out["id"] = std::string(id);
  for (const auto& [name, value] : record) {
    if (!value.is_null()) out[name] = value_json(value);
  }
  return out;
}

void print_json(Context& ctx, const nlohmann::json& data) {
  // Invalid UTF-8 cannot reach here (the schema refuses it), but a dump must never throw.
  ctx.out() << data.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

namespace {

// Whether a value has the type its field's kind stores. Values read from elsewhere (a
// conflict's kept side may be a row's delete, `true`, for any field) need not.
bool fits(FieldKind kind, const Value& value) {
  switch (kind) {
    case FieldKind::decimal:
      return value.is_number();
    case FieldKind::integer:
      return value.is_integer();
    case FieldKind::boolean:
      return value.is_bool();
    case FieldKind::tag_set:
      return value.is_tags();
    default:
      return value.is_text();
  }
}

// A value by its own type, for one that does not fit its field.
std::string display_any(const Value& value, const LocaleFormat& format) {
  switch (value.type()) {
    case Value::Type::null:
      return {};
    case Value::Type::boolean:
      return std::string(
          choice_label("boolean", value.as_bool() ? "true" : "false", format.lang()));
    case Value::Type::integer:
      return std::to_string(value.as_integer());
    case Value::Type::number:
      return format.number(value.as_number());
    case Value::Type::text:
      return value.as_text();
    case Value::Type::tags: {
      std::string text;
      for (const auto& tag : value.as_tags()) text += (text.empty() ? "" : ", ") + tag;
      return text;
    }
  }
  return {};
}

}  // namespace

std::string display_value(const FieldSpec& field, const Value& value, const LocaleFormat& format) {
  if (value.is_null()) return {};
  if (!fits(field.kind, value)) return display_any(value, format);
  switch (field.kind) {
    case FieldKind::date:
      return format.date(value.as_text());
    case FieldKind::date_time:
      return format.date_time(value.as_text());
    case FieldKind::decimal:
      if (field.name == "amount" || field.name == "annual_revenue") {
        return format.amount(value.as_number());
      }
      return format.number(value.as_number());
    case FieldKind::integer:
      return std::to_string(value.as_integer());
    case FieldKind::boolean:
      return std::string(
          choice_label("boolean", value.as_bool() ? "true" : "false", format.lang()));
    case FieldKind::choice:
      return std::string(choice_label(field.name, value.as_text(), format.lang()));
    case FieldKind::tag_set: {
      std::string text;
      for (const auto& tag : value.as_tags()) text += (text.empty() ? "" : ", ") + tag;
      return text;
    }
    default:
      return value.is_text() ? value.as_text() : std::string{};
  }
}

void TextTable::print(std::ostream& out, std::string_view indent) const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  for (const auto& row : rows_) {
    std::string line(indent);
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - display_width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

}  // namespace libreta::cli
