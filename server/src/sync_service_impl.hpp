// Private state of the SyncService, shared by sync_service.cpp (the writer thread: group
// commit, merge, conflicts, fan-out) and sync_connection.cpp (one client's session).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "libreta/protocol/messages.hpp"
#include "libreta/protocol/schema.hpp"
#include "libreta/server/sync_service.hpp"
#include "page_cache.hpp"

namespace libreta::server {

// Work for the writer from one connection: a push (its batch, already validated; an empty
// push is answered with the replica's acknowledged sequence), or, without `out`, the
// replica's bookkeeping alone: binding a new replica id to its user (`claim`), recording
// how far it was sent rows (`sent_seq`).
struct WriteJob {
  std::string replica;
  std::string user;
  std::string token_id;
  std::string peer;  // for log lines
  Role role = Role::seller;
  int protocol = kProtocolVersion;  // the session's
  std::vector<PushedChange> changes;
  std::uint64_t upto = 0;              // the batch's last sequence, acknowledged when done
  std::vector<RefusedChange> refused;  // found while validating, before the writer
  std::size_t admitted = 0;            // changes counted against the token (TokenUsage)
  // The server sequence up to which the connection had sent the replica rows when the push
  // arrived (and earlier connections, as recorded): decides the reassignment rule.
  std::uint64_t sent_seq = 0;
  bool claim = false;           // the replica id is new: bind it to `user`
  std::uint64_t first_seq = 0;  // for a claim: the server's last sequence at hello
  std::weak_ptr<SyncConnection> origin;
  std::shared_ptr<Outbound> out;   // null: bookkeeping only, nothing to answer
  bool compressed_frames = false;  // the connection's protocol takes compressed frames
};

// What one token's connections may make the server do, shared by them (docs/security.md,
// "Fair share"): changes waiting for the writer, and token buckets of changes and of bytes
// received a second.
struct TokenUsage {
  std::size_t queued_changes = 0;
  double change_allowance = 0;
  double byte_allowance = 0;
  std::chrono::steady_clock::time_point refilled{};
  bool started = false;
};

// The replica id of the server's own writes (a customer's owner when a seller creates it);
// no device may use it.
inline constexpr std::string_view kServerReplica = "server";

// A message encoded once for many connections: its text frame, and the compressed frame
// when compressing gains (compressed once, not once per connection).
struct SharedMessage {
  SharedFrame text;
  SharedFrame compressed;  // null: not worth it

  explicit SharedMessage(std::string encoded);  // a message's text (encode_message...)
  const SharedFrame& for_connection(bool compressed_frames) const {
    return compressed_frames && compressed ? compressed : text;
  }
};

// A seller's part of a commit: a live Rows frame carrying every change to their scope
// after `since` (their previous update), so it applies on any connection at or past it.
struct SellerUpdate {
  std::uint64_t since = 0;
  SharedMessage frame;
};

// What a commit changed, for the live connections: seqs (from, to] and the encoded live
// Rows messages, each made once and shared by every connection that sends it.
struct CommitNotice {
  std::uint64_t from = 0;                         // first sequence of the commit
  std::uint64_t to = 0;                           // last sequence
  SharedMessage everything;                       // for managers and admins
  std::map<std::string, SellerUpdate> by_seller;  // only sellers whose scope changed
  std::set<std::string> losers;  // replicas whose value lost a conflict this commit recorded
};

// A refusal of one pushed change, for its ack.
RefusedChange refusal_of(const PushedChange& pushed, ErrorCode code, std::string why);

// A durable commit waiting for its acks and live update (sync_service.cpp).
struct CommittedGroup;

struct SyncService::Impl {
  SyncService* owner = nullptr;
  Store& store;
  SyncServiceOptions options;
  std::shared_ptr<ClockSource> clock;
  const Schema* schema = nullptr;

  std::mutex queue_mutex;
  std::condition_variable queue_changed;
  std::deque<WriteJob> queue;
  // Fair share: the group in which each token's job was last taken (writer thread only).
  std::uint64_t groups_formed = 0;
  std::map<std::string, std::uint64_t> last_served;
  bool stopping = false;
  std::thread writer_thread;

