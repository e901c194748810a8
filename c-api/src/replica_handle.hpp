// What a libreta_replica handle holds: the app's connection to the replica file, the sync
// session (its own connection and thread, client-core's SyncSession), the listeners, and in
// buffered mode the events waiting for libreta_deliver_events().
//
// Locks, never two at once except where written: `data_mutex` guards the Replica;
// `sync_mutex` guards the session pointer and is held only to read or swap it, never while a
// session stops (its thread may be in a callback that reads the replica); `events_mutex`
// guards listeners and queue; `dispatch_mutex` is held while callbacks run, so that removing
// a listener can wait for a call in progress.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <variant>
#include <vector>

#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/libreta.h"

namespace libreta::capi {

// Rows that arrived, as a changes callback is told of them; consecutive ones queued in
// buffered mode merge into one.
struct ChangesEvent {
  std::size_t rows = 0;
  std::size_t applied = 0;
  bool live = true;  // every merged arrival was live
  std::vector<RowRef> changed;
  bool truncated = false;  // more rows than `changed` lists
};
using Event = std::variant<libreta_sync_status, ChangesEvent, std::vector<ConflictNotice>,
                           std::vector<RefusedChange>>;

// A registered callback, of the kind its event alternative says.
struct Listener {
  std::size_t kind = 0;  // the index in Event of the events it takes
  void (*callback)() = nullptr;
  void* user_data = nullptr;
};

// The most row references one changes event lists; past it, "truncated".
inline constexpr std::size_t kMaxChangedRows = 10'000;
// The most events buffered mode queues that cannot merge (conflicts, refusals): past it the
// oldest go; the replica keeps every conflict and refusal for libreta_conflicts() and
// libreta_refusals() anyway.
inline constexpr std::size_t kMaxQueuedEvents = 1'000;

}  // namespace libreta::capi

struct libreta_replica {
  std::filesystem::path path;
  libreta_delivery delivery = LIBRETA_DELIVER_ON_SYNC_THREAD;

  std::mutex data_mutex;
  std::unique_ptr<libreta::client::Replica> replica;  // null once closed

  std::mutex sync_mutex;
  std::shared_ptr<libreta::client::SyncSession> session;

  std::mutex events_mutex;
  std::condition_variable event_queued;
  std::uint64_t next_token = 1;
  std::map<std::uint64_t, libreta::capi::Listener> listeners;
  std::deque<libreta::capi::Event> queue;

  std::mutex dispatch_mutex;
};

namespace libreta::capi {

// Runs `body` with the open replica under its lock: missing_field for a null handle, closed
// for a closed one.
template <class Body>
void with_replica(libreta_replica* handle, Body&& body) {
  if (handle == nullptr) throw Error(ErrorCode::missing_field, "the replica handle is NULL");
  std::lock_guard lock(handle->data_mutex);
  if (!handle->replica) throw Error(ErrorCode::closed, "the replica is closed");
  body(*handle->replica);
}

// The running session, or null.
std::shared_ptr<client::SyncSession> session_of(libreta_replica& handle);
// After a local write: a running session pushes it now.
void nudge_session(libreta_replica& handle);
// Stops and drops the session; throws out_of_order from inside a callback of `handle` on
// the session's thread.
void stop_session(libreta_replica& handle);

// Whether this thread is inside a callback of `handle` right now.
bool in_callback_of(const libreta_replica& handle);

}  // namespace libreta::capi
