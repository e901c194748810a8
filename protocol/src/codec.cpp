#include "libreta/protocol/codec.hpp"

#include <nlohmann/json.hpp>

#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/value_json.hpp"

namespace libreta {
namespace {

using json = nlohmann::json;

bool is_field_name(std::string_view name);

}  // namespace

json value_to_json(const Value& value) {
  switch (value.type()) {
    case Value::Type::null:
      return nullptr;
    case Value::Type::boolean:
      return value.as_bool();
    case Value::Type::integer:
      return value.as_integer();
    case Value::Type::number:
      return value.as_number();
    case Value::Type::text:
      return value.as_text();
    case Value::Type::tags:
      return value.as_tags();
  }
  return nullptr;
}

Result<Value> value_from_json(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return Value();
    case json::value_t::boolean:
      return Value(j.get<bool>());
    case json::value_t::number_integer:
      return Value(j.get<std::int64_t>());
    case json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) {
        return Error(ErrorCode::invalid_value, "integer out of range");
      }
      return Value(static_cast<std::int64_t>(u));
    }
    case json::value_t::number_float:
      return Value(j.get<double>());
    case json::value_t::string:
      return Value(j.get<std::string>());
    case json::value_t::array: {
      TagSet tags;
      for (const auto& item : j) {
        if (!item.is_string()) return Error(ErrorCode::wrong_type, "a tag set holds only texts");
        tags.push_back(item.get<std::string>());
      }
      return Value(std::move(tags));
    }
    default:
      return Error(ErrorCode::wrong_type,
                   "a value must be null, boolean, number, text or a list of texts");
  }
}

namespace {

bool is_field_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '_') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Result<std::string> required_string(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return Error(ErrorCode::missing_field, std::string("missing \"") + key + "\"");
  if (!it->is_string())
    return Error(ErrorCode::wrong_type, std::string("\"") + key + "\" must be text");
  return it->get<std::string>();
}

Result<Version> parse_version(const json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return Error(ErrorCode::missing_field, std::string("missing \"") + key + "\"");
    return Version{};
  }
  if (!it->is_string())
    return Error(ErrorCode::wrong_type, std::string("\"") + key + "\" must be text");
  auto version = Version::parse(it->get_ref<const std::string&>());
  if (!version || (required && version->is_none())) {
    return Error(ErrorCode::invalid_value,
                 std::string("\"") + key + "\" is not a version (<16 hex digits>:<replica id>)");
  }
  return *version;
}

}  // namespace

json change_to_json(const Change& change) {
  json j = json::object();
  j["t"] = change.table;
  j["r"] = change.row;
  j["f"] = change.field;
  if (!change.element.empty()) j["e"] = change.element;
  j["v"] = value_to_json(change.value);
  j["ver"] = change.version.to_string();
  if (!change.base.is_none()) j["base"] = change.base.to_string();
  return j;
}

Result<Change> change_from_json(const json& j) {
  if (!j.is_object()) return Error(ErrorCode::wrong_type, "a change must be a JSON object");
  for (const auto& [key, member] : j.items()) {
    if (key != "t" && key != "r" && key != "f" && key != "e" && key != "v" && key != "ver" &&
        key != "base") {
      return Error(ErrorCode::unknown_field, "unknown member \"" + key + "\" in a change");
    }
  }
  Change change;
  auto table = required_string(j, "t");
  if (!table) return table.error();
  change.table = std::move(table).value();
  auto row = required_string(j, "r");
  if (!row) return row.error();
  change.row = std::move(row).value();
  if (!is_valid_row_id(change.row)) {
    return Error(ErrorCode::invalid_value, "\"r\" is not a valid row id");
  }
  auto field = required_string(j, "f");
  if (!field) return field.error();
  change.field = std::move(field).value();
  if (!is_field_name(change.field)) {
    return Error(ErrorCode::invalid_value, "\"f\" is not a valid field name");
  }
  if (auto it = j.find("e"); it != j.end()) {
    if (!it->is_string()) return Error(ErrorCode::wrong_type, "\"e\" must be text");
    change.element = it->get<std::string>();
    if (change.element.empty()) return Error(ErrorCode::invalid_value, "\"e\" must not be empty");
  }
  auto it = j.find("v");
  if (it == j.end()) return Error(ErrorCode::missing_field, "missing \"v\"");
  auto value = value_from_json(*it);
  if (!value) return value.error();
  change.value = std::move(value).value();
  auto version = parse_version(j, "ver", true);
  if (!version) return version.error();
  change.version = std::move(version).value();
  auto base = parse_version(j, "base", false);
  if (!base) return base.error();
  change.base = std::move(base).value();
  return change;
}

