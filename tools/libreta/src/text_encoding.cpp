#include "text_encoding.hpp"

#include "libreta/protocol/text.hpp"

#include <cstdint>

namespace libreta::cli {
namespace {

// Windows-1252 bytes 0x80..0x9f; the five undefined ones map to U+FFFD.
constexpr char16_t kCp1252High[32] = {
    0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd, 0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178};

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

const char* encoding_name(SourceEncoding encoding) {
  switch (encoding) {
    case SourceEncoding::utf8:
      return "UTF-8";
    case SourceEncoding::utf8_bom:
      return "UTF-8 (BOM)";
    case SourceEncoding::windows_1252:
      return "Windows-1252";
    case SourceEncoding::utf16le:
      return "UTF-16LE";
    case SourceEncoding::utf16be:
      return "UTF-16BE";
  }
  return "?";
}

std::string windows_1252_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else if (c < 0xa0) {
      append_utf8(out, kCp1252High[c - 0x80]);
    } else {
      append_utf8(out, c);  // Latin-1 is the same code point
    }
  }
  return out;
}

std::string utf16_to_utf8(std::string_view bytes, bool little_endian) {
  std::string out;
  out.reserve(bytes.size());
  const auto unit = [&](std::size_t at) -> char32_t {
    const auto a = static_cast<unsigned char>(bytes[at]);
    const auto b = static_cast<unsigned char>(bytes[at + 1]);
    return little_endian ? static_cast<char32_t>(a | (b << 8))
                         : static_cast<char32_t>((a << 8) | b);
  };
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) {
    char32_t code = unit(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 3 < bytes.size()) {
      const char32_t low = unit(i + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i += 2;
      } else {
        code = 0xfffd;
      }
    } else if (code >= 0xd800 && code <= 0xdfff) {
      code = 0xfffd;
    }
    append_utf8(out, code);
  }
  return out;
}

DecodedText decode_text(std::string_view bytes) {
  if (starts_with(bytes, "\xff\xfe")) {
    return {utf16_to_utf8(bytes.substr(2), true), SourceEncoding::utf16le};
  }
  if (starts_with(bytes, "\xfe\xff")) {
    return {utf16_to_utf8(bytes.substr(2), false), SourceEncoding::utf16be};
  }
  if (starts_with(bytes, "\xef\xbb\xbf")) {
    bytes.remove_prefix(3);
    if (is_valid_utf8(bytes)) return {std::string(bytes), SourceEncoding::utf8_bom};
    return {windows_1252_to_utf8(bytes), SourceEncoding::windows_1252};
  }
  if (is_valid_utf8(bytes)) return {std::string(bytes), SourceEncoding::utf8};
  return {windows_1252_to_utf8(bytes), SourceEncoding::windows_1252};
}

bool looks_binary(std::string_view text) {
  std::size_t control = 0;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0) return true;
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') ++control;
  }
  // Text from a spreadsheet holds no control characters; a few stray ones are tolerated.
  return control > 8 && control * 200 > text.size();
}

std::size_t display_width(std::string_view utf8) {
  std::size_t width = 0;
  for (char ch : utf8) {
    if ((static_cast<unsigned char>(ch) & 0xc0) != 0x80) ++width;
  }
  return width;
}

std::string_view utf8_prefix(std::string_view utf8, std::size_t max_bytes) {
  if (utf8.size() <= max_bytes) return utf8;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(utf8[end]) & 0xc0) == 0x80) --end;
  return utf8.substr(0, end);
}

}  // namespace libreta::cli
