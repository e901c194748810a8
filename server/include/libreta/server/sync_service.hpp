// The sync service: the server's sync logic, knowing nothing of sockets. A transport (the
// Beast WebSocket session, or a test) opens a SyncConnection per client (sync_connection.hpp),
// feeds it the client's frames (text, or compressed binary), and gives it an Outbound to
// answer through.
//
// Threads: each SyncConnection's methods are called on that connection's serial executor
// (its strand); the service's own work completes there through Outbound::post. Pushes from
// all connections go to one writer thread that applies many sessions' batches in one
// transaction (group commit); a publisher thread then acknowledges them and fans the
// committed rows out to the live connections. SyncService's public methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/schema.hpp"
#include "libreta/server/direct_write.hpp"
#include "libreta/server/log.hpp"
#include "libreta/server/store.hpp"
#include "libreta/server/sync_connection.hpp"

namespace libreta::server {

inline constexpr std::size_t kMaxConnectionsPerToken = 8;
inline constexpr std::size_t kMaxMessagesPerSecond = 100;
inline constexpr std::size_t kMessageBurst = 200;
inline constexpr std::chrono::milliseconds kRevocationCheck = std::chrono::seconds(1);
// Fair share between tokens (docs/security.md): what one token's connections together may
// make the writer do. A device sends 1,000 changes a push and waits for its ack.
inline constexpr std::size_t kMaxPushChanges = 10'000;
inline constexpr std::size_t kMaxQueuedChangesPerToken = 20'000;
inline constexpr std::size_t kMaxChangesPerSecondPerToken = 10'000;
inline constexpr std::size_t kChangeBurstPerToken = 50'000;
inline constexpr std::size_t kMaxBytesPerSecondPerToken = 4u << 20;
inline constexpr std::size_t kByteBurstPerToken = 32u << 20;
// What one row may hold of fields the server's schema does not know (kept for newer
// devices), and of version keys in all (fields and tag elements, removed ones included):
// every device must be able to download and apply any row the server stores.
inline constexpr std::size_t kMaxUnknownFieldsPerRow = 32;
inline constexpr std::size_t kMaxUnknownBytesPerRow = 64u << 10;
inline constexpr std::size_t kMaxKeysPerRow = 1'024;

struct SyncServiceOptions {
  std::shared_ptr<ClockSource> clock;  // system clock when null
  std::chrono::milliseconds max_clock_skew = HybridClock::kDefaultMaxSkew;
  std::size_t page_rows = 1000;  // rows per page of a pull
  // Changes applied in one group commit at most. Larger groups share an fsync among more
  // changes, but hold every waiting device's ack and live update until the whole group is
  // written, and the group's rows and live frame in memory (docs/performance.md, "Server
  // settings").
  std::size_t max_group_changes = 10'000;
  // Largest message a client may send once decompressed (the transport limits the frame,
  // 8 MiB by default: the same bound on what one message may cost the server).
  std::size_t max_message_bytes = 8 * 1024 * 1024;
  // Memory for pages of pulls that read everything, encoded once and shared by the devices
  // that ask for them (server/src/page_cache.hpp); 0: no cache.
  std::size_t page_cache_bytes = 32 * 1024 * 1024;
  // Limits (docs/security.md). Connections one token may hold open at once; a device that
  // reconnects replaces its own older connection rather than counting twice.
  std::size_t max_connections_per_token = kMaxConnectionsPerToken;
  // Messages a client may send per second on one connection, sustained, and in a burst; a
  // client over it is disconnected with rate_limited (0: no limit).
  std::size_t max_messages_per_second = kMaxMessagesPerSecond;
  std::size_t message_burst = kMessageBurst;
  // How often the service looks for tokens revoked from another process (the
  // `libreta-server token revoke` command) or expired, to close their sessions, and records
  // the tokens' last uses.
  std::chrono::milliseconds revocation_check = kRevocationCheck;
  // Fair share between tokens: changes in one push (more: too_large, nothing applied);
  // changes of one token waiting for the writer; changes and bytes one token's connections
  // may send a second, sustained and in a burst. Over them, a push is refused with
  // rate_limited and nothing of it applied; the device sends it again later.
  std::size_t max_push_changes = kMaxPushChanges;
  std::size_t max_queued_changes_per_token = kMaxQueuedChangesPerToken;
  std::size_t max_changes_per_second_per_token = kMaxChangesPerSecondPerToken;
  std::size_t change_burst_per_token = kChangeBurstPerToken;
  std::size_t max_bytes_per_second_per_token = kMaxBytesPerSecondPerToken;
  std::size_t byte_burst_per_token = kByteBurstPerToken;
  // Bounds on one stored row (a change that would pass one is refused with too_large).
  std::size_t max_unknown_fields_per_row = kMaxUnknownFieldsPerRow;
  std::size_t max_unknown_bytes_per_row = kMaxUnknownBytesPerRow;
  std::size_t max_keys_per_row = kMaxKeysPerRow;
  // The operator's log: a line per connection opened, per refusal and hostile act (who,
  // which device, why; never a token or a value), per slow commit. Null: no log.
  std::shared_ptr<Log> log;
  // A group commit that takes longer is logged (warn): the disk, or a group too large.
  std::chrono::milliseconds slow_commit = std::chrono::seconds(1);
  // A writer busy with one group for longer, or jobs waiting that long without a group
  // being taken, makes the service not ready (readiness()).
  std::chrono::milliseconds writer_stall = std::chrono::seconds(30);
};

struct SyncServiceStats {
  std::uint64_t connections = 0;       // open now
  std::uint64_t live_connections = 0;  // caught up and receiving live updates
  std::uint64_t changes_applied = 0;   // since start
  std::uint64_t commits = 0;           // group commits since start
  std::uint64_t conflicts = 0;         // recorded since start
  std::uint64_t last_seq = 0;
  std::uint64_t pages_read = 0;    // pages of pulls read from the store since start
  std::uint64_t pages_shared = 0;  // pages served from the page cache instead
  std::uint64_t refusals = 0;      // changes refused and hellos refused, since start
};

// Whether the service can do its work now (GET /readyz): its store answers, its writer is
// not stuck, it is not stopping. `problem` says what is wrong, empty when ready.
struct SyncServiceReadiness {
  bool ready = false;
  std::string problem;
};

class SyncService : public std::enable_shared_from_this<SyncService> {
 public:
  static std::shared_ptr<SyncService> create(Store& store, SyncServiceOptions options = {});
  ~SyncService();