std::string encode_changes(const std::vector<Change>& changes) {
  json array = json::array();
  for (const auto& change : changes) array.push_back(change_to_json(change));
  return array.dump();
}

Result<std::vector<Change>> decode_changes(std::string_view text) {
  if (text.size() > kMaxChangesTextBytes) {
    return Error(ErrorCode::too_large, "a batch of changes is larger than " +
                                           std::to_string(kMaxChangesTextBytes) + " bytes");
  }
  // Before a tree is built: its cost is many times the text's (json_limits.hpp).
  if (auto checked = check_json_limits(text, kChangesJsonLimits); !checked) {
    return checked.error();
  }
  const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Error(ErrorCode::malformed, "not valid JSON");
  if (!parsed.is_array()) return Error(ErrorCode::wrong_type, "changes must be a JSON array");
  if (parsed.size() > kMaxChangesPerBatch) {
    return Error(ErrorCode::too_large,
                 "more than " + std::to_string(kMaxChangesPerBatch) + " changes in one batch");
  }
  std::vector<Change> changes;
  changes.reserve(parsed.size());
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    auto change = change_from_json(parsed[i]);
    if (!change) {
      return Error(change.error().code(),
                   "change " + std::to_string(i) + ": " + change.error().what());
    }
    changes.push_back(std::move(change).value());
  }
  return changes;
}

Status validate_change(const Schema& schema, Change& change) {
  auto value = validated_value(schema, change);
  if (!value) return value.error();
  change.value = std::move(value).value();
  return Ok{};
}

Result<Value> validated_value(const Schema& schema, const Change& change) {
  const TableSpec* table = schema.table(change.table);
  if (!table) return Error(ErrorCode::unknown_table, "unknown table '" + change.table + "'");
  if (change.field == kDeletedField) {
    if (!change.element.empty() || !change.value.is_bool()) {
      return Error(ErrorCode::wrong_type, "'deleted' takes true or false");
    }
    return change.value;
  }
  const FieldSpec* spec = table->field(change.field);
  if (!spec) {
    // A field from a newer schema: kept as it is, but it must still be a plain value.
    if (!change.element.empty() || change.value.is_tags()) {
      return Error(ErrorCode::unknown_field,
                   "unknown field '" + change.field + "' must carry a plain value");
    }
    if (change.value.is_text() && change.value.as_text().size() > kMaxLongTextLength) {
      return Error(ErrorCode::too_large, "unknown field '" + change.field + "' is longer than " +
                                             std::to_string(kMaxLongTextLength) + " bytes");
    }
    return change.value;
  }
  if (spec->kind == FieldKind::tag_set) {
    if (change.element.empty()) {
      return Error(ErrorCode::invalid_value,
                   "field '" + change.field + "' changes one tag at a time (\"e\")");
    }
    if (!change.value.is_bool()) {
      return Error(ErrorCode::wrong_type, "a tag change takes true (add) or false (remove)");
    }
    auto tags = spec->validate(Value(TagSet{change.element}));
    if (!tags) return tags.error();
    if (tags.value().as_tags().size() != 1 || tags.value().as_tags()[0] != change.element) {
      return Error(ErrorCode::invalid_value, "tag '" + change.element + "' is not canonical");
    }
    return change.value;
  }
  if (!change.element.empty()) {
    return Error(ErrorCode::invalid_value, "field '" + change.field + "' is not a tag set");
  }
  return spec->validate(change.value);
}

}  // namespace libreta
