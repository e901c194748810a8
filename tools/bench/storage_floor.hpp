// The floor under the server's Monday morning: what SQLite alone takes to read and rewrite
// the rows a morning's edits touch, in the server's file, with the server's settings and its
// group commits, and none of the server's own work (no network, no decoding, no merge, no
// acks or live updates). A figure of the server compared with it says how much of the time
// is the storage's, on the same machine in the same process (docs/performance.md, "What
// limits each figure").
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace libreta::bench {

// One device's push as the writer sees it: the customers its changes touch, and how many
// changes it carries (which decides how pushes are grouped into commits).
struct FloorPush {
  std::string replica;
  std::vector<std::string> customer_ids;  // duplicates allowed: each row is written once a group
  std::size_t changes = 0;
};

struct StorageFloor {
  double seconds = 0;         // the first BEGIN to the last COMMIT
  double commit_seconds = 0;  // of which in COMMIT: WAL writes, fsyncs and checkpoints
  std::uint64_t rows = 0;     // rows read and rewritten, once in each group that touches them
  std::uint64_t groups = 0;   // transactions
  std::uint64_t changes = 0;  // the pushes' changes
  double changes_per_s() const { return seconds > 0 ? static_cast<double>(changes) / seconds : 0; }
};

// Runs the pushes against `server_db`, a closed copy of a server database that holds every
// customer named: grouped as the server's writer groups them (whole pushes in order, up to
// `max_group_changes` changes a commit), each row of a group read and rewritten once with a
// new sequence, each push's replica acknowledged and the last sequence saved, one
// transaction a group. The copy is changed; throws on any SQLite error or a missing row.
StorageFloor measure_storage_floor(const std::filesystem::path& server_db,
                                   const std::vector<FloorPush>& pushes,
                                   std::size_t max_group_changes);

}  // namespace libreta::bench
