// Cookies: read from a request's Cookie header, written as Set-Cookie values.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "libreta/web/http.hpp"

namespace libreta::web {

// The value of cookie `name` in the request, or nullopt.
std::optional<std::string> cookie(const Request& request, std::string_view name);

struct CookieOptions {
  bool http_only = true;             // out of reach of the page's scripts
  bool secure = false;               // only over TLS
  std::string same_site = "Strict";  // never sent with a request another site starts
  std::string path = "/";
  std::optional<std::chrono::seconds> max_age;  // a session cookie when unset
};

// A Set-Cookie header value. `value` must be a cookie token (letters, digits, - _ .).
std::string set_cookie(std::string_view name, std::string_view value,
                       const CookieOptions& options = {});

}  // namespace libreta::web
