// Exact JSON text for the formats libreta writes and reads back itself: a row's stored
// fields, its version blob, its key sequences. These run for every row the server's writer
// loads and saves, where a general JSON parser (a document, or nlohmann's SAX with a string
// per token) cost more than the SQL around it. Input from the network still goes through
// the codec (codec.hpp), which checks far more. Pure functions; a Reader is not shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include "libreta/protocol/value.hpp"

namespace libreta::json_text {

// `text` as a JSON string, quotes included. Escapes what JSON requires and nothing more
// (control characters as \u00xx), as nlohmann's dump does with UTF-8 output: text written
// either way reads back the same.
void append_string(std::string& out, std::string_view text);

namespace detail {
inline std::string_view text_of(std::string_view text) {
  return text;
}
inline std::string_view text_of(const std::string* text) {
  return *text;
}
}  // namespace detail

// ["text", ...]: `texts` holds strings, or pointers to them.
template <typename Texts>
void append_string_list(std::string& out, const Texts& texts) {
  out += '[';
  bool first = true;
  for (const auto& text : texts) {
    if (!first) out += ',';
    first = false;
    append_string(out, detail::text_of(text));
  }
  out += ']';
}

// A value as JSON: null, true/false, an integer, a number that reads back as a number (1.0,
// never 1), a string, or a tag set as an array of strings. A number that is not finite has
// no JSON form and is written as null, as nlohmann writes it.
void append_value(std::string& out, const Value& value);

// map[key] = value, for a map being filled from text whose keys come mostly in order (the
// encoders write them sorted, or in sorted groups): a key past the last one goes in at the
// end without a search. A key seen again takes the later value.
template <typename Map, typename Key, typename Mapped>
void assign_in_order(Map& map, Key&& key, Mapped&& value) {
  if (map.empty() || map.key_comp()(std::prev(map.end())->first, key)) {
    map.emplace_hint(map.end(), std::forward<Key>(key), std::forward<Mapped>(value));
  } else {
    map.insert_or_assign(std::forward<Key>(key), std::forward<Mapped>(value));
  }
}

// The same for a key that must be new: false, and the map unchanged, when it is there.
template <typename Map, typename Key, typename Mapped>
bool insert_in_order(Map& map, Key&& key, Mapped&& value) {
  if (map.empty() || map.key_comp()(std::prev(map.end())->first, key)) {
    map.emplace_hint(map.end(), std::forward<Key>(key), std::forward<Mapped>(value));
    return true;
  }
  return map.try_emplace(std::forward<Key>(key), std::forward<Mapped>(value)).second;
}

// Reads JSON text from the front, skipping whitespace between tokens. Every method returns
// false, and may leave the position anywhere, when the text is not what it asked for.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  // Takes `c` if it is the next character.
  bool take(char c);
  // Whether `c` is the next character, without taking it.
  bool peek(char c);
  // Whether only whitespace is left.
  bool done();

  // A JSON string, unescaped into `out` (cleared first). \uXXXX escapes, surrogate pairs
  // included, become UTF-8; a lone surrogate is refused.
  bool string(std::string& out);
  // An unsigned decimal integer inside a JSON string, such as an object key "123".
  bool quoted_unsigned(std::uint64_t& out);
  // A value as append_value writes it: a JSON integer within int64 is an integer, any
  // other number a number; an array must hold only strings (a tag set, kept in order).
  bool value(Value& out);

 private:
  void skip_space();
  bool number(Value& out);
  bool word(std::string_view literal);

  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace libreta::json_text
