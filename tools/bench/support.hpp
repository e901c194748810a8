// What every benchmark of tools/bench shares besides its reporter: time, failed checks, the
// machine's load and CPU, temporary directories and SQLite files, and binding a workload
// value. Free functions and small value types; the functions that read process state (cpu,
// load) are thread-safe, the rest are pure or touch only their arguments.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "libreta/protocol/value.hpp"
#include "libreta/sqlite/sqlite.hpp"
#include "workload.hpp"

namespace libreta::client {
class Replica;
}

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
  void raise_to(Clock::time_point t) { move_to(t, true); }
  void lower_to(Clock::time_point t) { move_to(t, false); }
  Clock::time_point get() const {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::nanoseconds(ns_.load(std::memory_order_relaxed))));
  }

 private:
  void move_to(Clock::time_point t, bool later) {
    const std::int64_t ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    auto seen = ns_.load(std::memory_order_relaxed);
    while ((seen == 0 || (later ? ns > seen : ns < seen)) &&
           !ns_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
    }
  }
  std::atomic<std::int64_t> ns_{0};
};

// The q-quantile (nearest rank) of sorted values; 0 when empty.
double quantile(const std::vector<double>& sorted, double q);

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

// Binds a workload value as a plain table column holds it: a tag set as JSON array text.
void bind_value(sqlite::Statement& statement, int index, const Value& value);
// A value for a failure message.
std::string describe(const Value& value);

// The replica returns exactly `expected` for customer `id`; the failure names the first field
// that differs.
void check_replica_customer(const client::Replica& replica, const std::string& id,
                            const Record& expected);
// The replica, in WAL mode as the baselines, holds `n` customers, and a spread sample of
// them (the first and the last included) reads back exactly as the workload generated them.
void check_replica_holds_book(const client::Replica& replica, std::size_t n, std::uint64_t seed);

// What single-field edits do to the workload's book, computed in memory before anything is
// timed: whether each changes its customer, and each edited customer's record after them
// all (an emptied tag set is no field), with the fields the edits touched.
struct EditPlan {
  std::vector<bool> changes;  // by edit
  std::size_t changing = 0;   // edits that change their customer (the others are no-ops)
  std::map<std::size_t, Record> expected;               // by customer index
  std::map<std::size_t, std::set<std::string>> edited;  // by customer index
};
EditPlan plan_edits(const std::vector<workload::Edit>& edits, std::uint64_t seed);

}  // namespace libreta::bench
