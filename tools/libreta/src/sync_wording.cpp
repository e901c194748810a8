#include "sync_wording.hpp"

#include "libreta/protocol/customer_book.hpp"

namespace libreta::cli {

Msg refusal_reason(const RefusedChange& r) {
  switch (r.code) {
    case ErrorCode::forbidden:
      return r.table == tables::customers && r.field == "owner" ? Msg::refused_owner
                                                                : Msg::refused_scope;
    case ErrorCode::clock_skew:
      return Msg::refused_clock;
    case ErrorCode::invalid_value:
    case ErrorCode::wrong_type:
    case ErrorCode::missing_field:
    case ErrorCode::unknown_field:
    case ErrorCode::unknown_table:
    case ErrorCode::too_large:
      return Msg::refused_invalid;
    default:
      return Msg::refused_other;
  }
}

Msg sync_error_reason(ErrorCode code) {
  switch (code) {
    case ErrorCode::unreachable:
    case ErrorCode::shutting_down:
      return Msg::sync_error_unreachable;
    case ErrorCode::timeout:
      return Msg::sync_error_timeout;
    case ErrorCode::bad_token:
      return Msg::sync_error_bad_token;
    case ErrorCode::tls:
      return Msg::sync_error_tls;
    case ErrorCode::unsupported_protocol:
    case ErrorCode::unsupported_schema:
      return Msg::sync_error_update;
    case ErrorCode::storage_full:
      return Msg::sync_error_disk_full;
    case ErrorCode::rate_limited:
      return Msg::sync_error_busy;
    default:
      return Msg::sync_error_other;
  }
}

}  // namespace libreta::cli
