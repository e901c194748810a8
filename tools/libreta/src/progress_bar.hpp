// A one-line progress bar for long work (import, first download), drawn with carriage
// returns. Disabled (draws nothing) unless the output is a terminal. Not thread-safe: call
// it from one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace libreta::cli {

class ProgressBar {
 public:
  // `total` 0 means unknown: a counter without a bar.
  ProgressBar(std::ostream& out, bool enabled, std::string label, std::uint64_t total);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Redraws at most every kRedrawInterval, and always when done == total.
  void update(std::uint64_t done);
  // Clears the line, so that what follows starts clean.
  void finish();

 private:
  static constexpr std::chrono::milliseconds kRedrawInterval{80};
  static constexpr int kBarWidth = 30;

  std::ostream& out_;
  bool enabled_;
  std::string label_;
  std::uint64_t total_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace libreta::cli
