// A small HTTP/1.1 server, over TLS when given a certificate, that runs one Handler: the
// listening socket of a web face. One
// thread accepts and serves every connection and calls the handler on it, one request at a
// time, so a handler needs no locking of its own. Every untrusted size and time is bounded:
// header and body sizes, the time to send a whole request, the number of connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "libreta/web/http.hpp"

namespace libreta::web {

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (port() tells which)
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  // From a connection's first byte (or its last response) to the end of the next request.
  std::chrono::milliseconds request_timeout{30'000};
  std::size_t max_connections = 64;
  // PEM files of the certificate chain and its private key: both set, the server speaks
  // HTTPS only (TLS 1.2 and later); both empty, plain HTTP.
  std::string tls_certificate_file;
  std::string tls_key_file;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens, then serves on a thread of its own. Throws libreta::Error:
  // ErrorCode::unreachable when the address cannot be bound, ErrorCode::invalid_value when
  // the TLS files cannot be loaded.
  void start();
  // Closes the listening socket and every connection, and joins the thread.
  void stop();
  std::uint16_t port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace libreta::web
