#include "http_session.hpp"

#include <algorithm>
#include <cctype>
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

#include "libreta/server/office_pages.hpp"
#include "libreta/server/rest_api.hpp"
#include "libreta/server/sync_service.hpp"
#include "libreta/server/tokens.hpp"
#include "libreta/web/tls_context.hpp"
#include "process_metrics.hpp"
#include "shared_state.hpp"
#include "websocket_session.hpp"

namespace libreta::server {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace http = beast::http;

namespace {

constexpr std::string_view kSyncPath = "/sync";
constexpr std::string_view kHealthPath = "/healthz";
constexpr std::string_view kReadyPath = "/readyz";
constexpr std::string_view kMetricsPath = "/metrics";

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

// Compares two equal-length texts in time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
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
                         const std::shared_ptr<net::ssl::context>& tls_context)
    : stream_(make_stream(std::move(socket), tls_context.get())),
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
    ++state_->counters().tls_handshake_failures;
    state_->log().warn("tls_handshake_failed", {{"peer", peer_}, {"error", ec.message()}});
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

  if (beast::websocket::is_upgrade(request)) {
    if (path != kSyncPath) {
      return send(error_response(http::status::not_found, "not_found", version, false));
    }
    if (!state_->admit_anonymous()) {
      const auto limit = state_->options().max_anonymous_connections;
      state_->log().warn("anonymous_limit", {{"peer", peer_}, {"limit", limit}});
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
  if (RestApi::owns(path)) return handle_face(std::move(request), Face::api);
  if (OfficePages::owns(path)) return handle_face(std::move(request), Face::office);
  const bool known = path == kHealthPath || path == kReadyPath || path == kMetricsPath;
  // Counted by path only when the path is one of ours: a scan of random paths must not
  // grow the metrics.
  const std::string_view counted_path = known || path == kSyncPath ? path : "other";
  auto answer = [&](Response response) {
    state_->counters().requests.add(
        {std::string(counted_path), std::to_string(response.result_int())});
    send(std::move(response));
  };
  if (known && request.method() != http::verb::get) {
    auto response =
        error_response(http::status::method_not_allowed, "method_not_allowed", version, keep_alive);
    response.set(http::field::allow, "GET");
    return answer(std::move(response));
  }
  if (path == kHealthPath) return answer(healthz(request));
  if (path == kReadyPath) return answer(readyz(request));
  if (path == kMetricsPath) return answer(metrics(request));
  if (path == kSyncPath) {
    auto response =
        error_response(http::status::upgrade_required, "upgrade_required", version, keep_alive);
    response.set(http::field::upgrade, "websocket");
    return answer(std::move(response));
  }
  answer(error_response(http::status::not_found, "not_found", version, keep_alive));
}

void HttpSession::handle_face(Request request, Face face) {
  web::Request plain;
  plain.method = std::string(request.method_string());
  const std::string_view target(request.target().data(), request.target().size());
  const auto question = target.find('?');
  plain.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) plain.query = std::string(target.substr(question + 1));
  for (const auto& field : request) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    plain.headers.push_back({std::move(name), std::string(field.value())});
  }
  plain.body = std::move(request.body());
  plain.peer = peer_;
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  // Off the network threads: the faces read the store and wait on the writer.
  state_->run_blocking([self = shared_from_this(), executor = tcp().get_executor(),
                        plain = std::move(plain), version, keep_alive, face] {
    web::Response answer;
    try {
      answer = face == Face::api ? self->state_->rest_api().handle(plain)
                                 : self->state_->office().handle(plain);
    } catch (const std::exception& e) {
      self->state_->log().error("api_failed", {{"peer", self->peer_}, {"error", e.what()}});
      answer = web::Response::json(R"({"code":"internal","status":500})", 500);
    }
    net::post(executor, [self, answer = std::move(answer), version, keep_alive, face]() mutable {
      Response response{static_cast<http::status>(answer.status), version};
      response.set(http::field::server, "libreta-server");
      if (!answer.header("Cache-Control")) response.set(http::field::cache_control, "no-store");
      // Several headers of one name (Set-Cookie) stay several.
      for (auto& header : answer.headers) response.insert(header.name, header.value);
      response.keep_alive(keep_alive);
      response.body() = std::move(answer.body);
      response.prepare_payload();
      self->state_->counters().requests.add({std::string(face == Face::api ? "/api/v1" : "/office"),
                                             std::to_string(response.result_int())});
      self->send(std::move(response));
    });
  });
}

