// The JSON codec of change records: exact encodings, round trips, the error code of each
// kind of bad input, and validation of decoded changes against the customer book.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "libreta/protocol/codec.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/json_limits.hpp"
#include "libreta/protocol/messages.hpp"

namespace libreta {
namespace {

constexpr std::uint64_t kStart = 1'700'000'000'000;
// Hlc::from_parts(kStart, 1) as text: 0x018bcfe56800 << 16 | 1.
const std::string kClock1 = "018bcfe568000001";
const std::string kClock2 = "018bcfe568000002";

Version at(std::uint64_t counter, std::string replica = "phone") {
  return Version{Hlc::from_parts(kStart, counter), std::move(replica)};
}

Change tag_add() {
  return Change{"customers", "row-1", "tags", "vip", true, at(2), at(1, "server")};
}

// The error of decoding `text`, failing the test if it decodes.
Error decode_error(const std::string& text) {
  auto result = decode_changes(text);
  INFO("decoding " << text.substr(0, 200));
  REQUIRE_FALSE(result.ok());
  return result.error();
}

// One valid change as JSON, to be spoiled by each test.
nlohmann::json good_change() {
  return {
      {"t", "customers"}, {"r", "row-1"}, {"f", "name"}, {"v", "Acme"}, {"ver", kClock1 + ":a"}};
}

std::string batch(const std::vector<nlohmann::json>& changes) {
  return nlohmann::json(changes).dump();
}

// The highest resident memory of this process so far.
std::size_t peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::size_t>(usage.ru_maxrss) * 1024;
}

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// The error of checking `text` against `limits`, failing the test if it passes.
Error limits_error(std::string_view text, const JsonLimits& limits) {
  auto result = check_json_limits(text, limits);
  INFO("checking " << text.substr(0, 200));
  REQUIRE_FALSE(result.ok());
  return result.error();
}

// --- Encoding ---

TEST_CASE("codec: the clock text of the fixtures is what Hlc produces", "[codec]") {
  REQUIRE(Hlc::from_parts(kStart, 1).to_string() == kClock1);
  REQUIRE(Hlc::from_parts(kStart, 2).to_string() == kClock2);
}

TEST_CASE("codec: a tag change encodes to exact JSON with its element and base", "[codec]") {
  CHECK(encode_changes({tag_add()}) == R"([{"base":")" + kClock1 +
                                           R"(:server","e":"vip","f":"tags","r":"row-1",)"
                                           R"("t":"customers","v":true,"ver":")" +
                                           kClock2 + R"(:phone"}])");
}

TEST_CASE("codec: a plain change leaves out the element and an absent base", "[codec]") {
  const Change change{"customers", "row-1", "name", "", "Peña \"Hnos\"", at(1), {}};
  CHECK(encode_changes({change}) ==
        R"([{"f":"name","r":"row-1","t":"customers","v":"Peña \"Hnos\"","ver":")" + kClock1 +
            R"(:phone"}])");
}

