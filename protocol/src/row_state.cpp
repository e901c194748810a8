#include "libreta/protocol/row_state.hpp"

#include <nlohmann/json.hpp>

#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/value_json.hpp"

namespace libreta {

std::vector<Change> to_changes(const RowState& row) {
  std::vector<Change> changes;
  changes.reserve(row.versions.entries().size());
  for (const auto& [key, version] : row.versions.entries()) {
    const auto split = key.find_first_of("+-");
    if (split == std::string::npos) {
      auto it = row.fields.find(key);
      changes.push_back({row.table,
                         row.id,
                         key,
                         {},
                         it == row.fields.end() ? Value() : it->second,
                         version,
                         Version{}});
    } else if (key[split] == '+') {
      changes.push_back({row.table,
                         row.id,
                         key.substr(0, split),
                         key.substr(split + 1),
                         Value(true),
                         version,
                         {}});
    } else {
      // A remove horizon travels as a remove whose base is the horizon.
      changes.push_back({row.table, row.id, key.substr(0, split), key.substr(split + 1),
                         Value(false), version, version});
    }
  }
  return changes;
}

nlohmann::json row_state_to_json(const RowState& row) {
  nlohmann::json values = nlohmann::json::object();
  for (const auto& [name, value] : row.fields) values[name] = value_to_json(value);
  return {{"t", row.table},
          {"r", row.id},
          {"v", std::move(values)},
          {"ver", nlohmann::json::parse(row.versions.encode())}};
}

std::string encode_row_state(const RowState& row) {
  return row_state_to_json(row).dump();
}

Result<RowState> row_state_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Error(ErrorCode::wrong_type, "a row must be a JSON object");
  for (const auto& [key, member] : j.items()) {
    if (key != "t" && key != "r" && key != "v" && key != "ver") {
      return Error(ErrorCode::unknown_field, "unknown member \"" + key + "\" in a row");
    }
  }
  RowState row;
  const auto t = j.find("t"), r = j.find("r"), v = j.find("v"), ver = j.find("ver");
  if (t == j.end() || r == j.end() || v == j.end() || ver == j.end()) {
    return Error(ErrorCode::missing_field, "a row needs \"t\", \"r\", \"v\" and \"ver\"");
  }
  if (!t->is_string() || !r->is_string() || !v->is_object() || !ver->is_object()) {
    return Error(ErrorCode::wrong_type,
                 "a row's \"t\" and \"r\" are texts, \"v\" and \"ver\" objects");
  }
  row.table = t->get<std::string>();
  row.id = r->get<std::string>();
  if (!is_valid_row_id(row.id))
    return Error(ErrorCode::invalid_value, "\"r\" is not a valid row id");
  for (const auto& [name, value] : v->items()) {
    auto decoded = value_from_json(value);
    if (!decoded) return decoded.error();
    row.fields.emplace(name, std::move(decoded).value());
  }
  for (const auto& [version_text, keys] : ver->items()) {
    auto version = Version::parse(version_text);
    if (!version || version->is_none() || !keys.is_array()) {
      return Error(ErrorCode::invalid_value, "a row's \"ver\" is not a set of versions");
    }
    for (const auto& key : keys) {
      if (!key.is_string()) {
        return Error(ErrorCode::invalid_value, "a row's \"ver\" is not a set of versions");
      }
      row.versions.set_field(key.get_ref<const std::string&>(), *version);
    }
  }
  return row;
}

}  // namespace libreta
