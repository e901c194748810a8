// The sync service's counters and histograms, reported by SyncService::stats(), GET /healthz
// and GET /metrics: updated by its connections and threads, read by anyone. Thread-safe
// (atomics, and a mutex for the labeled ones, which count rare events).
#pragma once

#include <atomic>
#include <cstdint>

#include "libreta/server/sync_service.hpp"
#include "metrics.hpp"

namespace libreta::server {

struct SyncCounters {
  std::atomic<std::uint64_t> connections{0}, live_connections{0};
  std::atomic<std::uint64_t> changes_applied{0}, commits{0}, conflicts{0}, last_seq{0};
  std::atomic<std::uint64_t> pages_read{0}, pages_shared{0};
  std::atomic<std::uint64_t> refusals{0};

  std::atomic<std::uint64_t> connections_opened{0};  // since start, hello or not
  std::atomic<std::uint64_t> pushes{0};              // push messages taken to the writer
  std::atomic<std::uint64_t> slow_commits{0};
  // Live updates queued to connections, and their bytes (one encoding shared by many).
  std::atomic<std::uint64_t> live_deliveries{0}, live_delivery_bytes{0};
  LabeledValues authenticated;                   // {role, protocol}: open now
  LabeledValues hellos_refused;                  // {reason}
  LabeledValues changes_refused;                 // {code}
  Histogram commit_seconds{duration_buckets()};  // a group commit, first read to durable
  Histogram fsync_seconds{duration_buckets()};   // its COMMIT: the writes reach the disk
  Histogram commit_changes{size_buckets()};      // changes in a group
  // Unix ms since the writer began its current group; 0 while it waits for one.
  std::atomic<std::uint64_t> writer_busy_since_ms{0};

  SyncServiceStats snapshot() const {
    SyncServiceStats s;
    s.connections = connections;
    s.live_connections = live_connections;
    s.changes_applied = changes_applied;
    s.commits = commits;
    s.conflicts = conflicts;
    s.last_seq = last_seq;
    s.pages_read = pages_read;
    s.pages_shared = pages_shared;
    s.refusals = refusals;
    return s;
  }
};

}  // namespace libreta::server
