// TLS for a server (docs/security.md): the OpenSSL context made from a certificate chain and
// its key, and when the certificate expires. The sync server makes it at start and again at
// each reload (SIGHUP); the web faces at start. Thread-safe functions.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace libreta::web {

// Null when both files are empty (a plain server). Throws std::invalid_argument naming the
// file that cannot be loaded, or when only one of the two is given.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_file,
                                                            const std::string& key_file);

// When the context's certificate expires, in Unix seconds.
std::optional<long long> certificate_not_after(boost::asio::ssl::context& context);

}  // namespace libreta::web
