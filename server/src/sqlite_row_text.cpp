#include "sqlite_row_text.hpp"

#include <algorithm>
#include <vector>

#include "libreta/protocol/error.hpp"
#include "libreta/protocol/json_text.hpp"

namespace libreta::server {

std::string encode_fields(const Record& fields) {
  std::string out = "{";
  for (const auto& [name, value] : fields) {
    if (out.size() > 1) out += ',';
    json_text::append_string(out, name);
    out += ':';
    json_text::append_value(out, value);
  }
  out += '}';
  return out;
}

Record decode_fields(std::string_view text) {
  Record fields;
  json_text::Reader reader(text);
  std::string name;
  Value value;
  bool ok = reader.take('{');
  while (ok && !reader.peek('}')) {
    ok = (fields.empty() || reader.take(',')) && reader.string(name) && reader.take(':') &&
         reader.value(value);
    if (ok) json_text::assign_in_order(fields, std::move(name), std::move(value));
  }
  if (!ok || !reader.take('}') || !reader.done()) {
    throw Error(ErrorCode::storage, "corrupt row fields in the server store");
  }
  return fields;
}

// The `versions` text since file version 3: each key's version with the server sequence of
// its last change, {"<version>":{"<seq>":["key",...],...},...}. A row written at once has
// one version and one sequence for all its keys, and an edit adds one of each, so each key
// is written once, where version 2 wrote every key twice (its versions, and key_seqs
// grouped by sequence); rows are about a fifth smaller. Sequence 0: none known (a key a
// version 2 row had no sequence for, which state_after sends in every page).
std::string encode_versions(const RowVersions& versions, const KeySeqs& seqs) {
  struct Group {
    const Version* version;
    std::uint64_t seq;
    std::vector<const std::string*> keys;
  };
  std::vector<Group> groups;
  auto seq = seqs.begin();
  for (const auto& [key, version] : versions.entries()) {
    // Both maps are in key order: walked together.
    while (seq != seqs.end() && seq->first < key) ++seq;
    const std::uint64_t key_seq = seq != seqs.end() && seq->first == key ? seq->second : 0;
    auto group = std::find_if(groups.begin(), groups.end(), [&, &v = version](const Group& g) {
      return g.seq == key_seq && *g.version == v;
    });
    if (group == groups.end()) group = groups.insert(groups.end(), Group{&version, key_seq, {}});
    group->keys.push_back(&key);
  }
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return *a.version == *b.version ? a.seq < b.seq : *a.version < *b.version;
  });
  std::string out = "{";
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (g == 0 || !(*groups[g].version == *groups[g - 1].version)) {
      if (g > 0) out += "},";
      json_text::append_string(out, groups[g].version->to_string());
      out += ":{";
    } else {
      out += ',';
    }
    out += '"';
    out += std::to_string(groups[g].seq);
    out += "\":";
    json_text::append_string_list(out, groups[g].keys);
  }
  if (!groups.empty()) out += '}';
  out += '}';
  return out;
}

// Reads what encode_versions writes; false when the text is anything else.
bool decode_versions(std::string_view text, RowVersions& versions, KeySeqs& seqs) {
  std::map<std::string, Version, std::less<>> entries;
  json_text::Reader reader(text);
  std::string version_text, key;
  if (!reader.take('{')) return false;
  for (bool first = true; !reader.peek('}'); first = false) {
    if ((!first && !reader.take(',')) || !reader.string(version_text) || !reader.take(':') ||
        !reader.take('{')) {
      return false;
    }
    const auto version = Version::parse(version_text);
    if (!version || version->is_none() || reader.peek('}')) return false;  // none, or no keys
    for (bool first_seq = true; !reader.peek('}'); first_seq = false) {
      std::uint64_t seq = 0;
      if ((!first_seq && !reader.take(',')) || !reader.quoted_unsigned(seq) || !reader.take(':') ||
          !reader.take('[') || reader.peek(']')) {
        return false;
      }
      for (bool first_key = true; !reader.peek(']'); first_key = false) {
        if ((!first_key && !reader.take(',')) || !reader.string(key)) return false;
        if (seq != 0) json_text::assign_in_order(seqs, key, seq);
        // A key twice (with two versions, or two sequences) is not what the encoder wrote.
        if (!json_text::insert_in_order(entries, std::move(key), *version)) return false;
      }
      reader.take(']');
    }
    reader.take('}');
  }
  if (!reader.take('}') || !reader.done()) return false;
  versions = RowVersions::from_entries(std::move(entries));
  return true;
}

// Version 2's key_seqs: {"<seq>": ["key", ...], ...}, each sequence once with the keys it
// last changed (its versions were RowVersions::encode's text). Read, no longer written.
KeySeqs decode_key_seqs(std::string_view text) {
  KeySeqs seqs;
  json_text::Reader reader(text);
  std::string key;
  std::uint64_t seq = 0;
  bool ok = reader.take('{');
  for (bool first = true; ok && !reader.peek('}'); first = false) {
    ok = (first || reader.take(',')) && reader.quoted_unsigned(seq) && reader.take(':') &&
         reader.take('[');
    for (bool first_key = true; ok && !reader.peek(']'); first_key = false) {
      ok = (first_key || reader.take(',')) && reader.string(key);
      if (ok) json_text::assign_in_order(seqs, std::move(key), seq);
    }
    ok = ok && reader.take(']');
  }
  if (!ok || !reader.take('}') || !reader.done()) {
    throw Error(ErrorCode::storage, "corrupt key sequences in the server store");
  }
  return seqs;
}

}  // namespace libreta::server
