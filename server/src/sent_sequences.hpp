// How far each replica was sent rows by this service's connections since it started: a
// device's next connection knows the book at least that far (the reassignment rule,
// docs/security.md). The writer records it in the store with the replica's next job.
// Thread-safe (one mutex).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace libreta::server {

class SentSequences {
 public:
  // Raises what is known of how far `replica` was sent rows to `seq`; returns the highest.
  std::uint64_t note(const std::string& replica, std::uint64_t seq) {
    std::lock_guard lock(mutex_);
    auto& sent = sent_by_replica_[replica];
    sent = std::max(sent, seq);
    return sent;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::uint64_t> sent_by_replica_;
};

}  // namespace libreta::server
