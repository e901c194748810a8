// json_text: the exact JSON of stored rows. What it writes reads back as the same value,
// whatever the value holds; it reads what nlohmann wrote before it (files already on disk)
// as the same value; and it refuses anything that is not that JSON.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>

#include "libreta/protocol/json_text.hpp"
#include "libreta/protocol/value_json.hpp"

namespace libreta {
namespace {

std::string written(const Value& value) {
  std::string out;
  json_text::append_value(out, value);
  return out;
}

// The value read from `text`, which must be one whole JSON value.
std::optional<Value> read(std::string_view text) {
  json_text::Reader reader(text);
  Value value;
  if (!reader.value(value) || !reader.done()) return std::nullopt;
  return value;
}

// A random text, mostly plain, with quotes, backslashes, control characters and multi-byte
// UTF-8 mixed in.
std::string random_text(std::mt19937_64& rng) {
  static const char* const kPieces[] = {"a",
                                        "Z",
                                        "7",
                                        " ",
                                        "\"",
                                        "\\",
                                        "/",
                                        "\n",
                                        "\t",
                                        "\r",
                                        "\b",
                                        "\f",
                                        "\x01",
                                        "\x1f",
                                        "\x7f",
                                        "\xc3\xb1",
                                        "Ã",
                                        "€",
                                        "\xf0\x9f\x98\x80",
                                        "\\u0041",
                                        "null",
                                        "{",
                                        "]",
                                        ","};
  std::string text;
  const auto length = std::uniform_int_distribution<int>(0, 12)(rng);
  for (int i = 0; i < length; ++i) {
    text += kPieces[std::uniform_int_distribution<std::size_t>(0, std::size(kPieces) - 1)(rng)];
  }
  return text;
}

Value random_value(std::mt19937_64& rng) {
  switch (std::uniform_int_distribution<int>(0, 6)(rng)) {
    case 0:
      return Value();
    case 1:
      return Value(std::uniform_int_distribution<int>(0, 1)(rng) == 1);
    case 2:
      return Value(static_cast<std::int64_t>(rng()));
    case 3: {
      // Any finite double, from its bits: subnormals, integral values, huge and tiny.
      double d = 0;
      do {
        const std::uint64_t bits = rng();
        std::memcpy(&d, &bits, sizeof d);
      } while (!std::isfinite(d));
      return Value(d);
    }
    case 4:
      return Value(static_cast<double>(std::uniform_int_distribution<int>(-1000, 1000)(rng)));
    case 5:
      return Value(random_text(rng));
    default: {
      TagSet tags;
      const auto count = std::uniform_int_distribution<int>(0, 4)(rng);
      for (int i = 0; i < count; ++i) tags.push_back(random_text(rng));
      return Value(std::move(tags));
    }
  }
}

}  // namespace

TEST_CASE("json text: every kind of value reads back as itself, of the same type", "[json_text]") {
  const Value values[] = {
      Value(),
      Value(true),
      Value(false),
      Value(std::int64_t{0}),
      Value(std::numeric_limits<std::int64_t>::max()),
      Value(std::numeric_limits<std::int64_t>::min()),
      Value(1.0),
      Value(-0.0),
      Value(0.1),
      Value(1e300),
      Value(-1e-300),
      Value(5e-324),
      Value(123456789.125),
      Value(std::string("")),
      Value(std::string("Caf\xc3\xa9 \"Ruiz\" \\ tab\there\nline \x01 \x7f \xf0\x9f\x9a\x97")),
      Value(TagSet{}),
      Value(TagSet{"", "a\"b", "x y", "\xc3\xb1"}),
  };
  for (const auto& value : values) {
    const std::string text = written(value);
    CAPTURE(text);
    const auto back = read(text);
    REQUIRE(back.has_value());
    CHECK(*back == value);
    CHECK(back->type() == value.type());
  }
  CHECK(written(Value(1.0)) == "1.0");
  CHECK(std::signbit(read(written(Value(-0.0)))->as_number()));
}

TEST_CASE("json text: values written by nlohmann read back the same, and the other way round",
          "[json_text]") {
  // Stored rows written before json_text were nlohmann's dump of value_to_json.
  std::mt19937_64 rng(GENERATE(1u, 2u, 3u));
  for (int i = 0; i < 2000; ++i) {
    const Value value = random_value(rng);
    const std::string ours = written(value);
    const std::string theirs = value_to_json(value).dump();
    CAPTURE(ours, theirs);

    const auto from_theirs = read(theirs);
    REQUIRE(from_theirs.has_value());
    CHECK(*from_theirs == value);

    const auto parsed = nlohmann::json::parse(ours);
    const auto from_ours = value_from_json(parsed);
    REQUIRE(from_ours);
    CHECK(from_ours.value() == value);

    // Texts are written byte for byte as nlohmann writes them: what differs is only how a
    // number is spelled.
    if (value.is_text() || value.is_tags() || value.is_integer()) CHECK(ours == theirs);
  }
}

TEST_CASE("json text: escapes, surrogate pairs included, become UTF-8", "[json_text]") {
  CHECK(read(R"("\"\\\/\b\f\n\r\t")")->as_text() == "\"\\/\b\f\n\r\t");
  CHECK(read(R"("\u0041\u00f1\u20ac")")->as_text() == "A\xc3\xb1\xe2\x82\xac");
  CHECK(read(R"("\ud83d\ude00!")")->as_text() == "\xf0\x9f\x98\x80!");
  CHECK(read(R"("\uD83D\uDE00")")->as_text() == "\xf0\x9f\x98\x80");
}

TEST_CASE("json text: anything else is refused", "[json_text]") {
  const char* const bad[] = {
      "",
      "\"cut short",
      "\"a raw \n control character\"",
      R"("\x")",            // not an escape
      R"("\u12")",          // four hex digits
      R"("\ud800")",        // a high surrogate alone
      R"("\ud800\u0041")",  // followed by no low surrogate
      R"("\udc00\ud800")",  // a low surrogate first
      "nul",
      "truth",
      "-",
      "1.",
      ".5",
      "1e",
      "+1",
      "9223372036854775808",  // past int64
      "-9223372036854775809",
      "1e400",  // past a double
      "[1]",    // a tag set holds texts only
      "[\"a\",[\"b\"]]",
      "[\"a\" \"b\"]",
      "[\"a\",]",
      "{\"a\":1}",
      "1 2",
  };
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(read(text).has_value());
  }
}

TEST_CASE("json text: a sequence number quoted as an object key", "[json_text]") {
  std::uint64_t seq = 0;
  json_text::Reader ok(R"( "18446744073709551615" )");
  CHECK(ok.quoted_unsigned(seq));
  CHECK(seq == std::numeric_limits<std::uint64_t>::max());
  for (const char* text :
       {R"("")", R"("-1")", R"("12a")", R"("18446744073709551616")", "12", R"("12)"}) {
    CAPTURE(text);
    json_text::Reader reader(text);
    CHECK_FALSE(reader.quoted_unsigned(seq));
  }
}

}  // namespace libreta
