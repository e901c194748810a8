// The content lines vCard (RFC 6350, and 2426 for 3.0) and iCalendar (RFC 5545) share:
// TEXT escaping and folding at 75 octets. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace libreta::cli {

// Longest line, in octets, before it must be folded (RFC 5545 §3.1, RFC 6350 §3.2).
inline constexpr std::size_t kMaxContentLineOctets = 75;

// Escapes a TEXT value: backslash, semicolon and comma with a backslash, line breaks as \n.
std::string escape_text(std::string_view text);

// One content line "NAME;PARAMS:value" folded into lines of at most 75 octets (never
// splitting a UTF-8 character), each continuation starting with a space; ends with CRLF.
std::string content_line(std::string_view line);

}  // namespace libreta::cli
