// Escaping text into HTML: every value shown on a page goes through escape(), so that a
// customer named "<script>" is shown, never run.
#pragma once

#include <string>
#include <string_view>

namespace libreta::web {

// Text for an element's content or a quoted attribute value: & < > " ' escaped.
std::string escape(std::string_view text);
// Appends escape(text) to `out`.
void append_escaped(std::string& out, std::string_view text);

}  // namespace libreta::web
