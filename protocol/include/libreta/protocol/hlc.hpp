// Hybrid logical clock: physical milliseconds plus a logical counter, packed in 64 bits.
// `HybridClock` is not thread-safe; its owner (one replica, one server writer) serializes
// calls. The physical time comes from an injected `ClockSource` so tests run on fake time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace libreta {

// A timestamp: upper 48 bits are Unix milliseconds, lower 16 bits a logical counter.
class Hlc {
 public:
  static constexpr int kCounterBits = 16;
  static constexpr std::uint64_t kMaxCounter = (1u << kCounterBits) - 1;

  constexpr Hlc() = default;
  constexpr explicit Hlc(std::uint64_t raw) : raw_(raw) {}
  static constexpr Hlc from_parts(std::uint64_t millis, std::uint64_t counter) {
    return Hlc((millis << kCounterBits) | (counter & kMaxCounter));
  }

  constexpr std::uint64_t raw() const { return raw_; }
  constexpr std::uint64_t millis() const { return raw_ >> kCounterBits; }
  constexpr std::uint64_t counter() const { return raw_ & kMaxCounter; }
  constexpr bool is_zero() const { return raw_ == 0; }

  // Fixed-width 16 lowercase hex digits, so that text order equals clock order.
  std::string to_string() const;
  static std::optional<Hlc> parse(std::string_view text);

  friend constexpr auto operator<=>(Hlc, Hlc) = default;

 private:
  std::uint64_t raw_ = 0;
};

// Where physical time comes from.
class ClockSource {
 public:
  virtual ~ClockSource() = default;
  virtual std::uint64_t now_millis() = 0;  // Unix epoch milliseconds
};

class SystemClock final : public ClockSource {
 public:
  std::uint64_t now_millis() override;
};

// A clock that moves only when told to; for tests.
class FakeClock final : public ClockSource {
 public:
  explicit FakeClock(std::uint64_t start_millis = 1'700'000'000'000) : now_(start_millis) {}
  std::uint64_t now_millis() override { return now_; }
  void set(std::uint64_t millis) { now_ = millis; }
  void advance(std::chrono::milliseconds by) { now_ += static_cast<std::uint64_t>(by.count()); }

 private:
  std::uint64_t now_;
};

class HybridClock {
 public:
  static constexpr std::chrono::milliseconds kDefaultMaxSkew = std::chrono::minutes(10);

  explicit HybridClock(std::shared_ptr<ClockSource> source,
                       std::chrono::milliseconds max_skew = kDefaultMaxSkew);

  // A new timestamp, greater than every one issued or received before.
  Hlc now();
  // Takes a timestamp seen from elsewhere into account. Returns false, and changes
  // nothing, when it lies further in the future than the skew limit allows.
  bool receive(Hlc remote);
  // Raises the clock to at least `issued` with no skew check: for restoring the clock's own
  // saved state, so that no version is issued twice even if the device clock went back.
  void restore(Hlc issued) {
    if (issued > last_) last_ = issued;
  }
  // Would `remote` be accepted by receive()? Does not change the clock.
  bool within_skew(Hlc remote) const;
  Hlc last() const { return last_; }
  std::chrono::milliseconds max_skew() const { return max_skew_; }

 private:
  std::shared_ptr<ClockSource> source_;
  std::chrono::milliseconds max_skew_;
  Hlc last_;
};

}  // namespace libreta
