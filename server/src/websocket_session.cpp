#include "websocket_session.hpp"

#include <exception>
#include <string_view>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket.hpp>

#include "libreta/protocol/messages.hpp"
#include "libreta/server/sync_service.hpp"
#include "shared_state.hpp"

namespace libreta::server {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;

namespace {

// How the service talks back to one session. It holds a weak_ptr: the service may keep it
// after the session is gone, and then its calls do nothing.
class SessionOutbound final : public Outbound {
 public:
  explicit SessionOutbound(std::weak_ptr<WebsocketSession> session)
      : session_(std::move(session)) {}

  void send(SharedFrame frame) override {
    if (auto session = session_.lock()) session->send(std::move(frame), false);
  }
  void send_and_close(SharedFrame frame) override {
    if (auto session = session_.lock()) session->send(std::move(frame), true);
  }
  void post(std::function<void()> task) override {
    if (auto session = session_.lock()) session->post(std::move(task));
  }

 private:
  const std::weak_ptr<WebsocketSession> session_;
};

// A message is read a chunk at a time, so that what it holds is counted against the
// incoming budget while it arrives, not once it is complete.
constexpr std::size_t kReadChunkBytes = 64u << 10;
// A read buffer that grew past this for a large message is freed once the message is
// handled: an idle connection keeps no more than this.
constexpr std::size_t kKeptReadBufferBytes = 64u << 10;

SharedFrame error_frame(ErrorCode code, std::string message) {
  return make_frame(ProtocolError{code, std::move(message), /*fatal=*/true}, /*compress=*/false);
}

}  // namespace

WebsocketSession::WebsocketSession(beast::tcp_stream&& stream, std::shared_ptr<SharedState> state,
                                   std::string peer)
    : ws_(std::in_place_type<PlainWebsocket>, std::move(stream)),
      state_(std::move(state)),
      peer_(std::move(peer)),
      hello_timer_(tcp().get_executor()) {}

WebsocketSession::WebsocketSession(beast::ssl_stream<beast::tcp_stream>&& stream,
                                   std::shared_ptr<SharedState> state, std::string peer)
    : ws_(std::in_place_type<TlsWebsocket>, std::move(stream)),
      state_(std::move(state)),
      peer_(std::move(peer)),
      hello_timer_(tcp().get_executor()) {}

beast::tcp_stream& WebsocketSession::tcp() {
  return with_ws([](auto& ws) -> beast::tcp_stream& { return beast::get_lowest_layer(ws); });
}

WebsocketSession::~WebsocketSession() {
  state_->counters().queued_bytes -= static_cast<std::int64_t>(queued_bytes_);
  // The connection is still open here only when the io_context was destroyed with this
  // session's handlers still queued (a stop that gave up on it): it is told now.
  state_->leave(this);
  leave_anonymous();
  state_->release_incoming(incoming_held_);
  if (auto connection = std::move(connection_)) {
    try {
      connection->on_closed();
    } catch (...) {
    }
  }
}

void WebsocketSession::run(beast::http::request<beast::http::string_body> request) {
  // From here on Beast's WebSocket timers apply, not the HTTP session's deadline.
  tcp().expires_never();
  const ServerOptions& options = state_->options();
  // Beast bounds the opening and closing handshakes. The idle timeout is the server's own
  // keep-alive (keep_alive()): Beast's would ping every connection at every half period,
  // even one whose client pings it or is busy talking.
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.handshake_timeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  heard();
  with_ws([&](auto& ws) {
    ws.set_option(timeouts);
    // Runs inside this session's reads, on its strand; the stream it belongs to is ours.
    ws.control_callback([this](websocket::frame_type, beast::string_view) { heard(); });
    ws.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(beast::http::field::server, "libreta-server");
    }));
    // Until hello is accepted, only a message the size of a hello: an anonymous connection
    // cannot make the server hold much of one it never finishes.
    ws.read_message_max(options.max_hello_frame_bytes);
    // No permessage-deflate: it would compress a frame shared by many connections once per
    // connection, and keep deflate buffers for the life of each one. Messages are compressed
    // by the sync protocol instead, once (protocol version 2, docs/protocol.md).
    // Beast copies what it needs from the request before async_accept returns.
    ws.async_accept(request,
                    beast::bind_front_handler(&WebsocketSession::on_accept, shared_from_this()));
  });
}

