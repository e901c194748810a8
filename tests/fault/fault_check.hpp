// The checks after a fault run, on the files alone (the server and every worker stopped):
// convergence, nothing acknowledged lost, every local write on the server exactly once, no
// duplicate rows, intact files. docs/testing.md says what each check means.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace libreta::fault {

struct DeviceFiles {
  std::string replica_id;
  std::filesystem::path replica_file;
  std::filesystem::path write_log;
};

struct CheckReport {
  std::uint64_t writes_logged = 0;         // fields the devices logged as committed
  std::uint64_t present = 0;               // ... whose value the server holds
  std::uint64_t superseded_own = 0;        // ... replaced by a later write of the same device
  std::uint64_t superseded_seen = 0;       // ... replaced by a writer who had seen them
  std::uint64_t superseded_conflict = 0;   // ... replaced concurrently, the loss in the inbox
  std::uint64_t unverifiable = 0;          // ... replaced by a write whose base was not logged,
                                           // or was a write nobody logged (a device killed
                                           // between committing and logging it)
  std::uint64_t tag_removes = 0;           // tag removals (the tag's add-wins rule decides)
  std::uint64_t lost = 0;                  // must be 0
  std::uint64_t changes_acknowledged = 0;  // sum of the server's acked sequence per device
  std::uint64_t conflicts = 0;             // records in the server's conflict inbox
  std::uint64_t server_rows = 0;
  std::vector<std::string> failures;
};

CheckReport check_fault_run(const std::filesystem::path& server_db,
                            const std::vector<DeviceFiles>& devices);

// "ok" or the first problem SQLite's integrity_check reports.
std::string integrity_of(const std::filesystem::path& file);

}  // namespace libreta::fault
