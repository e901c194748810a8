// The message catalog (messages.hpp): one row per message id, Spanish and English.
#include "messages.hpp"

#include <cstdlib>

namespace libreta::cli {
namespace {

constexpr CatalogEntry kCatalog[] = {
#define LIBRETA_MESSAGE(id, es, en) {Msg::id, #id, es, en},
#include "app_messages.def"
#include "messages.def"
#undef LIBRETA_MESSAGE
};

}  // namespace

Lang lang_from_environment() {
  for (const char* name : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
    const char* value = std::getenv(name);
    if (value && *value) {
      const std::string_view text(value);
      return text.substr(0, 2) == "es" ? Lang::es : Lang::en;
    }
  }
  return Lang::en;
}

std::span<const CatalogEntry> message_catalog() {
  return kCatalog;
}

std::string tr(Lang lang, Msg id, std::initializer_list<std::string_view> args) {
  const auto index = static_cast<std::size_t>(id);
  if (index >= std::size(kCatalog)) return "?";
  std::string_view text = lang == Lang::es ? kCatalog[index].es : kCatalog[index].en;
  // "one|other": the first form when the count ({0}) is 1.
  if (const auto bar = text.find('|'); bar != std::string_view::npos) {
    const bool one = args.size() > 0 && *args.begin() == "1";
    text = one ? text.substr(0, bar) : text.substr(bar + 1);
  }
  std::string out;
  out.reserve(text.size() + 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && i + 2 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '9' &&
        text[i + 2] == '}') {
      const auto arg = static_cast<std::size_t>(text[i + 1] - '0');
      if (arg < args.size()) out += *(args.begin() + arg);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace libreta::cli
