#include "openapi.hpp"

#include <string>

namespace libreta::server::api {

namespace {

using nlohmann::json;

json schema_ref(const std::string& name) {
  return {{"$ref", "#/components/schemas/" + name}};
}

json field_schema(const FieldSpec& field) {
  switch (field.kind) {
    case FieldKind::integer:
      return {{"type", "integer"}};
    case FieldKind::decimal:
      return {{"type", "number"}};
    case FieldKind::boolean:
      return {{"type", "boolean"}};
    case FieldKind::date:
      return {{"type", "string"}, {"format", "date"}};
    case FieldKind::date_time:
      return {{"type", "string"}, {"format", "date-time"}};
    case FieldKind::choice:
      return {{"type", "string"}, {"enum", field.choices}};
    case FieldKind::tag_set:
      return {{"type", "array"}, {"items", {{"type", "string"}}}};
    default:
      return {{"type", "string"}};
  }
}

// A table's row as answered (`id` and every field it has), or as written (`input`: fields
// only, each may be null to clear it; `create`: with the required ones).
json row_schema(const TableSpec& table, bool input, bool create) {
  json properties = json::object();
  json required = json::array();
  if (!input) {
    properties["id"] = {{"type", "string"}};
    required.push_back("id");
  } else if (create) {
    properties["id"] = {{"type", "string"},
                        {"description", "optional: the server makes a UUIDv7 when absent"}};
  }
  for (const auto& field : table.fields) {
    json schema = field_schema(field);
    if (input) schema["nullable"] = true;
    properties[field.name] = schema;
    if (field.required && (create || !input)) required.push_back(field.name);
  }
  json out{{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
  if (!required.empty()) out["required"] = required;
  return out;
}

json problem_response(const std::string& description) {
  return {{"description", description},
          {"content", {{"application/problem+json", {{"schema", schema_ref("Problem")}}}}}};
}

json json_response(const std::string& description, const json& schema) {
  return {{"description", description}, {"content", {{"application/json", {{"schema", schema}}}}}};
}

json json_body(const json& schema) {
  return {{"required", true}, {"content", {{"application/json", {{"schema", schema}}}}}};
}

// The problems every authenticated request may answer.
void add_common_problems(json& responses) {
  responses["401"] = problem_response("No valid bearer token");
  responses["422"] = problem_response("A parameter or a value is not acceptable");
  responses["429"] = problem_response("Too many requests with this token");
  responses["503"] = problem_response("The server is stopping or busy");
}

json query_parameter(const std::string& name, const json& schema, const std::string& what) {
  return {{"name", name},
          {"in", "query"},
          {"required", false},
          {"schema", schema},
          {"description", what}};
}

json page_parameters(std::size_t max_page) {
  return json::array(
      {query_parameter("limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", max_page}},
                       "rows in the page"),
       query_parameter("cursor", {{"type", "string"}}, "next_cursor of the previous page")});
}

void add_table_paths(json& paths, const TableSpec& table, std::size_t max_page) {
  const std::string name = table.name;
  json list_parameters = page_parameters(max_page);
  list_parameters.push_back(
      query_parameter("customer", {{"type", "string"}}, "only the rows of this customer"));
  for (const auto& field : table.fields) {
    json schema = field_schema(field);
    if (field.kind == FieldKind::tag_set) schema = {{"type", "string"}};
    list_parameters.push_back(query_parameter(field.name, schema,
                                              field.kind == FieldKind::tag_set
                                                  ? "only rows with this tag"
                                                  : "only rows with this value"));
  }
  json list_responses{
      {"200", json_response("A page of " + name,
                            {{"type", "object"},
                             {"required", {"items", "next_cursor"}},
                             {"properties",
                              {{"items", {{"type", "array"}, {"items", schema_ref(name)}}},
                               {"next_cursor", {{"type", "string"}, {"nullable", true}}}}}})}};
  add_common_problems(list_responses);
  json create_responses{{"201", json_response("Created", schema_ref(name))},
                        {"400", problem_response("The body is not JSON")},
                        {"403", problem_response("Outside the caller's scope")},
                        {"409", problem_response("A row with this id exists")}};
  add_common_problems(create_responses);
  paths["/api/v1/" + name] = {{"get",
                               {{"summary", "List " + name},
                                {"parameters", list_parameters},
                                {"responses", list_responses}}},
                              {"post",
                               {{"summary", "Create one of " + name},
                                {"requestBody", json_body(schema_ref(name + "Create"))},
                                {"responses", create_responses}}}};

  const json id_parameter = json::array(
      {{{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}}});
  json get_responses{
      {"200", json_response("The row; its ETag header is its version", schema_ref(name))},
      {"404", problem_response("No such row in the caller's scope")}};
  add_common_problems(get_responses);
  json patch_responses = get_responses;
  patch_responses["200"] = json_response("The row as written", schema_ref(name));
  patch_responses["400"] = problem_response("The body is not JSON");
  patch_responses["403"] = problem_response("Outside the caller's scope");
  patch_responses["412"] = problem_response("The row changed since the If-Match version");
  json delete_responses{{"204", {{"description", "Deleted"}}},
                        {"404", problem_response("No such row in the caller's scope")},
                        {"412", problem_response("The row changed since the If-Match version")}};
  add_common_problems(delete_responses);
  const json if_match{{"name", "If-Match"},
                      {"in", "header"},
                      {"required", false},
                      {"schema", {{"type", "string"}}},
                      {"description", "the ETag read: the write applies only if it is current"}};
  json write_parameters = id_parameter;
  write_parameters.push_back(if_match);
  paths["/api/v1/" + name + "/{id}"] = {
      {"get",
       {{"summary", "One of " + name}, {"parameters", id_parameter}, {"responses", get_responses}}},
      {"patch",
       {{"summary", "Change fields of one of " + name},
        {"parameters", write_parameters},
        {"requestBody", json_body(schema_ref(name + "Patch"))},
        {"responses", patch_responses}}},
      {"delete",
       {{"summary", "Delete one of " + name},
        {"parameters", write_parameters},
        {"responses", delete_responses}}}};
}

json side_schema() {
  return {{"type", "object"},
          {"required", {"value", "user", "device", "at"}},
          {"properties",
           {{"value", json::object()},
            {"user", {{"type", "string"}}},
            {"device", {{"type", "string"}}},
            {"at", {{"type", "string"}, {"format", "date-time"}}}}}};
}

json conflict_schema() {
  return {{"type", "object"},
          {"required",
           {"id", "table", "row", "field", "kind", "kept", "lost", "detected_at", "resolved"}},
          {"properties",
           {{"id", {{"type", "integer"}}},
            {"table", {{"type", "string"}}},
            {"row", {{"type", "string"}}},
            {"field", {{"type", "string"}}},
            {"kind", {{"type", "string"}, {"enum", {"concurrent_edit", "edit_of_deleted"}}}},
            {"kept", side_schema()},
            {"lost", side_schema()},
            {"detected_at", {{"type", "string"}, {"format", "date-time"}}},
            {"resolved",
             {{"type", "object"},
              {"nullable", true},
              {"required", {"by", "at", "resolution"}},
              {"properties",
               {{"by", {{"type", "string"}}},
                {"at", {{"type", "string"}, {"format", "date-time"}}},
                {"resolution",
                 {{"type", "string"}, {"enum", {"kept", "took_lost", "restored"}}}}}}}}}}};
}

void add_conflict_paths(json& paths, std::size_t max_page) {
  json parameters = page_parameters(max_page);
  parameters.push_back(query_parameter(
      "state", {{"type", "string"}, {"enum", {"open", "resolved", "any"}}}, "open by default"));
  parameters.push_back(query_parameter("table", {{"type", "string"}}, "only this table's"));
  parameters.push_back(query_parameter("row", {{"type", "string"}}, "only this row's"));
  json list_responses{
      {"200", json_response("A page of the conflict inbox",
                            {{"type", "object"},
                             {"required", {"items", "next_cursor"}},
                             {"properties",
                              {{"items", {{"type", "array"}, {"items", schema_ref("Conflict")}}},
                               {"next_cursor", {{"type", "string"}, {"nullable", true}}}}}})}};
  add_common_problems(list_responses);
  paths["/api/v1/conflicts"] = {{"get",
                                 {{"summary", "The conflict inbox"},
                                  {"parameters", parameters},
                                  {"responses", list_responses}}}};
  const json id_parameter = json::array(
      {{{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}}});
  json get_responses{{"200", json_response("The conflict", schema_ref("Conflict"))},
                     {"404", problem_response("No such conflict in the caller's scope")}};
  add_common_problems(get_responses);
  paths["/api/v1/conflicts/{id}"] = {
      {"get",
       {{"summary", "One conflict"}, {"parameters", id_parameter}, {"responses", get_responses}}}};
  json resolve_responses = get_responses;
  resolve_responses["200"] = json_response("The conflict, resolved", schema_ref("Conflict"));
  resolve_responses["400"] = problem_response("The body is not JSON");
  resolve_responses["409"] = problem_response("Resolved already");
  paths["/api/v1/conflicts/{id}/resolve"] = {
      {"post",
       {{"summary", "Keep the value that won, take the one that lost, or restore the row"},
        {"parameters", id_parameter},
        {"requestBody",
         json_body(
             {{"type", "object"},
              {"required", {"action"}},
              {"properties",
               {{"action", {{"type", "string"}, {"enum", {"keep", "take_lost", "restore"}}}}}}})},
        {"responses", resolve_responses}}}};
}

void add_feed_paths(json& paths, std::size_t max_page) {
  json parameters = json::array(
      {query_parameter("limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", max_page}},
                       "rows in the page"),
       query_parameter("since", {{"type", "string"}},
                       "next_cursor of the previous page; 0 first")});
  json change{{"type", "object"},
              {"required", {"table", "id", "seq"}},
              {"properties",
               {{"table", {{"type", "string"}}},
                {"id", {{"type", "string"}}},
                {"seq", {{"type", "integer"}}},
                {"deleted", {{"type", "boolean"}}},
                {"left_scope", {{"type", "boolean"}}},
                {"changed", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                {"row", {{"type", "object"}}}}}};
  json responses{{"200", json_response("Changed rows in commit order",
                                       {{"type", "object"},
                                        {"required", {"items", "next_cursor", "more"}},
                                        {"properties",
                                         {{"items", {{"type", "array"}, {"items", change}}},
                                          {"next_cursor", {{"type", "string"}}},
                                          {"more", {{"type", "boolean"}}}}}})}};
  add_common_problems(responses);
  paths["/api/v1/changes"] = {{"get",
                               {{"summary", "Committed changes after a cursor"},
                                {"parameters", parameters},
                                {"responses", responses}}}};
  json device{
      {"type", "object"},
      {"required", {"device", "user", "connected", "acknowledged_seq", "sent_seq", "last_seen"}},
      {"properties",
       {{"device", {{"type", "string"}}},
        {"connected", {{"type", "boolean"}}},
        {"user", {{"type", "string"}}},
        {"acknowledged_seq", {{"type", "integer"}}},
        {"sent_seq", {{"type", "integer"}}},
        {"last_seen", {{"type", "string"}, {"format", "date-time"}}}}}};
  json device_responses{
      {"200", json_response("The devices seen last first",
                            {{"type", "object"},
                             {"required", {"items"}},
                             {"properties", {{"items", {{"type", "array"}, {"items", device}}}}}})},
      {"403", problem_response("Only the office sees the devices")}};
  add_common_problems(device_responses);
  paths["/api/v1/devices"] = {{"get",
                               {{"summary", "The devices and their sync state"},
                                {"parameters", json::array({parameters[0]})},
                                {"responses", device_responses}}}};
}

}  // namespace

