// Text normalization shared by search, duplicate detection and import: accent and case
// folding of Latin text, and digits-only forms of phones and tax ids. Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace libreta {

// Lowercase, with the accents of Latin letters removed: "Peña Núñez" -> "pena nunez".
// Characters outside Latin-1 and Latin Extended-A are kept as they are.
std::string fold_text(std::string_view utf8);

// Well-formed UTF-8: no stray or truncated sequences, no overlong forms, surrogates or
// values past U+10FFFF.
bool is_valid_utf8(std::string_view bytes);

// Appends a code point (at most U+10FFFF, not a surrogate) as UTF-8.
void append_utf8(std::string& out, char32_t code_point);

// Only the ASCII digits of a text: "+34 912-345 678" -> "34912345678".
std::string digits_only(std::string_view text);

// Uppercase letters and digits only: " b-12.345.678 " -> "B12345678".
std::string normalize_tax_id(std::string_view text);

}  // namespace libreta
