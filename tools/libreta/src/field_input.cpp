#include "field_input.hpp"

#include <charconv>
#include <cstdlib>
#include <vector>

#include "libreta/protocol/schema.hpp"
#include "libreta/protocol/text.hpp"

namespace libreta::cli {
namespace {

// Other words sellers use for a choice, besides its value and its labels in messages.cpp.
struct ChoiceAlias {
  const char* field;
  const char* alias;  // folded
  const char* value;
};
constexpr ChoiceAlias kChoiceAliases[] = {
    {"kind", "empresa", "company"},
    {"kind", "sociedad", "company"},
    {"kind", "compania", "company"},
    {"kind", "business", "company"},
    {"kind", "organization", "company"},
    {"kind", "organizacion", "company"},
    {"kind", "particular", "person"},
    {"kind", "consumidor final", "person"},
    {"kind", "consumidor", "person"},
    {"kind", "autonomo", "person"},
    {"kind", "individual", "person"},
    {"kind", "consumer", "person"},
    {"status", "prospecto", "prospect"},
    {"status", "potencial", "prospect"},
    {"status", "cliente potencial", "prospect"},
    {"status", "lead", "prospect"},
    {"status", "activo", "active"},
    {"status", "activa", "active"},
    {"status", "actual", "active"},
    {"status", "cliente", "active"},
    {"status", "current", "active"},
    {"status", "ocasional", "occasional"},
    {"status", "inactivo", "inactive"},
    {"status", "inactiva", "inactive"},
    {"status", "antiguo", "inactive"},
    {"status", "past", "inactive"},
    {"status", "perdido", "lost"},
    {"status", "perdida", "lost"},
    {"relationship", "activa", "active"},
    {"relationship", "activo", "active"},
    {"relationship", "habitual", "regular"},
    {"relationship", "ocasional", "occasional"},
    {"relationship", "inactiva", "inactive"},
    {"relationship", "inactivo", "inactive"},
    {"purchase_potential", "high", "alto"},
    {"purchase_potential", "alta", "alto"},
    {"purchase_potential", "medium", "medio"},
    {"purchase_potential", "media", "medio"},
    {"purchase_potential", "low", "bajo"},
    {"purchase_potential", "baja", "bajo"},
    {"type", "visita", "visit"},
    {"type", "llamada", "call"},
    {"type", "telefono", "call"},
    {"type", "correo", "email"},
    {"type", "e-mail", "email"},
    {"type", "mail", "email"},
    {"type", "presupuesto", "quote"},
    {"type", "cotizacion", "quote"},
    {"type", "oferta", "quote"},
    {"type", "pedido", "order"},
    {"type", "venta", "order"},
    {"type", "queja", "complaint"},
    {"type", "reclamacion", "complaint"},
    {"type", "incidencia", "complaint"},
    {"type", "reunion", "meeting"},
    {"type", "otro", "other"},
    {"type", "otra", "other"},
    {"outcome", "pendiente", "pending"},
    {"outcome", "positivo", "positive"},
    {"outcome", "positiva", "positive"},
    {"outcome", "neutro", "neutral"},
    {"outcome", "neutra", "neutral"},
    {"outcome", "negativo", "negative"},
    {"outcome", "negativa", "negative"},
    {"outcome", "ganado", "won"},
    {"outcome", "ganada", "won"},
    {"outcome", "perdido", "lost"},
    {"outcome", "perdida", "lost"},
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Splits "dd/mm/yyyy"-like text into its numeric parts; empty when it is not one.
std::vector<std::string_view> date_parts(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  char separator = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/' || text[i] == '-' || text[i] == '.') {
      if (i < text.size()) {
        if (separator == 0) separator = text[i];
        if (text[i] != separator) return {};
      }
      if (i == start) return {};
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    } else if (!is_digit(text[i])) {
      return {};
    }
  }
  if (parts.size() != 3) return {};
  return parts;
}

int to_int(std::string_view digits) {
  int value = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return value;
}

// The time part "hh:mm" or "hh:mm:ss" as seconds of the day, or -1.
int parse_time(std::string_view text) {
  text = trim(text);
  int parts[3] = {0, 0, 0};
  int count = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ':') {
      if (count == 3 || i == start || i - start > 2) return -1;
      parts[count++] = to_int(text.substr(start, i - start));
      start = i + 1;
    } else if (!is_digit(text[i])) {
      return -1;
    }
  }
  if (count < 2 || parts[0] > 23 || parts[1] > 59 || parts[2] > 59) return -1;
  return parts[0] * 3600 + parts[1] * 60 + parts[2];
}

