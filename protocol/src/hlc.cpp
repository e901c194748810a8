#include "libreta/protocol/hlc.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace libreta {

std::string Hlc::to_string() const {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(raw_));
  return std::string(buffer, 16);
}

std::optional<Hlc> Hlc::parse(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  std::uint64_t raw = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), raw, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return Hlc(raw);
}

std::uint64_t SystemClock::now_millis() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

HybridClock::HybridClock(std::shared_ptr<ClockSource> source, std::chrono::milliseconds max_skew)
    : source_(source ? std::move(source) : std::make_shared<SystemClock>()), max_skew_(max_skew) {}

Hlc HybridClock::now() {
  const std::uint64_t physical = source_->now_millis();
  if (physical > last_.millis()) {
    last_ = Hlc::from_parts(physical, 0);
  } else if (last_.counter() < Hlc::kMaxCounter) {
    last_ = Hlc(last_.raw() + 1);
  } else {
    // The counter is exhausted within one millisecond: borrow the next millisecond.
    last_ = Hlc::from_parts(last_.millis() + 1, 0);
  }
  return last_;
}

bool HybridClock::within_skew(Hlc remote) const {
  const std::uint64_t physical = source_->now_millis();
  return remote.millis() <= physical + static_cast<std::uint64_t>(max_skew_.count());
}

bool HybridClock::receive(Hlc remote) {
  if (!within_skew(remote)) return false;
  if (remote > last_) last_ = remote;
  return true;
}

}  // namespace libreta
