#include "libreta/protocol/schema.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "libreta/protocol/text.hpp"

namespace libreta {
namespace {

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
  };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Well-formed UTF-8 without control characters other than tab and newline. (In valid
// UTF-8 every byte below 0x80 is an ASCII character, so a byte scan finds the controls.)
bool is_clean_utf8(std::string_view text, bool allow_newlines) {
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 && c != '\t' && !(allow_newlines && (c == '\n' || c == '\r'))) return false;
    if (c == 0x7f) return false;
  }
  return is_valid_utf8(text);
}

Error invalid(const FieldSpec& spec, std::string why) {
  return Error(ErrorCode::invalid_value, "field '" + spec.name + "': " + why);
}

Error wrong_type(const FieldSpec& spec, const Value& value, const char* expected) {
  return Error(ErrorCode::wrong_type, "field '" + spec.name + "' expects " + expected + ", got " +
                                          value_type_name(value.type()));
}

int parse_digits(std::string_view text, std::size_t at, std::size_t count) {
  int number = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return -1;
    number = number * 10 + (text[i] - '0');
  }
  return number;
}

bool is_leap(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

bool valid_date_prefix(std::string_view text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return false;
  const int year = parse_digits(text, 0, 4);
  const int month = parse_digits(text, 5, 2);
  const int day = parse_digits(text, 8, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  return day <= days_in_month(year, month);
}

}  // namespace

const char* value_type_name(Value::Type type) {
  switch (type) {
    case Value::Type::null:
      return "null";
    case Value::Type::boolean:
      return "boolean";
    case Value::Type::integer:
      return "integer";
    case Value::Type::number:
      return "number";
    case Value::Type::text:
      return "text";
    case Value::Type::tags:
      return "tag set";
  }
  return "unknown";
}

const char* field_kind_name(FieldKind kind) {
  switch (kind) {
    case FieldKind::text:
      return "text";
    case FieldKind::long_text:
      return "long_text";
    case FieldKind::integer:
      return "integer";
    case FieldKind::decimal:
      return "decimal";
    case FieldKind::date:
      return "date";
    case FieldKind::date_time:
      return "date_time";
    case FieldKind::choice:
      return "choice";
    case FieldKind::tag_set:
      return "tag_set";
    case FieldKind::boolean:
      return "boolean";
    case FieldKind::reference:
      return "reference";
    case FieldKind::email:
      return "email";
    case FieldKind::phone:
      return "phone";
  }
  return "unknown";
}

bool is_valid_date(std::string_view text) {
  return text.size() == 10 && valid_date_prefix(text);
}

bool is_valid_date_time(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DDTHH:MM:SS.fffZ
  if (text.size() != 20 && text.size() != 24) return false;
  if (!valid_date_prefix(text) || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z') {
    return false;
  }
  const int hour = parse_digits(text, 11, 2);
  const int minute = parse_digits(text, 14, 2);
  const int second = parse_digits(text, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return false;
  }
  if (text.size() == 24 && (text[19] != '.' || parse_digits(text, 20, 3) < 0)) return false;
  return true;
}

std::int64_t days_from_civil(int year, int month, int day) {
  // Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar.
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02u", static_cast<long long>(year), month,
                day);
  return buffer;
}

