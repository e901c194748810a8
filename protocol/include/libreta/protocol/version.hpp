// The version of one field of one row: (hybrid clock, replica id). The greatest version
// wins; equal clocks are ordered by replica id, so the order is total and deterministic.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "libreta/protocol/hlc.hpp"

namespace libreta {

struct Version {
  Hlc hlc;
  std::string replica;

  bool is_none() const { return hlc.is_zero() && replica.empty(); }
  // "<16 hex digits>:<replica>", or "" for no version. Text order equals version order.
  std::string to_string() const;
  static std::optional<Version> parse(std::string_view text);

  friend auto operator<=>(const Version&, const Version&) = default;
  friend bool operator==(const Version&, const Version&) = default;
};

}  // namespace libreta
