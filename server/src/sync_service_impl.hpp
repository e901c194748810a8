// Private state of the SyncService, shared by sync_service.cpp (the writer thread: group
// commit, merge, conflicts, fan-out) and sync_connection.cpp (one client's session).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "libreta/protocol/messages.hpp"
#include "libreta/protocol/schema.hpp"
#include "libreta/server/sync_service.hpp"

namespace libreta::server {

// A push waiting for the writer: one connection's batch, already validated.
struct WriteJob {
  std::string replica;
  std::string user;
  std::vector<PushedChange> changes;
  std::uint64_t upto = 0;              // the batch's last sequence, acknowledged when done
  std::vector<RefusedChange> refused;  // found while validating, before the writer
  std::weak_ptr<SyncConnection> origin;
  std::shared_ptr<Outbound> out;
};

// What a commit changed, for the live connections: seqs (from, to] and the encoded live
// Rows message, made once and shared by every connection that sends it.
struct CommitNotice {
  std::uint64_t from = 0;  // first sequence of the commit
  std::uint64_t to = 0;    // last sequence
  std::shared_ptr<const std::string> frame;
};

struct SyncService::Impl {
  Store& store;
  SyncServiceOptions options;
  std::shared_ptr<ClockSource> clock;
  const Schema* schema = nullptr;

  std::mutex queue_mutex;
  std::condition_variable queue_changed;
  std::deque<WriteJob> queue;
  bool stopping = false;
  std::thread writer_thread;

  std::mutex connections_mutex;
  std::vector<std::weak_ptr<SyncConnection>> connections;

  std::atomic<std::uint64_t> changes_applied{0}, commits{0}, conflicts{0}, last_seq{0};
  std::atomic<std::uint64_t> open_connections{0}, live_connections{0};

  Impl(Store& s, SyncServiceOptions o);
  // Queues a job for the writer; false when the service is stopping.
  bool enqueue(WriteJob job);
  void run_writer();
  void fan_out(const CommitNotice& notice);
  void add_connection(const std::shared_ptr<SyncConnection>& connection);
};

}  // namespace libreta::server
