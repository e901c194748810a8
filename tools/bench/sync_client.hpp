// The sync scenarios' client side: one client-core client run as a child process of
// libreta-bench (`--child REQUEST`, a ChildRequest as JSON), so that its memory and CPU are
// its own, and the offline edits a push sends. Private to tools/bench; single-threaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "libreta/client/sync_session.hpp"
#include "support.hpp"
#include "workload.hpp"

namespace libreta::bench {

// What a client child does, by `mode`: "bootstrap" (a fresh replica downloads everything,
// then checks that it holds the `expect` customers of the workload), "push" (a caught-up
// replica with an outbox syncs until every change is acknowledged), or "edit" (the push's
// `edits` offline edits over `expect` customers, for profiling by hand).
struct ChildRequest {
  std::string mode, url, token, replica;
  std::size_t expect = 0, edits = 0;
  std::uint64_t seed = workload::kDefaultSeed;
  bool index_search = false;  // bootstrap: then update_search_index(), timed apart
  bool compress = true;
};

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

// Runs this program as a client child (its stderr to `log`) to its end; fails if the child
// does.
ChildReport run_client_child(const std::filesystem::path& log, const ChildRequest& request);
// The child: `libreta-bench --child REQUEST`. Prints its ChildReport; returns the exit status.
int run_sync_child(int argc, char** argv);
// The shell command that runs `request` in a child by hand (--prepare).
std::string child_command(const ChildRequest& request);

struct OfflineEdits {
  std::size_t outbox = 0;      // changes waiting in the outbox
  std::uint64_t last_seq = 0;  // the outbox's last sequence
  std::string replica_id;
};
// The seller's edits on a caught-up replica, offline: one update() (one transaction) each.
OfflineEdits make_offline_edits(const std::filesystem::path& replica_file,
                                const std::vector<workload::Edit>& edits, const EditPlan& plan);

// A client's sync options as the benchmark sets them: reconnects come quickly.
client::SyncOptions client_sync_options(const std::string& url, const std::string& token,
                                        bool compress);
// A session's status, for a failure message.
std::string describe_status(const client::SyncStatus& status);

}  // namespace libreta::bench
