// What the REST API's files share (rest_api.cpp: routing, sign-in and reads;
// rest_writes.cpp: creates, patches and deletes through the sync service).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libreta/server/direct_write.hpp"
#include "libreta/server/rest_api.hpp"
#include "libreta/web/form.hpp"
#include "openapi.hpp"
#include "rate_limiter.hpp"

namespace libreta::server {

// Who calls: a token's user and role. A seller reads and writes only their scope.
struct ApiCaller {
  std::string user;
  Role role = Role::seller;
  std::string token_id;
  bool sees_everything() const { return role != Role::seller; }
};

struct RestApi::Impl {
  Impl(std::shared_ptr<SyncService> service_in, RestApiOptions options_in)
      : service(std::move(service_in)),
        store(service->store()),
        schema(service->schema()),
        options(options_in),
        limiter(options.requests_per_second, options.request_burst),
        openapi(api::openapi_document(schema, options.max_page).dump()) {}

  std::shared_ptr<SyncService> service;
  Store& store;
  const Schema& schema;
  const RestApiOptions options;
  api::RateLimiter limiter;
  const std::string openapi;  // the document, made once

  // The caller of a request with a valid bearer token; nothing when it has none.
  std::optional<ApiCaller> authenticate(const web::Request& request);
  // A row the caller may see: written, not deleted, and in their scope.
  std::optional<ServerRow> visible_row(const ApiCaller& caller, const TableSpec& table,
                                       std::string_view id);

  web::Response list(const ApiCaller& caller, const TableSpec& table, const web::Request& request);
  web::Response get(const ApiCaller& caller, const TableSpec& table, std::string_view id);
  web::Response create(const ApiCaller& caller, const TableSpec& table,
                       const web::Request& request);
  web::Response patch(const ApiCaller& caller, const TableSpec& table, std::string_view id,
                      const web::Request& request);
  web::Response remove(const ApiCaller& caller, const TableSpec& table, std::string_view id,
                       const web::Request& request);

  // Why the caller may not make these changes, if they may not: a seller gives no customer
  // to someone else and links rows only to customers of their own; anyone links rows only
  // to customers that exist.
  std::optional<web::Response> scope_refusal(const ApiCaller& caller, const TableSpec& table,
                                             const std::vector<Change>& changes);
  // Hands the write to the sync service and waits for its answer: nothing when it was
  // stored, else the problem to answer.
  std::optional<web::Response> submit(const ApiCaller& caller, std::vector<Change> changes,
                                      std::optional<RowPrecondition> precondition,
                                      std::optional<ConflictResolution> resolves = std::nullopt);

  // The resources that are not tables (conflicts, changes, devices); nothing for a table.
  std::optional<web::Response> route_special(const ApiCaller& caller,
                                             const std::vector<std::string>& parts,
                                             const web::Request& request);
  // The conflict inbox (rest_conflicts.cpp).
  web::Response list_conflicts(const ApiCaller& caller, const web::Request& request);
  web::Response get_conflict(const ApiCaller& caller, std::string_view id);
  web::Response resolve_conflict(const ApiCaller& caller, std::string_view id,
                                 const web::Request& request);
  // A conflict the caller may see: on a row of their scope for a seller.
  std::optional<ConflictRecord> visible_conflict(const ApiCaller& caller, std::string_view id);

  // The feed of committed changes, and the devices (rest_feed.cpp).
  web::Response changes(const ApiCaller& caller, const web::Request& request);
  web::Response devices(const ApiCaller& caller, const web::Request& request);

  // A page size from the query's `limit`, or nothing when it is not one.
  std::optional<std::size_t> page_limit(const web::Params& params) const;

  // The row as the API answers it: 200 (or `status`) with its JSON and its ETag.
  web::Response row_response(const TableSpec& table, const ServerRow& row, int status = 200);
};

bool is_deleted(const ServerRow& row);
// A number of the query string (a cursor), or nothing.
std::optional<std::uint64_t> parse_count(std::string_view text);

}  // namespace libreta::server
