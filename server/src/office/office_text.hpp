// The office pages' words in Spanish and English (office_messages.def), chosen by the
// browser's first language.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace libreta::server::office {

enum class Text {
#define LIBRETA_OFFICE_MESSAGE(id, es, en) id,
#include "office_messages.def"
#undef LIBRETA_OFFICE_MESSAGE
};

// The text in Spanish or English, {0}, {1}… replaced by `args`.
std::string text(bool spanish, Text id, std::initializer_list<std::string_view> args = {});

}  // namespace libreta::server::office