void WebsocketSession::send(SharedFrame frame, bool close_after) {
  net::post(tcp().get_executor(),
            [self = shared_from_this(), frame = std::move(frame), close_after]() mutable {
              std::optional<websocket::close_code> code;
              if (close_after) {
                code = self->state_->stopping() ? websocket::close_code::going_away
                                                : websocket::close_code::policy_error;
              }
              self->enqueue(std::move(frame), code);
            });
}

void WebsocketSession::post(std::function<void()> task) {
  net::post(tcp().get_executor(), [self = shared_from_this(), task = std::move(task)] {
    // The connection was told on_closed(): no call may follow.
    if (self->finished_) return;
    try {
      task();
    } catch (const std::exception& e) {
      self->state_->log().error("task_failed", {{"peer", self->peer_}, {"error", e.what()}});
      self->drop_now();
    }
  });
}

void WebsocketSession::close_going_away() {
  net::post(tcp().get_executor(),
            [self = shared_from_this()] { self->begin_close(websocket::close_code::going_away); });
}

void WebsocketSession::drop() {
  net::post(tcp().get_executor(), [self = shared_from_this()] { self->drop_now(); });
}

void WebsocketSession::heard() {
  heard_at_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                  std::memory_order_relaxed);
  pinged_ = false;
}

std::chrono::steady_clock::duration WebsocketSession::silent_for(
    std::chrono::steady_clock::time_point now) const {
  return now.time_since_epoch() -
         std::chrono::steady_clock::duration(heard_at_.load(std::memory_order_relaxed));
}

void WebsocketSession::keep_alive(std::chrono::steady_clock::time_point now) {
  if (silent_for(now) < state_->options().idle_timeout / 2) return;
  net::post(tcp().get_executor(), [self = shared_from_this()] { self->on_keep_alive(); });
}

void WebsocketSession::on_keep_alive() {
  if (finished_) return;
  const auto idle = state_->options().idle_timeout;
  const auto silent = silent_for(std::chrono::steady_clock::now());
  if (silent >= idle) {
    close_reason_ = "idle_timeout";
    return finish(beast::error::timeout);
  }
  // Not during a close: its handshake has a timeout of its own.
  if (silent < idle / 2 || pinged_ || pinging_ || close_code_) return;
  pinged_ = true;
  pinging_ = true;
  with_ws([&](auto& ws) {
    ws.async_ping({},
                  beast::bind_front_handler(&WebsocketSession::on_ping_sent, shared_from_this()));
  });
}

void WebsocketSession::on_ping_sent(beast::error_code ec) {
  pinging_ = false;
  // A ping that failed needs nothing more: the read pending on the same socket fails too,
  // or the connection stays silent and the keep-alive drops it. A close frame from the
  // client aborts the ping, and the read finishes that close handshake.
  if (ec || finished_) return;
  // A close decided while the ping was going out waited for it, so that the two frames
  // never race.
  if (close_code_ && !close_sent_ && !writing_ && queue_.empty()) do_close();
}

void WebsocketSession::on_accept(beast::error_code ec) {
  if (ec) return finish(ec);
  if (!state_->join(shared_from_this())) {
    // The server began stopping during the handshake.
    begin_close(websocket::close_code::going_away);
    return do_read();
  }
  try {
    connection_ = state_->service()->open_connection(
        std::make_shared<SessionOutbound>(weak_from_this()), peer_);
  } catch (const std::exception& e) {
    state_->log().error("open_failed", {{"peer", peer_}, {"error", e.what()}});
    enqueue(error_frame(ErrorCode::internal, "the server cannot open a session"),
            websocket::close_code::internal_error);
    return do_read();
  }
  start_hello_timer();
  do_read();
}

void WebsocketSession::start_hello_timer() {
  hello_pending_ = true;
  hello_timer_.expires_after(state_->options().hello_timeout);
  hello_timer_.async_wait(
      beast::bind_front_handler(&WebsocketSession::on_hello_timeout, shared_from_this()));
}

