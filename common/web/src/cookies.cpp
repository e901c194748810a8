#include "libreta/web/cookies.hpp"

namespace libreta::web {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<std::string> cookie(const Request& request, std::string_view name) {
  for (const Header& header : request.headers) {
    if (header.name != "cookie") continue;
    std::string_view rest = header.value;
    while (!rest.empty()) {
      const auto semicolon = rest.find(';');
      const std::string_view pair = trim(rest.substr(0, semicolon));
      rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
      const auto eq = pair.find('=');
      if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
        return std::string(trim(pair.substr(eq + 1)));
      }
    }
  }
  return std::nullopt;
}

std::string set_cookie(std::string_view name, std::string_view value,
                       const CookieOptions& options) {
  std::string out;
  out.append(name).append("=").append(value);
  out.append("; Path=").append(options.path);
  if (options.max_age) out.append("; Max-Age=").append(std::to_string(options.max_age->count()));
  if (options.http_only) out.append("; HttpOnly");
  if (options.secure) out.append("; Secure");
  if (!options.same_site.empty()) out.append("; SameSite=").append(options.same_site);
  return out;
}

}  // namespace libreta::web
