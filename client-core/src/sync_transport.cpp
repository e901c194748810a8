// SyncTransport over Boost.Beast: resolve, connect (with a timeout), WebSocket handshake
// (with a timeout), then one read loop and one write queue. The WebSocket runs over a
// template stream so that TLS (wss://) can be added as a second instantiation whose
// connect step also does the TLS handshake.
#include "sync_transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <deque>

#include "sync_protocol.hpp"

namespace libreta::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

SyncError network_error(std::string message) {
  return SyncError{kNetworkErrorCode, std::move(message), now_ms()};
}

template <class NextLayer>
class WebSocketTransport final
    : public SyncTransport,
      public std::enable_shared_from_this<WebSocketTransport<NextLayer>> {
 public:
  WebSocketTransport(asio::io_context& io, ServerAddress address, TransportOptions options,
                     Handler& handler)
      : resolver_(io),
        ws_(io),
        address_(std::move(address)),
        options_(options),
        handler_(&handler) {}

  void start() {
    resolver_.async_resolve(
        address_.host, address_.port,
        beast::bind_front_handler(&WebSocketTransport::on_resolve, this->shared_from_this()));
  }

  void send(std::string frame) override {
    if (!handler_) return;
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1 && open_) write_next();
  }

  void close() override {
    handler_ = nullptr;
    shut();
  }

 private:
  std::string where() const { return address_.host + ":" + address_.port; }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail(ec, "cannot resolve " + address_.host);
    auto& lowest = beast::get_lowest_layer(ws_);
    lowest.expires_after(options_.connect_timeout);
    lowest.async_connect(results, beast::bind_front_handler(&WebSocketTransport::on_connect,
                                                            this->shared_from_this()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (ec) return fail(ec, "cannot connect to " + where());
    auto& lowest = beast::get_lowest_layer(ws_);
    // The WebSocket stream has its own timeouts from here on.
    lowest.expires_never();
    beast::error_code ignored;
    lowest.socket().set_option(tcp::no_delay(true), ignored);  // live updates are small

    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = options_.connect_timeout;
    timeouts.idle_timeout = options_.idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
      request.set(beast::http::field::user_agent, "libreta-client");
    }));
    ws_.read_message_max(kMaxIncomingFrameBytes);
    // permessage-deflate (docs/protocol.md, "Transport"): a push of single-field edits
    // repeats its table, field names, replica id and versions, and shrinks several times.
    websocket::permessage_deflate deflate;
    deflate.client_enable = true;
    deflate.client_max_window_bits = 12;
    deflate.server_max_window_bits = 12;
    deflate.client_no_context_takeover = true;
    deflate.server_no_context_takeover = true;
    deflate.compLevel = 3;
    deflate.memLevel = 4;
    ws_.set_option(deflate);
    ws_.async_handshake(
        where(), address_.target,
        beast::bind_front_handler(&WebSocketTransport::on_handshake, this->shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail(ec, "WebSocket handshake with " + where() + address_.target + " failed");
    open_ = true;
    if (!handler_) return;
    if (!queue_.empty()) write_next();
    handler_->on_open();
    read_next();
  }

  void read_next() {
    if (!handler_) return;
    ws_.async_read(
        buffer_, beast::bind_front_handler(&WebSocketTransport::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec, "connection to " + where() + " lost");
    if (!handler_) return;
    if (!ws_.got_text()) {
      return fail_with(SyncError{ErrorCode::malformed,
                                 "the server sent a binary frame, which protocol version " +
                                     std::to_string(kProtocolVersion) + " does not use",
                                 now_ms()});
    }
    std::string frame = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    handler_->on_frame(std::move(frame));
    read_next();
  }

  void write_next() {
    ws_.text(true);
    ws_.async_write(
        asio::buffer(queue_.front()),
        beast::bind_front_handler(&WebSocketTransport::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec, "cannot send to " + where());
    queue_.pop_front();
    if (handler_ && !queue_.empty()) write_next();
  }

  void fail(beast::error_code ec, const std::string& what) {
    if (!handler_) return;
    if (ec == beast::error::timeout) {
      return fail_with(SyncError{ErrorCode::timeout, what + ": timed out", now_ms()});
    }
    if (ec == websocket::error::closed) {
      const auto& reason = ws_.reason();
      std::string message = "the server closed the connection";
      if (!reason.reason.empty()) message += ": " + std::string(reason.reason.c_str());
      return fail_with(network_error(std::move(message)));
    }
    fail_with(network_error(what + ": " + ec.message()));
  }

  void fail_with(const SyncError& error) {
    Handler* handler = handler_;
    if (!handler) return;
    handler_ = nullptr;
    shut();
    handler->on_failure(error);
  }

  void shut() {
    resolver_.cancel();
    beast::get_lowest_layer(ws_).close();
  }

  tcp::resolver resolver_;
  websocket::stream<NextLayer> ws_;
  ServerAddress address_;
  TransportOptions options_;
  Handler* handler_;
  bool open_ = false;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
};

}  // namespace

Result<ServerAddress> parse_server_url(std::string_view url) {
  const auto bad = [&](const std::string& why) {
    return Error(ErrorCode::invalid_value,
                 "'" + std::string(url) + "' is not a server URL: " + why);
  };
  ServerAddress address;
  std::string_view rest;
  if (url.starts_with("ws://")) {
    rest = url.substr(5);
  } else if (url.starts_with("wss://")) {
    address.tls = true;
    rest = url.substr(6);
  } else {
    return bad("it must start with ws:// or wss://");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  address.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view port;
  if (authority.starts_with('[')) {  // [::1]:8080
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    address.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the host");
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    address.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (address.host.empty()) return bad("no host");
  if (port.empty()) {
    address.port = address.tls ? "443" : "80";
  } else {
    unsigned number = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc() || end != port.data() + port.size() || number == 0 || number > 65535) {
      return bad("bad port '" + std::string(port) + "'");
    }
    address.port = std::string(port);
  }
  return address;
}

std::shared_ptr<SyncTransport> connect_transport(asio::io_context& io, const ServerAddress& address,
                                                 const TransportOptions& options,
                                                 SyncTransport::Handler& handler) {
  if (address.tls) {
    // The seam: WebSocketTransport<beast::ssl_stream<beast::tcp_stream>> with a TLS
    // handshake after connecting.
    throw Error(ErrorCode::invalid_value, "wss:// (TLS) is not supported yet; use ws://");
  }
  auto transport =
      std::make_shared<WebSocketTransport<beast::tcp_stream>>(io, address, options, handler);
  transport->start();
  return transport;
}

}  // namespace libreta::client