void WebsocketSession::on_hello_timeout(beast::error_code ec) {
  if (ec || !hello_pending_ || finished_ || close_code_) return;
  if (connection_ && connection_->authenticated()) {
    hello_pending_ = false;
    return;
  }
  hello_pending_ = false;
  const auto limit = state_->options().hello_timeout.count();
  close_reason_ = "hello_timeout";
  state_->log().warn("hello_timeout", {{"peer", peer_}, {"limit_ms", limit}});
  enqueue(error_frame(ErrorCode::timeout, "no hello within " + std::to_string(limit) + " ms"),
          websocket::close_code::policy_error);
}

void WebsocketSession::do_read() {
  with_ws([&](auto& ws) {
    ws.async_read_some(buffer_, kReadChunkBytes,
                       beast::bind_front_handler(&WebsocketSession::on_read, shared_from_this()));
  });
}

void WebsocketSession::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec) {
    if (ec == websocket::error::message_too_big) {
      const ServerOptions& options = state_->options();
      close_reason_ = "frame_too_large";
      state_->log().warn(
          "frame_too_large",
          {{"peer", peer_},
           {"limit_bytes", anonymous_ ? options.max_hello_frame_bytes : options.max_frame_bytes},
           {"before_hello", anonymous_}});
    } else if (ec == beast::error::timeout && !finished_) {
      close_reason_ = "timeout";
    }
    return finish(ec);
  }
  heard();
  if (finished_) return;
  if (close_code_) {
    // Closing: what still comes is read only to reach the peer's close frame.
    release_message();
    return do_read();
  }
  if (!state_->reserve_incoming(bytes)) {
    const auto limit = state_->options().max_incoming_bytes;
    close_reason_ = "incoming_budget_full";
    state_->log().warn(
        "incoming_budget_full",
        {{"peer", peer_}, {"message_bytes", incoming_held_ + bytes}, {"limit_bytes", limit}});
    release_message();
    begin_close(websocket::close_code::try_again_later);
    return do_read();
  }
  incoming_held_ += bytes;
  if (with_ws([](auto& ws) { return ws.is_message_done(); })) {
    dispatch_frame();
    release_message();
  }
  if (!finished_) do_read();
}

void WebsocketSession::release_message() {
  state_->release_incoming(incoming_held_);
  incoming_held_ = 0;
  buffer_.consume(buffer_.size());
  if (buffer_.capacity() > kKeptReadBufferBytes) buffer_.shrink_to_fit();
}

void WebsocketSession::dispatch_frame() {
  // Once a close is decided the connection says nothing more, so it hears nothing more.
  if (finished_ || close_code_ || !connection_) return;
  try {
    const auto data = buffer_.cdata();
    const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    TransportCounters& counters = state_->counters();
    ++counters.frames_in;
    counters.bytes_in += bytes.size();
    if (with_ws([](auto& ws) { return ws.got_text(); })) {
      connection_->on_message(bytes);
    } else {
      connection_->on_binary_message(bytes);
    }
    if (anonymous_ && connection_ && connection_->authenticated()) on_authenticated();
  } catch (const std::exception& e) {
    state_->log().error("message_failed", {{"peer", peer_}, {"error", e.what()}});
    enqueue(error_frame(ErrorCode::internal, "internal error"),
            websocket::close_code::internal_error);
  }
}

void WebsocketSession::on_authenticated() {
  if (hello_pending_) {
    hello_pending_ = false;
    hello_timer_.cancel();
  }
  leave_anonymous();
  // Applies from the next message on: this one is complete.
  const std::size_t limit = state_->options().max_frame_bytes;
  with_ws([&](auto& ws) { ws.read_message_max(limit); });
}

void WebsocketSession::leave_anonymous() {
  if (!anonymous_) return;
  anonymous_ = false;
  state_->release_anonymous();
}

void WebsocketSession::enqueue(SharedFrame frame,
                               std::optional<websocket::close_code> close_after) {
  if (finished_ || close_code_) return;
  if (frame) {
    queued_bytes_ += frame->bytes.size();
    state_->counters().queued_bytes += static_cast<std::int64_t>(frame->bytes.size());
    if (queued_bytes_ > state_->options().max_queued_bytes) {
      // A client this far behind costs less to resync by pull than to buffer for.
      close_reason_ = "queue_full";
      state_->log().warn("queue_full", {{"peer", peer_},
                                        {"user", connection_ ? connection_->user() : ""},
                                        {"limit_bytes", state_->options().max_queued_bytes}});
      return drop_now();
    }
    queue_.push_back(std::move(frame));
  }
  if (close_after) close_code_ = close_after;
  if (writing_) return;
  if (!queue_.empty()) {
    do_write();
  } else if (close_code_) {
    do_close();
  }
}

