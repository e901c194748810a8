// Query strings and HTML form bodies (application/x-www-form-urlencoded), and the
// percent-encoding of URLs built for links.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libreta::web {

// Decodes %XX escapes, and '+' as a space when `plus_is_space` (form bodies and queries).
// A malformed escape is kept as written.
std::string percent_decode(std::string_view text, bool plus_is_space = true);
// Encodes everything but unreserved characters (RFC 3986), for a query value or a path part.
std::string percent_encode(std::string_view text);

// Name=value pairs in the order given; a name may repeat.
class Params {
 public:
  Params() = default;
  // Parses "a=1&b=two+words&c": c has the empty value.
  static Params parse(std::string_view encoded);

  // The first value of `name`, or nullopt.
  std::optional<std::string> get(std::string_view name) const;
  // The first value of `name`, or "" when absent.
  std::string value(std::string_view name) const;
  std::vector<std::string> all(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  void add(std::string name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }
  // "a=1&b=two%20words", for building links.
  std::string encode() const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

}  // namespace libreta::web
