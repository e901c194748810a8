// Showing data: JSON forms of rows and values for --json, seller-friendly text of a field
// value (dates, amounts and choices as the locale expects), and aligned text tables.
// Pure helpers; TextTable is a plain value.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "libreta/protocol/customer_book.hpp"
#include "locale_format.hpp"

namespace libreta::cli {

class Context;

nlohmann::json value_json(const Value& value);
// {"id": ..., field: value...}, only the fields that are set.
nlohmann::json record_json(std::string_view id, const Record& record);
template <class Entity>
nlohmann::json entity_json(const Entity& e) {
  return record_json(e.id, to_record(e));
}

// Prints `data` as indented JSON and a newline on the context's output.
void print_json(Context& ctx, const nlohmann::json& data);

// A field's value for a person to read: dates by locale, decimals as amounts when the field
// is money, choices by their label, tags comma-separated. A value whose type does not fit
// the field is shown by its own type.
std::string display_value(const FieldSpec& field, const Value& value, const LocaleFormat& format);

// Rows of text cells printed in aligned columns (by code points, so accents do not shift).
class TextTable {
 public:
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out, std::string_view indent = "  ") const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace libreta::cli
