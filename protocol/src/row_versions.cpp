#include "libreta/protocol/row_versions.hpp"

#include <algorithm>

#include "libreta/protocol/json_text.hpp"

namespace libreta {
namespace {

const Version kNoVersion{};

std::string tag_key(std::string_view field, char op, std::string_view tag) {
  std::string key(field);
  key += op;
  key += tag;
  return key;
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
    // One lookup: this runs for every field of every row a download brings.
    auto it = versions_.lower_bound(change.field);
    if (it != versions_.end() && it->first == change.field) {
      if (!(change.version > it->second)) return false;
      it->second = change.version;
    } else {
      versions_.emplace_hint(it, change.field, change.version);
    }
    return true;
  }
  const bool adding = change.value.is_bool() && change.value.as_bool();
  // An add records its own version; a remove records the add it saw, so that only the
  // adds it observed are undone.
  const std::string key = tag_key(change.field, adding ? '+' : '-', change.element);
  const Version& incoming = adding ? change.version : change.base;
  bool changed = false;
  if (!incoming.is_none() && incoming > field(key)) {
    set_field(key, incoming);
    changed = true;
  }
  // The base also tells the other side the writer held: a remove saw the add at its base,
  // and an add is made only while the tag is absent, that is, removed at its base. Taking
  // it in makes one change carry the whole of the writer's state for the tag, which the
  // device's change log needs: it keeps only the last of an add and a remove of one tag.
  if (!change.base.is_none()) {
    const std::string other = tag_key(change.field, adding ? '-' : '+', change.element);
    if (change.base > field(other)) {
      set_field(other, change.base);
      changed = true;
    }
  }
  return changed;
}

std::vector<Change> changes_to_resend(std::string_view table, std::string_view id,
                                      const Record& fields, const RowVersions& versions,
                                      std::string_view replica, const Version& fresh) {
  std::vector<Change> changes;
  for (const auto& [key, version] : versions.entries()) {
    const auto sign = key.find_first_of("+-");
    if (sign == std::string::npos) {
      if (version.replica != replica) continue;
      auto value = fields.find(key);
      // Its base is lost: the version itself as base marks the change as resent, which the
      // server merges without reporting a conflict.
      changes.push_back(Change{std::string(table),
                               std::string(id),
                               key,
                               {},
                               value == fields.end() ? Value() : value->second,
                               version,
                               version});
      continue;
    }
    const std::string field = key.substr(0, sign);
    const std::string tag = key.substr(sign + 1);
    if (key[sign] == '+') {
      if (version.replica != replica) continue;
      changes.push_back(Change{std::string(table), std::string(id), field, tag, Value(true),
                               version, versions.tag_removed(field, tag)});
    } else if (!versions.tag_present(field, tag)) {
      changes.push_back(
          Change{std::string(table), std::string(id), field, tag, Value(false), fresh, version});
    }
  }
  return changes;
}

TagSet present_tags(const RowVersions& versions, std::string_view field) {
  TagSet tags;
  const std::string prefix = tag_key(field, '+', {});
  for (auto it = versions.entries().lower_bound(prefix);
       it != versions.entries().end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    const std::string_view tag = std::string_view(it->first).substr(prefix.size());
    if (versions.tag_present(field, tag)) tags.emplace_back(tag);
  }
  return tags;
}

void write_merged_value(Record& fields, const RowVersions& versions, const Change& change,
                        Value value) {
  if (!change.element.empty()) {
    TagSet tags = present_tags(versions, change.field);
    if (!tags.empty()) {
      fields.insert_or_assign(change.field, Value(std::move(tags)));
      return;
    }
  } else if (!value.is_null()) {
    fields.insert_or_assign(change.field, std::move(value));
    return;
  }
  auto it = fields.find(change.field);
  if (it != fields.end()) fields.erase(it);
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
  // Groups are ordered by version text, which is version order; keys stay in key order.
  std::vector<std::pair<const Version*, std::vector<const std::string*>>> groups;
  for (const auto& [key, version] : versions_) {
    // An init-capture: clang before 16 cannot capture a structured binding directly.
    auto group = std::find_if(groups.begin(), groups.end(),
                              [&current = version](const auto& g) { return *g.first == current; });
    if (group == groups.end()) {
      groups.push_back({&version, {}});
      group = std::prev(groups.end());
    }
    group->second.push_back(&key);
  }
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  std::string out = "{";
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (g) out += ',';
    json_text::append_string(out, groups[g].first->to_string());
    out += ':';
    json_text::append_string_list(out, groups[g].second);
  }
  out += '}';
  return out;
}

std::optional<RowVersions> RowVersions::decode(std::string_view blob) {
  // Read without a general JSON parser: this runs for every row a write touches.
  json_text::Reader reader(blob);
  RowVersions result;
  if (!reader.take('{')) return std::nullopt;
  std::string version_text, key;
  bool first = true;
  while (!reader.peek('}')) {
    if (!first && !reader.take(',')) return std::nullopt;
    first = false;
    if (!reader.string(version_text) || !reader.take(':') || !reader.take('[')) return std::nullopt;
    auto version = Version::parse(version_text);
    if (!version || version->is_none()) return std::nullopt;
    bool first_key = true;
    while (!reader.peek(']')) {
      if (!first_key && !reader.take(',')) return std::nullopt;
      first_key = false;
      if (!reader.string(key)) return std::nullopt;
      json_text::assign_in_order(result.versions_, key, *version);
    }
    reader.take(']');
  }
  reader.take('}');
  if (!reader.done()) return std::nullopt;
  return result;
}

RowVersions RowVersions::from_entries(std::map<std::string, Version, std::less<>> entries) {
  RowVersions result;
  result.versions_ = std::move(entries);
  std::erase_if(result.versions_, [](const auto& entry) { return entry.second.is_none(); });
  return result;
}

}  // namespace libreta
