#include "csv_writer.hpp"

namespace libreta::cli {
namespace {

// A cell a spreadsheet would take for a formula: "=...", "@...", and "+..."/"-..." that are
// not simply numbers or phone numbers.
bool looks_like_formula(std::string_view value) {
  if (value.empty()) return false;
  const char first = value.front();
  if (first == '=' || first == '@') return true;
  if (first != '+' && first != '-') return false;
  for (char c : value.substr(1)) {
    const bool plain = (c >= '0' && c <= '9') || c == ' ' || c == '.' || c == ',' || c == '(' ||
                       c == ')' || c == '-';
    if (!plain) return true;
  }
  return false;
}

}  // namespace

CsvWriter::CsvWriter(char separator, bool byte_order_mark) : separator_(separator) {
  if (byte_order_mark) text_ = "\xef\xbb\xbf";
}

std::string CsvWriter::cell(std::string_view value, char separator) {
  std::string text = looks_like_formula(value) ? "'" + std::string(value) : std::string(value);
  const bool needs_quotes =
      text.find_first_of(std::string{'"', '\r', '\n', separator}) != std::string::npos ||
      (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!needs_quotes) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

void CsvWriter::add_row(const std::vector<std::string>& cells) {
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) text_ += separator_;
    text_ += cell(cells[i], separator_);
  }
  text_ += "\r\n";
}

}  // namespace libreta::cli
