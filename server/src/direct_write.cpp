// The office's and the API's writes: their replica ids, the entity tag of a row, and how the
// writer versions and numbers their changes.
#include "libreta/server/direct_write.hpp"

#include "libreta/server/tokens.hpp"
#include "write_job.hpp"

namespace libreta::server {

namespace {

constexpr std::string_view kOfficePrefix = "office-";
constexpr std::string_view kApiPrefix = "api-";

}  // namespace

const char* origin_name(WriteOrigin origin) {
  return origin == WriteOrigin::office ? "office" : "api";
}

std::string direct_replica_id(WriteOrigin origin, std::string_view user) {
  const std::string prefix(origin == WriteOrigin::office ? kOfficePrefix : kApiPrefix);
  return prefix + hash_token(user).substr(0, 16);
}

bool is_reserved_replica_id(std::string_view replica) {
  return replica == kServerReplica || replica.starts_with(kOfficePrefix) ||
         replica.starts_with(kApiPrefix);
}

std::string row_etag(const RowVersions& versions) {
  // Quoted, as HTTP writes an entity tag; 128 bits of the versions' hash.
  return "\"" + hash_token(versions.encode()).substr(0, 32) + "\"";
}

void stamp_direct_write(WriteJob& job, HybridClock& clock, std::uint64_t acked) {
  std::uint64_t seq = acked;
  for (auto& pushed : job.changes) {
    pushed.seq = ++seq;
    pushed.change.version = Version{clock.now(), job.replica};
  }
  job.upto = seq;
}

}  // namespace libreta::server
