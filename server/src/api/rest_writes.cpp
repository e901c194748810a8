// The REST API's writes: a create, a patch or a delete becomes changes (row_json.hpp), checked
// against the caller's scope, then handed to the sync service as a direct write; the answer
// waits until it is stored and announced to the devices.
#include <nlohmann/json.hpp>

#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/ids.hpp"
#include "libreta/server/direct_write.hpp"
#include "problem.hpp"
#include "rest_api_impl.hpp"
#include "row_json.hpp"

namespace libreta::server {

namespace {

std::optional<nlohmann::json> parse_body(const web::Request& request) {
  auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded()) return std::nullopt;
  return body;
}

web::Response bad_body() {
  return api::problem(400, "malformed", "the body is not JSON");
}

web::Response not_found(const TableSpec& table, std::string_view id) {
  return api::problem(404, "not_found", table.name + " '" + std::string(id) + "' not found");
}

// The text value a change gives a field, if one of the changes sets it.
const Value* value_set(const std::vector<Change>& changes, const std::string& field) {
  for (const auto& change : changes) {
    if (change.field == field && change.element.empty()) return &change.value;
  }
  return nullptr;
}

}  // namespace

namespace {

std::optional<RowPrecondition> if_match(const web::Request& request, const TableSpec& table,
                                        std::string_view id) {
  const auto header = request.header("if-match");
  if (!header || *header == "*") return std::nullopt;
  return RowPrecondition{table.name, std::string(id), std::string(*header)};
}

std::string now_text() {
  return date_time_from_millis(SystemClock().now_millis());
}

}  // namespace

std::optional<web::Response> RestApi::Impl::scope_refusal(const ApiCaller& caller,
                                                          const TableSpec& table,
                                                          const std::vector<Change>& changes) {
  if (!table.owner_field.empty() && !caller.sees_everything()) {
    if (const Value* owner = value_set(changes, table.owner_field);
        owner && !(owner->is_text() && owner->as_text() == caller.user)) {
      return api::problem(403, "forbidden", "only the office gives a customer to another seller");
    }
  }
  if (!table.owner_link.empty()) {
    if (const Value* link = value_set(changes, table.owner_link)) {
      const TableSpec* scope_table = schema.scope_table();
      const std::string target = link->is_text() ? link->as_text() : std::string();
      if (!scope_table || !visible_row(caller, *scope_table, target)) {
        return api::problem(422, "invalid_value",
                            table.owner_link + ": no customer '" + target + "' in your book");
      }
    }
  }
  return std::nullopt;
}

std::optional<web::Response> RestApi::Impl::submit(const ApiCaller& caller,
                                                   std::vector<Change> changes,
                                                   std::optional<RowPrecondition> precondition,
                                                   std::optional<ConflictResolution> resolves) {
  DirectWrite write;
  write.user = caller.user;
  write.role = caller.role;
  write.origin = WriteOrigin::api;
  write.changes = std::move(changes);
  write.precondition = std::move(precondition);
  write.resolves = std::move(resolves);
  auto answer = service->write_and_wait(std::move(write), caller.token_id, options.write_timeout);
  if (!answer) {
    web::Response response = api::problem(
        503, "timeout", "the server is busy: the write may still be stored; read before retrying");
    response.add("Retry-After", "5");
    return response;
  }
  DirectWriteResult& result = *answer;
  if (result.error) return api::problem_of(*result.error, result.message);
  if (result.stale) {
    return api::problem(412, "stale",
                        "the row changed since it was read (If-Match): read it again and retry");
  }
  if (!result.refused.empty()) {
    const RefusedChange& refused = result.refused.front();
    return api::problem_of(refused.code, refused.field + ": " + refused.message);
  }
  return std::nullopt;
}

web::Response RestApi::Impl::create(const ApiCaller& caller, const TableSpec& table,
                                    const web::Request& request) {
  auto body = parse_body(request);
  if (!body) return bad_body();
  if (!body->is_object()) {
    return api::problem(422, "wrong_type", "the body must be a JSON object of fields and values");
  }
  std::string id;
  if (auto given = body->find("id"); given != body->end()) {
    if (!given->is_string() || !is_valid_row_id(given->get<std::string>())) {
      return api::problem(422, "invalid_value", "\"id\" takes 1 to 64 of A-Z a-z 0-9 _ -");
    }
    id = given->get<std::string>();
  } else {
    id = new_row_id(SystemClock().now_millis());
  }
  if (store.find_row(table.name, id)) {
    return api::problem(409, "already_exists", table.name + " '" + id + "' already exists");
  }
  auto changes = api::changes_for(table, id, nullptr, *body, now_text());
  if (!changes) return api::problem_of(changes.error().code(), changes.error().what());
  for (const auto& field : table.fields) {
    if (field.required && !value_set(changes.value(), field.name)) {
      return api::problem(422, "missing_field",
                          "a new " + table.name + " needs '" + field.name + "'");
    }
  }
  if (auto refusal = scope_refusal(caller, table, changes.value())) return *refusal;
  if (auto failed = submit(caller, std::move(changes).value(), std::nullopt)) return *failed;
  auto row = store.find_row(table.name, id);
  if (!row) return api::problem(500, "internal", "the new row was stored but cannot be read");
  web::Response response = row_response(table, *row, 201);
  response.add("Location", "/api/v1/" + table.name + "/" + id);
  return response;
}

web::Response RestApi::Impl::patch(const ApiCaller& caller, const TableSpec& table,
                                   std::string_view id, const web::Request& request) {
  auto body = parse_body(request);
  if (!body) return bad_body();
  auto row = visible_row(caller, table, id);
  if (!row) return not_found(table, id);
  const auto precondition = if_match(request, table, id);
  if (precondition && precondition->etag != row_etag(row->versions)) {
    return api::problem(412, "stale",
                        "the row changed since it was read (If-Match): read it again and retry");
  }
  auto changes = api::changes_for(table, std::string(id), &*row, *body, now_text());
  if (!changes) return api::problem_of(changes.error().code(), changes.error().what());
  if (changes.value().empty()) return row_response(table, *row);
  if (auto refusal = scope_refusal(caller, table, changes.value())) return *refusal;
  if (auto failed = submit(caller, std::move(changes).value(), precondition)) return *failed;
  row = store.find_row(table.name, id);
  if (!row) return not_found(table, id);
  return row_response(table, *row);
}

web::Response RestApi::Impl::remove(const ApiCaller& caller, const TableSpec& table,
                                    std::string_view id, const web::Request& request) {
  auto row = visible_row(caller, table, id);
  if (!row) return not_found(table, id);
  const auto precondition = if_match(request, table, id);
  std::vector<Change> changes{Change{table.name,
                                     std::string(id),
                                     kDeletedField,
                                     {},
                                     Value(true),
                                     Version{},
                                     row->versions.field(kDeletedField)}};
  if (auto failed = submit(caller, std::move(changes), precondition)) return *failed;
  web::Response response;
  response.status = 204;
  return response;
}

}  // namespace libreta::server
