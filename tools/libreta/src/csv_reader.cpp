#include "csv_reader.hpp"

#include <array>

namespace libreta::cli {
namespace {

bool is_blank(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

}  // namespace

char detect_separator(std::string_view text) {
  constexpr std::array<char, 3> kCandidates = {';', ',', '\t'};
  std::array<std::size_t, 3> counts{};
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      quoted = !quoted;  // a doubled quote toggles twice: no change
    } else if (!quoted && (c == '\n' || c == '\r')) {
      break;
    } else if (!quoted) {
      for (std::size_t k = 0; k < kCandidates.size(); ++k) {
        if (c == kCandidates[k]) ++counts[k];
      }
    }
  }
  std::size_t best = 0;
  for (std::size_t k = 1; k < kCandidates.size(); ++k) {
    if (counts[k] > counts[best]) best = k;
  }
  return counts[best] == 0 ? ',' : kCandidates[best];
}

std::vector<CsvRecord> parse_csv(std::string_view text, char separator, std::size_t first_line) {
  std::vector<CsvRecord> records;
  std::size_t line = first_line;
  std::size_t i = 0;
  const std::size_t n = text.size();

  // Consumes a line break at `i` (CRLF, LF or CR) and counts it.
  const auto take_line_break = [&]() -> bool {
    if (i < n && text[i] == '\r') {
      ++i;
      if (i < n && text[i] == '\n') ++i;
      ++line;
      return true;
    }
    if (i < n && text[i] == '\n') {
      ++i;
      ++line;
      return true;
    }
    return false;
  };

  while (i < n) {
    CsvRecord record;
    record.line = line;
    bool end_of_record = false;
    while (!end_of_record) {
      std::string field;
      if (i < n && text[i] == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
            } else {
              ++i;
              closed = true;
              break;
            }
          } else if (c == '\r' || c == '\n') {
            take_line_break();
            field += '\n';  // a line break inside a cell, whatever the file's line ends
          } else {
            field += c;
            ++i;
          }
        }
        if (!closed) record.unterminated = true;
        // Text after the closing quote (not valid CSV, but Excel users make it): kept.
        while (i < n && text[i] != separator && text[i] != '\r' && text[i] != '\n') {
          field += text[i++];
        }
      } else {
        while (i < n && text[i] != separator && text[i] != '\r' && text[i] != '\n') {
          field += text[i++];
        }
      }
      record.fields.push_back(std::move(field));
      if (i < n && text[i] == separator) {
        ++i;
        if (i >= n) record.fields.emplace_back();  // a separator just before the end
      } else {
        take_line_break();
        end_of_record = true;
      }
      if (i >= n) end_of_record = true;
    }
    const bool blank = record.fields.size() == 1 && record.fields[0].empty();
    if (!blank) records.push_back(std::move(record));
  }
  return records;
}

CsvDocument read_csv(std::string_view bytes) {
  CsvDocument doc;
  if (bytes.find('\0') != std::string_view::npos &&
      !(bytes.substr(0, 2) == "\xff\xfe" || bytes.substr(0, 2) == "\xfe\xff")) {
    doc.status = CsvStatus::not_text;
    return doc;
  }
  DecodedText decoded = decode_text(bytes);
  doc.encoding = decoded.encoding;
  std::string_view text = decoded.text;
  if (is_blank(text)) {
    doc.status = CsvStatus::empty;
    return doc;
  }
  if (looks_binary(text)) {
    doc.status = CsvStatus::not_text;
    return doc;
  }
  // Excel's "sep=;" first line names the separator.
  std::size_t first_line = 1;
  if (text.size() >= 5 && (text.substr(0, 4) == "sep=" || text.substr(0, 4) == "SEP=") &&
      (text.size() == 5 || text[5] == '\r' || text[5] == '\n')) {
    doc.separator = text[4];
    text.remove_prefix(5);
    if (!text.empty() && text.front() == '\r') text.remove_prefix(1);
    if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
    first_line = 2;
  } else {
    doc.separator = detect_separator(text);
  }
  doc.records = parse_csv(text, doc.separator, first_line);
  if (doc.records.empty()) doc.status = CsvStatus::empty;
  return doc;
}

}  // namespace libreta::cli
