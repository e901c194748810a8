// What the client's sync protocol (sync_protocol.hpp) needs of a device's storage: its
// identity, where it stands in the server's change stream, its outbox, and a place for what
// the server sends back (pages and live rows, acknowledgements, conflicts, refusals). The
// SQLite Replica is one (SqliteSyncReplica); a device that keeps its rows in memory can be
// another and run the same protocol.
// Called only on the thread that drives the protocol; an implementation need not be
// thread-safe. A failure is thrown (libreta::Error) and changes nothing: the protocol's
// owner drops the connection and syncs again later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libreta/protocol/change.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/protocol/row_state.hpp"

namespace libreta::client {

// A local change waiting in the outbox, numbered by the replica's own sequence.
struct OutboxEntry {
  std::uint64_t seq = 0;
  Change change;
};

// Where this replica stands in the server's change stream (docs/protocol.md, "Pull"):
// everything up to `since` is here, and a scan of what changed after it has reached `after`.
struct SyncCursor {
  std::uint64_t since = 0;
  std::uint64_t after = 0;
  friend bool operator==(const SyncCursor&, const SyncCursor&) = default;
};

struct ApplyResult {
  std::size_t applied = 0;  // changes that won and changed the replica
  std::size_t ignored = 0;  // older than what the replica had, or repeated
  std::size_t evicted = 0;  // rows removed because they left this seller's scope
};

class SyncReplica {
 public:
  virtual ~SyncReplica() = default;

  // ---- Who and where -----------------------------------------------------------------------
  // The id the device says hello with, and signs its versions with.
  virtual const std::string& replica_id() const = 0;
  // Where the last page or live update applied left this replica (kept with what it applied).
  virtual SyncCursor sync_cursor() const = 0;
  // How far this replica has read the server's list of the conflicts it lost.
  virtual std::uint64_t conflicts_cursor() const = 0;
  // The last time the replica was in sync (Unix epoch ms), kept across restarts.
  virtual std::optional<std::uint64_t> last_sync_ms() const = 0;
  virtual void set_last_sync_ms(std::uint64_t at_ms) = 0;

  // The epoch of the server store this replica last synced with (empty: none yet).
  virtual std::string server_epoch() const = 0;
  // Called with each welcome's epoch (protocol 4). Another epoch than the one known means
  // the store went back in time: the replica starts its download and its list of lost
  // conflicts over, and puts what it wrote last of every row back into the outbox (see
  // Replica::adopt_server_epoch). Returns the changes put back.
  virtual std::size_t adopt_server_epoch(const std::string& epoch) = 0;

  // ---- The outbox --------------------------------------------------------------------------
  virtual std::size_t pending_count() const = 0;
  // The next push: the oldest pending changes, at most about `limit` of them, a prefix of
  // the outbox (the ack covers every change up to the last one pushed) that keeps each
  // row's changes together.
  virtual std::vector<OutboxEntry> pending_changes(std::size_t limit) const = 0;
  // The server holds every change up to and including `seq`: they leave the outbox.
  virtual void acknowledge(std::uint64_t seq) = 0;

  // ---- What the server sends ---------------------------------------------------------------
  // Merges a page of rows (or a live update) field by field and keeps `next` as the cursor,
  // at once: an interrupted download resumes after the last page applied. The `evicted` rows
  // (gone from this seller's scope) are removed first.
  virtual ApplyResult apply_page(const std::vector<RowState>& rows, SyncCursor next,
                                 const std::vector<RowRef>& evicted) = 0;
  // Conflicts an ack reported, each kept once.
  virtual void record_conflicts(const std::vector<ConflictNotice>& conflicts) = 0;
  // Conflicts from the server's list of those this replica lost, with the position reached
  // in it, at once; returns the conflicts not known before.
  virtual std::vector<ConflictNotice> record_conflicts(const std::vector<ConflictNotice>& conflicts,
                                                       std::uint64_t cursor) = 0;
  // Pushed changes the server refused. With `undo` (the refusals carry the server's state of
  // each field, protocol 3), each refused change no later local edit superseded goes back to
  // the server's state. Called before acknowledge(), which drops the refused changes.
  virtual void record_refusals(const std::vector<RefusedChange>& refused, bool undo) = 0;
  // Who uses which device, from the welcome: kept for the history of each field by a replica
  // that keeps one.
  virtual void note_device_users(const std::vector<DeviceUser>& /*devices*/) {}
};

}  // namespace libreta::client
