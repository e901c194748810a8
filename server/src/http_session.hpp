// One accepted TCP connection while it speaks HTTP: answers `GET /healthz`, `/readyz` and
// `/metrics`, hands `/api/v1` to the REST API and `/office` to the office pages, turns an upgrade
// request for `/sync` into a WebsocketSession, and refuses everything else with a JSON error. On a
// TLS server the connection first completes a TLS handshake (within the handshake timeout), and
// everything after, the WebSocket included, goes through that TLS stream.
//
// Ownership: kept alive by its pending handlers; on upgrade the socket moves to the
// WebsocketSession and this object ends.
// Threads: runs on the connection's strand only.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace libreta::server {

class SharedState;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  using PlainStream = boost::beast::tcp_stream;
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  // `tls_context` null: a plain connection. The connection's TLS state is made from it
  // (and holds its settings from then on, whatever a reload does to the server's).
  HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<SharedState> state,
              const std::shared_ptr<boost::asio::ssl::context>& tls_context);

  // Starts the TLS handshake, or reading the first request.
  void run();

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  boost::beast::tcp_stream& tcp();
  void start();
  void on_tls_handshake(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle(Request request);
  // A request of the REST API (/api/v1) or of the office pages (/office), answered from the
  // blocking threads.
  enum class Face { api, office };
  void handle_face(Request request, Face face);
  Response healthz(const Request& request) const;
  Response readyz(const Request& request) const;
  Response metrics(const Request& request);
  void send(Response response);
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void do_shutdown();
  void drain(std::size_t drained);

  std::variant<PlainStream, TlsStream> stream_;
  const std::shared_ptr<SharedState> state_;
  const std::string peer_;
  boost::beast::flat_buffer buffer_;
  // A new parser per request: its limits apply to one message.
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  // The response being written (a write needs it alive until its handler runs).
  std::optional<Response> response_;
};

}  // namespace libreta::server