TEST_CASE("codec: each kind of value has its exact JSON form", "[codec]") {
  auto encoded_value = [](Value value) {
    return change_to_json(Change{"t", "r", "f", "", std::move(value), at(1), {}})["v"].dump();
  };
  CHECK(encoded_value(Value()) == "null");
  CHECK(encoded_value(false) == "false");
  CHECK(encoded_value(-42) == "-42");
  CHECK(encoded_value(std::int64_t{9'007'199'254'740'993}) == "9007199254740993");
  CHECK(encoded_value(12.5) == "12.5");
  CHECK(encoded_value(3.0) == "3.0");
  CHECK(encoded_value("línea\n2") == R"("línea\n2")");
  CHECK(encoded_value(TagSet{"a", "b"}) == R"(["a","b"])");
  CHECK(encode_changes({}) == "[]");
}

TEST_CASE("codec: encoding is deterministic", "[codec]") {
  const std::vector<Change> changes = {
      tag_add(), Change{"purchases", "p-1", "amount", "", 240.75, at(3), at(2)}};
  CHECK(encode_changes(changes) == encode_changes(changes));
  CHECK(change_to_json(changes[1]).dump() == change_to_json(changes[1]).dump());
}

// --- Round trips ---

std::string random_text(std::mt19937& random) {
  static const std::vector<std::string> pieces = {
      "a", "Z", " ", "ñ", "€", "\xf0\x9f\x98\x80", "\"", "\\", "\n", "\t", "/", "0", "\x01"};
  std::string text;
  const int length = std::uniform_int_distribution<int>(0, 12)(random);
  for (int i = 0; i < length; ++i) {
    text += pieces[std::uniform_int_distribution<std::size_t>(0, pieces.size() - 1)(random)];
  }
  return text;
}

Value random_value(std::mt19937& random) {
  switch (std::uniform_int_distribution<int>(0, 6)(random)) {
    case 0:
      return Value();
    case 1:
      return Value(random() % 2 == 0);
    case 2: {
      const auto bits = (static_cast<std::uint64_t>(random()) << 32) | random();
      return Value(static_cast<std::int64_t>(bits));
    }
    case 3:
      return Value(std::uniform_real_distribution<double>(-1e9, 1e9)(random));
    case 4:
      return Value(std::ldexp(std::uniform_real_distribution<double>(-1, 1)(random),
                              std::uniform_int_distribution<int>(-1000, 1000)(random)));
    case 5:
      return Value(random_text(random));
    default: {
      TagSet tags;
      const int count = std::uniform_int_distribution<int>(0, 4)(random);
      for (int i = 0; i < count; ++i) tags.push_back(random_text(random));
      return Value(std::move(tags));
    }
  }
}

Version random_version(std::mt19937& random) {
  static const std::vector<std::string> replicas = {"a", "server", "phone-2", "0f3a9c_x"};
  const std::uint64_t raw = ((static_cast<std::uint64_t>(random()) << 32) | random()) | 1;
  return Version{Hlc(raw), replicas[random() % replicas.size()]};
}

Change random_change(std::mt19937& random) {
  static const std::vector<std::string> table_names = {"customers", "contacts", "future_table"};
  static const std::vector<std::string> fields = {"name", "tags", "amount", "x_1", "deleted"};
  Change change;
  change.table = table_names[random() % table_names.size()];
  change.row =
      random() % 2 ? new_row_id(kStart + random() % 1000) : "Row_" + std::to_string(random());
  change.field = fields[random() % fields.size()];
  if (random() % 3 == 0) change.element = "tag " + random_text(random) + "!";
  change.value = random_value(random);
  change.version = random_version(random);
  if (random() % 2) change.base = random_version(random);
  return change;
}

TEST_CASE("codec: decode(encode(changes)) gives back the same changes", "[codec]") {
  std::mt19937 random(1234);
  for (int round = 0; round < 200; ++round) {
    std::vector<Change> changes;
    const int count = std::uniform_int_distribution<int>(0, 8)(random);
    for (int i = 0; i < count; ++i) changes.push_back(random_change(random));
    const std::string text = encode_changes(changes);
    auto decoded = decode_changes(text);
    INFO(text);
    REQUIRE(decoded.ok());
    REQUIRE(decoded.value() == changes);
    CHECK(encode_changes(decoded.value()) == text);
  }
}

TEST_CASE("codec: a single change round-trips through JSON", "[codec]") {
  const Change change = tag_add();
  auto decoded = change_from_json(change_to_json(change));
  REQUIRE(decoded.ok());
  CHECK(decoded.value() == change);
}

// --- Decoding errors ---

TEST_CASE("codec: text that is not JSON is malformed", "[codec]") {
  CHECK(decode_error("").code() == ErrorCode::malformed);
  CHECK(decode_error("[{").code() == ErrorCode::malformed);
  CHECK(decode_error("[1,]").code() == ErrorCode::malformed);
  CHECK(decode_error("[\"caf\xe9\"]").code() == ErrorCode::malformed);  // not UTF-8
  CHECK(decode_error(batch({good_change()}) + "x").code() == ErrorCode::malformed);
}

TEST_CASE("codec: JSON that is not an array of objects has the wrong type", "[codec]") {
  CHECK(decode_error("{}").code() == ErrorCode::wrong_type);
  CHECK(decode_error(good_change().dump()).code() == ErrorCode::wrong_type);
  CHECK(decode_error("\"changes\"").code() == ErrorCode::wrong_type);
  CHECK(decode_error("[1]").code() == ErrorCode::wrong_type);
  CHECK(decode_error("[[]]").code() == ErrorCode::wrong_type);
  CHECK(decode_changes("[]").ok());
}

TEST_CASE("codec: a member of the wrong type is refused", "[codec]") {
  for (const char* key : {"t", "r", "f", "e", "ver", "base"}) {
    auto change = good_change();
    change[key] = 5;
    INFO(key);
    CHECK(decode_error(batch({change})).code() == ErrorCode::wrong_type);
  }
  auto object_value = good_change();
  object_value["v"] = {{"nested", 1}};
  CHECK(decode_error(batch({object_value})).code() == ErrorCode::wrong_type);
  auto mixed_tags = good_change();
  mixed_tags["v"] = {"a", 1};
  CHECK(decode_error(batch({mixed_tags})).code() == ErrorCode::wrong_type);
}

TEST_CASE("codec: a missing required member is refused", "[codec]") {
  for (const char* key : {"t", "r", "f", "v", "ver"}) {
    auto change = good_change();
    change.erase(key);
    INFO(key);
    const Error error = decode_error(batch({change}));
    CHECK(error.code() == ErrorCode::missing_field);
    CHECK_THAT(std::string(error.what()), Catch::Contains(std::string("\"") + key + "\""));
  }
  auto without_base = good_change();
  auto decoded = decode_changes(batch({without_base}));
  REQUIRE(decoded.ok());
  CHECK(decoded.value().at(0).base.is_none());
}

TEST_CASE("codec: a bad version text is an invalid value", "[codec]") {
  for (const std::string& bad : std::vector<std::string>{
           std::string(), kClock1, kClock1 + ":", kClock1 + ":UPPER", "0000000000000000:a",
           "18bcfe568000001:a", "018BCFE568000001:a", kClock1 + ";a"}) {
    auto change = good_change();
    change["ver"] = bad;
    INFO("ver = '" << bad << "'");
    CHECK(decode_error(batch({change})).code() == ErrorCode::invalid_value);
  }
  auto bad_base = good_change();
  bad_base["base"] = "yesterday";
  CHECK(decode_error(batch({bad_base})).code() == ErrorCode::invalid_value);
  auto empty_base = good_change();
  empty_base["base"] = "";
  CHECK(decode_changes(batch({empty_base})).ok());
}

TEST_CASE("codec: an unknown member is refused", "[codec]") {
  auto change = good_change();
  change["extra"] = 1;
  const Error error = decode_error(batch({change}));
  CHECK(error.code() == ErrorCode::unknown_field);
  CHECK_THAT(std::string(error.what()), Catch::Contains("extra"));
}

TEST_CASE("codec: a bad row id, field name or empty element is an invalid value", "[codec]") {
  for (const std::string& bad :
       std::vector<std::string>{std::string(), "row 1", "row/1", std::string(65, 'r'), "ñ"}) {
    auto change = good_change();
    change["r"] = bad;
    INFO("r = '" << bad << "'");
    CHECK(decode_error(batch({change})).code() == ErrorCode::invalid_value);
  }
  for (const std::string& bad :
       std::vector<std::string>{std::string(), "Name", "_private", "na-me", std::string(65, 'f')}) {
    auto change = good_change();
    change["f"] = bad;
    INFO("f = '" << bad << "'");
    CHECK(decode_error(batch({change})).code() == ErrorCode::invalid_value);
  }
  auto empty_element = good_change();
  empty_element["e"] = "";
  CHECK(decode_error(batch({empty_element})).code() == ErrorCode::invalid_value);
}

TEST_CASE("codec: an integer beyond 64 signed bits is an invalid value", "[codec]") {
  auto change = good_change();
  change["v"] = std::uint64_t{1} << 63;
  CHECK(decode_error(batch({change})).code() == ErrorCode::invalid_value);
  change["v"] = (std::uint64_t{1} << 63) - 1;
  CHECK(decode_changes(batch({change})).ok());
}

TEST_CASE("codec: a batch over the size limit is refused as too large", "[codec]") {
  // One change whose text value alone fills the limit.
  const std::string text = R"([{"f":"notes","r":"row-1","t":"customers","v":")" +
                           std::string(kMaxChangesTextBytes, 'x') + R"(","ver":")" + kClock1 +
                           R"(:a"}])";
  REQUIRE(text.size() > kMaxChangesTextBytes);
  CHECK(decode_error(text).code() == ErrorCode::too_large);
  // Just under the limit, a batch of changes with the longest texts decodes.
  auto change = good_change();
  change["f"] = "notes";
  change["v"] = std::string(kMaxLongTextLength, 'x');
  const std::string one = change.dump();
  std::string fits = "[" + one;
  while (fits.size() + 2 * (one.size() + 1) < kMaxChangesTextBytes) fits += "," + one;
  fits += "]";
  REQUIRE(fits.size() <= kMaxChangesTextBytes);
  CHECK(decode_changes(fits).ok());
  // Not even whether it is JSON matters: the size is checked first.
  CHECK(decode_error(std::string(kMaxChangesTextBytes + 1, '[')).code() == ErrorCode::too_large);
}

