#include "progress_bar.hpp"

#include <ostream>

namespace libreta::cli {

ProgressBar::ProgressBar(std::ostream& out, bool enabled, std::string label, std::uint64_t total)
    : out_(out), enabled_(enabled), label_(std::move(label)), total_(total) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(std::uint64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < kRedrawInterval && done != total_) return;
  last_draw_ = now;
  drawn_ = true;
  std::string line = "\r" + label_ + " ";
  if (total_ > 0) {
    const std::uint64_t shown = done > total_ ? total_ : done;
    const int filled = static_cast<int>(shown * kBarWidth / total_);
    line += "[" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(kBarWidth - filled), ' ') + "] " +
            std::to_string(shown) + "/" + std::to_string(total_);
  } else {
    line += std::to_string(done);
  }
  out_ << line << std::flush;
}

void ProgressBar::finish() {
  if (!enabled_ || !drawn_) return;
  out_ << "\r\x1b[2K" << std::flush;  // carriage return, erase the line
  drawn_ = false;
}

}  // namespace libreta::cli
