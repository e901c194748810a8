// Values to and from JSON, shared by the codecs of protocol/src.
#pragma once

#include <nlohmann/json.hpp>

#include "libreta/protocol/error.hpp"
#include "libreta/protocol/value.hpp"

namespace libreta {

nlohmann::json value_to_json(const Value& value);
Result<Value> value_from_json(const nlohmann::json& j);

}  // namespace libreta
