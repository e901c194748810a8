// The Beast side of a web face: accepts connections (over TLS when it has a certificate),
// reads requests within the limits, hands each to the Handler as a plain Request and writes
// its Response back.
#include "libreta/web/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <cctype>
#include <list>
#include <mutex>
#include <thread>

#include "libreta/protocol/error.hpp"
#include "libreta/web/tls_context.hpp"

namespace libreta::web {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Request to_request(const http::request<http::string_body>& message, std::string peer) {
  Request request;
  request.method = std::string(message.method_string());
  const std::string_view target(message.target().data(), message.target().size());
  const auto question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  for (const auto& field : message) {
    const auto name = field.name_string();
    const auto value = field.value();
    request.headers.push_back({lower(std::string_view(name.data(), name.size())),
                               std::string(value.data(), value.size())});
  }
  request.body = message.body();
  request.peer = std::move(peer);
  return request;
}

http::response<http::string_body> to_message(Response response, unsigned version, bool keep_alive) {
  http::response<http::string_body> message;
  message.version(version);
  message.result(static_cast<unsigned>(response.status));
  for (Header& header : response.headers) message.insert(header.name, header.value);
  message.body() = std::move(response.body);
  message.keep_alive(keep_alive);
  message.prepare_payload();
  return message;
}

Response plain_error(int status) {
  Response response = Response::text(std::string(reason_phrase(status)) + "\n", status);
  response.add("Connection", "close");
  return response;
}

}  // namespace

// The handlers queued in `io` refer to the Impl by a plain pointer: it owns the io_context,
// which destroys them (and the sessions they hold) with it, so nothing keeps it alive.
struct HttpServer::Impl {
  class Session;
  template <class Stream>
  class StreamSession;

  Impl(HttpServerOptions options_in, Handler handler_in)
      : options(std::move(options_in)), handler(std::move(handler_in)) {}

  HttpServerOptions options;
  Handler handler;
  net::io_context io{1};
  std::shared_ptr<net::ssl::context> tls;  // null: plain HTTP
  tcp::acceptor acceptor{io};
  std::list<std::weak_ptr<Session>> sessions;  // io thread only
  std::thread thread;
  std::uint16_t port = 0;
  bool running = false;
  std::mutex lifecycle;

  void accept();
  void forget_closed();
};

// A connection, as the server's list of them sees it: something to close when it stops.
class HttpServer::Impl::Session {
 public:
  virtual ~Session() = default;
  virtual void close() = 0;
};

// A connection over `Stream`: a TCP stream, or a TLS stream over one (which first runs its
// handshake, within the request time).
template <class Stream>
class HttpServer::Impl::StreamSession : public Session,
                                        public std::enable_shared_from_this<StreamSession<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Tls>
  StreamSession(tcp::socket socket, Impl* server, Tls&... tls)
      : stream_(std::move(socket), tls...), server_(server) {
    beast::error_code ec;
    const auto endpoint = tcp_stream().socket().remote_endpoint(ec);
    if (!ec) peer_ = endpoint.address().to_string();
  }

  void start() {
    if constexpr (kTls) {
      tcp_stream().expires_after(server_->options.request_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close();
                                self->read();
                              });
    } else {
      read();
    }
  }

  void close() override {
    beast::error_code ec;
    tcp_stream().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_stream().socket().close(ec);
  }

 private:
  beast::tcp_stream& tcp_stream() { return beast::get_lowest_layer(stream_); }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
    parser_->body_limit(server_->options.max_body_bytes);
    tcp_stream().expires_after(server_->options.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&StreamSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return close();
    if (ec == http::error::header_limit) return write(plain_error(431), 11, false);
    if (ec == http::error::body_limit) return write(plain_error(413), 11, false);
    if (ec && ec.category() == make_error_code(http::error::bad_method).category()) {
      return write(plain_error(400), 11, false);
    }
    if (ec) return close();  // a timeout or a network error
    auto message = parser_->release();
    const unsigned version = message.version();
    const bool keep_alive = message.keep_alive();
    Response response;
    try {
      response = server_->handler(to_request(message, peer_));
    } catch (const std::exception&) {
      response = plain_error(500);
    }
    write(std::move(response), version, keep_alive);
  }

  void write(Response response, unsigned version, bool keep_alive) {
    for (const Header& header : response.headers) {
      if (lower(header.name) == "connection" && lower(header.value) == "close") {
        keep_alive = false;
      }
    }
    auto message = std::make_shared<http::response<http::string_body>>(
        to_message(std::move(response), version, keep_alive));
    http::async_write(
        stream_, *message,
        [self = this->shared_from_this(), message](beast::error_code ec, std::size_t) {
          if (ec || !message->keep_alive()) return self->close();
          self->read();
        });
  }

  Stream stream_;
  Impl* server_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

void HttpServer::Impl::forget_closed() {
  sessions.remove_if([](const std::weak_ptr<Session>& session) { return session.expired(); });
}

void HttpServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      return accept();
    }
    forget_closed();
    if (sessions.size() >= options.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);  // over the limit: refused at once, the others keep being served
    } else {
      if (tls) {
        auto session = std::make_shared<StreamSession<beast::ssl_stream<beast::tcp_stream>>>(
            std::move(socket), this, *tls);
        sessions.push_back(session);
        session->start();
      } else {
        auto session = std::make_shared<StreamSession<beast::tcp_stream>>(std::move(socket), this);
        sessions.push_back(session);
        session->start();
      }
    }
    accept();
  });
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  std::lock_guard lock(impl_->lifecycle);
  if (impl_->running) return;
  try {
    impl_->tls = make_tls_context(impl_->options.tls_certificate_file, impl_->options.tls_key_file);
  } catch (const std::invalid_argument& e) {
    throw Error(ErrorCode::invalid_value, e.what());
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->options.address, ec);
  if (ec) {
    throw Error(ErrorCode::invalid_value, "'" + impl_->options.address + "' is not an IP address");
  }
  const tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close(ec);
    throw Error(ErrorCode::unreachable, "cannot listen on " + impl_->options.address + ":" +
                                            std::to_string(impl_->options.port) + ": " +
                                            ec.message());
  }
  impl_->port = acceptor.local_endpoint().port();
  impl_->running = true;
  impl_->accept();
  impl_->thread = std::thread([impl = impl_] { impl->io.run(); });
}

void HttpServer::stop() {
  std::lock_guard lock(impl_->lifecycle);
  if (!impl_->running) return;
  net::post(impl_->io, [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    for (auto& weak : impl->sessions) {
      if (auto session = weak.lock()) session->close();
    }
    impl->sessions.clear();
    impl->io.stop();
  });
  impl_->thread.join();
  impl_->running = false;
}

std::uint16_t HttpServer::port() const {
  return impl_->port;
}

}  // namespace libreta::web
