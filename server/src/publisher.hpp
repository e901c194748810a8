// The publisher thread: for each durable commit, in commit order, sends each pushing
// connection its ack (or the error that closes it), builds the commit's live update and fans
// it out (SessionRegistry), then frees the group's rows, while the writer goes on with the
// next group. At most kMaxCommitsToPublish commits wait for it; past that the writer waits.
//
// Threads: publish() and finish() are called by the writer's side; the thread is its own.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "group_rows.hpp"
#include "libreta/server/sync_connection.hpp"
#include "merger.hpp"

namespace libreta::server {

class SessionRegistry;

// A durable commit whose acks and live update are still to be made and sent.
struct CommittedGroup {
  std::uint64_t from = 0, to = 0;  // (from - 1, to]; empty when to < from
  GroupRows rows;                  // owns the rows `saved` points to
  std::vector<const GroupRow*> saved;
  std::vector<Eviction> evictions;
  std::map<std::string, std::uint64_t> sellers_since;
  std::set<std::string> losers;  // replicas whose value lost a conflict
  struct PendingAck {
    std::shared_ptr<Outbound> out;
    std::function<void(JobOutcome)> done;  // a direct write's answer, instead of `out`
    bool compressed_frames = false;
    JobOutcome outcome;
  };
  std::vector<PendingAck> acks;
};

class Publisher {
 public:
  static constexpr std::size_t kMaxCommitsToPublish = 2;

  // Starts the thread.
  explicit Publisher(SessionRegistry& sessions);
  ~Publisher();  // finish()

  // Hands a durable commit to the publisher (waits while kMaxCommitsToPublish are queued).
  void publish(std::unique_ptr<CommittedGroup> group);
  // Once nothing more is published: sends what is queued and ends the thread. Idempotent.
  void finish();

 private:
  void run();
  void send_acks(CommittedGroup& group);

  SessionRegistry& sessions_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<CommittedGroup>> queue_;
  bool finishing_ = false;  // nothing more is published
  std::thread thread_;      // last: starts once the rest is made
};

}  // namespace libreta::server