std::string date_time_from_millis(std::uint64_t unix_millis) {
  const auto days = static_cast<std::int64_t>(unix_millis / 86'400'000);
  const auto ms_of_day = unix_millis % 86'400'000;
  char time[16];
  std::snprintf(time, sizeof time, "T%02u:%02u:%02uZ", static_cast<unsigned>(ms_of_day / 3'600'000),
                static_cast<unsigned>(ms_of_day / 60'000 % 60),
                static_cast<unsigned>(ms_of_day / 1000 % 60));
  return civil_from_days(days) + time;
}

std::optional<std::int64_t> parse_day_number(std::string_view text) {
  if (!valid_date_prefix(text)) return std::nullopt;
  return days_from_civil(parse_digits(text, 0, 4), parse_digits(text, 5, 2),
                         parse_digits(text, 8, 2));
}

Result<Value> FieldSpec::validate(const Value& value) const {
  if (value.is_null()) return value;
  switch (kind) {
    case FieldKind::text:
    case FieldKind::long_text:
    case FieldKind::reference:
    case FieldKind::choice:
    case FieldKind::email:
    case FieldKind::phone:
    case FieldKind::date:
    case FieldKind::date_time: {
      if (!value.is_text()) return wrong_type(*this, value, "text");
      const bool multiline = kind == FieldKind::long_text;
      const std::size_t limit =
          max_length ? max_length : (multiline ? kMaxLongTextLength : kMaxTextLength);
      if (value.as_text().size() > limit) {
        return Error(ErrorCode::too_large,
                     "field '" + name + "' is longer than " + std::to_string(limit) + " bytes");
      }
      if (!is_clean_utf8(value.as_text(), multiline)) {
        return invalid(*this, "not valid UTF-8 text (or holds control characters)");
      }
      std::string text(trim(value.as_text()));
      if (text.empty()) return Value();  // blank text clears the field
      switch (kind) {
        case FieldKind::choice:
          if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
            std::string allowed;
            for (const auto& c : choices) allowed += (allowed.empty() ? "" : ", ") + c;
            return invalid(*this, "'" + text + "' is not one of: " + allowed);
          }
          break;
        case FieldKind::date:
          if (!is_valid_date(text))
            return invalid(*this, "'" + text + "' is not a YYYY-MM-DD date");
          break;
        case FieldKind::date_time:
          if (is_valid_date(text)) text += "T00:00:00Z";
          if (!is_valid_date_time(text)) {
            return invalid(*this, "'" + text + "' is not a YYYY-MM-DDTHH:MM:SSZ date and time");
          }
          break;
        case FieldKind::email: {
          const auto at = text.find('@');
          if (at == std::string::npos || at == 0 || at + 1 >= text.size() ||
              text.find('@', at + 1) != std::string::npos ||
              text.find('.', at + 2) == std::string::npos || text.find(' ') != std::string::npos ||
              text.back() == '.') {
            return invalid(*this, "'" + text + "' is not an email address");
          }
          break;
        }
        case FieldKind::phone: {
          int digits = 0;
          for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            if (c >= '0' && c <= '9') {
              ++digits;
            } else if (!(c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' ||
                         (c == '+' && i == 0))) {
              return invalid(*this, "'" + text + "' is not a phone number");
            }
          }
          if (digits < 3 || digits > 20) {
            return invalid(*this, "'" + text + "' is not a phone number");
          }
          break;
        }
        default:
          break;
      }
      return Value(std::move(text));
    }
    case FieldKind::integer:
      if (value.is_integer()) return value;
      if (value.type() == Value::Type::number) {
        const double d = value.as_number();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
          return Value(static_cast<std::int64_t>(d));
        }
        return invalid(*this, "expects a whole number");
      }
      return wrong_type(*this, value, "integer");
    case FieldKind::decimal:
      if (!value.is_number()) return wrong_type(*this, value, "number");
      if (!std::isfinite(value.as_number())) return invalid(*this, "is not a finite number");
      return Value(value.as_number());
    case FieldKind::boolean:
      if (!value.is_bool()) return wrong_type(*this, value, "boolean");
      return value;
    case FieldKind::tag_set: {
      if (!value.is_tags()) return wrong_type(*this, value, "tag set");
      TagSet tags;
      for (const auto& raw : value.as_tags()) {
        std::string tag(trim(raw));
        if (tag.empty()) continue;
        if (tag.size() > kMaxTagLength || !is_clean_utf8(tag, false)) {
          return invalid(*this, "tag '" + tag.substr(0, kMaxTagLength) + "' is not a valid tag");
        }
        tags.push_back(std::move(tag));
      }
      std::sort(tags.begin(), tags.end());
      tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
      if (tags.size() > kMaxTagsPerSet) {
        return Error(ErrorCode::too_large, "field '" + name + "' has more than " +
                                               std::to_string(kMaxTagsPerSet) + " tags");
      }
      return Value(std::move(tags));
    }
  }
  return Error(ErrorCode::internal, "unhandled field kind");
}

const FieldSpec* TableSpec::field(std::string_view field_name) const {
  if (!field_positions.empty()) {
    auto it = field_positions.find(field_name);
    return it == field_positions.end() ? nullptr : &fields[it->second];
  }
  for (const auto& f : fields) {
    if (f.name == field_name) return &f;
  }
  return nullptr;
}

Schema::Schema(int version, std::vector<TableSpec> tables)
    : version_(version), tables_(std::move(tables)) {
  for (auto& table : tables_) {
    table.field_positions.clear();
    for (std::size_t i = 0; i < table.fields.size(); ++i) {
      table.field_positions.emplace(table.fields[i].name, i);
    }
  }
  for (std::size_t i = 0; i < tables_.size() && !scope_table_; ++i) {
    if (!tables_[i].owner_field.empty()) scope_table_ = i;
  }
}

const TableSpec* Schema::scope_table() const {
  return scope_table_ ? &tables_[*scope_table_] : nullptr;
}

const TableSpec* Schema::table(std::string_view name) const {
  for (const auto& t : tables_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace libreta
