#include "libreta/protocol/error.hpp"

namespace libreta {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::malformed:
      return "malformed";
    case ErrorCode::wrong_type:
      return "wrong_type";
    case ErrorCode::missing_field:
      return "missing_field";
    case ErrorCode::unknown_field:
      return "unknown_field";
    case ErrorCode::invalid_value:
      return "invalid_value";
    case ErrorCode::too_large:
      return "too_large";
    case ErrorCode::unknown_table:
      return "unknown_table";
    case ErrorCode::clock_skew:
      return "clock_skew";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::already_exists:
      return "already_exists";
    case ErrorCode::storage:
      return "storage";
    case ErrorCode::storage_full:
      return "storage_full";
    case ErrorCode::schema_too_new:
      return "schema_too_new";
    case ErrorCode::bad_token:
      return "bad_token";
    case ErrorCode::unsupported_protocol:
      return "unsupported_protocol";
    case ErrorCode::unsupported_schema:
      return "unsupported_schema";
    case ErrorCode::unknown_message:
      return "unknown_message";
    case ErrorCode::out_of_order:
      return "out_of_order";
    case ErrorCode::forbidden:
      return "forbidden";
    case ErrorCode::rate_limited:
      return "rate_limited";
    case ErrorCode::timeout:
      return "timeout";
    case ErrorCode::shutting_down:
      return "shutting_down";
    case ErrorCode::unreachable:
      return "unreachable";
    case ErrorCode::tls:
      return "tls";
    case ErrorCode::closed:
      return "closed";
    case ErrorCode::internal:
      return "internal";
  }
  return "unknown";
}

ErrorCode error_code_from_name(std::string_view name) {
  for (ErrorCode code : kAllErrorCodes) {
    if (error_code_name(code) == name) return code;
  }
  return ErrorCode::internal;
}

}  // namespace libreta
