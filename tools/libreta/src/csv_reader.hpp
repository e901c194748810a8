// Reading a spreadsheet's CSV export: the encoding (UTF-8 with or without BOM, Windows-1252,
// UTF-16), the separator (`;`, `,` or tab, or Excel's "sep=" line), quoted fields with
// separators, doubled quotes and line breaks inside, and CRLF, LF or CR line ends. Each
// record keeps the physical line it starts on, for error reports. Pure, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "text_encoding.hpp"

namespace libreta::cli {

struct CsvRecord {
  std::size_t line = 0;  // physical line (1-based) where the record starts
  std::vector<std::string> fields;
  bool unterminated = false;  // a quoted field ran to the end of the file
};

enum class CsvStatus {
  ok,
  empty,     // no bytes, or only a BOM and blank lines
  not_text,  // binary content: not a CSV at all
};

struct CsvDocument {
  CsvStatus status = CsvStatus::ok;
  SourceEncoding encoding = SourceEncoding::utf8;
  char separator = ',';
  std::vector<CsvRecord> records;  // the header first; blank lines left out
};

// The separator used by the first record of `text`: the most frequent of `;`, `,` and tab
// outside quotes (`;` first on a tie, as a Spanish Excel writes), or `,` when none occurs.
char detect_separator(std::string_view text);

// Splits decoded text into records. Lines holding nothing at all are skipped.
std::vector<CsvRecord> parse_csv(std::string_view text, char separator, std::size_t first_line = 1);

// Decodes, sniffs and parses a file's bytes.
CsvDocument read_csv(std::string_view bytes);

}  // namespace libreta::cli
