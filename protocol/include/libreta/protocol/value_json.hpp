// Values to and from JSON, as they travel in changes, rows and the server's storage.
// Decoding returns a Result and never throws. Thread-safe functions.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "libreta/protocol/error.hpp"
#include "libreta/protocol/value.hpp"

namespace libreta {

nlohmann::json value_to_json(const Value& value);
Result<Value> value_from_json(const nlohmann::json& j);

}  // namespace libreta
