// The writer thread: takes groups of jobs from the WriteQueue and applies each group in one
// transaction (group commit: one fsync for all of it) through a Merger, then hands the
// durable commit to the Publisher. A group that cannot be stored is tried job by job, so
// that one job that cannot be stored does not hold back the others.
//
// Threads: its own thread; join() is called once the queue is stopped.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "libreta/protocol/hlc.hpp"
#include "live_update.hpp"
#include "write_job.hpp"

namespace libreta::server {

struct SyncContext;
class Publisher;

class CommitWriter {
 public:
  // Starts the thread.
  CommitWriter(SyncContext& context, Publisher& publisher);
  ~CommitWriter();  // join()

  // Waits for the thread, which ends once the queue is stopped and every job is committed.
  void join();

 private:
  void run();
  // Applies the jobs in one transaction and publishes the commit; throws when it cannot be
  // stored (nothing of it is then written).
  void commit(const std::vector<WriteJob*>& jobs);
  // Commits the group, or each of its jobs alone when the group cannot be stored; answers
  // the jobs that cannot be.
  void commit_group(std::vector<WriteJob>& group);
  // Tells a job's sender that it was not stored, and why.
  void not_stored(WriteJob& job, ErrorCode code, std::string why);
  // Counts a durable commit in the metrics, and logs it when it was slow.
  void record_commit(std::size_t jobs, std::uint64_t changes,
                     std::chrono::steady_clock::duration took,
                     std::chrono::steady_clock::duration fsync);

  SyncContext& context_;
  Publisher& publisher_;
  // The clock of the server's own writes.
  HybridClock server_clock_;
  SellerCursors seller_cursors_;
  std::thread thread_;  // last: starts once the rest is made
};

}  // namespace libreta::server
