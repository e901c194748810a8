// Row ids (UUIDv7 text) and replica ids, and the validity checks applied to untrusted ids.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "libreta/protocol/ids.hpp"

namespace libreta {
namespace {

constexpr std::uint64_t kStart = 1'700'000'000'000;

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

TEST_CASE("ids: a row id is a canonical 36-character UUIDv7", "[ids]") {
  for (int i = 0; i < 100; ++i) {
    const std::string id = new_row_id(kStart + static_cast<std::uint64_t>(i));
    INFO(id);
    REQUIRE(id.size() == 36);
    for (std::size_t k = 0; k < id.size(); ++k) {
      if (k == 8 || k == 13 || k == 18 || k == 23) {
        CHECK(id[k] == '-');
      } else {
        CHECK(is_lower_hex(id[k]));
      }
    }
    CHECK(id[14] == '7');                                          // version nibble
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);  // variant bits 10
    CHECK(is_valid_row_id(id));
  }
}

TEST_CASE("ids: a row id starts with its 48-bit Unix milliseconds", "[ids]") {
  // 1'700'000'000'000 = 0x018bcfe56800.
  const std::string id = new_row_id(kStart);
  CHECK(id.substr(0, 8) == "018bcfe5");
  CHECK(id.substr(9, 4) == "6800");
}

TEST_CASE("ids: row ids made at increasing milliseconds sort in that order", "[ids]") {
  std::vector<std::string> ids;
  for (std::uint64_t millis :
       {std::uint64_t{1}, std::uint64_t{255}, std::uint64_t{256}, kStart - 1, kStart, kStart + 1,
        kStart + 1'000, kStart + 86'400'000, std::uint64_t{0xffffffffffff}}) {
    ids.push_back(new_row_id(millis));
  }
  CHECK(std::is_sorted(ids.begin(), ids.end()));
}

TEST_CASE("ids: many row ids made in the same millisecond are all different", "[ids]") {
  std::set<std::string> ids;
  for (int i = 0; i < 20'000; ++i) ids.insert(new_row_id(kStart));
  CHECK(ids.size() == 20'000);
}

TEST_CASE("ids: a replica id is 16 lowercase hex digits, valid and unique", "[ids]") {
  std::set<std::string> ids;
  for (int i = 0; i < 5'000; ++i) {
    const std::string id = new_replica_id();
    INFO(id);
    REQUIRE(id.size() == 16);
    CHECK(std::all_of(id.begin(), id.end(), is_lower_hex));
    CHECK(is_valid_replica_id(id));
    ids.insert(id);
  }
  CHECK(ids.size() == 5'000);
}

TEST_CASE("ids: is_valid_row_id accepts 1 to 64 letters, digits, dashes and underscores", "[ids]") {
  CHECK(is_valid_row_id("a"));
  CHECK(is_valid_row_id("Customer_42-B"));
  CHECK(is_valid_row_id(std::string(64, 'x')));
  CHECK_FALSE(is_valid_row_id(""));
  CHECK_FALSE(is_valid_row_id(std::string(65, 'x')));
  CHECK_FALSE(is_valid_row_id("has space"));
  CHECK_FALSE(is_valid_row_id("slash/"));
  CHECK_FALSE(is_valid_row_id("dot."));
  CHECK_FALSE(is_valid_row_id("quote\""));
  CHECK_FALSE(is_valid_row_id("ñ"));
  CHECK_FALSE(is_valid_row_id(std::string("nul\0x", 5)));
}

TEST_CASE("ids: is_valid_replica_id accepts 1 to 32 lowercase letters, digits, - and _", "[ids]") {
  CHECK(is_valid_replica_id("a"));
  CHECK(is_valid_replica_id("server"));
  CHECK(is_valid_replica_id("phone-2_b"));
  CHECK(is_valid_replica_id(std::string(32, 'f')));
  CHECK_FALSE(is_valid_replica_id(""));
  CHECK_FALSE(is_valid_replica_id(std::string(33, 'f')));
  CHECK_FALSE(is_valid_replica_id("Upper"));
  CHECK_FALSE(is_valid_replica_id("a:b"));  // ':' separates clock and replica in a version
  CHECK_FALSE(is_valid_replica_id("a b"));
  CHECK_FALSE(is_valid_replica_id("é"));
}

}  // namespace
}  // namespace libreta
