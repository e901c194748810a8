// The operator's log of refusals and hostile acts (SyncServiceOptions::log): one line each,
// saying who, which device and why, never a token or a value; each one counted. Called from
// any of the service's threads: the log function given in the options must be thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace libreta::server {

class RefusalLog {
 public:
  RefusalLog(std::function<void(const std::string&)> log, std::atomic<std::uint64_t>& count)
      : log_(std::move(log)), count_(count) {}

  // Counts one refusal and writes its line.
  void refused(const std::string& line) const {
    ++count_;
    if (log_) log_(line);
  }

 private:
  const std::function<void(const std::string&)> log_;  // null: no log
  std::atomic<std::uint64_t>& count_;
};

}  // namespace libreta::server
