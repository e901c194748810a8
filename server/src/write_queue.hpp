// The jobs of every connection waiting for the writer (WriteJob), taken in groups of one
// transaction each (group commit). A group is taken in rounds, each taking the oldest
// waiting job of every token, the tokens served least recently first: one token's many
// pushes cannot fill groups ahead of other tokens' (docs/security.md, "Fair share"), and a
// token's jobs keep their order.
//
// Threads: thread-safe (one mutex); connections push on their executors, the writer thread
// takes.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "write_job.hpp"

namespace libreta::server {

class WriteQueue {
 public:
  // A group holds at most `max_group_changes` changes, unless its first job alone has more.
  explicit WriteQueue(std::size_t max_group_changes) : max_group_changes_(max_group_changes) {}

  // Queues a job for the writer; false once the queue is stopped.
  bool push(WriteJob job);
  // Waits for jobs and takes the next group; empty once stopped and everything queued is
  // taken.
  std::vector<WriteJob> take_group();
  // Takes no more jobs; what is queued is still taken.
  void stop();

  struct Depth {
    std::size_t jobs = 0, changes = 0;
  };
  // What waits for the writer now.
  Depth depth() const;

 private:
  // Takes one round into `group` (under the lock); false when the group is full.
  bool take_round(std::vector<WriteJob>& group, std::size_t& changes);

  const std::size_t max_group_changes_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<WriteJob> queue_;
  bool stopping_ = false;
  // The group in which each token's job was last taken.
  std::uint64_t groups_formed_ = 0;
  std::map<std::string, std::uint64_t> last_served_;
};

}  // namespace libreta::server
