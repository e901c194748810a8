#include "office_text.hpp"

namespace libreta::server::office {

namespace {

struct Entry {
  const char* es;
  const char* en;
};

constexpr Entry kTexts[] = {
#define LIBRETA_OFFICE_MESSAGE(id, es, en) {es, en},
#include "office_messages.def"
#undef LIBRETA_OFFICE_MESSAGE
};

}  // namespace

std::string text(bool spanish, Text id, std::initializer_list<std::string_view> args) {
  const Entry& entry = kTexts[static_cast<std::size_t>(id)];
  std::string_view pattern = spanish ? entry.es : entry.en;
  if (const auto bar = pattern.find('|'); bar != std::string_view::npos) {
    const bool one = args.size() > 0 && *args.begin() == "1";
    pattern = one ? pattern.substr(0, bar) : pattern.substr(bar + 1);
  }
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const std::size_t n =
        i + 2 < pattern.size() ? static_cast<std::size_t>(pattern[i + 1] - '0') : 99;
    if (pattern[i] == '{' && n < args.size() && pattern[i + 2] == '}') {
      out += *(args.begin() + n);
      i += 2;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

}  // namespace libreta::server::office