std::string two_digits(int n) {
  std::string s = std::to_string(n);
  return s.size() < 2 ? "0" + s : s;
}

InputProblem problem_for_kind(FieldKind kind) {
  switch (kind) {
    case FieldKind::decimal:
      return InputProblem::bad_number;
    case FieldKind::integer:
      return InputProblem::bad_integer;
    case FieldKind::date:
      return InputProblem::bad_date;
    case FieldKind::date_time:
      return InputProblem::bad_date_time;
    case FieldKind::choice:
      return InputProblem::bad_choice;
    case FieldKind::email:
      return InputProblem::bad_email;
    case FieldKind::phone:
      return InputProblem::bad_phone;
    case FieldKind::boolean:
      return InputProblem::bad_boolean;
    default:
      return InputProblem::bad_text;
  }
}

FieldInput failure(const TableSpec& table, const FieldSpec& field, std::string_view text,
                   InputProblem problem, std::string detail = {}) {
  FieldInput out;
  out.error = InputError{problem, table.name, field.name, std::string(text), std::move(detail)};
  return out;
}

std::string choices_of(const FieldSpec& field) {
  std::string list;
  for (const auto& c : field.choices) list += (list.empty() ? "" : ", ") + c;
  return list;
}

}  // namespace

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  // A non-breaking space (U+00A0), as spreadsheets leave around numbers.
  while (text.size() >= 2 && text.substr(0, 2) == "\xc2\xa0") text.remove_prefix(2);
  while (text.size() >= 2 && text.substr(text.size() - 2) == "\xc2\xa0") text.remove_suffix(2);
  return text;
}

std::optional<double> parse_number(std::string_view text) {
  std::string s;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\'' || c == '$') continue;
    if (text.substr(i, 3) == "\xe2\x82\xac") {  // €
      i += 2;
      continue;
    }
    if (text.substr(i, 2) == "\xc2\xa0") {  // no-break space
      ++i;
      continue;
    }
    if (text.substr(i, 3) == "\xe2\x80\xaf") {  // narrow no-break space
      i += 2;
      continue;
    }
    s += c;
  }
  if (s.size() > 3 && (s.substr(s.size() - 3) == "EUR" || s.substr(s.size() - 3) == "eur")) {
    s.resize(s.size() - 3);
  }
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s.front() == '-' || s.front() == '+') {
    negative = s.front() == '-';
    s.erase(0, 1);
  }
  if (s.empty()) return std::nullopt;
  std::size_t dots = 0, commas = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c == ',') {
      ++commas;
    } else if (!is_digit(c)) {
      return std::nullopt;
    }
  }
  char decimal = 0, grouping = 0;
  if (dots > 0 && commas > 0) {
    decimal = s.find_last_of(".,") == s.rfind('.') ? '.' : ',';
    grouping = decimal == '.' ? ',' : '.';
    if ((decimal == '.' ? dots : commas) != 1) return std::nullopt;
    if (s.find(grouping, s.find(decimal)) != std::string::npos) return std::nullopt;
  } else if (dots + commas == 1) {
    // "1.500" and "1,500" are fifteen hundred (what a seller means, whichever their habit);
    // "1,5", "12.50", "0,125" and "1234.567" have decimals.
    const std::size_t at = s.find_first_of(".,");
    const bool grouping_like = s.size() - at - 1 == 3 && at >= 1 && at <= 3 && s[0] != '0';
    if (grouping_like) {
      grouping = s[at];
    } else {
      decimal = s[at];
    }
  } else if (dots + commas > 1) {
    grouping = dots ? '.' : ',';
  }
  std::string plain;
  std::size_t group_digits = 0;
  bool in_groups = false;
  for (char c : s) {
    if (c == grouping) {
      if (in_groups && group_digits != 3) return std::nullopt;
      if (plain.empty()) return std::nullopt;
      in_groups = true;
      group_digits = 0;
    } else if (c == decimal) {
      if (in_groups && group_digits != 3) return std::nullopt;
      in_groups = false;
      plain += '.';
    } else {
      plain += c;
      ++group_digits;
    }
  }
  if (in_groups && group_digits != 3) return std::nullopt;
  if (plain.empty() || plain == ".") return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(plain.data(), plain.data() + plain.size(), value);
  if (ec != std::errc() || end != plain.data() + plain.size()) return std::nullopt;
  return negative ? -value : value;
}

