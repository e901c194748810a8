#include "cli/content_parser.hpp"

#include <stdexcept>

namespace libreta::test {
namespace {

[[noreturn]] void fail(std::size_t line, const std::string& why) {
  throw std::runtime_error("line " + std::to_string(line) + ": " + why);
}

bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= s.size() && extra > 0) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

ContentProperty parse_line(const std::string& line, std::size_t number) {
  ContentProperty p;
  std::size_t i = 0;
  while (i < line.size() && line[i] != ';' && line[i] != ':') ++i;
  p.name = upper(line.substr(0, i));
  if (p.name.empty()) fail(number, "no property name");
  for (char c : p.name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
      fail(number, "bad name " + p.name);
  }
  while (i < line.size() && line[i] == ';') {
    ++i;
    const std::size_t eq = line.find('=', i);
    if (eq == std::string::npos) fail(number, "parameter without '='");
    const std::string param = upper(line.substr(i, eq - i));
    i = eq + 1;
    std::vector<std::string> values;
    while (true) {
      std::string value;
      if (i < line.size() && line[i] == '"') {
        const std::size_t close = line.find('"', i + 1);
        if (close == std::string::npos) fail(number, "unclosed quoted parameter");
        value = line.substr(i + 1, close - i - 1);
        i = close + 1;
      } else {
        while (i < line.size() && line[i] != ',' && line[i] != ';' && line[i] != ':')
          value += line[i++];
      }
      values.push_back(value);
      if (i < line.size() && line[i] == ',') {
        ++i;
        continue;
      }
      break;
    }
    p.params[param] = values;
  }
  if (i >= line.size() || line[i] != ':') fail(number, "no ':' before the value");
  p.raw = line.substr(i + 1);
  return p;
}

}  // namespace

const ContentProperty* ContentComponent::find(const std::string& property) const {
  for (const auto& p : properties) {
    if (p.name == property) return &p;
  }
  return nullptr;
}

std::vector<const ContentProperty*> ContentComponent::all(const std::string& property) const {
  std::vector<const ContentProperty*> out;
  for (const auto& p : properties) {
    if (p.name == property) out.push_back(&p);
  }
  return out;
}

std::vector<ContentComponent> parse_content(const std::string& text) {
  // Physical lines: every one ends with CRLF, is at most 75 octets, and is valid UTF-8 on
  // its own (folding must not split a character).
  struct Logical {
    std::string text;
    std::size_t line;
  };
  std::vector<Logical> logical;
  std::size_t start = 0, number = 0;
  while (start < text.size()) {
    ++number;
    const std::size_t end = text.find("\r\n", start);
    if (end == std::string::npos) fail(number, "no CRLF at the end");
    const std::string physical = text.substr(start, end - start);
    if (physical.find('\n') != std::string::npos || physical.find('\r') != std::string::npos) {
      fail(number, "a bare line break");
    }
    if (physical.size() > 75) fail(number, "longer than 75 octets");
    if (!valid_utf8(physical)) fail(number, "a folded line splits a UTF-8 character");
    if (!physical.empty() && (physical[0] == ' ' || physical[0] == '\t')) {
      if (logical.empty()) fail(number, "a continuation with nothing before it");
      logical.back().text += physical.substr(1);
    } else {
      if (physical.empty()) fail(number, "an empty line");
      logical.push_back({physical, number});
    }
    start = end + 2;
  }

  std::vector<ContentComponent> top;
  std::vector<ContentComponent> stack;
  for (const auto& l : logical) {
    ContentProperty p = parse_line(l.text, l.line);
    if (p.name == "BEGIN") {
      ContentComponent c;
      c.name = upper(p.raw);
      stack.push_back(std::move(c));
    } else if (p.name == "END") {
      if (stack.empty() || stack.back().name != upper(p.raw))
        fail(l.line, "END:" + p.raw + " does not close the open component");
      ContentComponent done = std::move(stack.back());
      stack.pop_back();
      if (stack.empty()) {
        top.push_back(std::move(done));
      } else {
        stack.back().children.push_back(std::move(done));
      }
    } else {
      if (stack.empty()) fail(l.line, "a property outside any component");
      stack.back().properties.push_back(std::move(p));
    }
  }
  if (!stack.empty()) fail(number, "BEGIN:" + stack.back().name + " never ends");
  return top;
}

std::string unescape_text(const std::string& raw, bool commas_allowed) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\\') {
      if (i + 1 >= raw.size()) throw std::runtime_error("a backslash at the end of '" + raw + "'");
      const char next = raw[++i];
      if (next == 'n' || next == 'N') {
        out += '\n';
      } else if (next == '\\' || next == ';' || next == ',') {
        out += next;
      } else {
        throw std::runtime_error(std::string("unknown escape \\") + next + " in '" + raw + "'");
      }
    } else if (c == ';' || (c == ',' && !commas_allowed)) {
      throw std::runtime_error(std::string("unescaped '") + c + "' in '" + raw + "'");
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::string> split_structured(const std::string& raw) {
  std::vector<std::string> parts;
  std::string current;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) {
      current += raw[i];
      current += raw[++i];
    } else if (raw[i] == ';') {
      parts.push_back(unescape_text(current));
      current.clear();
    } else {
      current += raw[i];
    }
  }
  parts.push_back(unescape_text(current));
  return parts;
}

}  // namespace libreta::test
