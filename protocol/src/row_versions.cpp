#include "libreta/protocol/row_versions.hpp"

#include <algorithm>
#include <cstdio>

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
  // Field names and versions never need escaping; tags rarely do.
  const bool plain = std::none_of(text.begin(), text.end(), [](char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
  if (plain) {
    out += '"';
    out += text;
    out += '"';
    return;
  }
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
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
    append_json_string(out, groups[g].first->to_string());
    out += ":[";
    const auto& keys = groups[g].second;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, *keys[i]);
    }
    out += ']';
  }
  out += '}';
  return out;
}

namespace {

// A reader for exactly the JSON that encode() writes: an object of arrays of strings. It
// runs for every row a write touches, where a general JSON parser costs more than the
// write's SQL.
class BlobReader {
 public:
  explicit BlobReader(std::string_view text) : text_(text) {}

  void skip_space() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\t' || text_[at_] == '\r')) {
      ++at_;
    }
  }
  bool take(char c) {
    skip_space();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skip_space();
    return at_ < text_.size() && text_[at_] == c;
  }
  bool done() {
    skip_space();
    return at_ == text_.size();
  }
  // A JSON string; false if malformed. Escapes are decoded (\uXXXX within the BMP).
  bool string(std::string& out) {
    out.clear();
    if (!take('"')) return false;
    while (at_ < text_.size()) {
      const char c = text_[at_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) return false;
      const char e = text_[at_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (at_ + 4 > text_.size()) return false;
          unsigned code = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = text_[at_++];
            code <<= 4;
            if (h >= '0' && h <= '9')
              code |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f')
              code |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
              code |= static_cast<unsigned>(h - 'A' + 10);
            else
              return false;
          }
          if (code >= 0xd800 && code <= 0xdfff) return false;  // never written by encode()
          if (code < 0x80) {
            out += static_cast<char>(code);
          } else if (code < 0x800) {
            out += static_cast<char>(0xc0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3f));
          } else {
            out += static_cast<char>(0xe0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (code & 0x3f));
          }
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

 private:
  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace

std::optional<RowVersions> RowVersions::decode(std::string_view blob) {
  BlobReader reader(blob);
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
      result.versions_.insert_or_assign(key, *version);
    }
    reader.take(']');
  }
  reader.take('}');
  if (!reader.done()) return std::nullopt;
  return result;
}

}  // namespace libreta
