#include "http_session.hpp"

#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <nlohmann/json.hpp>

#include "libreta/server/sync_service.hpp"
#include "shared_state.hpp"
#include "websocket_session.hpp"

namespace libreta::server {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

constexpr std::string_view kSyncPath = "/sync";
constexpr std::string_view kHealthPath = "/healthz";

// After the response that ends a connection: how long and how much of the rest of the
// request is read and discarded before closing.
constexpr std::chrono::milliseconds kLingerTimeout{1000};
constexpr std::size_t kDrainChunkBytes = 16u << 10;
constexpr std::size_t kMaxDrainBytes = 1u << 20;

http::response<http::string_body> json_response(http::status status, const nlohmann::json& body,
                                                unsigned version, bool keep_alive) {
  http::response<http::string_body> response{status, version};
  response.set(http::field::server, "libreta-server");
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.keep_alive(keep_alive);
  response.body() = body.dump();
  response.prepare_payload();
  return response;
}

http::response<http::string_body> error_response(http::status status, std::string_view error,
                                                 unsigned version, bool keep_alive) {
  return json_response(status, nlohmann::json{{"error", error}}, version, keep_alive);
}

// The target without its query string.
std::string_view path_of(beast::string_view target) {
  const std::string_view text(target.data(), target.size());
  return text.substr(0, text.find('?'));
}

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_version).category();
}

std::variant<HttpSession::PlainStream, HttpSession::TlsStream> make_stream(
    net::ip::tcp::socket&& socket, net::ssl::context* tls_context) {
  if (tls_context) {
    return std::variant<HttpSession::PlainStream, HttpSession::TlsStream>(
        std::in_place_type<HttpSession::TlsStream>, std::move(socket), *tls_context);
  }
  return std::variant<HttpSession::PlainStream, HttpSession::TlsStream>(
      std::in_place_type<HttpSession::PlainStream>, std::move(socket));
}

std::string peer_name(const net::ip::tcp::socket& socket) {
  beast::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket&& socket, std::shared_ptr<SharedState> state,
                         net::ssl::context* tls_context)
    : stream_(make_stream(std::move(socket), tls_context)),
      state_(std::move(state)),
      peer_(peer_name(tcp().socket())) {}

beast::tcp_stream& HttpSession::tcp() {
  return std::visit(
      [](auto& stream) -> beast::tcp_stream& { return beast::get_lowest_layer(stream); }, stream_);
}

void HttpSession::run() {
  // The listener calls this on its own strand; the session works on the socket's.
  net::dispatch(tcp().get_executor(),
                beast::bind_front_handler(&HttpSession::start, shared_from_this()));
}

void HttpSession::start() {
  auto* tls = std::get_if<TlsStream>(&stream_);
  if (!tls) return do_read();
  // A peer that opens a connection and never completes the handshake is cut off like one
  // that never sends its request.
  tcp().expires_after(state_->options().handshake_timeout);
  tls->async_handshake(
      net::ssl::stream_base::server,
      beast::bind_front_handler(&HttpSession::on_tls_handshake, shared_from_this()));
}

void HttpSession::on_tls_handshake(beast::error_code ec) {
  if (ec) {
    // Worth a line: a client that does not trust the certificate shows up here (its alert,
    // "unknown ca" or "bad certificate"), and so does a plain ws:// client.
    state_->log("event=tls_handshake_failed peer=" + peer_ + " error=\"" + ec.message() + "\"");
    return;
  }
  do_read();
}

void HttpSession::do_read() {
  const ServerOptions& options = state_->options();
  parser_.emplace();
  parser_->header_limit(options.max_http_header_bytes);
  parser_->body_limit(options.max_http_body_bytes);
  // The whole request, from its first byte (or from the connection's accept), must arrive in
  // time: a peer that trickles bytes does not hold the connection open.
  tcp().expires_after(options.handshake_timeout);
  std::visit(
      [&](auto& stream) {
        http::async_read(stream, buffer_, *parser_,
                         beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
      },
      stream_);
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream) return do_shutdown();
  if (ec == http::error::header_limit) {
    return send(error_response(http::status::request_header_fields_too_large, "header_too_large",
                               11, false));
  }
  if (ec == http::error::body_limit) {
    return send(error_response(http::status::payload_too_large, "body_too_large", 11, false));
  }
  if (ec && is_parse_error(ec)) {
    return send(error_response(http::status::bad_request, "bad_request", 11, false));
  }
  // A timeout or a network error: the stream is already closed or unusable.
  if (ec) return;
  handle(parser_->release());
}

