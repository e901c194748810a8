// The embedded storage of libreta-server: one SQLite file in WAL mode, one write connection
// (used by the writer thread) and a pool of read connections. Commits are durable
// (synchronous = FULL) before anything is acknowledged.
#pragma once

#include <filesystem>
#include <memory>

#include "libreta/server/store.hpp"

namespace libreta::server {

struct SqliteStoreOptions {
  // Largest database size in bytes (0: no limit), enforced with SQLite's max_page_count so
  // that a full "disk" is reported as storage_full; used by operators and fault tests.
  std::uint64_t max_bytes = 0;
};

std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& file,
                                         SqliteStoreOptions options = {});

}  // namespace libreta::server
