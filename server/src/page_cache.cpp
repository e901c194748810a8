#include "page_cache.hpp"

#include <algorithm>

namespace libreta::server {

std::shared_ptr<const PageCache::Page> PageCache::find(std::uint64_t since, std::uint64_t after) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find({since, after});
  if (it == entries_.end()) return nullptr;
  recency_.splice(recency_.begin(), recency_, it->second.recency);
  return it->second.page;
}

void PageCache::insert(std::uint64_t since, std::uint64_t after, std::uint64_t snapshot_seq,
                       std::shared_ptr<const Page> page) {
  const std::size_t size = page->frame->bytes.size();
  // Last pages change with every commit; one page must not flush the rest.
  if (!page->more || size > max_bytes_ / 4) return;
  std::lock_guard lock(mutex_);
  if (snapshot_seq < seen_through_) return;  // a commit since the snapshot may have changed it
  const Key key{since, after};
  if (auto it = entries_.find(key); it != entries_.end()) erase(it);
  recency_.push_front(key);
  entries_.emplace(key, Entry{std::move(page), recency_.begin()});
  bytes_ += size;
  while (bytes_ > max_bytes_ && !recency_.empty()) erase(entries_.find(recency_.back()));
}

void PageCache::committed(std::uint64_t last_seq,
                          const std::vector<std::uint64_t>& moved_from) noexcept {
  std::lock_guard lock(mutex_);
  seen_through_ = std::max(seen_through_, last_seq);
  for (auto it = entries_.begin(); it != entries_.end();) {
    const std::uint64_t after = it->first.second;
    const Page& page = *it->second.page;
    // Any row that moved away from (after, end]?
    auto first_past_after = std::upper_bound(moved_from.begin(), moved_from.end(), after);
    const bool moved = first_past_after != moved_from.end() && *first_past_after <= page.end;
    auto next = std::next(it);
    if (moved) erase(it);
    it = next;
  }
}

void PageCache::erase(std::map<Key, Entry>::iterator it) {
  bytes_ -= it->second.page->frame->bytes.size();
  recency_.erase(it->second.recency);
  entries_.erase(it);
}

}  // namespace libreta::server
