// Pages of pulls that read everything (managers, the office), each read from the store,
// encoded and compressed once and then shared. In a storm many devices ask for the same
// (since, after) pages: several devices bootstrapping at once, or a Monday morning's
// reconnections all resuming from one cursor. Without the cache each of them costs a store
// read, a parse, an encoding and a compression per device.
//
// Validity. A page covers the rows whose sequence is in (after, end]. A commit can change
// that set only by writing again one of those rows, which gives it a later sequence: the
// writer reports the sequences rows moved away from (committed()), and pages covering any
// of them are dropped. New rows get sequences past every full page's end, so a full page
// (more = true) stays valid otherwise; the last page of a scan (more = false) changes with
// any commit and is not kept. A page read from a snapshot older than a commit the cache has
// already seen is not kept either: it might hold what that commit changed. This relies on
// the service's writer being the only writer of rows while the service runs (it is: the
// store's other writes are tokens).
//
// Bounded by bytes (least recently used pages go first). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "libreta/server/frame.hpp"

namespace libreta::server {

class PageCache {
 public:
  struct Page {
    SharedFrame frame;  // compressed when that gains, else text
    std::uint64_t end = 0;
    bool more = false;
  };

  explicit PageCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  std::shared_ptr<const Page> find(std::uint64_t since, std::uint64_t after);
  // A page of the pull (since, after), read from a snapshot whose last sequence was
  // `snapshot_seq`. Only full pages are kept.
  void insert(std::uint64_t since, std::uint64_t after, std::uint64_t snapshot_seq,
              std::shared_ptr<const Page> page);
  // A commit ending at `last_seq` wrote again the rows that had the sequences `moved_from`
  // (sorted). Allocates nothing, so it cannot fail after the commit it reports.
  void committed(std::uint64_t last_seq, const std::vector<std::uint64_t>& moved_from) noexcept;

 private:
  using Key = std::pair<std::uint64_t, std::uint64_t>;  // since, after
  struct Entry {
    std::shared_ptr<const Page> page;
    std::list<Key>::iterator recency;
  };
  void erase(std::map<Key, Entry>::iterator it);

  const std::size_t max_bytes_;
  std::mutex mutex_;
  std::map<Key, Entry> entries_;
  std::list<Key> recency_;  // most recently used first
  std::size_t bytes_ = 0;
  std::uint64_t seen_through_ = 0;  // the last sequence of the newest commit reported
};

}  // namespace libreta::server
