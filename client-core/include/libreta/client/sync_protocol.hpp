// The client side of the sync protocol (docs/protocol.md) on one connection: hello, welcome,
// pushing the outbox one batch at a time, pulling pages until caught up, applying live
// updates and recovering from gaps. It knows nothing of sockets nor of SQLite: its owner
// feeds it frames and gives it a Delegate to send through, and it keeps what it learns in a
// SyncReplica (sync_replica.hpp). The sync session runs it over WebSocket and the replica
// file; a test or a benchmark's device can run it over anything that carries frames.
// Not thread-safe: called on one thread, the one its SyncReplica is used on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "libreta/client/sync_replica.hpp"
#include "libreta/client/sync_types.hpp"
#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/messages.hpp"

namespace libreta::client {

// Largest message the client takes from the server once decompressed (a page of rows, a
// live update).
inline constexpr std::size_t kMaxIncomingMessageBytes = 64 * 1024 * 1024;

class SyncProtocol {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // Sends one frame on the current connection: JSON text, or a compressed message.
    virtual void send(std::string bytes, bool compressed) = 0;
    // The connection cannot go on (a fatal error from the server, a protocol violation):
    // close it and reconnect later. The protocol has already recorded the error.
    virtual void fail(const SyncError& error) = 0;
    // The server could not serve a request (its storage failed, it is stopping): reconnect
    // and send it again, without resetting the backoff until something succeeds.
    virtual void retry_later(const SyncError& error) = 0;
    // A push was acknowledged or a page arrived: the connection works.
    virtual void made_progress() = 0;
    // The server accepted the hello.
    virtual void welcomed() = 0;
    // Changes the shared status (under the session's lock) and tells the observers.
    virtual void update_status(const std::function<void(SyncStatus&)>& change) = 0;
    virtual void emit(SyncEvent event) = 0;
  };

  // What the protocol takes of SyncOptions.
  struct Options {
    std::string token;
    bool compress = true;           // speak protocol 2 or later (compressed frames)
    std::size_t push_batch = 1000;  // changes per push
    // Wall-clock time for the errors' and the last sync's times; the system clock when null.
    std::shared_ptr<ClockSource> clock;
  };
  static Options options_of(const SyncOptions& options);

  // The replica and the delegate must outlive the protocol.
  SyncProtocol(SyncReplica& replica, Options options, Delegate& delegate);

  // Reads the replica's state into the status (pending changes, cursor, last sync).
  void load_status();
  // A connection is open: says hello.
  void on_open();
  // A frame from the server: JSON text, or a compressed message. Replica errors propagate
  // (the caller reconnects).
  void on_frame(std::string_view bytes, bool compressed);
  // The connection is gone: forgets what was in flight.
  void on_closed();
  // Counts the outbox and pushes the next batch when connected and none is in flight.
  void check_outbox();
  bool welcomed() const { return welcomed_; }

 private:
  void on_message(std::string_view text);
  void on_welcome(const Welcome& welcome);
  void on_ack(const Ack& ack);
  void on_rows(const Rows& rows);
  void on_live_rows(const Rows& rows);
  void on_conflicts(const Conflicts& conflicts);
  void on_error(const ProtocolError& error);
  // Sends the next batch of the outbox if connected and none is in flight; true if sent.
  bool push_next();
  // Starts (or resumes) a download from the cursor.
  void pull();
  // The next page of the pull, asking for a count when a first download has not yet.
  void send_pull();
  void send(const Message& message);
  void violation(ErrorCode code, std::string message);
  // Copies the protocol's state into the session's status. After `activity` (an ack, the
  // end of a pull, a live update), records the last sync time if in sync.
  void publish(bool activity);

  std::uint64_t now_ms() { return clock_->now_millis(); }

  SyncReplica& replica_;
  const Options options_;
  const std::shared_ptr<ClockSource> clock_;
  Delegate& delegate_;

  // Per connection.
  bool welcomed_ = false;
  bool compressed_frames_ = false;  // both sides speak protocol 2 or later
  bool refusal_state_ = false;      // protocol 3: refusals carry the server's state; conflicts_pull
  bool conflicts_pulling_ = false;  // a conflicts_pull is unanswered, or its answer had more
  std::optional<std::uint64_t> push_in_flight_;  // last sequence of the batch sent
  bool pulling_ = false;
  bool caught_up_ = false;
  // The end of a live update skipped because a pull was running: if the pull ends before
  // it, pull again.
  std::uint64_t skipped_live_after_ = 0;

  // Mirrors of the replica, kept across connections.
  SyncCursor cursor_;
  std::size_t pending_ = 0;
  std::uint64_t rows_received_ = 0;
  std::uint64_t rows_expected_ = 0;
  bool count_next_pull_ = false;
};

}  // namespace libreta::client
