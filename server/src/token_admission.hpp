// Fair share between tokens (docs/security.md, "Fair share"): what one token's connections
// together may make the server do. Changes waiting for the writer are bounded, and token
// buckets bound the changes and the bytes received a second, sustained and in a burst.
// Thread-safe (one mutex): connections admit on their executors, the writer gives back.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "libreta/server/sync_service.hpp"

namespace libreta::server {

class TokenAdmission {
 public:
  explicit TokenAdmission(const SyncServiceOptions& options);

  // Whether the token may send a message of `bytes` now (its bytes a second), and, for a
  // push of `changes`, queue it (its changes a second and changes waiting): empty if so,
  // else why not. Queued changes are given back by done_queued() once the writer is done.
  std::optional<std::string> admit(const std::string& token_id, std::size_t bytes,
                                   std::size_t changes);
  void done_queued(const std::string& token_id, std::size_t changes);

 private:
  struct Usage {
    std::size_t queued_changes = 0;
    double change_allowance = 0;
    double byte_allowance = 0;
    std::chrono::steady_clock::time_point refilled{};
    bool started = false;
  };
  // Refills the token's buckets for the time since their last refill.
  void refill(Usage& used, std::chrono::steady_clock::time_point now) const;

  const std::size_t max_queued_changes_;
  const std::size_t max_changes_per_second_;
  const std::size_t change_burst_;
  const std::size_t max_bytes_per_second_;
  const std::size_t byte_burst_;
  std::mutex mutex_;
  std::map<std::string, Usage> usage_;  // by token id
};

}  // namespace libreta::server
