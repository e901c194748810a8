#include "libreta/web/tls_context.hpp"

#include <ctime>
#include <stdexcept>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/system/system_error.hpp>

namespace libreta::web {

namespace net = boost::asio;

std::shared_ptr<net::ssl::context> make_tls_context(const std::string& cert_file,
                                                    const std::string& key_file) {
  const bool has_cert = !cert_file.empty();
  const bool has_key = !key_file.empty();
  if (!has_cert && !has_key) return nullptr;
  if (has_cert != has_key) {
    throw std::invalid_argument(
        "TLS needs both a certificate file and its private key file; only the " +
        std::string(has_cert ? "certificate" : "key") + " was given");
  }
  auto context = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  // TLS 1.0 and 1.1 are deprecated (RFC 8996). Renegotiation and compression are off: the
  // first lets a client make the server do handshakes at will, the second leaks secrets
  // through compressed sizes (CRIME). The cipher suites are OpenSSL's defaults, which
  // Debian's security level already restricts to forward-secret ones for TLS 1.2.
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_compression |
                       net::ssl::context::single_dh_use);
  SSL_CTX_set_options(context->native_handle(), SSL_OP_NO_RENEGOTIATION);
  // OpenSSL's own message ("no start line") does not say which file it was reading.
  try {
    context->use_certificate_chain_file(cert_file);
  } catch (const boost::system::system_error& e) {
    throw std::invalid_argument("cannot load the TLS certificate " + cert_file + ": " +
                                e.code().message());
  }
  try {
    // Checked against the certificate loaded just before: a key of another certificate
    // fails here rather than in every handshake.
    context->use_private_key_file(key_file, net::ssl::context::pem);
  } catch (const boost::system::system_error& e) {
    throw std::invalid_argument("cannot load the TLS private key " + key_file + ": " +
                                e.code().message());
  }
  return context;
}

std::optional<long long> certificate_not_after(net::ssl::context& context) {
  X509* certificate = SSL_CTX_get0_certificate(context.native_handle());
  if (!certificate) return std::nullopt;
  std::tm not_after{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &not_after) != 1) return std::nullopt;
  return static_cast<long long>(timegm(&not_after));
}

}  // namespace libreta::web
