// A small, strict parser of vCard and iCalendar text for the export tests: CRLF line ends,
// lines of at most 75 octets that never split a UTF-8 character, unfolding, BEGIN/END
// nesting, parameters (quoted or not) and TEXT unescaping that rejects bad escapes and
// unescaped separators. Not a full RFC 5545 / 6350 implementation: what the exports use.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace libreta::test {

struct ContentProperty {
  std::string name;                                        // upper case
  std::map<std::string, std::vector<std::string>> params;  // upper-case names
  std::string raw;                                         // the value as written
};

struct ContentComponent {
  std::string name;
  std::vector<ContentProperty> properties;
  std::vector<ContentComponent> children;

  const ContentProperty* find(const std::string& property) const;
  std::vector<const ContentProperty*> all(const std::string& property) const;
};

// Parses the whole text into its top-level components; throws std::runtime_error with the
// line number on anything malformed.
std::vector<ContentComponent> parse_content(const std::string& text);

// A TEXT value unescaped (\\ \; \, \n \N); throws on an unknown escape, or on an
// unescaped ';' (and ',' unless `commas_allowed`).
std::string unescape_text(const std::string& raw, bool commas_allowed = false);
// A structured value (N, ADR) split at unescaped ';', each component unescaped.
std::vector<std::string> split_structured(const std::string& raw);

}  // namespace libreta::test