TEST_CASE("codec: a batch with too many changes is refused as too large", "[codec]") {
  std::string text = "[";
  for (std::size_t i = 0; i <= kMaxChangesPerBatch; ++i) text += i ? ",{}" : "{}";
  text += "]";
  REQUIRE(text.size() <= kMaxChangesTextBytes);
  CHECK(decode_error(text).code() == ErrorCode::too_large);
}

TEST_CASE("codec: the error names the index of the bad change", "[codec]") {
  auto bad = good_change();
  bad.erase("ver");
  const Error error = decode_error(batch({good_change(), good_change(), bad, good_change()}));
  CHECK(error.code() == ErrorCode::missing_field);
  CHECK_THAT(std::string(error.what()), Catch::StartsWith("change 2:"));
  CHECK_THAT(std::string(error.what()), Catch::Contains("\"ver\""));
}

// --- Validation against the customer book ---

Change plain_change(std::string table, std::string field, Value value) {
  return Change{std::move(table), "row-1", std::move(field), "", std::move(value), at(1), {}};
}

TEST_CASE("validate_change: an unknown table is refused", "[codec][validate]") {
  Change change = plain_change("invoices", "name", "x");
  auto status = validate_change(customer_book_schema(), change);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code() == ErrorCode::unknown_table);
  CHECK_THAT(std::string(status.error().what()), Catch::Contains("invoices"));
}

