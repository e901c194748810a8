// The REST API's conflict inbox: the open (or resolved) conflicts of the caller's scope, and
// their resolution: keep the value that won, take the one that lost, or restore a deleted
// row with the edit that lost to its deletion. A resolution that writes is an ordinary
// change, and marks the conflict resolved in the same transaction.
#include <nlohmann/json.hpp>

#include "conflict_resolution.hpp"
#include "libreta/protocol/value_json.hpp"
#include "problem.hpp"
#include "rest_api_impl.hpp"

namespace libreta::server {

namespace {

nlohmann::json side_json(const Value& value, const std::string& user, const Version& version) {
  return {{"value", value_to_json(value)},
          {"user", user},
          {"device", version.replica},
          {"at", date_time_from_millis(version.hlc.millis())}};
}

nlohmann::json conflict_json(const ConflictRecord& c) {
  nlohmann::json out{{"id", c.id},
                     {"table", c.table},
                     {"row", c.row},
                     {"field", c.field},
                     {"kind", c.kind},
                     {"kept", side_json(c.kept_value, c.kept_user, c.kept_version)},
                     {"lost", side_json(c.lost_value, c.lost_user, c.lost_version)},
                     {"detected_at", date_time_from_millis(c.detected_ms)},
                     {"resolved", nullptr}};
  if (c.resolved_ms) {
    out["resolved"] = {{"by", c.resolved_by},
                       {"at", date_time_from_millis(*c.resolved_ms)},
                       {"resolution", c.resolution}};
  }
  return out;
}

}  // namespace

std::optional<ConflictRecord> RestApi::Impl::visible_conflict(const ApiCaller& caller,
                                                              std::string_view id) {
  const auto number = parse_count(id);
  if (!number) return std::nullopt;
  auto conflict = store.find_conflict(*number);
  if (!conflict) return std::nullopt;
  if (!caller.sees_everything()) {
    auto row = store.find_row(conflict->table, conflict->row);
    if (!row || row->scope != caller.user) return std::nullopt;
  }
  return conflict;
}

web::Response RestApi::Impl::list_conflicts(const ApiCaller& caller, const web::Request& request) {
  const web::Params params = web::Params::parse(request.query);
  ConflictQuery query;
  if (!caller.sees_everything()) query.seller = &caller.user;
  const auto limit = page_limit(params);
  if (!limit) {
    return api::problem(422, "invalid_value",
                        "limit takes a number from 1 to " + std::to_string(options.max_page));
  }
  query.limit = *limit + 1;
  for (const auto& [name, text] : params.items()) {
    if (name == "limit") continue;
    if (name == "cursor") {
      const auto after = parse_count(text);
      if (!after) return api::problem(422, "invalid_value", "cursor takes a conflict id");
      query.after = *after;
    } else if (name == "state") {
      if (text == "open") {
        query.state = ConflictQuery::State::open;
      } else if (text == "resolved") {
        query.state = ConflictQuery::State::resolved;
      } else if (text == "any") {
        query.state = ConflictQuery::State::any;
      } else {
        return api::problem(422, "invalid_value", "state takes open, resolved or any");
      }
    } else if (name == "table") {
      query.table = text;
    } else if (name == "row") {
      query.row = text;
    } else {
      return api::problem(422, "unknown_field",
                          "'" + name + "' is not a filter of conflicts (state, table, row)");
    }
  }
  auto records = store.list_conflicts(query);
  const bool more = records.size() > *limit;
  if (more) records.resize(*limit);
  nlohmann::json body{{"items", nlohmann::json::array()}};
  for (const auto& c : records) body["items"].push_back(conflict_json(c));
  body["next_cursor"] =
      more ? nlohmann::json(std::to_string(records.back().id)) : nlohmann::json(nullptr);
  return web::Response::json(body.dump());
}

web::Response RestApi::Impl::get_conflict(const ApiCaller& caller, std::string_view id) {
  auto conflict = visible_conflict(caller, id);
  if (!conflict) return api::problem(404, "not_found", "no conflict " + std::string(id));
  return web::Response::json(conflict_json(*conflict).dump());
}

web::Response RestApi::Impl::resolve_conflict(const ApiCaller& caller, std::string_view id,
                                              const web::Request& request) {
  auto conflict = visible_conflict(caller, id);
  if (!conflict) return api::problem(404, "not_found", "no conflict " + std::string(id));
  const auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded()) return api::problem(400, "malformed", "the body is not JSON");
  const std::string action = body.is_object() ? body.value("action", "") : "";
  if (conflict->resolved_ms) {
    return api::problem(409, "already_resolved",
                        "conflict " + std::string(id) + " was resolved by " +
                            conflict->resolved_by + " (" + conflict->resolution + ")");
  }
  const auto row = store.find_row(conflict->table, conflict->row);
  if (!row) return api::problem(404, "not_found", "the conflict's row is gone");
  auto plan = plan_resolution(*conflict, *row, action);
  if (!plan) {
    return api::problem(422, "invalid_value",
                        conflict->kind == "edit_of_deleted"
                            ? "action takes keep (the row stays deleted) or restore"
                            : "action takes keep or take_lost");
  }
  if (auto failed =
          submit(caller, std::move(plan->changes), std::nullopt, std::move(plan->resolution))) {
    if (failed->status == 412) {
      return api::problem(409, "already_resolved",
                          "conflict " + std::string(id) + " was resolved meanwhile");
    }
    return *failed;
  }
  return get_conflict(caller, id);
}

}  // namespace libreta::server
