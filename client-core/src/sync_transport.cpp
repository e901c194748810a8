// SyncTransport over Boost.Beast: resolve, connect (with a timeout), for wss:// a TLS
// handshake that verifies the server (within the same timeout), WebSocket handshake (with a
// timeout), then one read loop and one write queue. The WebSocket runs over a template stream:
// beast::tcp_stream for ws://, beast::ssl_stream<beast::tcp_stream> for wss://.
#include "sync_transport.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <deque>
#include <filesystem>
#include <type_traits>

namespace libreta::client {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Why a connection failed, for the handler: the code, and a message for the seller.
struct Failure {
  ErrorCode code;
  std::string message;
};

Failure network_error(std::string message) {
  return Failure{kNetworkErrorCode, std::move(message)};
}

Failure tls_error(std::string message) {
  return Failure{ErrorCode::tls, std::move(message)};
}

bool is_loopback(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).is_loopback();
  }
  return address.is_loopback();
}

// What a wss:// connection trusts: TLS 1.2 or later, and the certificates of `ca_file`, or
// the system's store (Debian's ca-certificates) when it is empty.
std::shared_ptr<ssl::context> make_client_tls_context(const std::string& ca_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  context->set_verify_mode(ssl::verify_peer);
  if (ca_file.empty()) {
    beast::error_code ec;
    context->set_default_verify_paths(ec);
    if (ec)
      throw Error(ErrorCode::tls, "cannot use the system's certificate store: " + ec.message());
    return context;
  }
  std::error_code exists_ec;
  if (!std::filesystem::is_regular_file(ca_file, exists_ec)) {
    throw Error(ErrorCode::tls, "the CA file " + ca_file + " does not exist or is not a file");
  }
  beast::error_code ec;
  context->load_verify_file(ca_file, ec);
  if (ec) {
    throw Error(ErrorCode::tls,
                "cannot read the CA file " + ca_file + " (PEM certificates): " + ec.message());
  }
  return context;
}

