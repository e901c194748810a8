#include "rate_limiter.hpp"

#include <algorithm>

namespace libreta::server::api {

bool RateLimiter::admit(const std::string& key) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (buckets_.size() >= kMaxKeys && !buckets_.count(key)) buckets_.clear();
  auto [it, added] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!added) {
    const std::chrono::duration<double> elapsed = now - bucket.refilled;
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed.count() * rate_);
    bucket.refilled = now;
  }
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

}  // namespace libreta::server::api
