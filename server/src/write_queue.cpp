#include "write_queue.hpp"

#include <algorithm>
#include <cstddef>
#include <set>
#include <string_view>
#include <utility>

namespace libreta::server {

bool WriteQueue::push(WriteJob job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    queue_.push_back(std::move(job));
  }
  changed_.notify_one();
  return true;
}

void WriteQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
}

WriteQueue::Depth WriteQueue::depth() const {
  std::lock_guard lock(mutex_);
  Depth depth;
  depth.jobs = queue_.size();
  for (const auto& job : queue_) depth.changes += job.changes.size();
  return depth;
}

std::vector<WriteJob> WriteQueue::take_group() {
  std::vector<WriteJob> group;
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
  if (queue_.empty()) return group;  // stopping, and everything queued is taken
  // Take what is waiting, up to a bound: one transaction, one fsync for all of it.
  ++groups_formed_;
  std::size_t changes = 0;
  while (!queue_.empty() && take_round(group, changes)) {
  }
  return group;
}

bool WriteQueue::take_round(std::vector<WriteJob>& group, std::size_t& changes) {
  std::vector<std::size_t> round;  // positions in the queue
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    if (seen.insert(queue_[i].token_id).second) round.push_back(i);
  }
  std::stable_sort(round.begin(), round.end(), [&](std::size_t a, std::size_t b) {
    return last_served_[queue_[a].token_id] < last_served_[queue_[b].token_id];
  });
  bool full = false;
  std::vector<std::size_t> taken;
  for (std::size_t i : round) {
    if (!group.empty() && changes + queue_[i].changes.size() > max_group_changes_) {
      full = true;
      break;
    }
    changes += queue_[i].changes.size();
    // Bookkeeping costs the writer nothing: it does not count as serving the token.
    if (queue_[i].out || queue_[i].done) last_served_[queue_[i].token_id] = groups_formed_;
    group.push_back(std::move(queue_[i]));
    taken.push_back(i);
  }
  if (taken.empty()) return false;
  std::sort(taken.rbegin(), taken.rend());
  for (std::size_t i : taken) queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
  return !full;
}

}  // namespace libreta::server
