// The randomized fault run: a real libreta-server child process, several worker processes
// (each a device with its replica file, fault_worker.cpp) syncing through a FaultProxy, and
// a schedule drawn from one seed that cuts, stalls and black-holes connections, kills the
// server and the workers with SIGKILL and starts them again on their files. Then everything
// is healed, sync is let go quiet, and the files are checked (fault_check.hpp). A hostile
// client attacks the server directly through the chaos (hostile_client.hpp).
//
// A seed fixes the schedule (which fault, when, which worker, which operations) but not the
// interleaving with the operating system's scheduling, so a replay follows the same plan
// and usually, not always, the same path. docs/testing.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "fault/fault_check.hpp"
#include "fault/hostile_client.hpp"

namespace libreta::fault {

struct FaultRunOptions {
  std::uint64_t seed = 1;
  int workers = 5;
  int customers = 12;  // the shared customers every worker edits
  std::chrono::milliseconds chaos{std::chrono::seconds(20)};
  // How long healing may take before the run fails (generous for sanitizer builds).
  std::chrono::milliseconds converge_deadline{std::chrono::seconds(120)};
  std::filesystem::path server_binary;
  std::filesystem::path worker_binary;
  // Where the files go; kept after the run only when `keep_files` (for a failing seed).
  std::filesystem::path work_dir;
  bool keep_files = false;
  // A hostile client (hostile_client.hpp) beside the devices for the whole chaos phase, with
  // a seller's token and another manager's; then the server's rows are checked against
  // what it must not have stored (check_server_bounds).
  bool hostile = true;
};

struct FaultRunReport {
  std::uint64_t seed = 0;
  std::map<std::string, std::uint64_t> faults;  // by kind
  std::uint64_t server_kills = 0;
  std::uint64_t worker_kills = 0;
  std::chrono::milliseconds converge_time{0};
  CheckReport check;
  bool hostile = false;
  HostileReport hostile_report;
  BoundsReport bounds;
  std::vector<std::string> failures;  // the run's own, then the check's

  bool passed() const { return failures.empty(); }
  std::string summary() const;
};

FaultRunReport run_fault_scenario(const FaultRunOptions& options);

}  // namespace libreta::fault
