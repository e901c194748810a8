// The server's TLS settings (docs/security.md): the OpenSSL context made from a certificate
// chain and its key, and what the metrics say of it. Made at start and again by each reload
// (SIGHUP); thread-safe functions.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace libreta::server {

// Null when both files are empty (a plain server). Throws std::invalid_argument naming the
// file that cannot be loaded, or when only one of the two is given.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_file,
                                                            const std::string& key_file);

// When the context's certificate expires, in Unix seconds.
std::optional<long long> certificate_not_after(boost::asio::ssl::context& context);

}  // namespace libreta::server
