#include "libreta/server/sqlite_backup.hpp"

#include <cerrno>
#include <cstring>
#include <random>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "libreta/protocol/error.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/sqlite/sqlite.hpp"
#include "sqlite_schema.hpp"

namespace libreta::server {
namespace {

namespace fs = std::filesystem;

std::string meta(sqlite::Database& db, std::string_view key) {
  auto stmt = db.prepare("SELECT value FROM meta WHERE key = ?");
  stmt.bind(1, key);
  return stmt.step() ? stmt.text(0) : std::string();
}

void set_meta(sqlite::Database& db, std::string_view key, std::string_view value) {
  auto stmt = db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
  stmt.bind(1, key).bind(2, value).run();
}

std::uint64_t count(sqlite::Database& db, const char* table) {
  auto stmt = db.prepare(std::string("SELECT count(*) FROM ") + table);
  stmt.step();
  return static_cast<std::uint64_t>(stmt.integer(0));
}

// Makes a file's content, or a directory's entries, durable.
void sync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw Error(ErrorCode::storage, "cannot make " + path.string() + " durable: " + why);
  }
  ::close(fd);
}

fs::path directory_of(const fs::path& file) {
  const fs::path parent = fs::absolute(file).parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

void remove_quietly(const fs::path& file) {
  std::error_code ec;
  fs::remove(file, ec);
}

// Checks an opened copy and reads its summary.
BackupSummary summarize(sqlite::Database& db, const fs::path& file) {
  auto check = db.prepare("PRAGMA integrity_check");
  const std::string verdict = check.step() ? check.text(0) : "no answer";
  check = {};
  if (verdict != "ok") {
    throw Error(ErrorCode::storage, file.string() + " is damaged: " + verdict);
  }
  auto has_meta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
  if (!has_meta.step()) {
    throw Error(ErrorCode::storage, file.string() + " is not a libreta-server database");
  }
  has_meta = {};
  BackupSummary summary;
  summary.file_version = std::atoi(meta(db, "file_version").c_str());
  if (summary.file_version > current_store_file_version()) {
    throw Error(ErrorCode::schema_too_new,
                file.string() + " is in file format " + std::to_string(summary.file_version) +
                    ", written by a newer libreta-server; this one reads formats up to " +
                    std::to_string(current_store_file_version()));
  }
  summary.last_seq = std::strtoull(meta(db, "last_seq").c_str(), nullptr, 10);
  summary.rows = count(db, "rows");
  summary.tokens = count(db, "tokens");
  summary.epoch = meta(db, "epoch");
  std::error_code ec;
  summary.bytes = fs::file_size(file, ec);
  return summary;
}

}  // namespace

std::string new_store_epoch() {
  // 128 random bits: two stores (or one store before and after a restore) never share one.
  std::random_device random;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string epoch;
  for (int i = 0; i < 8; ++i) {
    const unsigned word = random();
    epoch.push_back(kHex[(word >> 12) & 0xf]);
    epoch.push_back(kHex[(word >> 8) & 0xf]);
    epoch.push_back(kHex[(word >> 4) & 0xf]);
    epoch.push_back(kHex[word & 0xf]);
  }
  return epoch;
}

BackupSummary backup_sqlite_store(const fs::path& db, const fs::path& out) {
  if (!fs::exists(db)) throw Error(ErrorCode::storage, "no database at " + db.string());
  if (fs::exists(out)) {
    throw Error(ErrorCode::storage, out.string() + " exists already; give a new file name");
  }
  const fs::path partial = out.string() + ".partial";
  remove_quietly(partial);
  try {
    {
      sqlite::Database source(db.string(), /*create=*/false);
      // One read transaction of the source: a consistent snapshot, while the server's
      // writer goes on in WAL mode.
      auto vacuum = source.prepare("VACUUM INTO ?");
      vacuum.bind(1, partial.string()).run();
    }
    BackupSummary summary;
    {
      sqlite::Database copy(partial.string(), /*create=*/false);
      const std::string source_epoch = meta(copy, "epoch");
      sqlite::Transaction transaction(copy);
      // The copy is another store from the one it was taken of: restored, even by hand,
      // devices that synced with the live store notice.
      set_meta(copy, "epoch", new_store_epoch());
      set_meta(copy, "backup_of", source_epoch);
      transaction.commit();
      summary = summarize(copy, partial);
    }
    sync_path(partial, false);
    fs::rename(partial, out);
    sync_path(directory_of(out), true);
    std::error_code ec;
    summary.bytes = fs::file_size(out, ec);
    return summary;
  } catch (const Error&) {
    remove_quietly(partial);
    throw;
  } catch (const std::exception& e) {
    remove_quietly(partial);
    throw Error(ErrorCode::storage, std::string("backup failed: ") + e.what());
  }
}

BackupSummary inspect_sqlite_backup(const fs::path& backup) {
  if (!fs::exists(backup)) throw Error(ErrorCode::storage, "no backup at " + backup.string());
  sqlite::Database copy(backup.string(), /*create=*/false);
  copy.exec("PRAGMA query_only = ON");
  return summarize(copy, backup);
}

BackupSummary restore_sqlite_store(const fs::path& backup, const fs::path& db,
                                   const fs::path& replaced_as) {
  inspect_sqlite_backup(backup);
  const fs::path restoring = db.string() + ".restoring";
  remove_quietly(restoring);
  BackupSummary summary;
  try {
    fs::copy_file(backup, restoring);
    {
      sqlite::Database copy(restoring.string(), /*create=*/false);
      sqlite::Transaction transaction(copy);
      set_meta(copy, "epoch", new_store_epoch());
      transaction.commit();
      summary = summarize(copy, restoring);
    }
    sync_path(restoring, false);
    if (fs::exists(db)) {
      // The store it replaces is kept whole: its WAL folded into the file first, since a
      // WAL left beside the restored file would be read as the restored store's.
      {
        sqlite::Database old(db.string(), /*create=*/false);
        old.exec("PRAGMA wal_checkpoint(TRUNCATE)");
        old.exec("PRAGMA journal_mode = DELETE");
      }
      fs::rename(db, replaced_as);
    }
    remove_quietly(db.string() + "-wal");
    remove_quietly(db.string() + "-shm");
    fs::rename(restoring, db);
    sync_path(directory_of(db), true);
  } catch (const Error&) {
    remove_quietly(restoring);
    throw;
  } catch (const std::exception& e) {
    remove_quietly(restoring);
    throw Error(ErrorCode::storage, std::string("restore failed: ") + e.what());
  }
  std::error_code ec;
  summary.bytes = fs::file_size(db, ec);
  return summary;
}

ServingLock::ServingLock(const fs::path& db) {
  // A descriptor of the database file itself (created empty when new: SQLite makes a store
  // of an empty file), closed only once the store is: closing any descriptor of a file drops
  // the process's POSIX locks on it, which SQLite's are.
  fd_ = ::open(db.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Error(ErrorCode::storage, "cannot open " + db.string() + ": " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    const std::string why = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw Error(ErrorCode::storage,
                busy ? db.string() + " is being served by another libreta-server; stop it first"
                     : "cannot lock " + db.string() + ": " + why);
  }
}

ServingLock::~ServingLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace libreta::server
