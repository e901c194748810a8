// Holds REST API responses to the API's own OpenAPI 3 document: the operation of the
// request's method and path must document the response's status, and its JSON body must
// match the schema given for its media type (types, nullable, enum, required and allowed
// properties, items, $ref, date and date-time formats).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace libreta::test {

// Why the response does not match the document; "" when it does.
std::string openapi_violation(const nlohmann::json& document, std::string_view method,
                              std::string_view target, int status, std::string_view content_type,
                              std::string_view body);

}  // namespace libreta::test
