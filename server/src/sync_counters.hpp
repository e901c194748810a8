// The sync service's counters, reported by SyncService::stats() and GET /healthz: updated by
// its connections and threads, read by anyone. Thread-safe (atomics).
#pragma once

#include <atomic>
#include <cstdint>

#include "libreta/server/sync_service.hpp"

namespace libreta::server {

struct SyncCounters {
  std::atomic<std::uint64_t> connections{0}, live_connections{0};
  std::atomic<std::uint64_t> changes_applied{0}, commits{0}, conflicts{0}, last_seq{0};
  std::atomic<std::uint64_t> pages_read{0}, pages_shared{0};
  std::atomic<std::uint64_t> refusals{0};

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
