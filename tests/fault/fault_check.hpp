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
  std::uint64_t superseded_automatic = 0;  // ... an automatic field (updated_at): no entry

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

// What a hostile client (hostile_client.hpp) must not have left on the server, whatever it
// sent: a version or base dated after `latest_millis` (the end of the run plus the clock
// skew limit), a row whose canonical text is longer than `max_row_bytes`, or a version of
// one of the seller's replicas (ids starting with `seller_replica_prefix`) on a row outside
// the seller's scope.
struct ServerBounds {
  std::uint64_t latest_millis = 0;
  std::size_t max_row_bytes = 200'000;
  std::string seller_user;
  std::string seller_replica_prefix;
};

struct BoundsReport {
  std::uint64_t rows = 0;
  std::size_t largest_row_bytes = 0;
  std::uint64_t latest_version_millis = 0;
  std::uint64_t seller_rows = 0;  // rows in the seller's scope
  std::vector<std::string> failures;
};

BoundsReport check_server_bounds(const std::filesystem::path& server_db,
                                 const ServerBounds& bounds);

// "ok" or the first problem SQLite's integrity_check reports.
std::string integrity_of(const std::filesystem::path& file);

}  // namespace libreta::fault