void WebsocketSession::do_write() {
  writing_ = true;
  with_ws([&](auto& ws) {
    const Frame& frame = *queue_.front();
    ws.binary(frame.compressed);  // JSON text, or a compressed message
    ws.async_write(net::buffer(frame.bytes),
                   beast::bind_front_handler(&WebsocketSession::on_write, shared_from_this()));
  });
}

void WebsocketSession::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (ec) return finish(ec);
  const std::size_t sent = queue_.front()->bytes.size();
  queued_bytes_ -= sent;
  TransportCounters& counters = state_->counters();
  counters.queued_bytes -= static_cast<std::int64_t>(sent);
  ++counters.frames_out;
  counters.bytes_out += sent;
  queue_.pop_front();
  if (finished_) return;
  if (!queue_.empty()) {
    do_write();
  } else if (close_code_ && !close_sent_) {
    do_close();
  }
}

void WebsocketSession::begin_close(websocket::close_code code) {
  if (finished_ || close_code_) return;
  close_code_ = code;
  if (!writing_) do_close();
}

void WebsocketSession::do_close() {
  if (pinging_) return;  // on_ping_sent closes
  close_sent_ = true;
  with_ws([&](auto& ws) {
    ws.async_close(websocket::close_reason(*close_code_),
                   [self = shared_from_this()](beast::error_code ec) {
                     // On success the pending read ends with websocket::error::closed.
                     if (ec) self->finish(ec);
                   });
  });
}

void WebsocketSession::drop_now() {
  if (finished_) return;
  finish(net::error::operation_aborted);
}

std::string_view WebsocketSession::close_reason(const beast::error_code& ec) const {
  if (!close_reason_.empty()) return close_reason_;
  if (close_code_) {
    switch (*close_code_) {
      case websocket::close_code::going_away:
        return "server_stopping";
      case websocket::close_code::try_again_later:
        return "server_busy";
      case websocket::close_code::internal_error:
        return "server_error";
      default:
        return "refused";  // a fatal protocol error was sent (its line says why)
    }
  }
  if (ec == websocket::error::closed) return "client_closed";
  // The client went without the close handshake: an app closed, a network lost.
  if (ec == net::error::eof || ec == net::error::connection_reset ||
      ec == net::error::broken_pipe) {
    return "client_disconnected";
  }
  if (ec == net::error::operation_aborted) return "dropped";
  if (ec == beast::error::timeout) return "timeout";
  return "network_error";
}

void WebsocketSession::log_closed(const beast::error_code& ec, const SyncConnection* connection) {
  const std::string_view reason = close_reason(ec);
  state_->counters().closed.add({std::string(reason)});
  const auto lasted = std::chrono::steady_clock::now() - opened_at_;
  const bool authenticated = connection && connection->authenticated();
  state_->log().info(
      "connection_closed",
      {{"peer", peer_},
       {"user", authenticated ? connection->user() : ""},
       {"replica", authenticated ? connection->replica() : ""},
       {"reason", reason},
       {"error", ec && reason == "network_error" ? ec.message() : ""},
       {"seconds", std::chrono::duration_cast<std::chrono::seconds>(lasted).count()}});
}

void WebsocketSession::finish(beast::error_code ec) {
  if (finished_) return;
  finished_ = true;
  hello_timer_.cancel();
  leave_anonymous();
  // The buffer stays as it is: the read pending on it ends only after this.
  state_->release_incoming(incoming_held_);
  incoming_held_ = 0;
  // Pending operations end with operation_aborted and find finished_ set.
  tcp().close();
  state_->leave(this);
  auto connection = std::move(connection_);
  if (connection) {
    try {
      connection->on_closed();
    } catch (const std::exception& e) {
      state_->log().error("close_failed", {{"peer", peer_}, {"error", e.what()}});
    }
  }
  // Logged once the connection is gone from the counts: whoever reads the line and then the
  // metrics sees them agree.
  log_closed(ec, connection.get());
}

}  // namespace libreta::server