  // Commits whose acks and live updates the publisher thread makes and sends, in commit
  // order, while the writer goes on with the next group.
  static constexpr std::size_t kMaxCommitsToPublish = 2;
  std::mutex publish_mutex;
  std::condition_variable publish_changed;
  std::deque<std::unique_ptr<CommittedGroup>> to_publish;
  bool writer_done = false;  // set once the writer thread has ended
  std::thread publisher_thread;

  // The writer thread's own clock, for the server's writes.
  HybridClock server_clock;
  // Where each seller's last live update ended (writer thread only; sellers_since()).
  std::map<std::string, std::uint64_t> last_update_of_seller;
  // Pages of pulls that read everything, shared (null when options.page_cache_bytes is 0).
  std::unique_ptr<PageCache> page_cache;

  // Authenticated connections that receive live updates: those reading everything, and
  // sellers' by user, so a commit reaches only the connections it concerns.
  std::mutex connections_mutex;
  std::vector<std::weak_ptr<SyncConnection>> everything_readers;
  std::map<std::string, std::vector<std::weak_ptr<SyncConnection>>> seller_readers;
  // Authenticated sessions by token id: for the per-token limit and revocation.
  std::map<std::string, std::vector<std::weak_ptr<SyncConnection>>> sessions_by_token;

  // Fair share between tokens (TokenUsage), by token id.
  std::mutex usage_mutex;
  std::map<std::string, TokenUsage> usage;
  // How far each replica was sent rows by connections since the service started (the
  // writer records it in the store with the replica's next job).
  std::mutex sent_mutex;
  std::map<std::string, std::uint64_t> sent_by_replica;

  // Closes the sessions of tokens revoked from elsewhere (revocation_check).
  std::thread revocation_thread;
  std::condition_variable stop_requested;  // with queue_mutex
  std::set<std::string> revoked_tokens;    // revocation thread only

  std::atomic<std::uint64_t> changes_applied{0}, commits{0}, conflicts{0}, last_seq{0};
  std::atomic<std::uint64_t> open_connections{0}, live_connections{0};
  std::atomic<std::uint64_t> pages_read{0}, pages_shared{0};
  mutable std::atomic<std::uint64_t> refusals{0};

  Impl(Store& s, SyncServiceOptions o);
  ~Impl();
  // One line for the operator (options.log), e.g. a refusal: who, which device, why.
  void log(const std::string& line) const;
  // Whether the token may send a message of `bytes` now (its bytes a second), and, for a
  // push of `changes`, queue it (its changes a second and changes waiting): empty if so,
  // else why not. Queued changes are given back by done_queued() once the writer is done.
  std::optional<std::string> admit(const std::string& token_id, std::size_t bytes,
                                   std::size_t changes);
  void done_queued(const std::string& token_id, std::size_t changes);
  // Raises what the service knows of how far `replica` was sent rows; returns the highest.
  std::uint64_t note_sent(const std::string& replica, std::uint64_t seq);
  // Queues a job for the writer; false when the service is stopping.
  bool enqueue(WriteJob job);
  void run_writer();
  // Hands a durable commit to the publisher (waits while kMaxCommitsToPublish are queued).
  void publish(std::unique_ptr<CommittedGroup> group);
  void run_publisher();
  void fan_out(const std::shared_ptr<const CommitNotice>& notice);
  // Registers an authenticated connection for live updates: of a seller's scope, or of
  // everything when `seller` is null.
  void add_reader(const std::shared_ptr<SyncConnection>& connection, const std::string* seller);
  // A connection's hello was accepted: counts it against its token's limit (false: over
  // it), closes an older connection of the same replica, and registers it for live updates.
  bool add_session(const std::shared_ptr<SyncConnection>& connection, const std::string& user);
  void remove_session(const SyncConnection& connection);
  void watch_revocations();
};

}  // namespace libreta::server
