// The REST API: routing, the caller's token, its rate, and the reads (a page of a table, one
// row). The writes are in rest_writes.cpp.
#include "libreta/server/rest_api.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <vector>

#include "libreta/protocol/hlc.hpp"
#include "libreta/server/direct_write.hpp"
#include "libreta/server/tokens.hpp"
#include "libreta/web/form.hpp"
#include "openapi.hpp"
#include "problem.hpp"
#include "rest_api_impl.hpp"
#include "row_json.hpp"

namespace libreta::server {

namespace {

constexpr std::string_view kPrefix = "/api/v1/";
constexpr std::string_view kCursorParam = "cursor";
constexpr std::string_view kLimitParam = "limit";
constexpr std::string_view kCustomerParam = "customer";

// The path's parts after /api/v1/, percent-decoded.
std::vector<std::string> path_parts(std::string_view path) {
  std::vector<std::string> parts;
  std::string_view rest = path.substr(kPrefix.size());
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    parts.push_back(web::percent_decode(rest.substr(0, slash), false));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  return parts;
}

web::Response method_not_allowed(std::string allow) {
  web::Response response = api::problem(405, "method_not_allowed", "this resource takes " + allow);
  response.add("Allow", std::move(allow));
  return response;
}

// A query parameter's text as a value of the field: numbers and booleans parsed.
std::optional<Value> query_value(const FieldSpec& field, const std::string& text) {
  switch (field.kind) {
    case FieldKind::integer: {
      std::int64_t number = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
      return Value(number);
    }
    case FieldKind::decimal: {
      try {
        std::size_t used = 0;
        const double number = std::stod(text, &used);
        if (used != text.size()) return std::nullopt;
        return Value(number);
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
    case FieldKind::boolean:
      if (text == "true") return Value(true);
      if (text == "false") return Value(false);
      return std::nullopt;
    default:
      return Value(text);
  }
}

}  // namespace

std::optional<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return number;
}

bool is_deleted(const ServerRow& row) {
  auto it = row.fields.find(kDeletedField);
  return it != row.fields.end() && it->second.is_bool() && it->second.as_bool();
}

RestApi::RestApi(std::shared_ptr<SyncService> service, RestApiOptions options)
    : impl_(std::make_unique<Impl>(std::move(service), options)) {}

RestApi::~RestApi() = default;

bool RestApi::owns(std::string_view path) {
  return path == kPrefix.substr(0, kPrefix.size() - 1) || path.starts_with(kPrefix);
}

web::Response RestApi::handle(const web::Request& request) {
  Impl& impl = *impl_;
  if (!owns(request.path) || request.path.size() <= kPrefix.size()) {
    return api::problem(404, "not_found", "no such resource: see /api/v1/openapi.json");
  }
  const std::vector<std::string> parts = path_parts(request.path);
  if (parts.size() == 1 && parts[0] == "openapi.json") {
    if (request.method != "GET") return method_not_allowed("GET");
    return web::Response::json(impl.openapi);
  }
  const auto caller = impl.authenticate(request);
  if (!caller) {
    web::Response response =
        api::problem(401, "bad_token", "send a valid token as \"Authorization: Bearer TOKEN\"");
    response.add("WWW-Authenticate", "Bearer");
    return response;
  }
  if (!impl.limiter.admit(caller->token_id)) {
    web::Response response =
        api::problem(429, "rate_limited", "too many requests with this token; slow down");
    response.add("Retry-After", "1");
    return response;
  }
  try {
    if (auto answer = impl.route_special(*caller, parts, request)) return *answer;
  } catch (const Error& e) {
    return api::problem_of(e.code(), e.what());
  }
  const TableSpec* table = parts.empty() ? nullptr : impl.schema.table(parts[0]);
  if (!table || parts.size() > 2 || (parts.size() == 2 && parts[1].empty())) {
    return api::problem(404, "not_found", "no such resource: see /api/v1/openapi.json");
  }
  try {
    if (parts.size() == 1) {
      if (request.method == "GET") return impl.list(*caller, *table, request);
      if (request.method == "POST") return impl.create(*caller, *table, request);
      return method_not_allowed("GET, POST");
    }
    if (request.method == "GET") return impl.get(*caller, *table, parts[1]);
    if (request.method == "PATCH") return impl.patch(*caller, *table, parts[1], request);
    if (request.method == "DELETE") return impl.remove(*caller, *table, parts[1], request);
    return method_not_allowed("GET, PATCH, DELETE");
  } catch (const Error& e) {
    return api::problem_of(e.code(), e.what());
  }
}

std::optional<web::Response> RestApi::Impl::route_special(const ApiCaller& caller,
                                                          const std::vector<std::string>& parts,
                                                          const web::Request& request) {
  const std::string& resource = parts.front();
  const std::string_view method = request.method;
  if (resource == "conflicts") {
    if (parts.size() == 1)
      return method == "GET" ? list_conflicts(caller, request) : method_not_allowed("GET");
    if (parts.size() == 2)
      return method == "GET" ? get_conflict(caller, parts[1]) : method_not_allowed("GET");
    if (parts.size() == 3 && parts[2] == "resolve") {
      return method == "POST" ? resolve_conflict(caller, parts[1], request)
                              : method_not_allowed("POST");
    }
    return api::problem(404, "not_found", "no such resource: see /api/v1/openapi.json");
  }
  if (resource == "changes" && parts.size() == 1)
    return method == "GET" ? changes(caller, request) : method_not_allowed("GET");
  if (resource == "devices" && parts.size() == 1)
    return method == "GET" ? devices(caller, request) : method_not_allowed("GET");
  return std::nullopt;
}

std::optional<std::size_t> RestApi::Impl::page_limit(const web::Params& params) const {
  const auto text = params.get(kLimitParam);
  if (!text) return options.default_page;
  const auto limit = parse_count(*text);
  if (!limit || *limit == 0 || *limit > options.max_page) return std::nullopt;
  return static_cast<std::size_t>(*limit);
}

std::optional<ApiCaller> RestApi::Impl::authenticate(const web::Request& request) {
  const auto header = request.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!header || !header->starts_with(kBearer)) return std::nullopt;
  const std::string_view secret = header->substr(kBearer.size());
  if (secret.empty() || secret.size() > 256) return std::nullopt;
  const auto token = store.find_token_by_hash(hash_token(secret));
  if (!token || token->revoked_ms) return std::nullopt;
  if (token->expires_ms && *token->expires_ms <= SystemClock().now_millis()) return std::nullopt;
  return ApiCaller{token->user, token->role, token->id};
}

std::optional<ServerRow> RestApi::Impl::visible_row(const ApiCaller& caller, const TableSpec& table,
                                                    std::string_view id) {
  auto row = store.find_row(table.name, id);
  if (!row || is_deleted(*row)) return std::nullopt;
  if (!caller.sees_everything() && row->scope != caller.user) return std::nullopt;
  return row;
}

web::Response RestApi::Impl::row_response(const TableSpec& table, const ServerRow& row,
                                          int status) {
  web::Response response = web::Response::json(api::row_json(table, row).dump(), status);
  response.add("ETag", row_etag(row.versions));
  return response;
}

web::Response RestApi::Impl::get(const ApiCaller& caller, const TableSpec& table,
                                 std::string_view id) {
  auto row = visible_row(caller, table, id);
  if (!row)
    return api::problem(404, "not_found", table.name + " '" + std::string(id) + "' not found");
  return row_response(table, *row);
}

web::Response RestApi::Impl::list(const ApiCaller& caller, const TableSpec& table,
                                  const web::Request& request) {
  const web::Params params = web::Params::parse(request.query);
  RowQuery query;
  query.table = table.name;
  if (!caller.sees_everything()) query.seller = &caller.user;
  query.limit = options.default_page;
  for (const auto& [name, text] : params.items()) {
    if (name == kCursorParam) {
      query.after_id = text;
    } else if (name == kLimitParam) {
      const auto limit = page_limit(params);
      if (!limit) {
        return api::problem(422, "invalid_value",
                            "limit takes a number from 1 to " + std::to_string(options.max_page));
      }
      query.limit = *limit;
    } else if (name == kCustomerParam) {
      query.customer = text;
    } else if (const FieldSpec* field = table.field(name)) {
      if (field->kind == FieldKind::tag_set) {
        query.tags.emplace_back(field->name, text);
        continue;
      }
      auto value = query_value(*field, text);
      if (!value) {
        return api::problem(422, "invalid_value",
                            "'" + text + "' is not a value of " + table.name + "." + name);
      }
      query.equals.emplace_back(field->name, std::move(*value));
    } else {
      return api::problem(
          422, "unknown_field",
          "'" + name + "' is neither a field of " + table.name + " nor cursor, limit or customer");
    }
  }
  // One more than the page: whether another page follows.
  const std::size_t page = query.limit;
  ++query.limit;
  std::vector<ServerRow> rows = store.list_rows(query);
  const bool more = rows.size() > page;
  if (more) rows.resize(page);
  nlohmann::json body{{"items", nlohmann::json::array()}};
  for (const auto& row : rows) body["items"].push_back(api::row_json(table, row));
  body["next_cursor"] = more ? nlohmann::json(rows.back().id) : nlohmann::json(nullptr);
  return web::Response::json(body.dump());
}

}  // namespace libreta::server
