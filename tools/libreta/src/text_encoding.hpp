// Byte-level text handling for files that come from spreadsheets and phones: UTF-8 checks,
// Windows-1252 and UTF-16 decoding, a binary-file sniff, and code-point counting for
// column alignment. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace libreta::cli {

enum class SourceEncoding { utf8, utf8_bom, windows_1252, utf16le, utf16be };

// "UTF-8", "UTF-8 (BOM)", "Windows-1252", "UTF-16LE", "UTF-16BE".
const char* encoding_name(SourceEncoding encoding);

struct DecodedText {
  std::string text;  // UTF-8, without BOM
  SourceEncoding encoding = SourceEncoding::utf8;
};

// Decodes a text file as Excel may write it: a UTF-16 BOM means UTF-16; otherwise a UTF-8
// BOM is dropped; text that is not valid UTF-8 is read as Windows-1252 (what Excel writes
// for "CSV" on a Spanish Windows).
DecodedText decode_text(std::string_view bytes);

std::string windows_1252_to_utf8(std::string_view bytes);
std::string utf16_to_utf8(std::string_view bytes, bool little_endian);

// Whether decoded text looks like something other than text (an image, a zip, an .xlsx):
// NUL characters, or more than a few control characters that no text file holds.
bool looks_binary(std::string_view text);

// Code points in UTF-8 text (an approximation of its width in a terminal).
std::size_t display_width(std::string_view utf8);

// The longest prefix of `utf8` of at most `max_bytes` bytes that does not split a character.
std::string_view utf8_prefix(std::string_view utf8, std::size_t max_bytes);

}  // namespace libreta::cli
