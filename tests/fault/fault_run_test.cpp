// The randomized fault run (fault_run.hpp) on fixed seeds, as CI runs it; environment
// variables replay one seed or run many for as long as asked (docs/testing.md):
//
//   LIBRETA_FAULT_SEED=N       run only seed N, keep its files if it fails
//   LIBRETA_FAULT_MINUTES=M    run seeds one after another for M minutes, stop at a failure
//   LIBRETA_FAULT_CHAOS_MS=MS  length of each run's chaos phase (default 12000)
//   LIBRETA_FAULT_HOSTILE=0    without the hostile client, to compare times
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "fault/fault_run.hpp"

using namespace libreta::fault;

namespace {

std::optional<std::uint64_t> env_number(const char* name) {
  const char* text = std::getenv(name);
  if (!text || !*text) return std::nullopt;
  return std::stoull(text);
}

FaultRunOptions options_for(std::uint64_t seed) {
  FaultRunOptions options;
  options.seed = seed;
  options.chaos = std::chrono::milliseconds(env_number("LIBRETA_FAULT_CHAOS_MS").value_or(12'000));
  options.server_binary = LIBRETA_SERVER_BINARY;
  options.worker_binary = LIBRETA_FAULT_WORKER_BINARY;
  options.work_dir =
      std::filesystem::temp_directory_path() /
      ("libreta-fault-" + std::to_string(::getpid()) + "-seed-" + std::to_string(seed));
  options.keep_files = true;  // removed when the run passes
  options.hostile = env_number("LIBRETA_FAULT_HOSTILE").value_or(1) != 0;
  return options;
}

void run_and_check(std::uint64_t seed) {
  const FaultRunOptions options = options_for(seed);
  const FaultRunReport report = run_fault_scenario(options);
  std::cout << report.summary() << std::flush;
  if (!report.passed()) {
    std::cout << "  files kept in " << options.work_dir.string()
              << "\n  replay: LIBRETA_FAULT_SEED=" << seed
              << " tests/fault_tests \"[fault-run]\"\n";
  }
  INFO(report.summary());
  CHECK(report.check.lost == 0);
  if (report.hostile) {
    CHECK(report.hostile_report.forged_refused + report.hostile_report.forged_unanswered ==
          report.hostile_report.forged_hellos);
  }
  REQUIRE(report.passed());
}

}  // namespace

TEST_CASE(
    "fault run: devices and a server that crash behind a bad network, beside a hostile "
    "client, converge and lose nothing",
    "[fault][fault-run]") {
  std::signal(SIGPIPE, SIG_IGN);  // a worker killed while the driver writes to it
  if (auto seed = env_number("LIBRETA_FAULT_SEED")) {
    run_and_check(*seed);
    return;
  }
  if (auto minutes = env_number("LIBRETA_FAULT_MINUTES")) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::minutes(*minutes);
    std::uint64_t seed =
        env_number("LIBRETA_FAULT_FIRST_SEED").value_or(std::random_device{}() % 1'000'000);
    int runs = 0;
    while (std::chrono::steady_clock::now() < end) {
      run_and_check(seed++);
      ++runs;
    }
    std::cout << runs << " seeds passed\n";
    return;
  }
  // The CI seeds: short, a few minutes in all even under the sanitizers.
  for (std::uint64_t seed : {1, 2, 3}) {
    DYNAMIC_SECTION("seed " << seed) {
      run_and_check(seed);
    }
  }
}