std::optional<std::string> parse_date(std::string_view text) {
  text = trim(text);
  // A time after the date ("15/03/2024 10:30", "2024-03-15T10:30:00Z") is ignored.
  if (const auto cut = text.find_first_of(" T"); cut != std::string_view::npos) {
    text = text.substr(0, cut);
  }
  const auto parts = date_parts(text);
  if (parts.empty()) return std::nullopt;
  int year = 0, month = 0, day = 0;
  if (parts[0].size() == 4) {
    year = to_int(parts[0]);
    month = to_int(parts[1]);
    day = to_int(parts[2]);
    if (parts[1].size() > 2 || parts[2].size() > 2) return std::nullopt;
  } else if (parts[0].size() <= 2 && parts[1].size() <= 2 &&
             (parts[2].size() == 4 || parts[2].size() == 2)) {
    day = to_int(parts[0]);
    month = to_int(parts[1]);
    year = to_int(parts[2]);
    if (parts[2].size() == 2) year += year < 70 ? 2000 : 1900;  // as Excel reads "dd/mm/yy"
  } else {
    return std::nullopt;
  }
  const std::string iso = std::to_string(year).insert(0, 4 - std::to_string(year).size(), '0') +
                          "-" + two_digits(month) + "-" + two_digits(day);
  if (!is_valid_date(iso)) return std::nullopt;
  return iso;
}

std::optional<std::string> parse_date_time(std::string_view text) {
  text = trim(text);
  if (is_valid_date_time(text)) return std::string(text);
  const auto cut = text.find_first_of(" T");
  const auto date = parse_date(text.substr(0, cut));
  if (!date) return std::nullopt;
  int seconds = 0;
  if (cut != std::string_view::npos) {
    std::string_view time = text.substr(cut + 1);
    if (!time.empty() && time.back() == 'Z') time.remove_suffix(1);
    seconds = parse_time(time);
    if (seconds < 0) return std::nullopt;
  }
  return *date + "T" + two_digits(seconds / 3600) + ":" + two_digits(seconds / 60 % 60) + ":" +
         two_digits(seconds % 60) + "Z";
}

std::optional<bool> parse_boolean(std::string_view text) {
  const std::string folded = fold_text(trim(text));
  for (const char* yes : {"si", "s", "yes", "y", "true", "1", "x", "verdadero", "hecho", "done"}) {
    if (folded == yes) return true;
  }
  for (const char* no : {"no", "n", "false", "0", "falso", "pendiente"}) {
    if (folded == no) return false;
  }
  return std::nullopt;
}

TagSet parse_tags(std::string_view text) {
  TagSet tags;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ',' || text[i] == ';') {
      const auto tag = trim(text.substr(start, i - start));
      if (!tag.empty()) tags.emplace_back(tag);
      start = i + 1;
    }
  }
  return tags;
}

std::optional<std::string> match_choice(const FieldSpec& field, std::string_view text) {
  const std::string folded = fold_text(trim(text));
  if (folded.empty()) return std::nullopt;
  for (const auto& choice : field.choices) {
    if (fold_text(choice) == folded) return choice;
  }
  for (const auto& choice : field.choices) {
    for (Lang lang : {Lang::es, Lang::en}) {
      if (fold_text(choice_label(field.name, choice, lang)) == folded) return choice;
    }
  }
  for (const auto& alias : kChoiceAliases) {
    if (field.name == alias.field && folded == alias.alias) return std::string(alias.value);
  }
  return std::nullopt;
}

FieldInput parse_field_input(const TableSpec& table, std::string_view field,
                             std::string_view text) {
  const FieldSpec* spec = table.field(field);
  if (!spec || field == "deleted") {
    FieldInput out;
    std::string known;
    for (const auto& f : table.fields) known += (known.empty() ? "" : ", ") + f.name;
    out.error = InputError{InputProblem::unknown_field, table.name, std::string(field),
                           std::string(text), known};
    return out;
  }
  return parse_field_input(table, *spec, text);
}

