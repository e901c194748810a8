#include "libreta/web/guard.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace libreta::web {

std::string random_token() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no random bytes");
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  for (const unsigned char b : bytes) out += kAlphabet[b & 63];
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void add_security_headers(Response& response) {
  response.add("Content-Security-Policy",
               "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  response.add("X-Content-Type-Options", "nosniff");
  // same-origin, not no-referrer: under no-referrer a browser posts forms with "Origin: null",
  // which same_origin() refuses.
  response.add("Referrer-Policy", "same-origin");
  response.add("X-Frame-Options", "DENY");
  if (!response.header("Cache-Control")) response.add("Cache-Control", "no-store");
}

bool allowed_host(const Request& request, const std::set<std::string>& hosts) {
  const auto host = request.header("host");
  return host && hosts.count(std::string(*host));
}

bool same_origin(const Request& request, bool tls, const std::set<std::string>& hosts) {
  const auto origin = request.header("origin");
  if (!origin) return true;  // a browser that sends none sends no cross-site form either
  const std::string_view scheme = tls ? "https://" : "http://";
  return origin->starts_with(scheme) && hosts.count(std::string(origin->substr(scheme.size())));
}

bool prefers_spanish(const Request& request) {
  const auto accept = request.header("accept-language");
  if (!accept) return false;
  std::string_view first = *accept;
  first = first.substr(0, first.find_first_of(",;"));
  while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
  return first.size() >= 2 && (first.substr(0, 2) == "es" || first.substr(0, 2) == "ES");
}

}  // namespace libreta::web
