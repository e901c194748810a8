// Backups of the SQLite store, and restoring one (docs/operations.md, "Backup and restore").
// A backup is a consistent copy of the whole file, taken while the server serves and devices
// push; each backup and each restore gives the store a new epoch, so that devices that synced
// with the store before it went back in time notice, send again what it lost and pull again
// (docs/protocol.md, "welcome").
// Functions of one call each; the caller makes sure no server serves a file being restored
// (ServingLock).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace libreta::server {

// What a backup file holds, as its summary says.
struct BackupSummary {
  std::uint64_t last_seq = 0;  // the store's last sequence in the copy
  std::uint64_t rows = 0;
  std::uint64_t tokens = 0;
  std::uint64_t bytes = 0;  // the backup file's size
  int file_version = 0;
  std::string epoch;  // the copy's own epoch
};

// Copies the store `db` into `out` (which must not exist) from one read snapshot, while
// writers go on; checks the copy's integrity and makes it durable before it appears under
// its name. Throws libreta::Error (storage) and leaves no partial file.
BackupSummary backup_sqlite_store(const std::filesystem::path& db,
                                  const std::filesystem::path& out);

// Reads and checks a backup file (integrity, format version this server reads).
BackupSummary inspect_sqlite_backup(const std::filesystem::path& backup);

// Replaces the store `db` with the backup, under a new epoch; the store it replaces (its WAL
// folded in) is kept as `replaced_as` when `db` exists. Throws libreta::Error (storage,
// schema_too_new) and leaves `db` as it was.
BackupSummary restore_sqlite_store(const std::filesystem::path& backup,
                                   const std::filesystem::path& db,
                                   const std::filesystem::path& replaced_as);

// An advisory lock on a store file (created empty if absent), taken before the store is
// opened and released after it is closed, by the server that serves it:
// a second server, or a restore, on the same file is refused while it is held. Not a lock
// SQLite knows of: administration commands (tokens, conflicts, backup) work beside it.
class ServingLock {
 public:
  // Throws libreta::Error (storage, "… is being served by another libreta-server") when
  // another process holds it.
  explicit ServingLock(const std::filesystem::path& db);
  ~ServingLock();
  ServingLock(const ServingLock&) = delete;
  ServingLock& operator=(const ServingLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace libreta::server
