// The hybrid logical clock and the field version built on it, run on fake time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/version.hpp"

namespace libreta {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kStart = 1'700'000'000'000;

// A clock on fake time, with the fake time at hand.
class ClockFixture {
 public:
  ClockFixture() : source_(std::make_shared<FakeClock>(kStart)), clock_(source_) {}

 protected:
  std::shared_ptr<FakeClock> source_;
  HybridClock clock_;
};

bool is_lower_hex(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

TEST_CASE("hlc: millis and counter are packed in 48 and 16 bits", "[hlc]") {
  const Hlc hlc = Hlc::from_parts(kStart, 5);
  CHECK(hlc.millis() == kStart);
  CHECK(hlc.counter() == 5);
  CHECK(hlc.raw() == ((kStart << 16) | 5));
  CHECK(Hlc::from_parts(kStart, 0) < Hlc::from_parts(kStart, 1));
  CHECK(Hlc::from_parts(kStart, Hlc::kMaxCounter) < Hlc::from_parts(kStart + 1, 0));
  CHECK(Hlc().is_zero());
}

TEST_CASE_METHOD(ClockFixture, "hlc: now() starts at the physical time", "[hlc]") {
  const Hlc first = clock_.now();
  CHECK(first.millis() == kStart);
  CHECK(first.counter() == 0);
  CHECK(clock_.last() == first);
}

TEST_CASE_METHOD(ClockFixture, "hlc: now() keeps increasing while the physical clock stands still",
                 "[hlc]") {
  Hlc previous = clock_.now();
  for (int i = 0; i < 1000; ++i) {
    const Hlc next = clock_.now();
    REQUIRE(next > previous);
    CHECK(next.millis() == kStart);
    previous = next;
  }
  CHECK(previous.counter() == 1000);
}

TEST_CASE_METHOD(ClockFixture, "hlc: now() keeps increasing when the physical clock goes backwards",
                 "[hlc]") {
  const Hlc before = clock_.now();
  source_->set(kStart - 60'000);
  const Hlc after = clock_.now();
  CHECK(after > before);
  CHECK(after.millis() == kStart);
  CHECK(after.counter() == before.counter() + 1);
}

TEST_CASE_METHOD(ClockFixture, "hlc: now() follows the physical clock when it moves ahead",
                 "[hlc]") {
  clock_.now();
  clock_.now();
  source_->advance(5ms);
  const Hlc later = clock_.now();
  CHECK(later.millis() == kStart + 5);
  CHECK(later.counter() == 0);
}

TEST_CASE_METHOD(ClockFixture, "hlc: an exhausted counter borrows the next millisecond", "[hlc]") {
  Hlc last;
  for (std::uint64_t i = 0; i <= Hlc::kMaxCounter; ++i) last = clock_.now();
  REQUIRE(last.millis() == kStart);
  REQUIRE(last.counter() == Hlc::kMaxCounter);

  const Hlc borrowed = clock_.now();
  CHECK(borrowed > last);
  CHECK(borrowed.millis() == kStart + 1);
  CHECK(borrowed.counter() == 0);

  // When physical time reaches the borrowed millisecond, the counter goes on from there.
  source_->advance(1ms);
  const Hlc next = clock_.now();
  CHECK(next > borrowed);
  CHECK(next.millis() == kStart + 1);
  CHECK(next.counter() == 1);
}

TEST_CASE_METHOD(ClockFixture, "hlc: receive() of a clock ahead of ours moves past it", "[hlc]") {
  clock_.now();
  const Hlc remote = Hlc::from_parts(kStart + 2'000, 7);
  REQUIRE(clock_.receive(remote));
  CHECK(clock_.last() >= remote);
  const Hlc next = clock_.now();
  CHECK(next > remote);
  CHECK(next.millis() == kStart + 2'000);
}

TEST_CASE_METHOD(ClockFixture, "hlc: receive() of a clock behind ours changes nothing", "[hlc]") {
  clock_.now();
  const Hlc mine = clock_.now();
  REQUIRE(clock_.receive(Hlc::from_parts(kStart - 10, 3)));
  CHECK(clock_.last() == mine);
  CHECK(clock_.now() > mine);
}

TEST_CASE_METHOD(ClockFixture,
                 "hlc: a received clock from the future beyond the skew limit is refused",
                 "[hlc]") {
  const Hlc mine = clock_.now();
  const auto skew = static_cast<std::uint64_t>(clock_.max_skew().count());
  const Hlc too_far = Hlc::from_parts(kStart + skew + 1, 0);

  CHECK_FALSE(clock_.within_skew(too_far));
  CHECK_FALSE(clock_.receive(too_far));
  CHECK(clock_.last() == mine);
  const Hlc next = clock_.now();
  CHECK(next < too_far);
  CHECK(next.millis() == kStart);
}

TEST_CASE_METHOD(ClockFixture, "hlc: a received clock exactly at the skew limit is accepted",
                 "[hlc]") {
  const auto skew = static_cast<std::uint64_t>(clock_.max_skew().count());
  const Hlc at_limit = Hlc::from_parts(kStart + skew, Hlc::kMaxCounter);
  CHECK(clock_.within_skew(at_limit));
  CHECK(clock_.receive(at_limit));
  CHECK(clock_.last() == at_limit);
  CHECK(clock_.now() > at_limit);
}

TEST_CASE("hlc: the skew limit is configurable and defaults to ten minutes", "[hlc]") {
  auto source = std::make_shared<FakeClock>(kStart);
  CHECK(HybridClock(source).max_skew() == std::chrono::minutes(10));

  HybridClock strict(source, 1s);
  CHECK(strict.max_skew() == 1s);
  CHECK_FALSE(strict.receive(Hlc::from_parts(kStart + 1'001, 0)));
  CHECK(strict.receive(Hlc::from_parts(kStart + 1'000, 0)));
  // Time catches up: what was too far ahead is now acceptable.
  source->advance(1s);
  CHECK(strict.receive(Hlc::from_parts(kStart + 2'000, 0)));
}

TEST_CASE("hlc: without a clock source the clock uses the system time", "[hlc]") {
  HybridClock clock(nullptr);
  const auto system = SystemClock().now_millis();
  const Hlc now = clock.now();
  CHECK(now.millis() + 60'000 > system);
  CHECK(now.millis() < system + 60'000);
}

TEST_CASE("hlc: to_string is 16 lowercase hex digits and parse round-trips", "[hlc]") {
  const Hlc samples[] = {Hlc(1), Hlc::from_parts(kStart, 0), Hlc::from_parts(kStart, 0xabcd),
                         Hlc(0xffffffffffffffffULL)};
  for (const Hlc hlc : samples) {
    const std::string text = hlc.to_string();
    INFO(text);
    CHECK(text.size() == 16);
    CHECK(is_lower_hex(text));
    const auto parsed = Hlc::parse(text);
    REQUIRE(parsed);
    CHECK(*parsed == hlc);
  }
  CHECK(Hlc(0x1f).to_string() == "000000000000001f");
  CHECK(Hlc::from_parts(1, 2).to_string() == "0000000000010002");
}

TEST_CASE("hlc: text order equals clock order", "[hlc]") {
  std::mt19937_64 random(42);
  for (int i = 0; i < 1000; ++i) {
    const Hlc a(random() >> (random() % 64));
    const Hlc b(random() >> (random() % 64));
    INFO(a.to_string() << " vs " << b.to_string());
    CHECK((a < b) == (a.to_string() < b.to_string()));
  }
}

TEST_CASE("hlc: parse rejects bad text", "[hlc]") {
  CHECK_FALSE(Hlc::parse(""));
  CHECK_FALSE(Hlc::parse("000000000000001"));    // 15 digits
  CHECK_FALSE(Hlc::parse("00000000000000001"));  // 17 digits
  CHECK_FALSE(Hlc::parse("000000000000001F"));   // uppercase
  CHECK_FALSE(Hlc::parse("000000000000001g"));   // not hex
  CHECK_FALSE(Hlc::parse("0x0000000000001f"));
  CHECK_FALSE(Hlc::parse("+00000000000001f"));
  CHECK_FALSE(Hlc::parse("-00000000000001f"));
  CHECK_FALSE(Hlc::parse(" 00000000000001f"));
  CHECK(Hlc::parse("000000000000001f"));
}

// --- Version: (clock, replica id) ---

Version version(std::uint64_t millis, std::uint64_t counter, std::string replica) {
  return Version{Hlc::from_parts(millis, counter), std::move(replica)};
}

TEST_CASE("version: to_string and parse round-trip", "[version]") {
  const Version v = version(kStart, 3, "replica-a");
  const std::string text = v.to_string();
  CHECK(text == Hlc::from_parts(kStart, 3).to_string() + ":replica-a");
  const auto parsed = Version::parse(text);
  REQUIRE(parsed);
  CHECK(*parsed == v);
}

TEST_CASE("version: the empty text is no version, and no version is the empty text", "[version]") {
  const auto parsed = Version::parse("");
  REQUIRE(parsed);
  CHECK(parsed->is_none());
  CHECK(Version{}.to_string().empty());
  CHECK(Version{} < version(1, 0, "a"));
}

TEST_CASE("version: parse rejects bad text", "[version]") {
  const std::string clock = Hlc::from_parts(kStart, 1).to_string();
  CHECK_FALSE(Version::parse(clock));                               // no replica
  CHECK_FALSE(Version::parse(clock + ":"));                         // empty replica
  CHECK_FALSE(Version::parse(clock + "-abc"));                      // wrong separator
  CHECK_FALSE(Version::parse(clock + ":ABC"));                      // replica ids are lowercase
  CHECK_FALSE(Version::parse(clock + ":a b"));                      // space in replica
  CHECK_FALSE(Version::parse(clock + ":" + std::string(33, 'a')));  // replica too long
  CHECK_FALSE(Version::parse("0000000000000000:abc"));              // zero clock
  CHECK_FALSE(Version::parse("000000000000000G:abc"));              // not hex
  CHECK_FALSE(Version::parse("1:abc"));                             // short clock
  CHECK(Version::parse(clock + ":" + std::string(32, 'a')));
}

TEST_CASE("version: a later clock wins, and equal clocks are ordered by replica id", "[version]") {
  CHECK(version(kStart, 0, "zzz") < version(kStart, 1, "aaa"));
  CHECK(version(kStart, 9, "zzz") < version(kStart + 1, 0, "aaa"));
  CHECK(version(kStart, 1, "aaa") < version(kStart, 1, "bbb"));
  CHECK(version(kStart, 1, "aaa") == version(kStart, 1, "aaa"));
}

TEST_CASE("version: text order equals version order", "[version]") {
  const std::vector<std::string> replicas = {"a", "a-", "a0", "ab", "b", "b_", "z9", "0"};
  std::mt19937_64 random(7);
  std::vector<Version> versions;
  for (int i = 0; i < 200; ++i) {
    versions.push_back(
        version(kStart + random() % 3, random() % 3, replicas[random() % replicas.size()]));
  }
  for (const auto& a : versions) {
    for (const auto& b : versions) {
      if ((a < b) != (a.to_string() < b.to_string())) {
        FAIL(a.to_string() << " vs " << b.to_string());
      }
    }
  }
  SUCCEED("text order matches for every pair");
}

}  // namespace
}  // namespace libreta
