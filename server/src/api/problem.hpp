// Errors of the REST API as RFC 9457 problem details (application/problem+json): a stable
// `code` that programs test, a `title` for that code, and a `detail` about this request.
#pragma once

#include <string>
#include <string_view>

#include "libreta/protocol/error.hpp"
#include "libreta/web/http.hpp"

namespace libreta::server::api {

// {"type": "urn:libreta:problem:CODE", "title", "status", "detail", "code"}.
web::Response problem(int status, std::string_view code, std::string detail);
// The problem for a libreta error code: its HTTP status and its registry name as the code.
web::Response problem_of(ErrorCode code, std::string detail);

}  // namespace libreta::server::api
