// SqliteSyncReplica: the replica file's last sync time (see sqlite_sync_replica.hpp).
#include "libreta/client/sqlite_sync_replica.hpp"

#include <exception>
#include <string>

namespace libreta::client {
namespace {

constexpr const char* kLastSyncSetting = "last_sync_ms";

}  // namespace

std::optional<std::uint64_t> SqliteSyncReplica::last_sync_ms() const {
  const auto text = replica_.setting(kLastSyncSetting);
  if (!text) return std::nullopt;
  try {
    return std::stoull(*text);
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged setting reads as never synced
  }
}

void SqliteSyncReplica::set_last_sync_ms(std::uint64_t at_ms) {
  replica_.set_setting(kLastSyncSetting, std::to_string(at_ms));
}

}  // namespace libreta::client
