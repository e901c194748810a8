// What the sync service's connections and threads share: the options and schema, the store,
// the counters and the refusal log, and each shared concern behind its own class (fair share
// between tokens, how far replicas were sent rows, the session registry, the write queue,
// the page cache).
//
// Ownership: part of the SyncService; a connection holds it by a shared_ptr that shares the
// service's ownership, so the writer and publisher outlive every connection that may hand
// them work.
// Threads: every member is thread-safe, or immutable once made.
#pragma once

#include <memory>

#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/schema.hpp"
#include "libreta/server/store.hpp"
#include "libreta/server/sync_service.hpp"
#include "page_cache.hpp"
#include "refusal_log.hpp"
#include "sent_sequences.hpp"
#include "session_registry.hpp"
#include "sync_counters.hpp"
#include "token_admission.hpp"
#include "token_watcher.hpp"
#include "write_queue.hpp"

namespace libreta::server {

struct SyncContext {
  SyncContext(Store& store, SyncServiceOptions options);

  const SyncServiceOptions options;
  const std::shared_ptr<ClockSource> clock;
  const Schema& schema;
  // Tokens, replicas, conflicts and pages are read here, on the connections' executors,
  // through the store's pool of read connections; the writer thread alone writes.
  Store& store;
  // The store's epoch, read once: a restore happens with the server stopped.
  const std::string epoch;
  SyncCounters counters;
  RefusalLog refusals;
  TokenAdmission admission;
  TokenUses token_uses;
  SentSequences sent;
  SessionRegistry sessions;
  WriteQueue writes;
  // Pages of pulls that read everything, shared (null when options.page_cache_bytes is 0).
  const std::unique_ptr<PageCache> page_cache;
};

}  // namespace libreta::server