template <class NextLayer>
class WebSocketTransport final
    : public SyncTransport,
      public std::enable_shared_from_this<WebSocketTransport<NextLayer>> {
  static constexpr bool kTls = std::is_same_v<NextLayer, TlsStream>;

 public:
  WebSocketTransport(asio::io_context& io, ServerAddress address, TransportOptions options,
                     Handler& handler) requires(!kTls)
      : resolver_(io),
        ws_(io),
        address_(std::move(address)),
        options_(std::move(options)),
        handler_(&handler) {}

  // The stream keeps what it needs of the context alive (OpenSSL counts references); the
  // transport keeps the context too, for as long as the stream exists.
  WebSocketTransport(asio::io_context& io, ServerAddress address, TransportOptions options,
                     Handler& handler, std::shared_ptr<ssl::context> tls_context) requires kTls
      : tls_context_(std::move(tls_context)),
        resolver_(io),
        ws_(io, *tls_context_),
        address_(std::move(address)),
        options_(std::move(options)),
        handler_(&handler) {}

  void start() {
    resolver_.async_resolve(
        address_.host, address_.port,
        beast::bind_front_handler(&WebSocketTransport::on_resolve, this->shared_from_this()));
  }

  void send(std::string bytes, bool binary) override {
    if (!handler_) return;
    queue_.push_back({std::move(bytes), binary});
    if (queue_.size() == 1 && open_) write_next();
  }

  void close() override {
    handler_ = nullptr;
    shut();
  }

 private:
  // host:port as in a URL (and in the Host header): an IPv6 address in brackets.
  std::string where() const {
    const bool ipv6 = address_.host.find(':') != std::string::npos;
    return (ipv6 ? "[" + address_.host + "]" : address_.host) + ":" + address_.port;
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail(ec, "cannot resolve " + address_.host);
    if constexpr (!kTls) {
      // Decided on the resolved addresses, so that "localhost" counts as loopback and a name
      // that resolves elsewhere does not.
      if (!options_.allow_plain) {
        for (const auto& entry : results) {
          if (is_loopback(entry.endpoint().address())) continue;
          return fail_with(tls_error(
              "refusing plain ws:// to " + where() +
              ", which is not a loopback address: the token and the customer data would travel "
              "unencrypted. Use wss://, or allow plain connections to this server explicitly"));
        }
      }
    }
    auto& lowest = beast::get_lowest_layer(ws_);
    lowest.expires_after(options_.connect_timeout);
    lowest.async_connect(results, beast::bind_front_handler(&WebSocketTransport::on_connect,
                                                            this->shared_from_this()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (ec) return fail(ec, "cannot connect to " + where());
    auto& lowest = beast::get_lowest_layer(ws_);
    beast::error_code ignored;
    lowest.socket().set_option(tcp::no_delay(true), ignored);  // live updates are small
    if constexpr (kTls) {
      start_tls_handshake();
    } else {
      start_websocket_handshake();
    }
  }

  // Before anything is sent: the server must prove it holds a certificate, issued by a
  // trusted authority, for the host of the URL.
  void start_tls_handshake() requires kTls {
    SSL* ssl = ws_.next_layer().native_handle();
    beast::error_code not_an_address;
    asio::ip::make_address(address_.host, not_an_address);
    bool configured = false;
    if (!not_an_address) {
      // An IP address is checked against the certificate's IP entries; SNI carries names only.
      configured = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), address_.host.c_str()) == 1;
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      configured = SSL_set_tlsext_host_name(ssl, address_.host.c_str()) == 1 &&
                   SSL_set1_host(ssl, address_.host.c_str()) == 1;
    }
    if (!configured) return fail_with(tls_error("cannot check a certificate for " + address_.host));
    // The connect timeout bounds the TLS handshake too: a server that accepts and stays
    // silent does not hold the session.
    beast::get_lowest_layer(ws_).expires_after(options_.connect_timeout);
    ws_.next_layer().async_handshake(
        ssl::stream_base::client,
        beast::bind_front_handler(&WebSocketTransport::on_tls_handshake, this->shared_from_this()));
  }

  void on_tls_handshake(beast::error_code ec) requires kTls {
    if (ec) {
      const long verify = SSL_get_verify_result(ws_.next_layer().native_handle());
      if (verify != X509_V_OK) {
        return fail_with(tls_error("the server at " + where() +
                                   " is not trusted: its certificate failed verification (" +
                                   X509_verify_cert_error_string(verify) + ")"));
      }
      if (ec.category() == asio::error::get_ssl_category()) {
        return fail_with(tls_error(
            "TLS handshake with " + where() + " failed: " + ec.message() +
            (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER
                 ? " (does the server speak TLS?)"
                 : "")));
      }
      return fail(ec, "TLS handshake with " + where() + " failed");
    }
    start_websocket_handshake();
  }

  void start_websocket_handshake() {
    // The WebSocket stream has its own timeouts from here on.
    beast::get_lowest_layer(ws_).expires_never();

    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = options_.connect_timeout;
    timeouts.idle_timeout = options_.idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
      request.set(beast::http::field::user_agent, "libreta-client");
    }));
    ws_.read_message_max(kMaxIncomingFrameBytes);
    // No permessage-deflate: the sync protocol compresses large messages itself (protocol
    // version 2, docs/protocol.md "Compression").
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
    const bool binary = !ws_.got_text();
    std::string frame = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    handler_->on_frame(std::move(frame), binary);
    read_next();
  }

  void write_next() {
    ws_.binary(queue_.front().binary);
    ws_.async_write(
        asio::buffer(queue_.front().bytes),
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
      return fail_with(Failure{ErrorCode::timeout, what + ": timed out"});
    }
    if (ec == websocket::error::closed) {
      const auto& reason = ws_.reason();
      std::string message = "the server closed the connection";
      if (!reason.reason.empty()) message += ": " + std::string(reason.reason.c_str());
      return fail_with(network_error(std::move(message)));
    }
    fail_with(network_error(what + ": " + ec.message()));
  }

  void fail_with(Failure failure) {
    Handler* handler = handler_;
    if (!handler) return;
    handler_ = nullptr;
    shut();
    handler->on_failure(failure.code, std::move(failure.message));
  }

  void shut() {
    resolver_.cancel();
    beast::get_lowest_layer(ws_).close();
  }

  // Declared before ws_, which refers to it.
  std::shared_ptr<ssl::context> tls_context_;
  tcp::resolver resolver_;
  websocket::stream<NextLayer> ws_;
  ServerAddress address_;
  TransportOptions options_;
  Handler* handler_;
  bool open_ = false;
  beast::flat_buffer buffer_;
  struct Outgoing {
    std::string bytes;
    bool binary = false;
  };
  std::deque<Outgoing> queue_;
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
    auto transport = std::make_shared<WebSocketTransport<TlsStream>>(
        io, address, options, handler, make_client_tls_context(options.ca_file));
    transport->start();
    return transport;
  }
  auto transport = std::make_shared<WebSocketTransport<PlainStream>>(io, address, options, handler);
  transport->start();
  return transport;
}

}  // namespace libreta::client
