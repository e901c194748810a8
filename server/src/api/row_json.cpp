#include "row_json.hpp"

#include <algorithm>

#include "libreta/protocol/row_versions.hpp"
#include "libreta/protocol/value_json.hpp"

namespace libreta::server::api {

namespace {

constexpr std::string_view kCreatedAt = "created_at";
constexpr std::string_view kUpdatedAt = "updated_at";

// The change of a tag set to `wanted`: an add for each tag it lacks, a remove for each it
// has and `wanted` does not.
void tag_changes(const FieldSpec& field, const std::string& table, const std::string& id,
                 const ServerRow* row, const TagSet& wanted, std::vector<Change>& out) {
  const TagSet present = row ? present_tags(row->versions, field.name) : TagSet{};
  for (const auto& tag : wanted) {
    if (std::binary_search(present.begin(), present.end(), tag)) continue;
    const Version base = row ? row->versions.tag_added(field.name, tag) : Version{};
    out.push_back(Change{table, id, field.name, tag, Value(true), Version{}, base});
  }
  for (const auto& tag : present) {
    if (std::binary_search(wanted.begin(), wanted.end(), tag)) continue;
    out.push_back(Change{table, id, field.name, tag, Value(false), Version{},
                         row->versions.tag_added(field.name, tag)});
  }
}

}  // namespace

nlohmann::json row_json(const TableSpec& table, const ServerRow& row) {
  nlohmann::json out = nlohmann::json::object();
  out["id"] = row.id;
  for (const auto& field : table.fields) {
    auto it = row.fields.find(field.name);
    if (it == row.fields.end() || it->second.is_null()) continue;
    out[field.name] = value_to_json(it->second);
  }
  return out;
}

Result<std::vector<Change>> changes_for(const TableSpec& table, const std::string& id,
                                        const ServerRow* row, const nlohmann::json& body,
                                        const std::string& now) {
  if (!body.is_object()) {
    return Error(ErrorCode::wrong_type, "the body must be a JSON object of fields and values");
  }
  std::vector<Change> changes;
  for (const auto& [name, json] : body.items()) {
    if (name == "id") {
      if (!json.is_string() || json.get<std::string>() != id) {
        return Error(ErrorCode::invalid_value, "\"id\" cannot be changed");
      }
      continue;
    }
    const FieldSpec* field = table.field(name);
    if (!field) {
      return Error(ErrorCode::unknown_field,
                   "'" + table.name + "' has no field named '" + name + "'");
    }
    auto decoded = value_from_json(json);
    if (!decoded) return Error(ErrorCode::wrong_type, "'" + name + "': " + decoded.error().what());
    // Checked, and in canonical form (trimmed text, sorted tags), before it is compared.
    auto value = field->validate(decoded.value());
    if (!value) return Error(value.error().code(), "'" + name + "': " + value.error().what());
    if (field->kind == FieldKind::tag_set) {
      const TagSet wanted = value.value().is_tags() ? value.value().as_tags() : TagSet{};
      tag_changes(*field, table.name, id, row, wanted, changes);
      continue;
    }
    if (row) {
      auto current = row->fields.find(name);
      const bool same =
          current == row->fields.end() ? value.value().is_null() : current->second == value.value();
      if (same) continue;
    }
    const Version base = row ? row->versions.field(name) : Version{};
    changes.push_back(Change{table.name, id, name, {}, std::move(value).value(), Version{}, base});
  }
  if (changes.empty()) return changes;
  // What the devices do on their writes: the creation's time, and each change's.
  for (const std::string_view automatic : {kCreatedAt, kUpdatedAt}) {
    const FieldSpec* field = table.field(automatic);
    if (!field || !field->automatic || body.contains(std::string(automatic))) continue;
    if (automatic == kCreatedAt && row) continue;
    changes.push_back(Change{table.name,
                             id,
                             field->name,
                             {},
                             Value(now),
                             Version{},
                             row ? row->versions.field(field->name) : Version{}});
  }
  return changes;
}

}  // namespace libreta::server::api
