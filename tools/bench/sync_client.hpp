// The sync scenarios' client side: the customers and edits a client holds, and the client
// run as a child process of libreta-bench (`--child bootstrap|push|edit`), so that its
// memory and CPU are its own. Private to tools/bench; single-threaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "libreta/client/sync_session.hpp"
#include "libreta/server/store.hpp"
#include "support.hpp"
#include "workload.hpp"

namespace libreta::bench {

// Seeds customers [0, n) into a new server database and `tokens` manager tokens; returns
// their secrets (not timed).
std::vector<std::string> seed_server(const std::filesystem::path& db, std::size_t n,
                                     std::uint64_t seed, std::size_t tokens);

// Every edited field of every edited customer holds its last edit's value on the server.
void check_server_has_edits(server::Store& store, const EditPlan& plan, std::uint64_t seed);

struct OfflineEdits {
  std::size_t outbox = 0;      // changes waiting in the outbox
  std::uint64_t last_seq = 0;  // the outbox's last sequence
  std::string replica_id;
};
// The seller's edits on a caught-up replica, offline: one update() (one transaction) each.
OfflineEdits make_offline_edits(const std::filesystem::path& replica_file,
                                const std::vector<workload::Edit>& edits, const EditPlan& plan);

// What a client child reports, as one JSON object on its stdout.
struct ChildReport {
  double seconds = 0;               // the timed part
  double cpu_seconds = 0;           // the child's CPU (all threads) at the end of the timed part
  std::uint64_t peak_bytes = 0;     // VmHWM at the end of the timed part
  std::uint64_t rows = 0;           // bootstrap: rows received
  std::uint64_t pages = 0;          // ChangesArrived events (pages or live updates)
  double search_index_seconds = 0;  // bootstrap: update_search_index() afterwards
  std::uint64_t peak_after_index_bytes = 0;  // VmHWM after it
};

// A client's sync options as the benchmark sets them: reconnects come quickly.
client::SyncOptions client_sync_options(const std::string& url, const std::string& token,
                                        bool compress);
// A session's status, for a failure message.
std::string describe_status(const client::SyncStatus& status);

// Runs this program as a client child with `args` (its stdout to `out`) to its end.
ChildReport run_client_child(const std::filesystem::path& out,
                             const std::vector<std::string>& args);

}  // namespace libreta::bench
