// libreta-bench-c-api: what the C layer costs. A replica with the WORKLOAD.md book's first
// --customers customers; each run lists --list of them (every customer in the book's first
// rows, sorted by name) through three paths, --reps times each, each run starting with
// another one:
//   cpp:      Replica::list_customers, the C++ call underneath (typed structs);
//   cpp_json: the same, then the JSON text the C API returns, encoded in C++;
//   c:        libreta_list() through liblibreta.so: locks, argument checks, the filter
//             parsed, the JSON text, and its copy into memory the caller frees.
// Prints the median time of one list for each path, and the ratio of c to cpp_json (the C
// layer itself) and to cpp. Exits non-zero when a path does not list every customer.
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "libreta/client/replica.hpp"
#include "libreta/libreta.h"
#include "libreta/protocol/value_json.hpp"
#include "report.hpp"
#include "support.hpp"
#include "workload.hpp"

namespace {

using namespace libreta;
using namespace libreta::bench;

struct Options {
  std::size_t customers = 10'000;
  std::size_t list = 1'000;
  std::size_t reps = 50;
  std::size_t runs = 7;
  std::string json_file;
};

// The C API's JSON of a list of customers, encoded as an app in C++ would.
std::string customers_json(const std::vector<Customer>& customers) {
  auto array = nlohmann::json::array();
  for (const auto& customer : customers) {
    nlohmann::json object = {{"id", customer.id}};
    for (const auto& [name, value] : to_record(customer)) object[name] = value_to_json(value);
    array.push_back(std::move(object));
  }
  return array.dump();
}

// Mean milliseconds of one call of `list`, over `reps` calls in a row.
template <class List>
double time_list(std::size_t reps, List&& list) {
  const auto start = Clock::now();
  for (std::size_t i = 0; i < reps; ++i) list();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count() /
         static_cast<double>(reps);
}

int run(int argc, char** argv) {
  Options o;
  CLI::App app{"libreta-bench-c-api: the C API's cost over the C++ call underneath"};
  app.add_option("--customers", o.customers, "Customers in the replica")->capture_default_str();
  app.add_option("--list", o.list, "Customers each list returns")->capture_default_str();
  app.add_option("--reps", o.reps, "Lists timed together in one run")->capture_default_str();
  app.add_option("--runs", o.runs, "Runs (medians are reported)")->capture_default_str();
  app.add_option("--json", o.json_file, "Write the figures as JSON to FILE (- for stdout)");
  CLI11_PARSE(app, argc, argv);
  if (o.list > o.customers) fail("--list cannot exceed --customers");

  const TempDir dir(std::filesystem::temp_directory_path(), "libreta-bench-c-api");
  const auto file = dir.path() / "replica.db";
  {
    auto replica = client::Replica::open(file);
    for (const auto& customer : workload::make_customers(o.customers)) replica->create(customer);
  }
  auto replica = client::Replica::open(file);
  libreta_replica* c_replica = nullptr;
  libreta_error error;
  if (libreta_open(file.c_str(), nullptr, &c_replica, &error) != LIBRETA_OK) fail(error.message);

  client::CustomerFilter filter;
  filter.limit = o.list;
  const std::string c_filter = "{\"limit\":" + std::to_string(o.list) + "}";
  std::string cpp_text;
  char* c_text = nullptr;

  Reporter report("libreta-bench-c-api", o.json_file);
  report.say("libreta %s: %zu customers in the replica, lists of %zu, %zu lists a run",
             libreta_version(), o.customers, o.list, o.reps);
  report.scenario(
      "list", "List customers as JSON: the C++ call, the C++ call with its JSON, the C call.",
      {{"customers", o.customers}, {"list", o.list}, {"reps", o.reps}},
      {{"cpp_ms", "C++ list_customers (typed)", "ms"},
       {"cpp_json_ms", "C++ list_customers + JSON text", "ms", "", "cpp_ms"},
       {"c_ms", "C libreta_list (JSON text)", "ms", "no measurable cost over C++ + JSON",
        "cpp_json_ms"}},
      o.runs, [&](std::size_t run) {
        RunValues values;
        const std::function<void()> paths[] = {
            [&] {
              values["cpp_ms"] = time_list(o.reps, [&] {
                if (replica->list_customers(filter).size() != o.list) fail("C++ listed too few");
              });
            },
            [&] {
              values["cpp_json_ms"] = time_list(
                  o.reps, [&] { cpp_text = customers_json(replica->list_customers(filter)); });
            },
            [&] {
              values["c_ms"] = time_list(o.reps, [&] {
                libreta_free(c_text);
                c_text = nullptr;
                if (libreta_list(c_replica, "customers", c_filter.c_str(), &c_text, &error) !=
                    LIBRETA_OK) {
                  fail(error.message);
                }
              });
            },
        };
        // Each run starts with another path, so that none always runs first or last.
        for (std::size_t i = 0; i < std::size(paths); ++i) paths[(run + i) % std::size(paths)]();
        return values;
      });
  if (cpp_text != c_text) fail("the C API's JSON differs from the C++ encoding of the same list");
  libreta_free(c_text);
  libreta_release(c_replica);
  report.finish();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "libreta-bench-c-api: %s\n", e.what());
    return 1;
  }
}
