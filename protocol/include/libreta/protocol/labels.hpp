// The customer book's words for people: each field's label and each choice's, in Spanish
// and English. Labels are shared by every table that has a field of that name; they are also
// the headers of exported CSV files, which the importer reads back in either language.
// Immutable tables; thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace libreta {

struct LabelEntry {
  const char* key;
  const char* value;
  const char* es;
  const char* en;
};
std::span<const LabelEntry> field_labels();   // key: field name, value: unused ("")
std::span<const LabelEntry> choice_labels();  // key: field, value: the choice

// "Razón social"/"Name"; the field's name itself when unknown.
std::string_view field_label(std::string_view field, bool spanish);
// The label of a choice value ("activo" for status "active"); the value itself when
// unknown. `field` may also be "boolean", "rfm_segment" or "date_kind".
std::string_view choice_label(std::string_view field, std::string_view value, bool spanish);

}  // namespace libreta