void HttpSession::handle(Request request) {
  const std::string_view path = path_of(request.target());
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();

  if (websocket::is_upgrade(request)) {
    if (path != kSyncPath) {
      return send(error_response(http::status::not_found, "not_found", version, false));
    }
    if (!state_->admit_anonymous()) {
      const auto limit = state_->options().max_anonymous_connections;
      state_->log("event=anonymous_limit peer=" + peer_ + " limit=" + std::to_string(limit));
      auto response = error_response(http::status::service_unavailable,
                                     "too_many_anonymous_connections", version, false);
      response.set(http::field::retry_after, "1");
      return send(std::move(response));
    }
    // The stream (socket, strand, TLS state) moves to the WebSocket session, with the place
    // just taken among anonymous connections; this session ends here.
    std::visit(
        [&](auto& stream) {
          std::make_shared<WebsocketSession>(std::move(stream), state_, peer_)
              ->run(std::move(request));
        },
        stream_);
    return;
  }
  if (path == kHealthPath) {
    if (request.method() != http::verb::get) {
      auto response = error_response(http::status::method_not_allowed, "method_not_allowed",
                                     version, keep_alive);
      response.set(http::field::allow, "GET");
      return send(std::move(response));
    }
    return send(healthz(request));
  }
  if (path == kSyncPath) {
    auto response =
        error_response(http::status::upgrade_required, "upgrade_required", version, keep_alive);
    response.set(http::field::upgrade, "websocket");
    return send(std::move(response));
  }
  send(error_response(http::status::not_found, "not_found", version, keep_alive));
}

HttpSession::Response HttpSession::healthz(const Request& request) const {
  try {
    const SyncServiceStats stats = state_->service()->stats();
    // A stopping server says so, so that a load balancer sends new clients elsewhere.
    const bool stopping = state_->stopping();
    return json_response(stopping ? http::status::service_unavailable : http::status::ok,
                         nlohmann::json{{"status", stopping ? "stopping" : "ok"},
                                        {"last_seq", stats.last_seq},
                                        {"connections", stats.connections},
                                        {"live_connections", stats.live_connections},
                                        {"anonymous_connections", state_->anonymous_count()},
                                        {"incoming_bytes", state_->incoming_bytes()},
                                        {"commits", stats.commits},
                                        {"changes_applied", stats.changes_applied},
                                        {"pages_read", stats.pages_read},
                                        {"pages_shared", stats.pages_shared},
                                        {"refusals", stats.refusals}},
                         request.version(), request.keep_alive());
  } catch (const std::exception& e) {
    state_->log(std::string("event=healthz_failed error=\"") + e.what() + "\"");
    return error_response(http::status::internal_server_error, "internal", request.version(),
                          false);
  }
}

void HttpSession::send(Response response) {
  response_.emplace(std::move(response));
  tcp().expires_after(state_->options().handshake_timeout);
  std::visit(
      [&](auto& stream) {
        http::async_write(stream, *response_,
                          beast::bind_front_handler(&HttpSession::on_write, shared_from_this()));
      },
      stream_);
}

void HttpSession::on_write(beast::error_code ec, std::size_t) {
  if (ec) return;
  const bool close = response_->need_eof();
  response_.reset();
  if (close) return do_shutdown();
  do_read();
}

void HttpSession::do_shutdown() {
  if (auto* tls = std::get_if<TlsStream>(&stream_)) {
    // TLS ends with close_notify both ways; reading the peer's also takes in what it still
    // sends, as the drain below does for a plain connection. Bounded like the drain.
    tcp().expires_after(kLingerTimeout);
    tls->async_shutdown([self = shared_from_this()](beast::error_code) {
      // Done or not, the session ends here and the socket closes.
    });
    return;
  }
  beast::error_code ignored;
  tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  // Closing with unread bytes would send a reset, and the client could lose the response
  // (a 413 answered before its body was sent): read and discard what still comes, for a
  // bounded time and size, until the client closes too.
  buffer_.clear();
  tcp().expires_after(kLingerTimeout);
  drain(0);
}

void HttpSession::drain(std::size_t drained) {
  // Plain connections only (see do_shutdown).
  tcp().async_read_some(
      buffer_.prepare(kDrainChunkBytes),
      [self = shared_from_this(), drained](beast::error_code ec, std::size_t bytes) {
        // On end of stream, error, timeout or enough: the session ends and the socket closes.
        if (ec || drained + bytes > kMaxDrainBytes) return;
        self->drain(drained + bytes);
      });
}

}  // namespace libreta::server