TEST_CASE("validate_change: a known field's value is checked and made canonical",
          "[codec][validate]") {
  Change name = plain_change("customers", "name", "  Acme  ");
  REQUIRE(validate_change(customer_book_schema(), name).ok());
  CHECK(name.value == Value("Acme"));

  Change due = plain_change("followups", "done_at", "2024-03-01");
  REQUIRE(validate_change(customer_book_schema(), due).ok());
  CHECK(due.value == Value("2024-03-01T00:00:00Z"));

  Change status = plain_change("customers", "status", "gone");
  auto result = validate_change(customer_book_schema(), status);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code() == ErrorCode::invalid_value);
  CHECK(status.value == Value("gone"));  // a refused change is left as it came
}

TEST_CASE("validate_change: an unknown field with a plain value is kept untouched",
          "[codec][validate]") {
  Change change = plain_change("customers", "loyalty_points", "  12  ");
  REQUIRE(validate_change(customer_book_schema(), change).ok());
  CHECK(change.value == Value("  12  "));

  Change tags = plain_change("customers", "future_tags", TagSet{"a"});
  auto status = validate_change(customer_book_schema(), tags);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code() == ErrorCode::unknown_field);

  Change element = plain_change("customers", "future_tags", true);
  element.element = "a";
  CHECK_FALSE(validate_change(customer_book_schema(), element).ok());
}

