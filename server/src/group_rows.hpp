// The rows one group commit touches, as loaded from the store and as merged so far: built by
// the Merger on the writer thread, then read by the live update on the publisher thread,
// which frees them. Hashed by (table, id): a change looks its row up two or three times, in
// a group of up to 10,000 rows; Merger::finish orders them once, to number them.
#pragma once

#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "libreta/server/store.hpp"

namespace libreta::server {

// A row one group commit touches.
struct GroupRow {
  ServerRow row;
  bool existed = false;         // stored before this commit
  std::string stored_customer;  // its customer and scope as stored
  std::string stored_scope;
  std::set<std::string> changed;  // version keys this commit changed
};

// A row's (table, id), and a view of one for looking it up without copying the strings.
using RowKey = std::pair<std::string, std::string>;
using RowKeyView = std::pair<std::string_view, std::string_view>;

struct RowKeyHash {
  using is_transparent = void;
  std::size_t operator()(const RowKeyView& key) const {
    const std::size_t table = std::hash<std::string_view>()(key.first);
    return table ^ (std::hash<std::string_view>()(key.second) + 0x9e3779b97f4a7c15ULL +
                    (table << 6) + (table >> 2));
  }
  std::size_t operator()(const RowKey& key) const { return (*this)(RowKeyView(key)); }
};

struct RowKeyEqual {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::string_view(a.first) == std::string_view(b.first) &&
           std::string_view(a.second) == std::string_view(b.second);
  }
};

using GroupRows = std::unordered_map<RowKey, GroupRow, RowKeyHash, RowKeyEqual>;

}  // namespace libreta::server
