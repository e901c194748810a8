#include "text_table.hpp"

#include <algorithm>
#include <utility>

namespace libreta::server::app {

namespace {

// Width on a terminal, counting UTF-8 code points (customer names are not ASCII).
std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// Cuts at a code point boundary and marks the cut; control characters become spaces so a
// value cannot break the table's lines.
std::string fit(const std::string& text, std::size_t max_width) {
  std::string out;
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const bool starts_code_point = (byte & 0xC0) != 0x80;
    if (starts_code_point) {
      if (width + 1 == max_width && display_width(text.substr(i)) > 1) {
        out += "\xE2\x80\xA6";  // …
        return out;
      }
      ++width;
    }
    out.push_back(byte < 0x20 ? ' ' : text[i]);
  }
  return out;
}

}  // namespace

TextTable::TextTable(std::vector<std::string> header, std::size_t max_cell_width)
    : header_(std::move(header)), max_cell_width_(std::max<std::size_t>(max_cell_width, 2)) {}

void TextTable::add_row(std::vector<std::string> cells) {
  cells.resize(header_.size());
  for (auto& cell : cells) cell = fit(cell, max_cell_width_);
  rows_.push_back(std::move(cells));
}

void TextTable::print(std::ostream& out) const {
  std::vector<std::size_t> widths(header_.size());
  for (std::size_t c = 0; c < header_.size(); ++c) widths[c] = display_width(header_[c]);
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], display_width(row[c]));
    }
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      line += cells[c];
      if (c + 1 < cells.size()) line.append(widths[c] - display_width(cells[c]) + 2, ' ');
    }
    out << line << '\n';
  };
  print_row(header_);
  for (const auto& row : rows_) print_row(row);
}

}  // namespace libreta::server::app
