// libreta-bench's options and scenarios: the real `libreta-server` in a child process on a
// copy of a seeded database, devices over loopback (docs/performance.md). The load
// scenarios (load_scenarios.cpp) run fleets of devices; the sync scenarios
// (sync_scenarios.cpp) run single client-core clients through a byte-counting proxy. Each
// scenario prints its figures through the Reporter and fails when its data is not whole.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "report.hpp"
#include "workload.hpp"

namespace libreta::bench {

struct Options {
  std::vector<std::string> scenarios;  // empty: every scenario
  std::size_t runs = 3;
  bool quick = false;
  std::string json_file;
  std::size_t customers = 100'000;
  // The load scenarios.
  std::size_t idle_clients = 10'000;
  double idle_seconds = 30;
  std::size_t monday_clients = 500;
  std::size_t monday_edits = 200;
  bool monday_managers = false;  // every Monday device a manager reading everything
  std::size_t live_clients = 200;
  std::size_t live_rate = 1000;
  double live_seconds = 10;
  std::size_t bootstrap_clients = 20;
  int client_threads = 1;
  std::size_t connect_concurrency = 256;
  std::size_t device_idle_ms = 30'000;
  bool replica_files = false;  // load devices in client-core replica files
  // The sync scenarios.
  std::size_t push_edits = 10'000;
  std::size_t sync_live_clients = 50;
  std::size_t sync_live_customers = 200;
  std::size_t sync_live_edits = 200;
  std::size_t sync_live_interval_ms = 10;
  std::filesystem::path prepare;  // only seed a server database there, for profiling
  // Both.
  int server_threads = 2;
  bool compress = true;
  std::uint64_t seed = workload::kDefaultSeed;
  std::filesystem::path dir;     // where temporary files go
  std::filesystem::path server;  // the libreta-server program
};

// What a scenario runs in: the options, its temporary directory, the server program.
struct Context {
  const Options& options;
  std::filesystem::path dir;
  std::filesystem::path server_binary;
  Reporter& report;
  // How long a phase may take before the run is declared failed (not a figure).
  std::chrono::seconds phase_timeout{600};
};

// Load scenarios: one call runs every load scenario asked for (they share a seeded book).
void run_load_scenarios(const Context& context, const std::vector<std::string>& scenarios);
// Sync scenarios, likewise.
void run_sync_scenarios(const Context& context, const std::vector<std::string>& scenarios);

// --prepare: seeds a server database and prints how to run one sync client by hand.
int prepare_sync_by_hand(const Options& options, const std::filesystem::path& server_binary);

// Waits until `done` holds; fails when `error` names one, or after `timeout` (with
// `progress` in the message, after calling `missing`).
void wait_until(const char* what, std::chrono::seconds timeout,
                const std::function<std::string()>& error, const std::function<bool()>& done,
                const std::function<std::string()>& progress,
                const std::function<void()>& missing = {});

}  // namespace libreta::bench
