#include "json_in.hpp"

#include <algorithm>

#include "libreta/protocol/error.hpp"
#include "libreta/protocol/json_limits.hpp"
#include "libreta/protocol/value_json.hpp"

namespace libreta::capi {

using nlohmann::json;

namespace {

// A record holds no more than this: a tag set is one array deep.
constexpr JsonLimits kInputLimits{
    .max_bytes = kMaxInputJsonBytes,
    .max_depth = 3,
    .max_values = 10'000,
    .max_string_bytes = 128 * 1024,
};

std::optional<std::string> text_member(const json& object, const char* name) {
  const auto member = object.find(name);
  if (member == object.end() || member->is_null()) return std::nullopt;
  if (!member->is_string()) {
    throw Error(ErrorCode::wrong_type, std::string("\"") + name + "\" must be text");
  }
  return member->get<std::string>();
}

}  // namespace

json parse_object(std::string_view text, const char* what) {
  if (auto limits = check_json_limits(text, kInputLimits); !limits.ok()) {
    throw Error(limits.error().code(), std::string(what) + ": " + limits.error().what());
  }
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) throw Error(ErrorCode::malformed, std::string(what) + " is not JSON");
  if (!parsed.is_object()) {
    throw Error(ErrorCode::wrong_type, std::string(what) + " must be a JSON object");
  }
  return parsed;
}

Record record_from_json(std::string_view text, std::string* id) {
  const json object = parse_object(text, "the fields");
  Record record;
  for (const auto& [name, raw] : object.items()) {
    if (id != nullptr && name == "id") {
      if (!raw.is_string()) throw Error(ErrorCode::wrong_type, "\"id\" must be text");
      *id = raw.get<std::string>();
      continue;
    }
    auto value = value_from_json(raw);
    if (!value.ok()) {
      throw Error(value.error().code(), "field \"" + name + "\": " + value.error().what());
    }
    record.emplace(name, std::move(value).value());
  }
  return record;
}

client::CustomerFilter customer_filter_from_json(const char* text) {
  client::CustomerFilter filter;
  if (text == nullptr || *text == '\0') return filter;
  const json object = parse_object(text, "the filter");
  static const char* const kKnown[] = {"status", "relationship", "segment", "city",
                                       "region", "owner",        "tag",     "limit"};
  for (const auto& [name, value] : object.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      throw Error(ErrorCode::unknown_field, "the customers' filter has no \"" + name + "\"");
    }
  }
  filter.status = text_member(object, "status");
  filter.relationship = text_member(object, "relationship");
  filter.segment = text_member(object, "segment");
  filter.city = text_member(object, "city");
  filter.region = text_member(object, "region");
  filter.owner = text_member(object, "owner");
  filter.tag = text_member(object, "tag");
  if (const auto limit = object.find("limit"); limit != object.end() && !limit->is_null()) {
    if (!limit->is_number_integer() || limit->get<std::int64_t>() < 1) {
      throw Error(ErrorCode::invalid_value, "\"limit\" must be a whole number from 1");
    }
    filter.limit = limit->get<std::size_t>();
  }
  return filter;
}

std::string customer_id_from_json(const char* text) {
  if (text == nullptr || *text == '\0') {
    throw Error(ErrorCode::missing_field, "the filter needs a \"customer_id\"");
  }
  const json object = parse_object(text, "the filter");
  for (const auto& [name, value] : object.items()) {
    if (name != "customer_id") {
      throw Error(ErrorCode::unknown_field, "this list's filter has no \"" + name + "\"");
    }
  }
  auto id = text_member(object, "customer_id");
  if (!id) throw Error(ErrorCode::missing_field, "the filter needs a \"customer_id\"");
  return *id;
}

}  // namespace libreta::capi