TEST_CASE("validate_change: a tag-set field changes one element at a time", "[codec][validate]") {
  Change whole_set = plain_change("customers", "tags", TagSet{"vip"});
  auto status = validate_change(customer_book_schema(), whole_set);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code() == ErrorCode::invalid_value);

  Change add = plain_change("contacts", "tags", true);
  add.element = "decision-maker";
  CHECK(validate_change(customer_book_schema(), add).ok());

  Change not_bool = plain_change("contacts", "tags", "yes");
  not_bool.element = "vip";
  auto wrong = validate_change(customer_book_schema(), not_bool);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code() == ErrorCode::wrong_type);

  Change padded = plain_change("customers", "tags", true);
  padded.element = " vip";
  CHECK_FALSE(validate_change(customer_book_schema(), padded).ok());

  Change too_long = plain_change("customers", "tags", true);
  too_long.element = std::string(kMaxTagLength + 1, 't');
  CHECK_FALSE(validate_change(customer_book_schema(), too_long).ok());
}

TEST_CASE("validate_change: an element on a field that is not a tag set is refused",
          "[codec][validate]") {
  Change change = plain_change("customers", "name", "Acme");
  change.element = "vip";
  auto status = validate_change(customer_book_schema(), change);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code() == ErrorCode::invalid_value);
}

TEST_CASE("validate_change: a delete takes true or false and nothing else", "[codec][validate]") {
  Change deleted = plain_change("purchases", kDeletedField, true);
  CHECK(validate_change(customer_book_schema(), deleted).ok());
  Change undeleted = plain_change("purchases", kDeletedField, false);
  CHECK(validate_change(customer_book_schema(), undeleted).ok());
  Change text = plain_change("purchases", kDeletedField, "yes");
  CHECK_FALSE(validate_change(customer_book_schema(), text).ok());
  Change element = plain_change("purchases", kDeletedField, true);
  element.element = "x";
  CHECK_FALSE(validate_change(customer_book_schema(), element).ok());
}

// --- Limits on the text, checked before it is parsed ---

TEST_CASE("codec: 8 MiB of '[' is refused as too large, in bounded time and memory",
          "[codec][limits]") {
  // What a 279-byte compressed frame expands to. A parser that builds a tree of it takes
  // about 500 MB and most of a second.
  const std::string text(8u << 20, '[');
  const std::size_t peak_before = peak_resident_bytes();
  const auto start = std::chrono::steady_clock::now();
  auto message = decode_message(text);
  auto changes = decode_changes(text);
  const auto took = std::chrono::steady_clock::now() - start;

  REQUIRE_FALSE(message.ok());
  CHECK(message.error().code() == ErrorCode::too_large);
  CHECK_THAT(message.error().what(), Catch::Contains("nests arrays and objects deeper than 8"));
  REQUIRE_FALSE(changes.ok());
  CHECK(changes.error().code() == ErrorCode::too_large);
  CHECK(took < std::chrono::milliseconds(100));
  CHECK(peak_resident_bytes() - peak_before < (16u << 20));
}

TEST_CASE("codec: nesting up to the depth limit passes; one level more is too large",
          "[codec][limits]") {
  const std::size_t depth = kMessageJsonLimits.max_depth;
  CHECK(check_json_limits(nested(depth), kMessageJsonLimits).ok());
  CHECK(limits_error(nested(depth + 1), kMessageJsonLimits).code() == ErrorCode::too_large);
  CHECK(limits_error(R"({"a":{"b":[{"c":[]}]}})", JsonLimits{1024, 4, 100, 100}).code() ==
        ErrorCode::too_large);
  CHECK(check_json_limits(R"({"a":{"b":[{"c":1}]}})", JsonLimits{1024, 4, 100, 100}).ok());

  // The deepest legal message, a page with a tag set, is well within it.
  const std::string page =
      R"({"type":"rows","since":0,"after":2,"more":false,"rows":[{"t":"customers",)"
      R"("r":"0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4","v":{"name":"Bar","tags":["moroso","vip"]},)"
      R"("ver":{"0000018c5b2a0000:r-ana-1":["name","tags+vip","tags+moroso"]}}]})";
  CHECK(check_json_limits(page, JsonLimits{1024, 5, 100, 100}).ok());
  CHECK(decode_message(page).ok());
}

