// A token bucket per key (an API token's id): `rate` requests a second sustained, `burst`
// at once. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace libreta::server::api {

class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}

  // Takes one request from the key's bucket; false (taking nothing) when it is empty.
  bool admit(const std::string& key);

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
  };
  // Keys are tokens that exist (the caller authenticated first): the map stays small.
  static constexpr std::size_t kMaxKeys = 100'000;

  const double rate_;
  const double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace libreta::server::api
