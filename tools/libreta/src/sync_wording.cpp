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

}  // namespace libreta::cli
