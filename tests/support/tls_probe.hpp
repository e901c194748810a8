// A TLS connection made by hand, for tests of the server's TLS: the handshake's outcome, the
// certificate the server presented, and the response to one HTTP request.
// Thread-safe free functions (each call has its own io_context).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace libreta::test {

struct ProbeResult {
  boost::beast::error_code handshake;
  // The server's leaf certificate, DER, when the handshake got that far.
  std::string peer_certificate;
  std::optional<boost::beast::http::response<boost::beast::http::string_body>> response;
};

// Connects to 127.0.0.1:port, runs a client TLS handshake with `context` (verifying the IP
// address when the context verifies at all) and, if it succeeds and `target` is set, sends
// `GET target` naming `host`. Everything within `timeout`.
ProbeResult tls_probe(std::uint16_t port, boost::asio::ssl::context& context,
                      const std::optional<std::string>& target,
                      std::chrono::milliseconds timeout = std::chrono::seconds(15),
                      const std::string& host = "127.0.0.1");

// The reason of an OpenSSL error code carried by an Asio error (0 when it is not one).
int ssl_reason(const boost::beast::error_code& ec);

// A certificate file's first certificate, DER (empty when it cannot be read).
std::string certificate_der(const std::string& pem_file);

}  // namespace libreta::test
