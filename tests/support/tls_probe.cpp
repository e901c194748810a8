#include "support/tls_probe.hpp"

#include <cstdio>
#include <memory>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace libreta::test {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

std::string der_of(X509* certificate) {
  if (!certificate) return {};
  unsigned char* bytes = nullptr;
  const int length = i2d_X509(certificate, &bytes);
  if (length <= 0) return {};
  std::string der(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(length));
  OPENSSL_free(bytes);
  return der;
}

}  // namespace

ProbeResult tls_probe(std::uint16_t port, ssl::context& context,
                      const std::optional<std::string>& target, std::chrono::milliseconds timeout,
                      const std::string& host) {
  asio::io_context io;
  beast::ssl_stream<beast::tcp_stream> stream(io, context);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream.native_handle()), "127.0.0.1");
  beast::flat_buffer buffer;
  http::request<http::empty_body> request{http::verb::get, target.value_or("/"), 11};
  request.set(http::field::host, host);
  request.keep_alive(false);
  ProbeResult result;
  http::response<http::string_body> response;

  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  beast::get_lowest_layer(stream).expires_after(timeout);
  beast::get_lowest_layer(stream).async_connect(endpoint, [&](beast::error_code ec) {
    if (ec) {
      result.handshake = ec;
      return;
    }
    stream.async_handshake(ssl::stream_base::client, [&](beast::error_code handshake_ec) {
      result.handshake = handshake_ec;
      X509* peer = SSL_get1_peer_certificate(stream.native_handle());
      result.peer_certificate = der_of(peer);
      X509_free(peer);
      if (handshake_ec || !target) return;
      http::async_write(stream, request, [&](beast::error_code write_ec, std::size_t) {
        if (write_ec) return;
        http::async_read(stream, buffer, response, [&](beast::error_code read_ec, std::size_t) {
          if (!read_ec) result.response = std::move(response);
        });
      });
    });
  });
  io.run();
  return result;
}

int ssl_reason(const beast::error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return 0;
  return ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
}

std::string certificate_der(const std::string& pem_file) {
  std::FILE* file = std::fopen(pem_file.c_str(), "r");
  if (!file) return {};
  X509* certificate = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  std::string der = der_of(certificate);
  X509_free(certificate);
  return der;
}

}  // namespace libreta::test
