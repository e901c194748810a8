#include "libreta/protocol/json_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <system_error>

#include "libreta/protocol/text.hpp"

namespace libreta::json_text {
namespace {

bool needs_escape(char c) {
  return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

void append_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t run = 0;  // start of the characters not yet appended
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!needs_escape(c)) continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        char buffer[8];
        std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
        out += buffer;
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

void append_value(std::string& out, const Value& value) {
  char buffer[32];
  switch (value.type()) {
    case Value::Type::null:
      out += "null";
      return;
    case Value::Type::boolean:
      out += value.as_bool() ? "true" : "false";
      return;
    case Value::Type::integer: {
      const auto written = std::to_chars(buffer, buffer + sizeof buffer, value.as_integer());
      out.append(buffer, written.ptr);
      return;
    }
    case Value::Type::number: {
      const double d = value.as_number();
      if (!std::isfinite(d)) {
        out += "null";
        return;
      }
      // The shortest text that reads back as the same double; ".0" keeps an integral
      // number a number, not an integer, when it is read back.
      const auto written = std::to_chars(buffer, buffer + sizeof buffer, d);
      const std::string_view digits(buffer, static_cast<std::size_t>(written.ptr - buffer));
      out += digits;
      if (digits.find_first_of(".e") == std::string_view::npos) out += ".0";
      return;
    }
    case Value::Type::text:
      append_string(out, value.as_text());
      return;
    case Value::Type::tags:
      append_string_list(out, value.as_tags());
      return;
  }
}

void Reader::skip_space() {
  while (at_ < text_.size() &&
         (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\t' || text_[at_] == '\r')) {
    ++at_;
  }
}

bool Reader::take(char c) {
  skip_space();
  if (at_ < text_.size() && text_[at_] == c) {
    ++at_;
    return true;
  }
  return false;
}

bool Reader::peek(char c) {
  skip_space();
  return at_ < text_.size() && text_[at_] == c;
}

bool Reader::done() {
  skip_space();
  return at_ == text_.size();
}

bool Reader::string(std::string& out) {
  out.clear();
  if (!take('"')) return false;
  // Four hex digits at at_, taken.
  auto hex4 = [this](std::uint32_t& code) {
    if (text_.size() - at_ < 4) return false;
    code = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = text_[at_++];
      code <<= 4;
      if (h >= '0' && h <= '9') {
        code |= static_cast<std::uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        code |= static_cast<std::uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        code |= static_cast<std::uint32_t>(h - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  };
  std::size_t run = at_;  // start of the plain characters not yet copied
  while (at_ < text_.size()) {
    const char c = text_[at_];
    if (!needs_escape(c)) {
      ++at_;
      continue;
    }
    out.append(text_.data() + run, at_ - run);
    ++at_;
    if (c == '"') return true;
    if (c != '\\' || at_ == text_.size()) return false;  // a raw control character
    const char e = text_[at_++];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        std::uint32_t code = 0;
        if (!hex4(code)) return false;
        if (code >= 0xdc00 && code <= 0xdfff) return false;  // a low surrogate first
        if (code >= 0xd800 && code <= 0xdbff) {
          std::uint32_t low = 0;
          if (text_.substr(at_, 2) != "\\u") return false;
          at_ += 2;
          if (!hex4(low) || low < 0xdc00 || low > 0xdfff) return false;
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        }
        append_utf8(out, static_cast<char32_t>(code));
        break;
      }
      default:
        return false;
    }
    run = at_;
  }
  return false;  // no closing quote
}

bool Reader::quoted_unsigned(std::uint64_t& out) {
  if (!take('"')) return false;
  const char* begin = text_.data() + at_;
  const char* end = text_.data() + text_.size();
  const auto parsed = std::from_chars(begin, end, out);
  if (parsed.ec != std::errc() || parsed.ptr == begin || parsed.ptr == end || *parsed.ptr != '"') {
    return false;
  }
  at_ = static_cast<std::size_t>(parsed.ptr - text_.data()) + 1;
  return true;
}

bool Reader::word(std::string_view literal) {
  if (text_.substr(at_, literal.size()) != literal) return false;
  at_ += literal.size();
  return true;
}

bool Reader::number(Value& out) {
  // JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  const std::size_t start = at_;
  auto digits = [this] {
    const std::size_t from = at_;
    while (at_ < text_.size() && is_digit(text_[at_])) ++at_;
    return at_ > from;
  };
  if (at_ < text_.size() && text_[at_] == '-') ++at_;
  if (at_ < text_.size() && text_[at_] == '0') {
    ++at_;
  } else if (!digits()) {
    return false;
  }
  bool integral = true;
  if (at_ < text_.size() && text_[at_] == '.') {
    ++at_;
    integral = false;
    if (!digits()) return false;
  }
  if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
    ++at_;
    integral = false;
    if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) ++at_;
    if (!digits()) return false;
  }
  const char* begin = text_.data() + start;
  const char* end = text_.data() + at_;
  if (integral) {
    std::int64_t i = 0;
    const auto parsed = std::from_chars(begin, end, i);
    if (parsed.ec != std::errc() || parsed.ptr != end) return false;  // past int64
    out = Value(i);
    return true;
  }
  double d = 0;
  const auto parsed = std::from_chars(begin, end, d);
  if (parsed.ec != std::errc() || parsed.ptr != end) return false;  // past double's range
  out = Value(d);
  return true;
}

bool Reader::value(Value& out) {
  skip_space();
  if (at_ == text_.size()) return false;
  switch (text_[at_]) {
    case 'n':
      out = Value();
      return word("null");
    case 't':
      out = Value(true);
      return word("true");
    case 'f':
      out = Value(false);
      return word("false");
    case '"': {
      std::string text;
      if (!string(text)) return false;
      out = Value(std::move(text));
      return true;
    }
    case '[': {
      ++at_;
      TagSet tags;
      std::string tag;
      while (!peek(']')) {
        if (!tags.empty() && !take(',')) return false;
        if (!string(tag)) return false;
        tags.push_back(std::move(tag));
      }
      ++at_;
      out = Value(std::move(tags));
      return true;
    }
    default:
      return number(out);
  }
}

}  // namespace libreta::json_text
