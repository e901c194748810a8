// `libreta-server backup|restore`: a consistent copy of the store taken while it serves, and
// putting one back (docs/operations.md, "Backup and restore").

#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "commands.hpp"
#include "libreta/server/sqlite_backup.hpp"

namespace libreta::server::app {

namespace {

std::string describe(const BackupSummary& summary) {
  return "sequence " + std::to_string(summary.last_seq) + ", " + std::to_string(summary.rows) +
         " rows, " + std::to_string(summary.tokens) + " tokens, " +
         std::to_string((summary.bytes + 1023) / 1024) + " KiB";
}

}  // namespace

int run_backup(const std::string& db, const std::string& out) {
  return guarded([&] {
    const BackupSummary summary = backup_sqlite_store(db, out);
    std::cout << out << ": " << describe(summary) << std::endl;
    return kExitOk;
  });
}

int run_restore(const std::string& backup, const std::string& db) {
  return guarded([&] {
    // Refused while a server serves the file: it would go on writing the store it has open.
    const bool had_store = std::filesystem::exists(db);
    std::optional<ServingLock> lock;
    if (had_store) lock.emplace(db);
    const std::string replaced = db + ".replaced-" + format_time(now_ms());
    const BackupSummary summary = restore_sqlite_store(backup, db, replaced);
    std::cout << db << ": restored from " << backup << " (" << describe(summary) << ")"
              << std::endl;
    std::cerr << "libreta-server: "
              << (had_store ? "the store it replaced is kept as " + replaced + ". " : "")
              << "Devices that synced after this backup was taken send their changes again "
                 "and download the book again when they next connect."
              << std::endl;
    return kExitOk;
  });
}

}  // namespace libreta::server::app
