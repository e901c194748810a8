// Protocol messages: a Rows message assembled from rows encoded beforehand (the server's
// live updates) is the very text encode_message makes.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "libreta/protocol/messages.hpp"

namespace libreta {
namespace {

// Texts that need escaping, and that look like the members being spliced.
const std::vector<std::string> kAwkward = {"plain",    "\"rows\":[]",   "a\"b\\c", "tab\there",
                                           "\xc3\xb1", "],\"since\":1", ""};

RowState random_row(std::mt19937_64& rng, int index) {
  RowState row;
  row.table = index % 3 == 0 ? "contacts" : "customers";
  row.id = "r-" + std::to_string(index);
  const int fields = static_cast<int>(rng() % 4);
  for (int f = 0; f < fields; ++f) {
    const std::string name = "f" + std::to_string(f);
    const std::string& text = kAwkward[rng() % kAwkward.size()];
    Value value;
    switch (rng() % 5) {
      case 0:
        value = Value(text);
        break;
      case 1:
        value = Value(static_cast<std::int64_t>(rng()));
        break;
      case 2:
        value = Value(static_cast<double>(rng() % 1000) / 7.0);
        break;
      case 3:
        value = Value(TagSet{"a", text});
        break;
      default:
        break;  // null
    }
    row.fields[name] = value;
    row.versions.set_field(name, Version{Hlc::from_parts(1'700'000'000'000 + rng() % 1000, 0),
                                         "dev-" + std::to_string(rng() % 5)});
  }
  return row;
}

}  // namespace

TEST_CASE("messages: a Rows message from rows encoded beforehand is encode_message's text",
          "[messages]") {
  std::mt19937_64 rng(20261123);
  for (int round = 0; round < 200; ++round) {
    Rows rows;
    rows.since = rng() % 1000;
    rows.after = rows.since + rng() % 1000;
    rows.more = rng() % 2 == 0;
    rows.live = rng() % 2 == 0;
    rows.remaining = rng() % 3 == 0 ? rng() % 100'000 : 0;
    const int count = round == 0 ? 0 : static_cast<int>(rng() % 6);
    for (int i = 0; i < count; ++i) rows.rows.push_back(random_row(rng, i));
    const int evicted = static_cast<int>(rng() % 3);
    for (int i = 0; i < evicted; ++i) {
      rows.evicted.push_back({"customers", kAwkward[rng() % kAwkward.size()]});
    }
    std::vector<std::string> texts;
    for (const auto& row : rows.rows) texts.push_back(encode_row_state(row));
    std::vector<const std::string*> encoded;
    for (const auto& text : texts) encoded.push_back(&text);

    const std::string spliced = encode_rows_message(rows, encoded);
    INFO(spliced);
    CHECK(spliced == encode_message(Message(rows)));
  }
}

TEST_CASE(
    "messages: a welcome's devices, a pull's count and a page's remaining rows go and come "
    "back (protocol 5)",
    "[messages]") {
  Welcome welcome;
  welcome.user = "ana";
  welcome.role = "seller";
  welcome.epoch = "e1";
  welcome.devices = {{"r-ana-phone", "ana"}, {"r-office-1", "Oficina Central"}};
  auto decoded = decode_message(encode_message(Message(welcome)));
  REQUIRE(decoded);
  CHECK(std::get<Welcome>(decoded.value()).devices == welcome.devices);

  Pull pull{0, 0};
  pull.count = true;
  decoded = decode_message(encode_message(Message(pull)));
  REQUIRE(decoded);
  CHECK(std::get<Pull>(decoded.value()).count);
  CHECK(encode_message(Message(Pull{0, 0})).find("count") == std::string::npos);

  Rows rows;
  rows.after = 10;
  rows.more = true;
  rows.remaining = 123'456;
  decoded = decode_message(encode_message(Message(rows)));
  REQUIRE(decoded);
  CHECK(std::get<Rows>(decoded.value()).remaining == 123'456);

  // Without them, as an older server sends: none, and nothing in the text.
  const std::string plain = encode_message(Message(Welcome{}));
  CHECK(plain.find("devices") == std::string::npos);
  CHECK(encode_message(Message(Rows{})).find("remaining") == std::string::npos);
}

TEST_CASE("messages: a welcome's device list that is not well formed is refused", "[messages]") {
  for (const std::string& devices : std::vector<std::string>{
           R"([{"r": "r-1"}])", R"([{"r": "r-1", "u": 5}])",
           R"([{"r": "not a replica!", "u": "x"}])", R"([{"r": "r-1", "u": "x", "extra": 1}])",
           R"("ana")", "[{\"r\": \"r-1\", \"u\": \"" + std::string(300, 'a') + "\"}]"}) {
    INFO(devices);
    const std::string text = R"({"type": "welcome", "protocol": 5, "schema": 1, "user": "ana",)"
                             R"( "role": "seller", "acked": 0, "devices": )" +
                             devices + "}";
    CHECK_FALSE(decode_message(text));
  }
}

}  // namespace libreta
