// What a seller types, or a spreadsheet cell holds, turned into a field value of the
// customer book: numbers with decimal commas ("1.234,56"), dates as dd/mm/yyyy or
// yyyy-mm-dd, comma-separated tags, yes/no in Spanish or English, and choices by their
// value or their label in either language ("activo" for "active"). The result is then
// checked by the schema's own FieldSpec::validate. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "libreta/protocol/customer_book.hpp"
#include "messages.hpp"

namespace libreta::cli {

enum class InputProblem {
  unknown_field,
  bad_number,
  bad_integer,
  bad_date,
  bad_date_time,
  bad_choice,
  bad_email,
  bad_phone,
  bad_boolean,
  too_long,
  bad_text,
  required,
};

struct InputError {
  InputProblem problem = InputProblem::bad_text;
  std::string table;
  std::string field;
  std::string value;
  std::string detail;  // the allowed choices, or the schema's own explanation
};

struct FieldInput {
  Value value;  // canonical, validated; null for a blank input (clears the field)
  std::optional<InputError> error;
  bool ok() const { return !error; }
};

// Parses and validates `text` for `field`. Blank text gives null.
FieldInput parse_field_input(const TableSpec& table, const FieldSpec& field, std::string_view text);
// The same by field name; an unknown name is an InputProblem::unknown_field.
FieldInput parse_field_input(const TableSpec& table, std::string_view field, std::string_view text);

// Building blocks, also used by commands with their own flags.
// "1.234,56", "1,234.56", "1234,5", "-3", "12 €": the number, or nullopt. With both marks
// the last one is the decimal mark; a lone mark followed by exactly three digits after one
// to three (not "0") is a thousands mark ("1.500" = "1,500" = 1500); otherwise decimal.
std::optional<double> parse_number(std::string_view text);
// dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd, yyyy/mm/dd (a time after the
// date is ignored): "YYYY-MM-DD", or nullopt when it is not a real calendar day.
std::optional<std::string> parse_date(std::string_view text);
// A date and optional time (hh:mm or hh:mm:ss, taken as UTC) or an ISO date-time:
// "YYYY-MM-DDTHH:MM:SSZ".
std::optional<std::string> parse_date_time(std::string_view text);
std::optional<bool> parse_boolean(std::string_view text);
// Tags separated by commas (or semicolons): trimmed, blanks dropped.
TagSet parse_tags(std::string_view text);
// The choice of `field` that `text` names (value or label, any case and accents).
std::optional<std::string> match_choice(const FieldSpec& field, std::string_view text);

// The problem worded for the seller: "field 'email' (Email): 'x' is not an email address".
std::string describe(const InputError& error, Lang lang);

// Leading and trailing blanks removed.
std::string_view trim(std::string_view text);

}  // namespace libreta::cli