  // A new client connection; `peer` names it in logs.
  std::shared_ptr<SyncConnection> open_connection(std::shared_ptr<Outbound> out, std::string peer);
  // Stops taking pushes, applies and acknowledges what was already queued, and stops the
  // writer. Connections are told the server is shutting down.
  void stop();
  SyncServiceStats stats() const;
  // The service's metrics in Prometheus text format (docs/operations.md): connections,
  // hellos refused, pushes, changes, conflicts, refusals, commits, pulls, queue, store.
  std::string metrics_text() const;
  // Reads the store (one small query) and looks at the writer: call it from a thread that
  // may block briefly, not from a connection's strand.
  SyncServiceReadiness readiness() const;
  Store& store();
  const Schema& schema() const;
  // The replica ids of the devices connected now.
  std::set<std::string> connected_replicas();
  // Closes every session authenticated with the token (it was revoked), at once.
  void close_sessions_of_token(const std::string& token_id);
  // A write from the office or the API (direct_write.hpp), queued for the writer beside the
  // devices' pushes; `done` runs once it is durable and announced, or refused, or failed (on
  // one of the service's threads: it must not block). `token_id` shares the writer's rounds
  // fairly with the devices' tokens.
  void write(DirectWrite write, const std::string& token_id,
             std::function<void(DirectWriteResult)> done);
  // The same, waiting for the answer at most `timeout`; nothing when it did not come in time
  // (the write may still be stored). For the office's and the API's threads, never a
  // connection's.
  std::optional<DirectWriteResult> write_and_wait(DirectWrite write, const std::string& token_id,
                                                  std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit SyncService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace libreta::server