json openapi_document(const Schema& schema, std::size_t max_page) {
  json schemas = json::object();
  schemas["Problem"] = {{"type", "object"},
                        {"required", {"type", "title", "status", "detail", "code"}},
                        {"properties",
                         {{"type", {{"type", "string"}}},
                          {"title", {{"type", "string"}}},
                          {"status", {{"type", "integer"}}},
                          {"detail", {{"type", "string"}}},
                          {"code", {{"type", "string"}}}}}};
  schemas["Conflict"] = conflict_schema();
  json paths = json::object();
  for (const auto& table : schema.tables()) {
    schemas[table.name] = row_schema(table, false, false);
    schemas[table.name + "Create"] = row_schema(table, true, true);
    schemas[table.name + "Patch"] = row_schema(table, true, false);
    add_table_paths(paths, table, max_page);
  }
  add_conflict_paths(paths, max_page);
  add_feed_paths(paths, max_page);
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "libreta REST API"},
            {"version", "1"},
            {"description",
             "The customer book's tables, the conflict inbox and the feed of committed "
             "changes. Authorization: Bearer TOKEN; a seller's token sees and writes only "
             "their scope."}}},
          {"components",
           {{"schemas", schemas},
            {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
          {"security", json::array({{{"bearer", json::array()}}})},
          {"paths", paths}};
}

}  // namespace libreta::server::api