HttpSession::Response HttpSession::readyz(const Request& request) const {
  // One small read of the store, on this HTTP connection's strand (WAL readers never wait
  // for the writer).
  const SyncServiceReadiness readiness = state_->stopping()
                                             ? SyncServiceReadiness{false, "shutting down"}
                                             : state_->service()->readiness();
  nlohmann::json body{{"status", readiness.ready ? "ready" : "not_ready"}};
  if (!readiness.ready) body["problem"] = readiness.problem;
  return json_response(readiness.ready ? http::status::ok : http::status::service_unavailable, body,
                       request.version(), request.keep_alive());
}

HttpSession::Response HttpSession::metrics(const Request& request) {
  const auto rules = state_->metrics_access();
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  if (!rules->enabled) return error_response(http::status::not_found, "not_found", version, false);
  beast::error_code ec;
  const auto endpoint = tcp().socket().remote_endpoint(ec);
  if (ec || (!rules->allow.empty() && !rules->allow.contains(endpoint.address()))) {
    state_->log().warn("metrics_refused", {{"peer", peer_}, {"reason", "address not allowed"}});
    return error_response(http::status::forbidden, "forbidden", version, false);
  }
  if (!rules->token_sha256.empty()) {
    const auto authorization = request[http::field::authorization];
    const std::string_view header(authorization.data(), authorization.size());
    constexpr std::string_view kBearer = "Bearer ";
    const bool bearer = header.substr(0, kBearer.size()) == kBearer;
    if (!bearer || !same_secret(hash_token(header.substr(kBearer.size())), rules->token_sha256)) {
      state_->log().warn("metrics_refused", {{"peer", peer_}, {"reason", "bad token"}});
      auto response = error_response(http::status::unauthorized, "unauthorized", version, false);
      response.set(http::field::www_authenticate, "Bearer");
      return response;
    }
  }
  try {
    MetricsText text;
    const TransportCounters& c = state_->counters();
    text.gauge("libreta_connections_anonymous", "WebSocket connections not yet past hello",
               static_cast<double>(state_->anonymous_count()));
    text.labeled("libreta_connections_closed_total", "counter",
                 "WebSocket connections closed since start, by reason", {"reason"}, c.closed);
    text.counter("libreta_frames_received_total", "WebSocket messages received",
                 static_cast<double>(c.frames_in.load()));
    text.counter("libreta_frames_received_bytes_total", "Bytes of WebSocket messages received",
                 static_cast<double>(c.bytes_in.load()));
    text.counter("libreta_frames_sent_total", "WebSocket messages sent",
                 static_cast<double>(c.frames_out.load()));
    text.counter("libreta_frames_sent_bytes_total", "Bytes of WebSocket messages sent",
                 static_cast<double>(c.bytes_out.load()));
    text.gauge("libreta_outgoing_queue_bytes",
               "Bytes waiting to be sent, every connection together",
               static_cast<double>(c.queued_bytes.load()));
    text.gauge("libreta_incoming_bytes", "Bytes of messages being read, every connection together",
               static_cast<double>(state_->incoming_bytes()));
    text.counter("libreta_tls_handshake_failures_total",
                 "TLS handshakes that failed (a client that does not trust the certificate)",
                 static_cast<double>(c.tls_handshake_failures.load()));
    if (auto tls = state_->tls_context()) {
      if (auto not_after = web::certificate_not_after(*tls)) {
        text.gauge("libreta_tls_certificate_expiry_seconds",
                   "When the served certificate expires, Unix seconds",
                   static_cast<double>(*not_after));
      }
    }
    text.labeled("libreta_http_requests_total", "counter",
                 "HTTP requests answered (WebSocket upgrades aside), by path and status",
                 {"path", "status"}, c.requests);
    write_process_metrics(text);
    std::string body = state_->service()->metrics_text() + text.take();
    http::response<http::string_body> response{http::status::ok, version};
    response.set(http::field::server, "libreta-server");
    response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    response.set(http::field::cache_control, "no-store");
    response.keep_alive(keep_alive);
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
  } catch (const std::exception& e) {
    state_->log().error("metrics_failed", {{"error", e.what()}});
    return error_response(http::status::internal_server_error, "internal", version, false);
  }
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
    state_->log().error("healthz_failed", {{"error", e.what()}});
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
