// A change record: one field of one row set to a value at a version, with the version the
// writer saw before (its base). Tag sets change one element at a time. Plain data.
#pragma once

#include <string>

#include "libreta/protocol/value.hpp"
#include "libreta/protocol/version.hpp"

namespace libreta {

// The pseudo-field every table has: a delete is `deleted = true` at a version.
inline constexpr const char* kDeletedField = "deleted";

struct Change {
  std::string table;
  std::string row;
  std::string field;
  // For a tag-set field: the tag this change adds (value true) or removes (value false);
  // empty for every other field.
  std::string element;
  Value value;
  Version version;
  // The version of this field (for a tag: of the tag's latest add) that the writer saw when
  // making the change; none for a field that was never set.
  Version base;

  friend bool operator==(const Change&, const Change&) = default;
};

}  // namespace libreta
