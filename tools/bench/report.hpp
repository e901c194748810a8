// The one reporter of the benchmarks: each scenario declares its figures once (name, unit,
// goal or reference, the same-run baseline it is compared with), hands over each run's
// values, and the reporter prints the medians over the runs with min and max, and the
// ratio to the baseline, as a table on stdout and as JSON (to a file, or to stdout in place
// of the table). Used by one thread.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace libreta::bench {

struct Figure {
  std::string key;    // its name in the JSON, unique within its scenario
  std::string label;  // its line in the table
  std::string unit;
  std::string note = {};      // the goal or reference it is read against, if any
  std::string baseline = {};  // key of the same run's figure it is compared with: a ratio
};

// One run's figures by key; a figure missing from a run was not measured in it.
using RunValues = std::map<std::string, double>;

class Reporter {
 public:
  // `json_file`: where the JSON goes; "-" prints it on stdout instead of the table; empty
  // writes none.
  Reporter(std::string program, std::string json_file);

  bool text() const { return json_file_ != "-"; }
  // A line of the table's preamble (machine, setup, a scenario's workload); no newline
  // needed. Nothing in JSON mode.
  void say(const char* format, ...) __attribute__((format(printf, 2, 3)));
  // The report's first lines: its title, and the machine (cores, load, SQLite, the build
  // type) followed by `more`; the same in the JSON's "machine".
  void header(const std::string& title, const char* build, const std::string& more);
  // A value of the JSON's "machine" or "setup" object.
  void machine(const std::string& key, nlohmann::json value) { out_["machine"][key] = value; }
  void setup(const std::string& key, nlohmann::json value) { out_["setup"][key] = value; }

  // A scenario whole: its name, what it does (a paragraph for the table), its parameters (for
  // the JSON) and its figures; `runs` runs of once(run), each returning the run's values
  // (shown as a progress line); then the medians, min and max over the runs.
  template <class Once>
  void scenario(const std::string& name, const std::string& description, nlohmann::json parameters,
                std::vector<Figure> figures, std::size_t runs, Once&& once) {
    begin(name, description, std::move(parameters), std::move(figures));
    for (std::size_t run = 0; run < runs; ++run) add_run(once(run));
    end();
  }

  // Writes the JSON (with the load at the end and the total time) and closes the report.
  void finish();

 private:
  void begin(const std::string& scenario, const std::string& description, nlohmann::json parameters,
             std::vector<Figure> figures);
  void add_run(RunValues values);
  void end();

  std::string program_;
  std::string json_file_;
  nlohmann::json out_;
  std::string scenario_;
  std::vector<Figure> figures_;
  std::vector<RunValues> runs_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace libreta::bench
