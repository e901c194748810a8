// The seller's app over a large book (libreta-bench-replica --scenario app): what Today, a
// page of the customer list and a search-as-you-type request take through the app's own
// handler, against plain SQLite reading the same rows in the same file.
#pragma once

#include <cstdint>
#include <filesystem>

#include "report.hpp"

namespace libreta::bench {

struct AppBenchOptions {
  std::size_t customers = 100'000;
  std::size_t requests = 200;  // of each kind, per run
  std::size_t runs = 5;
  std::uint64_t seed = 0;
  std::filesystem::path dir;
  // A book file to use as it is, or to build and keep when it does not exist (building
  // one of 100,000 customers takes about a minute).
  std::filesystem::path book;
};

void run_app_scenario(Reporter& report, const AppBenchOptions& options);

}  // namespace libreta::bench
