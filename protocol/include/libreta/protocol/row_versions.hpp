// The merge state of one row: the version of each of its fields, and of each tag's adds and
// removes. Stored compactly as one blob per row. Also the merge rule itself, shared by
// replicas and server so that both decide identically. Plain data; not thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libreta/protocol/change.hpp"
#include "libreta/protocol/version.hpp"

namespace libreta {

class RowVersions {
 public:
  // The version of a field; none if the field was never set.
  const Version& field(std::string_view field) const;
  // Sets a field's version; setting none forgets the field.
  void set_field(std::string_view field, Version version);

  // Tag sets are observed-remove sets: a tag is present while the newest add is newer than
  // every add a remove has seen. An add concurrent with a remove therefore survives.
  const Version& tag_added(std::string_view field, std::string_view tag) const;
  const Version& tag_removed(std::string_view field, std::string_view tag) const;
  bool tag_present(std::string_view field, std::string_view tag) const;

  // Applies `change`'s version to this state by the merge rule. Returns true when the row's
  // visible value changes (the caller then writes change.value, or recomputes the tag set).
  bool merge(const Change& change);

  // The greatest version of any field: when the row last changed.
  Version latest() const;
  bool empty() const { return versions_.empty(); }
  // Every (key, version) in key order; keys are field names, "field+tag" for a tag's add,
  // "field-tag" for a tag's remove horizon.
  const std::map<std::string, Version, std::less<>>& entries() const { return versions_; }

  // Compact, deterministic text: the distinct versions, each followed by its keys.
  std::string encode() const;
  static std::optional<RowVersions> decode(std::string_view blob);
  // The state whose entries() are `entries`, for a store that keeps versions in a form of its
  // own. An entry whose version is none is left out: a field without a version has none.
  static RowVersions from_entries(std::map<std::string, Version, std::less<>> entries);

  friend bool operator==(const RowVersions&, const RowVersions&) = default;

 private:
  std::map<std::string, Version, std::less<>> versions_;
};

// The changes that give a store that lost them the keys of a row `replica` wrote last, as
// they are: each field it wrote (its value and version), each tag it added; and the removal
// of each absent tag, under `fresh` (a new version of `replica`, later than every key: a
// removal keeps only the add it removed). Used after the server's store went back in time.
std::vector<Change> changes_to_resend(std::string_view table, std::string_view id,
                                      const Record& fields, const RowVersions& versions,
                                      std::string_view replica, const Version& fresh);

// The tags of a tag-set field that are present by `versions`, in tag order.
TagSet present_tags(const RowVersions& versions, std::string_view field);

// Writes into a row's values what a change that won (RowVersions::merge returned true, or a
// field was set back to a state) makes of its field: a tag set is recomputed from the row's
// versions, an empty one or a null value clears the field, any other value replaces it.
// `value` is the change's value, moved in; it is unused for a tag.
void write_merged_value(Record& fields, const RowVersions& versions, const Change& change,
                        Value value);

}  // namespace libreta
