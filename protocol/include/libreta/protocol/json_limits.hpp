// Bounds on untrusted JSON text, checked before a JSON library builds anything from it. A
// document tree costs many times its text (a byte of `[` is an array of its own), so the
// decoders scan the text first, without allocating, and refuse it at the first excess.
// Plain data and a stateless function, thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "libreta/protocol/error.hpp"

namespace libreta {

struct JsonLimits {
  // The whole text.
  std::size_t max_bytes = 0;
  // Arrays and objects inside one another; the outermost counts 1.
  std::size_t max_depth = 0;
  // Values in the document, arrays and objects included, object member names not.
  std::size_t max_values = 0;
  // One text or member name as written, escapes included.
  std::size_t max_string_bytes = 0;
};

// Checks `text` against `limits` in one pass that allocates nothing, stopping at the first
// excess: too_large naming the limit, or malformed for an unterminated text or brackets
// that do not balance. Passing says nothing more: the text may still not be JSON.
Status check_json_limits(std::string_view text, const JsonLimits& limits);

}  // namespace libreta
