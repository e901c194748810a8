// What every benchmark of tools/bench shares: reading options, summarizing runs (median,
// min, max, quantiles), printing a figure line or JSON, the machine's load and CPU, failed
// checks, and temporary SQLite files. Free functions and small value types; the functions
// that touch process state (cpu, load) are thread-safe, the rest are pure.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace libreta::bench {

using Clock = std::chrono::steady_clock;

// A failed check: the benchmark measured something other than what it claims. Thrown as
// std::runtime_error("check failed: ..."), which main() turns into exit status 1.
[[noreturn]] void fail(const std::string& what);
// A system call failed: `what` and strerror(errno).
[[noreturn]] void system_error(const std::string& what);

double seconds_since(Clock::time_point start);
double seconds_between(Clock::time_point from, Clock::time_point to);
double milliseconds_between(Clock::time_point from, Clock::time_point to);
// Unix epoch milliseconds of the system clock.
std::uint64_t wall_ms();

// A time point many threads move one way: the latest of some events (raise_to) or the
// earliest (lower_to). Unset until the first event; get() is then the clock's epoch.
class AtomicTime {
 public:
  void raise_to(Clock::time_point t) {
    const auto ns = to_ns(t);
    auto seen = ns_.load(std::memory_order_relaxed);
    while ((seen == 0 || ns > seen) &&
           !ns_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
    }
  }
  void lower_to(Clock::time_point t) {
    const auto ns = to_ns(t);
    auto seen = ns_.load(std::memory_order_relaxed);
    while ((seen == 0 || ns < seen) &&
           !ns_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
    }
  }
  Clock::time_point get() const {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::nanoseconds(ns_.load(std::memory_order_relaxed))));
  }

 private:
  static std::int64_t to_ns(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }
  std::atomic<std::int64_t> ns_{0};
};

// Reads `--name value` command lines. `usage(code)` prints the help and exits.
class ArgReader {
 public:
  ArgReader(int argc, char** argv, std::function<void(int)> usage);
  // The next argument, or false at the end.
  bool next();
  const std::string& arg() const { return arg_; }
  // The value after the current argument (exits through usage(2) when missing).
  const char* value();
  // The value as a non-negative integer (decimal, or 0x hex); exits through usage(2) if not.
  std::uint64_t number();
  [[noreturn]] void unknown();

 private:
  int argc_;
  char** argv_;
  int index_ = 0;
  std::string arg_;
  std::function<void(int)> usage_;
};

// Parses a non-negative integer; prints "<name>: '<text>' is not a number" and returns
// false when it is not one.
bool parse_number(const char* name, const char* text, std::uint64_t& out);

struct Summary {
  double median = 0, min = 0, max = 0;
};

// Median (mean of the two middle values for an even count), min and max; zeros when empty.
Summary summarize(std::vector<double> values);

template <class Run, class Get>
Summary summarize(const std::vector<Run>& runs, Get&& get) {
  std::vector<double> values;
  values.reserve(runs.size());
  for (const auto& run : runs) values.push_back(get(run));
  return summarize(std::move(values));
}

// The q-quantile (nearest rank) of sorted values; 0 when empty.
double quantile(const std::vector<double>& sorted, double q);

nlohmann::json to_json(const Summary& summary);

// One figure line of a text report: "<what> <median> <unit> (<min> - <max>)   <note>".
void print_line(const char* what, const Summary& summary, const char* unit, const char* note);

double mb(double bytes);   // 10^6 bytes
double mib(double bytes);  // 2^20 bytes

// The 1-minute load average, or -1: on a shared machine, it says how noisy a run was.
double load_average();
// CPU seconds (user + system) of this process so far, every thread included.
double self_cpu_seconds();

// A private directory under `parent`, removed with everything in it.
class TempDir {
 public:
  TempDir(const std::filesystem::path& parent, const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A SQLite database file with its -wal, -shm and -journal companions.
void remove_database(const std::filesystem::path& file);
// Copies a closed database (its WAL too, if one was left).
void copy_database(const std::filesystem::path& from, const std::filesystem::path& to);
// The file and its WAL, in bytes.
std::uintmax_t database_bytes(const std::filesystem::path& file);

}  // namespace libreta::bench
