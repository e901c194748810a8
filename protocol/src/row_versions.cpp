#include "libreta/protocol/row_versions.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace libreta {
namespace {

const Version kNoVersion{};

std::string tag_key(std::string_view field, char op, std::string_view tag) {
  std::string key(field);
  key += op;
  key += tag;
  return key;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

const Version& RowVersions::field(std::string_view field) const {
  auto it = versions_.find(field);
  return it == versions_.end() ? kNoVersion : it->second;
}

void RowVersions::set_field(std::string_view field, Version version) {
  auto it = versions_.find(field);
  if (version.is_none()) {
    // No version is the same as never set; storing it would make encode() write a group
    // that decode() refuses.
    if (it != versions_.end()) versions_.erase(it);
  } else if (it == versions_.end()) {
    versions_.emplace(std::string(field), std::move(version));
  } else {
    it->second = std::move(version);
  }
}

const Version& RowVersions::tag_added(std::string_view field, std::string_view tag) const {
  return this->field(tag_key(field, '+', tag));
}

const Version& RowVersions::tag_removed(std::string_view field, std::string_view tag) const {
  return this->field(tag_key(field, '-', tag));
}

bool RowVersions::tag_present(std::string_view field, std::string_view tag) const {
  const Version& added = tag_added(field, tag);
  return !added.is_none() && added > tag_removed(field, tag);
}

bool RowVersions::merge(const Change& change) {
  if (change.element.empty()) {
    if (!(change.version > field(change.field))) return false;
    set_field(change.field, change.version);
    return true;
  }
  const bool adding = change.value.is_bool() && change.value.as_bool();
  // An add records its own version; a remove records the add it saw, so that only the
  // adds it observed are undone.
  const std::string key = tag_key(change.field, adding ? '+' : '-', change.element);
  const Version& incoming = adding ? change.version : change.base;
  if (incoming.is_none() || !(incoming > field(key))) return false;
  set_field(key, incoming);
  return true;
}

Version RowVersions::latest() const {
  Version best;
  for (const auto& [key, version] : versions_) {
    if (version > best) best = version;
  }
  return best;
}

std::string RowVersions::encode() const {
  // Group keys by version: a row written at once has a single version for all its fields.
  std::map<std::string, std::vector<const std::string*>> groups;
  for (const auto& [key, version] : versions_) {
    groups[version.to_string()].push_back(&key);
  }
  std::string out = "{";
  bool first_group = true;
  for (const auto& [version, keys] : groups) {
    if (!first_group) out += ',';
    first_group = false;
    append_json_string(out, version);
    out += ":[";
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, *keys[i]);
    }
    out += ']';
  }
  out += '}';
  return out;
}

std::optional<RowVersions> RowVersions::decode(std::string_view blob) {
  const auto json = nlohmann::json::parse(blob, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  RowVersions result;
  for (const auto& [version_text, keys] : json.items()) {
    auto version = Version::parse(version_text);
    if (!version || version->is_none() || !keys.is_array()) return std::nullopt;
    for (const auto& key : keys) {
      if (!key.is_string()) return std::nullopt;
      result.versions_[key.get<std::string>()] = *version;
    }
  }
  return result;
}

}  // namespace libreta