TEST_CASE("codec: values are counted whatever the brackets and commas inside texts",
          "[codec][limits]") {
  const JsonLimits five{1024, 8, 5, 100};
  // The object, the array and its two numbers, the empty object.
  CHECK(check_json_limits(R"({"a":[1,2],"b":{}})", five).ok());
  CHECK(limits_error(R"({"a":[1,2,3],"b":{}})", five).code() == ErrorCode::too_large);
  CHECK(limits_error(R"([[],[],[],[],[]])", five).code() == ErrorCode::too_large);
  CHECK(check_json_limits(R"(["[,{\"", "]}\\", ",,,,,,", "x"])", five).ok());
  CHECK(check_json_limits(" [ 1 , [ ] ] ", JsonLimits{1024, 8, 3, 100}).ok());
  CHECK(limits_error(" [ 1 , [ 2 ] ] ", JsonLimits{1024, 8, 3, 100}).code() ==
        ErrorCode::too_large);
}

TEST_CASE("codec: a message with more values than the limit is refused before parsing",
          "[codec][limits]") {
  std::string text = R"({"type":"push","changes":[0)";
  for (std::size_t i = 1; i < kMessageJsonLimits.max_values; ++i) text += ",0";
  text += "]}";
  auto decoded = decode_message(text);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.error().code() == ErrorCode::too_large);
  CHECK_THAT(decoded.error().what(), Catch::Contains("more values than 1000000"));
}

TEST_CASE("codec: a text longer than the limit is refused before parsing", "[codec][limits]") {
  const std::size_t longest = kMessageJsonLimits.max_string_bytes;
  CHECK(check_json_limits("[\"" + std::string(longest, 'x') + "\"]", kMessageJsonLimits).ok());
  const std::string longer = R"({"type":"error","code":"internal","fatal":false,"message":")" +
                             std::string(longest + 1, 'x') + "\"}";
  auto decoded = decode_message(longer);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.error().code() == ErrorCode::too_large);
  CHECK_THAT(decoded.error().what(), Catch::Contains("a text longer than"));
  // Escaped quotes do not end a text.
  CHECK(limits_error(R"(["ab\"cd"])", JsonLimits{1024, 8, 10, 4}).code() == ErrorCode::too_large);
  CHECK(check_json_limits(R"(["ab\\","cd"])", JsonLimits{1024, 8, 10, 4}).ok());
}

TEST_CASE("codec: an unterminated text or unbalanced brackets are malformed", "[codec][limits]") {
  CHECK(limits_error(R"(["abc)", kMessageJsonLimits).code() == ErrorCode::malformed);
  CHECK(limits_error(R"(["abc\"])", kMessageJsonLimits).code() == ErrorCode::malformed);
  CHECK(limits_error("[]]", kMessageJsonLimits).code() == ErrorCode::malformed);
  CHECK(limits_error("[[]", kMessageJsonLimits).code() == ErrorCode::malformed);
  CHECK(decode_message("{\"type\":\"pull\"").error().code() == ErrorCode::malformed);
}

TEST_CASE("codec: before hello, only a hello-sized message is decoded", "[codec][limits]") {
  const std::string hello =
      R"({"type":"hello","protocol":2,"schema":1,"replica":"r-ana-1","token":"lbt_abc123"})";
  CHECK(decode_message(hello, kHelloJsonLimits).ok());
  // A pull still decodes, to be refused as out of order rather than for its size.
  CHECK(decode_message(R"({"type":"pull","since":0,"after":0})", kHelloJsonLimits).ok());

  const std::string padded = hello + std::string(kHelloJsonLimits.max_bytes, ' ');
  CHECK(decode_message(padded).ok());
  CHECK(decode_message(padded, kHelloJsonLimits).error().code() == ErrorCode::too_large);
  const std::string deep = R"({"type":"hello","x":[[1]]})";
  CHECK(decode_message(deep, kHelloJsonLimits).error().code() == ErrorCode::too_large);
  std::string wide = R"({"type":"hello","x":[0)";
  for (int i = 0; i < 20; ++i) wide += ",0";
  wide += "]}";
  CHECK(decode_message(wide, kHelloJsonLimits).error().code() == ErrorCode::too_large);
  const std::string long_token = R"({"type":"hello","token":")" +
                                 std::string(kHelloJsonLimits.max_string_bytes + 1, 'a') + "\"}";
  CHECK(decode_message(long_token, kHelloJsonLimits).error().code() == ErrorCode::too_large);
}

}  // namespace
}  // namespace libreta
