// The one message catalog of `libreta`: every text shown to the seller, in Spanish and
// English, by message id; plus the labels of fields and choices. The language comes from
// LC_ALL, LC_MESSAGES or LANG (the first set): Spanish when it starts with "es", English
// otherwise. Immutable tables; thread-safe.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "libreta/protocol/labels.hpp"

namespace libreta::cli {

enum class Lang { en, es };

// Spanish when the first of LC_ALL, LC_MESSAGES, LANG that is set and not empty starts
// with "es"; English otherwise.
Lang lang_from_environment();

// Message ids: one per LIBRETA_MESSAGE of messages.def and app_messages.def.
enum class Msg {
#define LIBRETA_MESSAGE(id, es, en) id,
#include "app_messages.def"
#include "messages.def"
#undef LIBRETA_MESSAGE
};

struct CatalogEntry {
  Msg id;
  const char* name;
  const char* es;
  const char* en;
};

// Every message, in enum order.
std::span<const CatalogEntry> message_catalog();

// The text of a message with {0}, {1}... replaced by `args`. A text "one|other" has a
// singular and a plural form: the first when {0} is "1".
std::string tr(Lang lang, Msg id, std::initializer_list<std::string_view> args = {});

// The labels of fields and choices (libreta/protocol/labels.hpp) in the seller's language.
inline std::string_view field_label(std::string_view field, Lang lang) {
  return libreta::field_label(field, lang == Lang::es);
}
inline std::string_view choice_label(std::string_view field, std::string_view value, Lang lang) {
  return libreta::choice_label(field, value, lang == Lang::es);
}

}  // namespace libreta::cli
