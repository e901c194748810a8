#include "libreta/protocol/json_limits.hpp"

#include <cstring>
#include <string>

namespace libreta {
namespace {

// The closing quote of the text opened at `open`, or nullptr when it is not terminated. A
// quote preceded by an odd run of backslashes is escaped.
const char* closing_quote(const char* open, const char* end) {
  const char* from = open + 1;
  while (from < end) {
    const auto* quote =
        static_cast<const char*>(std::memchr(from, '"', static_cast<std::size_t>(end - from)));
    if (!quote) return nullptr;
    std::size_t backslashes = 0;
    for (const char* b = quote - 1; b > open && *b == '\\'; --b) ++backslashes;
    if (backslashes % 2 == 0) return quote;
    from = quote + 1;
  }
  return nullptr;
}

Error too_large(const char* what, std::size_t limit, const char* unit) {
  return Error(ErrorCode::too_large,
               std::string("the JSON ") + what + " " + std::to_string(limit) + unit);
}

}  // namespace

Status check_json_limits(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes)
    return too_large("is larger than", limits.max_bytes, " bytes");
  // Every value but the outermost is an item of an array or object: the first item of each
  // (a value right after its opening bracket) or one after a comma. So counting those counts
  // the values, without knowing a member name from a value: a name is never first or after
  // a comma on its own, it comes with its value.
  std::size_t depth = 0;
  std::size_t values = 1;
  bool opened = false;  // just after an opening bracket: the next value is a first item
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const char c = *p;
    switch (c) {
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        ++p;
        continue;
      case '[':
      case '{':
        if (opened && ++values > limits.max_values) {
          return too_large("holds more values than", limits.max_values, "");
        }
        if (++depth > limits.max_depth) {
          return too_large("nests arrays and objects deeper than", limits.max_depth, " levels");
        }
        opened = true;
        ++p;
        continue;
      case ']':
      case '}':
        if (depth == 0) return Error(ErrorCode::malformed, "not valid JSON: a bracket is not open");
        --depth;
        opened = false;
        ++p;
        continue;
      case ',':
        if (++values > limits.max_values) {
          return too_large("holds more values than", limits.max_values, "");
        }
        opened = false;
        ++p;
        continue;
      case '"': {
        const char* quote = closing_quote(p, end);
        if (!quote) return Error(ErrorCode::malformed, "not valid JSON: a text is not terminated");
        if (static_cast<std::size_t>(quote - p - 1) > limits.max_string_bytes) {
          return too_large("holds a text longer than", limits.max_string_bytes, " bytes");
        }
        p = quote;
        break;
      }
      default:
        // Numbers, literals, colons: one byte at a time, nothing to remember.
        break;
    }
    if (opened) {
      opened = false;
      if (++values > limits.max_values) {
        return too_large("holds more values than", limits.max_values, "");
      }
    }
    ++p;
  }
  if (depth != 0) return Error(ErrorCode::malformed, "not valid JSON: a bracket is not closed");
  return Ok{};
}

}  // namespace libreta
