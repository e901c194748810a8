// What the load scenarios share (load_scenarios.cpp, monday.cpp): the seeded book, a run's
// server, the fleets' options and waits, and the edits devices plan. Private to tools/bench;
// used by the benchmark's thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fleet.hpp"
#include "network_bench.hpp"
#include "server_process.hpp"

namespace libreta::bench {

// Files a process needs besides its connections (libraries, databases, logs).
inline constexpr std::uint64_t kSpareFiles = 1024;
// Users of the Monday sellers' tokens (token_user) and of every other device's manager token.
inline const std::string kSellerPrefix = "seller-";
inline const std::string kDevicePrefix = "device-";

struct LoadSetup {
  const Context& context;
  const Options& o;
  std::filesystem::path template_db;       // the seeded book and the devices' tokens
  std::uint64_t book_seq = 0;              // the seeded book's last sequence: a caught-up cursor
  std::vector<std::string> tokens;         // managers': device-NNNNN
  std::vector<std::string> seller_tokens;  // the Monday sellers': seller-NNNNN
  // In files: the Monday sellers' and the office's replicas as synced before the weekend
  // (the office last), which each run copies.
  std::vector<std::filesystem::path> friday_replicas;
};

// One run's server: a fresh copy of the seeded database, its own log; stopped (killed if
// still running) and its copy removed when it goes.
struct RunServer {
  std::filesystem::path db;
  std::unique_ptr<ServerProcess> process;

  RunServer(const LoadSetup& setup, const std::string& name, std::size_t connections);
  ~RunServer();
};

FleetOptions fleet_options(const LoadSetup& setup, const ServerProcess& server);
// `count` devices with the managers' tokens, each with the cursor `cursor`.
std::vector<FleetDevice> managers(const LoadSetup& setup, std::size_t count, std::uint64_t cursor);
// Waits until `done` holds of the fleet's counters; fails on a device's error or a timeout.
void wait_for(const LoadSetup& setup, const Fleet& fleet, const char* what,
              const std::function<bool(const FleetCounters&)>& done);
// Every device from `first` on is caught up at the server's last sequence.
void wait_caught_up(const LoadSetup& setup, const Fleet& fleet, const ServerProcess& server,
                    std::size_t first = 0);
// The seeded book's owner of a customer: customer i belongs to seller i mod C, C the Monday
// devices, whose tokens are those sellers' (the other scenarios' devices are managers).
std::string seeded_owner(const Options& o, std::size_t customer);
// The edit a device makes on one of its own customers, with the field's value in the
// seeded book. A seller does not give customers away (only a manager may): for `seller`, an
// edit that would change the owner is drawn again from another stream index.
std::shared_ptr<const PlannedEdit> plan_edit(const Options& o, std::uint64_t stream_index,
                                             std::size_t customer, bool seller = false);

using EditsByDevice = std::vector<PlannedEdits>;

// monday.cpp: the Monday morning.
EditsByDevice plan_monday(const Options& o);
RunValues monday_once(const LoadSetup& setup, const EditsByDevice& plan, std::size_t run);
// In files: the sellers' and the office's replicas as they stood before the weekend.
std::vector<std::filesystem::path> prepare_friday_replicas(const LoadSetup& setup);

}  // namespace libreta::bench
