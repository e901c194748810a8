// The types a device's sync speaks in: its errors, its status, the events it reports and
// the options it runs with. Shared by the sync session (sync_session.hpp), the protocol it
// runs (sync_protocol.hpp) and its transport; plain values, no behaviour beyond is_synced.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "libreta/protocol/error.hpp"
#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/messages.hpp"

namespace libreta::client {

// An error the session met: from the server (its code), from the local replica (storage,
// storage_full), or from the network (unreachable, timeout).
struct SyncError {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  std::uint64_t at_ms = 0;  // Unix epoch milliseconds
};

// A snapshot of what the session is doing, for a status bar or a `libreta sync` report.
struct SyncStatus {
  bool running = false;             // start() was called and stop() was not
  bool connected = false;           // the server welcomed this replica on the current connection
  bool caught_up = false;           // everything the server had was pulled; live updates follow
  std::size_t pending_changes = 0;  // local changes the server has not acknowledged
  // The last time the replica was caught up with nothing pending (Unix epoch ms); kept by
  // the replica (in a replica file, its setting "last_sync_ms"), so it survives restarts.
  std::optional<std::uint64_t> last_sync_ms;
  bool downloading = false;             // a pull is running (a bootstrap, or catching up)
  std::uint64_t rows_received = 0;      // rows received by the current (or last) download,
                                        // including before a connection broke and it resumed
  std::uint64_t rows_expected = 0;      // the rows the download brings in all, as the server
                                        // counted them (protocol 5); 0 when not known
  std::uint64_t cursor = 0;             // how far the replica has read the server's change stream
  std::optional<SyncError> last_error;  // the most recent error; kept until another replaces it
  std::uint64_t reconnects = 0;         // connection attempts after the first
};

// Events, delivered through SyncOptions::on_event on the session's thread.
struct ChangesArrived {
  std::size_t rows = 0;     // rows in the page or live update
  std::size_t applied = 0;  // changes that won and changed the replica
  bool live = false;        // a live update rather than a page of a pull
  // The rows as the server sent them (already applied), for an app that refreshes what it
  // shows of them. Valid only during on_event: copy what must outlive it.
  std::span<const RowState> received;
};
struct ConflictsReported {
  // Conflicts newly reported: in an ack, those this replica's push met (its value lost or
  // won); in `conflicts` (protocol 3), those in which a value of this replica lost, whoever
  // pushed second. Replica::reported_conflicts tells them apart.
  std::vector<ConflictNotice> conflicts;
};
struct ChangesRefused {
  // Pushed changes the server would not take (outside the seller's scope, invalid); they
  // left the outbox. With a protocol 3 server the replica is back to the server's value of
  // each refused field (a row created here and refused whole is gone); with an older one it
  // keeps the local value until a newer one from the server replaces it.
  std::vector<RefusedChange> refused;
};
struct StatusChanged {
  SyncStatus status;
};
using SyncEvent = std::variant<ChangesArrived, ConflictsReported, ChangesRefused, StatusChanged>;

struct SyncOptions {
  std::string server_url;  // wss://host:port/sync, or ws:// (see allow_plain)
  std::string token;
  // wss:// verifies the server's certificate chain and that it names the URL's host. The
  // trusted authorities: this PEM file's certificates when set (a company's own CA), else the
  // system's store. A server that fails verification is never sent anything (ErrorCode::tls).
  std::string ca_file;
  // ws:// carries the token and the customer data unencrypted, so it is refused (ErrorCode::tls)
  // unless the host is loopback, or this is set (a trusted network, a TLS proxy).
  bool allow_plain = false;
  // Large messages (pushes, pages, big live updates) travel compressed (protocol version 2).
  // false speaks protocol 1, every frame JSON text: for a proxy that mangles binary frames.
  bool compress = true;
  // Reconnection delay: min(max_backoff, initial_backoff * 2^attempt), scaled by a random
  // factor in [0.5, 1]; back to the initial delay after the server welcomes the replica.
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{30'000};
  std::size_t push_batch = 1000;  // changes per push; one push is in flight at a time
  // Limit for connecting (resolving, TCP, WebSocket handshake), then for the welcome.
  std::chrono::milliseconds connect_timeout{10'000};
  // A connection that receives nothing for this long is dead; pings are sent after half of
  // it, so a healthy idle connection never times out.
  std::chrono::milliseconds idle_timeout{30'000};
  // How often to look for local writes made through other connections to the file (the
  // app's); nudge() pushes at once.
  std::chrono::milliseconds outbox_check{500};
  std::function<void(const SyncEvent&)> on_event;
  // Wall-clock time for the times the session records (errors, the last sync) and for the
  // hybrid clock of the replica it opens; the system clock when null.
  std::shared_ptr<ClockSource> clock;
};

// Whether a status is "in sync": connected, caught up, and nothing pending.
bool is_synced(const SyncStatus& status);

}  // namespace libreta::client
