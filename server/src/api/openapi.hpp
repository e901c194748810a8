// The OpenAPI 3.0 document of the REST API (GET /api/v1/openapi.json), made from the schema:
// each table's resource and its fields' types come from the same declaration the merge uses,
// so the document cannot drift from what the API answers. Pure function.
#pragma once

#include <nlohmann/json.hpp>

#include "libreta/protocol/schema.hpp"

namespace libreta::server::api {

nlohmann::json openapi_document(const Schema& schema, std::size_t max_page);

}  // namespace libreta::server::api
