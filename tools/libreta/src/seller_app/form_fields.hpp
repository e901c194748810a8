// The fields of the app's forms: each field's control chosen by its kind in the schema
// (text, email, phone, number, date, choice, tags, yes/no), its label in the seller's
// language, its message when invalid; and the reading of a submitted form back into field
// values, every one converted and validated as the command line does (field_input.hpp).
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libreta/protocol/customer_book.hpp"
#include "screen.hpp"

namespace libreta::cli::app {

// A titled group of a table's fields, as a seller thinks of them.
struct FieldGroup {
  Msg title;
  std::vector<const char*> fields;
};
std::span<const FieldGroup> customer_field_groups();
std::span<const FieldGroup> contact_field_groups();
// Every field of the groups, in order.
std::vector<std::string> group_fields(std::span<const FieldGroup> groups);

// A UTC date-time (YYYY-MM-DDTHH:MM:SSZ) as a datetime-local input holds it: local time,
// YYYY-MM-DDTHH:MM.
std::string local_input_time(std::string_view utc_iso);

// Text for a form's input holding a stored value; it reads back to the same value.
std::string input_text(const Screen& s, const FieldSpec& field, const Value& value);

// A labelled control for `field` holding `text`, with `error` under it when not empty.
std::string field_control(const Screen& s, const TableSpec& table, const FieldSpec& field,
                          std::string_view text, std::string_view error);

// The groups' controls, as <fieldset>s, holding `texts` and showing `errors` (by field).
std::string field_groups_html(const Screen& s, const TableSpec& table,
                              std::span<const FieldGroup> groups,
                              const std::map<std::string, std::string>& texts,
                              const std::map<std::string, std::string>& errors);

// A submitted form read for the fields `names` of `table`.
struct FormFields {
  Record values;                              // every valid field; null for a blank one
  std::map<std::string, std::string> texts;   // what was typed, to show it again
  std::map<std::string, std::string> errors;  // the message of each invalid field
  bool ok() const { return errors.empty(); }
};
FormFields read_form_fields(const Screen& s, const TableSpec& table,
                            const std::vector<std::string>& names);

// The texts of a stored row's fields, for a form editing it.
std::map<std::string, std::string> texts_of(const Screen& s, const TableSpec& table,
                                            const Record& record);

// Creates a row of `table` belonging to customer `customer_id` from a form's valid fields
// (blank ones left out); returns its id.
std::string create_child(Screen& s, std::string_view table, const Record& values,
                         const std::string& customer_id);

// The fields of `wanted` whose value differs from `current` (for an update).
Record changed_fields(const Record& current, const Record& wanted);

}  // namespace libreta::cli::app
