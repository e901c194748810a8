// The JSON the C API takes from the app: a record's fields and a list's filter. The text is
// checked against fixed limits before anything is built from it, and every failure is a
// libreta::Error with the registry's code (malformed, wrong_type, too_large...).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "libreta/client/queries.hpp"
#include "libreta/protocol/value.hpp"

namespace libreta::capi {

// The most bytes of JSON one call takes: a record is at most a few dozen fields of at most
// 20,000 characters each.
inline constexpr std::size_t kMaxInputJsonBytes = 1 << 20;

// A JSON object's text parsed; `what` names the argument in errors.
nlohmann::json parse_object(std::string_view text, const char* what);

// A record's fields from a JSON object; an "id" member goes to `id` (when given) instead.
Record record_from_json(std::string_view text, std::string* id = nullptr);

// A customer list's filter from a JSON object (null or empty text: no filter).
client::CustomerFilter customer_filter_from_json(const char* text);
// The "customer_id" a child table's list is for.
std::string customer_id_from_json(const char* text);

}  // namespace libreta::capi
