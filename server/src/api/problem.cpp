#include "problem.hpp"

#include <nlohmann/json.hpp>

namespace libreta::server::api {

namespace {

int status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::already_exists:
      return 409;
    case ErrorCode::forbidden:
      return 403;
    case ErrorCode::bad_token:
      return 401;
    case ErrorCode::rate_limited:
      return 429;
    case ErrorCode::too_large:
      return 413;
    case ErrorCode::storage:
    case ErrorCode::storage_full:
    case ErrorCode::shutting_down:
      return 503;
    case ErrorCode::internal:
      return 500;
    default:
      return 422;  // the request was understood; its content is not acceptable
  }
}

}  // namespace

web::Response problem(int status, std::string_view code, std::string detail) {
  nlohmann::json body{{"type", "urn:libreta:problem:" + std::string(code)},
                      {"title", std::string(web::reason_phrase(status))},
                      {"status", status},
                      {"detail", std::move(detail)},
                      {"code", std::string(code)}};
  web::Response response;
  response.status = status;
  response.add("Content-Type", "application/problem+json");
  response.body = body.dump();
  return response;
}

web::Response problem_of(ErrorCode code, std::string detail) {
  return problem(status_of(code), error_code_name(code), std::move(detail));
}

}  // namespace libreta::server::api
