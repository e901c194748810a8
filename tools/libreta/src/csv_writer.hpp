// Writing CSV that Excel opens as it should: UTF-8 with a BOM (or Excel guesses the ANSI
// code page and breaks the accents), the separator of the seller's locale, CRLF record
// ends, and quoting where needed. Cells that Excel would run as a formula are defused with
// a leading apostrophe, which the importer removes. Not thread-safe (one writer per file).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace libreta::cli {

class CsvWriter {
 public:
  explicit CsvWriter(char separator, bool byte_order_mark = true);
  void add_row(const std::vector<std::string>& cells);
  const std::string& text() const { return text_; }

  // One cell as it goes into the file, quoted if needed.
  static std::string cell(std::string_view value, char separator);

 private:
  char separator_;
  std::string text_;
};

}  // namespace libreta::cli
