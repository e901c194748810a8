// One client's sync session, hello → (push | pull)* → live, and the Outbound through which it
// answers. A transport (the Beast WebSocket session, or a test) gets a SyncConnection from
// SyncService::open_connection, feeds it the client's frames and closes it with on_closed().
//
// Ownership: the transport holds the connection; the connection shares the ownership of its
// service, whose writer and publisher threads answer it through its Outbound.
// Threads: a SyncConnection is not thread-safe: its owner calls it on one serial executor
// (the connection's strand). close_with() and notify_commit() may be called from any thread:
// they post to that executor. Outbound's methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libreta/protocol/error.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/server/frame.hpp"

namespace libreta::server {

// How a connection talks back. Implemented by the transport; every method is thread-safe.
class Outbound {
 public:
  virtual ~Outbound() = default;
  // Queues one frame.
  virtual void send(SharedFrame frame) = 0;
  // Sends the frame, then closes the connection.
  virtual void send_and_close(SharedFrame frame) = 0;
  // Runs `task` on the connection's serial executor, after what is already queued there.
  virtual void post(std::function<void()> task) = 0;
};

struct CommitNotice;
struct ReplicaRecord;
struct TokenRecord;
struct SyncContext;
struct WriteJob;

class SyncConnection : public std::enable_shared_from_this<SyncConnection> {
 public:
  // `context`: what the connection uses of its service (SyncService::open_connection makes
  // it). `peer` names the client in log lines.
  SyncConnection(std::shared_ptr<SyncContext> context, std::shared_ptr<Outbound> out,
                 std::string peer);
  ~SyncConnection();

  // One text frame from the client: a JSON message.
  void on_message(std::string_view text);
  // One binary frame: a compressed message from a client of protocol version 2, refused
  // from others.
  void on_binary_message(std::string_view bytes);
  // The transport closed; no more calls follow.
  void on_closed();
  // Whether hello was accepted (a transport closes connections that stay anonymous).
  bool authenticated() const;
  // Set by hello: the token's id and the device's replica id.
  const std::string& token_id() const;
  const std::string& replica() const;
  // Set by hello: the token's user.
  const std::string& user() const;
  // Whether the connection reads everything (a manager's or admin's) or a seller's scope.
  bool sees_everything() const;
  // Sends a fatal error and closes; thread-safe (posted to the connection's executor).
  void close_with(ErrorCode code, std::string message);
  // A commit's sequences (from, to] and its live Rows frames. Called by the service's
  // publisher; thread-safe: the work is posted to the connection's executor.
  void notify_commit(std::shared_ptr<const CommitNotice> notice);

  struct State;

 private:
  void handle(Hello hello);
  void handle(Push push);
  void handle(Pull pull);
  void handle(ConflictsPull pull);
  // Sends the conflicts this replica lost after the connection's cursor (protocol 3); a live
  // one only when there are some.
  void send_conflicts(bool live);
  // The writer's job for this replica's bookkeeping (a claim, how far it knows the book).
  WriteJob bookkeeping_job(bool claim);
  // The server sequence up to which the device knows the book: what earlier connections
  // were sent, what it confirmed by pulling, what this one was sent long enough ago.
  std::uint64_t known_seq();
  // This connection sent the device rows up to `seq`.
  void note_sent(std::uint64_t seq);
  // Whether the token's connections may send `bytes` more now; if not, tells the client.
  bool within_token_bytes(std::size_t bytes);
  void log_refusal(std::string_view code, std::string_view why) const;
  void send_error(ErrorCode code, std::string message, bool fatal);
  void send_message(const Message& message);
  void handle_text(std::string_view text);
  void send_rate_limited();
  // `count`: the page says how many rows are left from `after` (protocol 5).
  void send_page(std::uint64_t since, std::uint64_t after, bool live, bool count);
  void send_shared_page(const SharedFrame& frame);
  // After a page: live when it was the last.
  void page_sent(std::uint64_t next, bool more);
  void on_commit(const CommitNotice& notice);
  bool within_message_rate();
  // Whether commits are sent to the connection as they happen (counted in the stats).
  void set_live(bool live);
  // {role, protocol}: the labels this connection is counted under while authenticated.
  std::vector<std::string> authenticated_labels() const;
  // The welcome of an accepted hello: the session's protocol, the user, what the server holds
  // of this replica, the store's epoch and the devices' users.
  void send_welcome(const Hello& hello, const TokenRecord& token,
                    const std::optional<ReplicaRecord>& record);

  std::unique_ptr<State> state_;
};

}  // namespace libreta::server
