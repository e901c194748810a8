// What every web face of libreta does to each request and answer: random tokens for
// sessions and forms, comparisons that take the same time wherever two secrets differ, the
// headers that keep a page from loading or being framed by another site, the check that a
// form comes from the face's own pages, and the language the browser asks for first.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "libreta/web/http.hpp"

namespace libreta::web {

// 32 characters of [A-Za-z0-9_-] from 24 random bytes (OpenSSL's generator).
std::string random_token();
bool constant_time_equal(std::string_view a, std::string_view b);

// Content-Security-Policy (nothing from elsewhere, no inline script, no framing),
// X-Content-Type-Options, Referrer-Policy: same-origin, X-Frame-Options: DENY, and
// Cache-Control: no-store unless the answer set its own.
void add_security_headers(Response& response);

// Whether a request's Host is one the face answers to (DNS rebinding: a page of another site
// whose name was made to point here names that site).
bool allowed_host(const Request& request, const std::set<std::string>& hosts);
// Whether a form was posted by the face's own pages: its Origin, when the browser sends one,
// is this scheme and one of the allowed hosts.
bool same_origin(const Request& request, bool tls, const std::set<std::string>& hosts);

// Spanish when the browser's first language is Spanish; English otherwise.
bool prefers_spanish(const Request& request);

}  // namespace libreta::web