FieldInput parse_field_input(const TableSpec& table, const FieldSpec& field,
                             std::string_view text) {
  const std::string_view raw = field.kind == FieldKind::long_text ? text : trim(text);
  if (trim(raw).empty()) return FieldInput{};  // blank: clears the field
  Value value;
  switch (field.kind) {
    case FieldKind::decimal: {
      const auto number = parse_number(raw);
      if (!number) return failure(table, field, raw, InputProblem::bad_number);
      value = *number;
      break;
    }
    case FieldKind::integer: {
      const auto number = parse_number(raw);
      if (!number || *number != static_cast<double>(static_cast<std::int64_t>(*number))) {
        return failure(table, field, raw, InputProblem::bad_integer);
      }
      value = static_cast<std::int64_t>(*number);
      break;
    }
    case FieldKind::date: {
      const auto date = parse_date(raw);
      if (!date) return failure(table, field, raw, InputProblem::bad_date);
      value = *date;
      break;
    }
    case FieldKind::date_time: {
      const auto date_time = parse_date_time(raw);
      if (!date_time) return failure(table, field, raw, InputProblem::bad_date_time);
      value = *date_time;
      break;
    }
    case FieldKind::choice: {
      const auto choice = match_choice(field, raw);
      if (!choice) return failure(table, field, raw, InputProblem::bad_choice, choices_of(field));
      value = *choice;
      break;
    }
    case FieldKind::boolean: {
      const auto flag = parse_boolean(raw);
      if (!flag) return failure(table, field, raw, InputProblem::bad_boolean);
      value = *flag;
      break;
    }
    case FieldKind::tag_set:
      value = parse_tags(raw);
      break;
    default:
      value = std::string(raw);
      break;
  }
  auto validated = field.validate(value);
  if (!validated.ok()) {
    const Error& error = validated.error();
    InputProblem problem = problem_for_kind(field.kind);
    if (error.code() == ErrorCode::too_large) problem = InputProblem::too_long;
    if (problem == InputProblem::bad_text || problem == InputProblem::bad_choice) {
      return failure(table, field, raw, problem, error.what());
    }
    return failure(table, field, raw, problem);
  }
  FieldInput out;
  out.value = std::move(validated).value();
  return out;
}

std::string describe(const InputError& error, Lang lang) {
  const std::string label = error.field + " (" + std::string(field_label(error.field, lang)) + ")";
  switch (error.problem) {
    case InputProblem::unknown_field:
      return tr(lang, Msg::input_unknown_field, {error.field, error.table, error.detail});
    case InputProblem::bad_number:
      return tr(lang, Msg::input_bad_number, {label, error.value});
    case InputProblem::bad_integer:
      return tr(lang, Msg::input_bad_integer, {label, error.value});
    case InputProblem::bad_date:
      return tr(lang, Msg::input_bad_date, {label, error.value});
    case InputProblem::bad_date_time:
      return tr(lang, Msg::input_bad_date_time, {label, error.value});
    case InputProblem::bad_choice: {
      // The allowed values as the seller names them ("activo", not "active").
      std::string allowed = error.detail;
      const TableSpec* table = customer_book_schema().table(error.table);
      if (const FieldSpec* spec = table ? table->field(error.field) : nullptr;
          spec && !spec->choices.empty()) {
        allowed.clear();
        for (const auto& choice : spec->choices) {
          allowed +=
              (allowed.empty() ? "" : ", ") + std::string(choice_label(spec->name, choice, lang));
        }
      }
      return tr(lang, Msg::input_bad_choice, {label, error.value, allowed});
    }
    case InputProblem::bad_email:
      return tr(lang, Msg::input_bad_email, {label, error.value});
    case InputProblem::bad_phone:
      return tr(lang, Msg::input_bad_phone, {label, error.value});
    case InputProblem::bad_boolean:
      return tr(lang, Msg::input_bad_boolean, {label, error.value});
    case InputProblem::too_long:
      return tr(lang, Msg::input_too_long, {label});
    case InputProblem::bad_text:
      return tr(lang, Msg::input_bad_text, {label, error.value, error.detail});
    case InputProblem::required:
      return tr(lang, Msg::input_required, {label});
  }
  return error.detail;
}

}  // namespace libreta::cli
