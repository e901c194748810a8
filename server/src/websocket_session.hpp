// One WebSocket connection on `/sync`: reads frames and feeds them to its SyncConnection,
// writes what the service sends through one queue, enforces the frame size (a small one
// before hello), hello, idle and queue limits, and takes what it reads of a message from the
// server-wide incoming budget until the message is handled. The WebSocket runs over the
// connection's plain TCP stream or its TLS stream; the two are the alternatives of one variant, so
// the session is one class either way.
//
// Ownership: kept alive by its pending handlers (enable_shared_from_this); the registry and the
// Outbound adapter given to the service hold weak_ptrs only, so the service may outlive it.
// Threads: everything runs on the connection's strand. The public methods other than run()
// may be called from any thread: they post to the strand.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "libreta/server/sync_connection.hpp"

namespace libreta::server {

class SharedState;

class WebsocketSession : public std::enable_shared_from_this<WebsocketSession> {
 public:
  using PlainWebsocket = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using TlsWebsocket =
      boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

  // `peer` names the remote end in log lines. The session holds a place among anonymous
  // connections (SharedState::admit_anonymous), taken by its creator, until hello is
  // accepted or the connection ends.
  WebsocketSession(boost::beast::tcp_stream&& stream, std::shared_ptr<SharedState> state,
                   std::string peer);
  WebsocketSession(boost::beast::ssl_stream<boost::beast::tcp_stream>&& stream,
                   std::shared_ptr<SharedState> state, std::string peer);
  ~WebsocketSession();

  // Accepts the upgrade request read by the HTTP session. Called once, on the strand.
  void run(boost::beast::http::request<boost::beast::http::string_body> request);

  // Queues a frame; with close_after, closes the connection once it is written.
  void send(SharedFrame frame, bool close_after);
  // Runs `task` on the strand unless the connection has finished by then.
  void post(std::function<void()> task);
  // Sends what is queued, then closes with going_away.
  void close_going_away();
  // Closes the socket now, as a network failure would.
  void drop();
  // The keep-alive's look at this connection (any thread, often): a connection silent for
  // half the idle timeout is pinged, one silent for all of it is dropped. A connection that
  // spoke recently costs an atomic load and nothing else.
  void keep_alive(std::chrono::steady_clock::time_point now);

 private:
  boost::beast::tcp_stream& tcp();
  // Calls `use(stream)` with the WebSocket stream, whichever its transport.
  template <class Use>
  decltype(auto) with_ws(Use&& use) {
    return std::visit(std::forward<Use>(use), ws_);
  }
  void on_accept(boost::beast::error_code ec);
  void start_hello_timer();
  void on_hello_timeout(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void dispatch_frame();
  // After hello: the place among anonymous connections goes back, the frame limit rises.
  void on_authenticated();
  void leave_anonymous();
  // Gives the bytes of the message being read back to the incoming budget, and the buffer's
  // memory when it grew large.
  void release_message();
  // Queues a frame (may be null: nothing to send) and, with close_after, the close after it.
  void enqueue(SharedFrame frame, std::optional<boost::beast::websocket::close_code> close_after);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void begin_close(boost::beast::websocket::close_code code);
  void do_close();
  void drop_now();
  void finish(boost::beast::error_code ec);
  // Why the connection ended, as its connection_closed line and metric say.
  std::string_view close_reason(const boost::beast::error_code& ec) const;
  void log_closed(const boost::beast::error_code& ec, const SyncConnection* connection);
  // Anything arrived from the client: a message, a ping, a pong.
  void heard();
  // How long since the client was last heard from (any thread).
  std::chrono::steady_clock::duration silent_for(std::chrono::steady_clock::time_point now) const;
  void on_keep_alive();
  void on_ping_sent(boost::beast::error_code ec);

  std::variant<PlainWebsocket, TlsWebsocket> ws_;
  const std::shared_ptr<SharedState> state_;
  const std::string peer_;
  const std::chrono::steady_clock::time_point opened_at_ = std::chrono::steady_clock::now();
  // Set where the server decides to end the connection (a timeout, a limit): the reason
  // its close line gives.
  std::string_view close_reason_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer hello_timer_;
  std::shared_ptr<SyncConnection> connection_;  // null before the upgrade and once finished
  bool hello_pending_ = false;
  bool anonymous_ = true;
  // Bytes of the message being read, taken from the server-wide incoming budget.
  std::size_t incoming_held_ = 0;

  // Frames waiting to be written; the front one is being written while writing_.
  std::deque<SharedFrame> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;

  // Set once a close is decided: incoming frames are ignored and new frames dropped; the
  // close frame goes out after the queue.
  std::optional<boost::beast::websocket::close_code> close_code_;
  bool close_sent_ = false;
  bool finished_ = false;

  // When the client was last heard from (steady clock), read by the keep-alive's thread.
  std::atomic<std::chrono::steady_clock::rep> heard_at_{0};
  // A ping is being written; a close waits for it, so that the two frames never race.
  bool pinging_ = false;
  // Pinged since last heard from: one ping per silence.
  bool pinged_ = false;
};

}  // namespace libreta::server
