// libreta-bench-replica: the local replica on the WORKLOAD.md customer book.
// Scenario "replica" (the default):
//   a. local single-field edit latency (Replica::update, one transaction each);
//   b. applying N remote customers (apply_remote, pages of --batch customers) against a plain
//      SQLite bulk insert of the same rows (baseline.hpp), measured in the same process,
//      interleaved.
// Scenario "app": the seller's app over the book (bench_app.hpp).
// Prints medians over --runs with min and max through the Reporter; exits non-zero when the
// replica does not end up holding exactly what was written. Single-threaded.
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "baseline.hpp"
#include "bench_app.hpp"
#include "libreta/client/replica.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "report.hpp"
#include "support.hpp"
#include "workload.hpp"

namespace {

using namespace libreta;
using namespace libreta::bench;
namespace fs = std::filesystem;

struct Options {
  std::size_t customers = 100'000;
  std::size_t edits = 10'000;
  std::size_t runs = 5;
  // Customers per apply_remote call: the bootstrap sends pages of about this many.
  std::size_t batch = 1'000;
  std::uint64_t seed = workload::kDefaultSeed;
  std::string json_file;
  bool breakdown = false;
  bool sql_profile = false;
  fs::path dir;
  std::vector<std::string> scenarios = {"replica"};
  std::size_t requests = 200;  // scenario app: requests of each kind per run
  fs::path book;               // scenario app: a prepared book to reuse
};

// --breakdown: baselines that do more of the replica's work than the plain one.
constexpr BaselineKind kBreakdownKinds[] = {BaselineKind::indexed, BaselineKind::search,
                                            BaselineKind::returning, BaselineKind::deferred};

// ---- SQL profile --------------------------------------------------------------------------

// Time per SQL text of every connection this process opens (the replica's included: the
// hook is installed through sqlite3_auto_extension before any connection exists). Only
// what runs between start() and stop() counts. Not thread-safe; the benchmark is not either.
class SqlProfile {
 public:
  struct Entry {
    std::string sql;
    double seconds = 0;
    std::size_t count = 0;
  };

  static void install() { sqlite3_auto_extension(reinterpret_cast<void (*)()>(&on_open)); }
  static void start() {
    entries().clear();
    active() = true;
  }
  // The statements by total time, longest first.
  static std::vector<Entry> stop() {
    active() = false;
    std::vector<Entry> sorted;
    for (const auto& [sql, entry] : entries()) sorted.push_back(entry);
    std::sort(sorted.begin(), sorted.end(),
              [](const Entry& a, const Entry& b) { return a.seconds > b.seconds; });
    return sorted;
  }

 private:
  static bool& active() {
    static bool value = false;
    return value;
  }
  static std::map<std::string, Entry>& entries() {
    static std::map<std::string, Entry> value;
    return value;
  }
  static int on_open(sqlite3* db, const char**, const sqlite3_api_routines*) {
    sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, &on_profile, nullptr);
    return SQLITE_OK;
  }
  static int on_profile(unsigned, void*, void* statement, void* nanoseconds) {
    if (!active()) return 0;
    const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(statement));
    std::string key = sql ? std::string(sql).substr(0, 80) : "?";
    Entry& entry = entries()[key];
    entry.sql = std::move(key);
    entry.seconds += static_cast<double>(*static_cast<sqlite3_int64*>(nanoseconds)) * 1e-9;
    ++entry.count;
    return 0;
  }
};

// ---- The replica -------------------------------------------------------------------------

// The figures, each declared once; the runs fill them by key.
std::vector<Figure> figures(const Options& options) {
  std::vector<Figure> all = {
      {"edit_p50_us", "a. local edit p50", "us", "goal <= 100 us"},
      {"edit_p99_us", "   local edit p99", "us"},
      {"edit_mean_us", "   local edit mean", "us"},
      {"edit_max_us", "   local edit max", "us"},
      {"apply_remote_s", "b. apply_remote, N customers", "s", "goal: ratio <= 2.0", "baseline_s"},
      {"baseline_s", "   plain SQLite bulk insert", "s"},
      {"first_page_ms", "   apply page, first tenth", "ms"},
      {"last_page_ms", "   apply page, last tenth", "ms"},
      {"apply_customers_per_s", "   apply_remote throughput", "customers/s"},
      {"apply_changes_per_s", "   apply_remote throughput", "changes/s"},
      {"baseline_customers_per_s", "   baseline throughput", "customers/s"},
      {"replica_mb", "   replica file", "MB"},
      {"baseline_mb", "   baseline file", "MB"},
      {"remote_changes", "   remote changes", ""},
      {"edit_no_ops", "   edits that were no-ops", ""},
  };
  if (!options.breakdown) return all;
  // The baseline doing more of what the replica does: its ratio to the plain baseline, and
  // apply_remote's ratio to it.
  for (BaselineKind kind : kBreakdownKinds) {
    const std::string key = baseline_key(kind);
    all.push_back({"breakdown_" + key + "_s", std::string("   breakdown: ") + baseline_name(kind),
                   "s", "", "baseline_s"});
    all.push_back({"apply_remote_to_" + key, "     apply_remote / it", "x"});
  }
  return all;
}

client::ReplicaOptions replica_options() {
  client::ReplicaOptions options;
  options.new_replica_id = "bench";
  return options;
}

// The customers as a server sends them, in apply_remote calls of `batch` customers (a
// bootstrap page), each call timed alone: the load's time, and its growth with the table.
void apply_customers(client::Replica& replica, const std::vector<Customer>& customers,
                     std::size_t batch, RunValues& r) {
  double seconds = 0;
  std::size_t applied = 0;
  std::vector<double> batch_ms;
  std::vector<Change> changes;
  for (std::size_t first = 0; first < customers.size(); first += batch) {
    const std::size_t end = std::min(customers.size(), first + batch);
    changes.clear();
    for (std::size_t i = first; i < end; ++i) {
      workload::append_customer_changes(customers[i], i, changes);
    }
    const auto start = Clock::now();
    const client::ApplyResult result = replica.apply_remote(changes);
    const double elapsed = seconds_since(start);
    seconds += elapsed;
    batch_ms.push_back(elapsed * 1e3);
    applied += changes.size();
    if (result.applied != changes.size() || result.ignored != 0) {
      fail("apply_remote of customers [" + std::to_string(first) + ", " + std::to_string(end) +
           ") applied " + std::to_string(result.applied) + " and ignored " +
           std::to_string(result.ignored) + " of " + std::to_string(changes.size()) +
           " new changes");
    }
  }
  // The mean of the first tenth of the pages and of the last tenth.
  const std::size_t tenth = std::max<std::size_t>(1, batch_ms.size() / 10);
  double first_ms = 0, last_ms = 0;
  for (std::size_t i = 0; i < tenth; ++i) {
    first_ms += batch_ms[i] / static_cast<double>(tenth);
    last_ms += batch_ms[batch_ms.size() - 1 - i] / static_cast<double>(tenth);
  }
  r["apply_remote_s"] = seconds;
  r["first_page_ms"] = first_ms;
  r["last_page_ms"] = last_ms;
  r["apply_customers_per_s"] = static_cast<double>(customers.size()) / seconds;
  r["apply_changes_per_s"] = static_cast<double>(applied) / seconds;
  r["remote_changes"] = static_cast<double>(applied);
}

// Each edit is one update() call, so one transaction, timed on its own.
void run_edits(client::Replica& replica, const std::vector<workload::Edit>& edits,
               const EditPlan& plan, RunValues& r) {
  std::vector<Record> updates;  // as update() takes them, made before anything is timed
  for (const auto& edit : edits) updates.push_back(Record{{edit.field, edit.value}});
  std::vector<double> micros;
  for (std::size_t j = 0; j < edits.size(); ++j) {
    const auto start = Clock::now();
    const std::size_t changed = replica.update(tables::customers, edits[j].customer_id, updates[j]);
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if ((changed > 0) != plan.changes[j]) {
      fail("edit " + std::to_string(j) + " of " + edits[j].field + " on " + edits[j].customer_id +
           (plan.changes[j] ? " should have changed the row" : " should have been a no-op"));
    }
  }
  r["edit_no_ops"] = static_cast<double>(edits.size() - plan.changing);
  if (micros.empty()) return;
  double sum = 0;
  for (double us : micros) sum += us;
  r["edit_mean_us"] = sum / static_cast<double>(micros.size());
  std::sort(micros.begin(), micros.end());
  r["edit_p50_us"] = quantile(micros, 0.50);
  r["edit_p99_us"] = quantile(micros, 0.99);
  r["edit_max_us"] = micros.back();
}

// What every run loads and edits, made before anything is timed.
struct Book {
  std::vector<Customer> customers;
  std::vector<workload::Edit> edits;
  EditPlan plan;
  std::vector<BaselineRow> rows;  // the customers as the baselines insert them
};

// --sql-profile: the statements of the first run's load and edits.
struct SqlProfiles {
  std::vector<SqlProfile::Entry> apply, edits;
};

// One run: the baseline and the replica load in alternating order, then the edits.
RunValues run_once(const Options& options, std::size_t run, const fs::path& dir, const Book& book,
                   SqlProfiles* profiles) {
  RunValues r;
  const auto replica_file = dir / "replica.db";
  const auto baseline_file = dir / "baseline.db";
  remove_database(replica_file);
  std::unique_ptr<client::Replica> replica;
  const auto replica_load = [&] {
    replica = client::Replica::open(replica_file, replica_options());
    if (profiles) SqlProfile::start();
    apply_customers(*replica, book.customers, options.batch, r);
    if (profiles) profiles->apply = SqlProfile::stop();
  };
  const auto baseline_load = [&] {
    r["baseline_s"] = bulk_insert(baseline_file, book.rows);
    r["baseline_mb"] = mb(static_cast<double>(database_bytes(baseline_file)));
    remove_database(baseline_file);
  };
  if (run % 2 == 0) baseline_load();
  replica_load();
  if (run % 2 == 1) baseline_load();
  r["baseline_customers_per_s"] = static_cast<double>(book.customers.size()) / r["baseline_s"];
  if (options.breakdown) {
    for (BaselineKind kind : kBreakdownKinds) {
      const double seconds = bulk_insert(baseline_file, book.rows, kind);
      remove_database(baseline_file);
      r["breakdown_" + std::string(baseline_key(kind)) + "_s"] = seconds;
      r["apply_remote_to_" + std::string(baseline_key(kind))] = r["apply_remote_s"] / seconds;
    }
  }
  check_replica_holds_book(*replica, book.customers.size(), options.seed);
  if (profiles) SqlProfile::start();
  run_edits(*replica, book.edits, book.plan, r);
  if (profiles) profiles->edits = SqlProfile::stop();
  for (const auto& [index, record] : book.plan.expected) {
    check_replica_customer(*replica, book.customers[index].id, record);
  }
  if (book.plan.changing > 0 && replica->pending_count() == 0) {
    fail("local edits left no outbox entry");
  }
  replica.reset();  // closes the file (and checkpoints the WAL)
  r["replica_mb"] = mb(static_cast<double>(database_bytes(replica_file)));
  remove_database(replica_file);
  return r;
}

void print_profile(const char* phase, double total, const std::vector<SqlProfile::Entry>& profile) {
  std::printf(
      "\nSQL profile of %s, run 1 (%.3f s in all; statements that SQLite runs inside\n"
      "another, like FTS5's own 'main'.* ones, count in their parent too)\n",
      phase, total);
  std::printf("%10s %9s %9s  %s\n", "seconds", "count", "us each", "statement");
  for (std::size_t i = 0; i < profile.size() && i < 14; ++i) {
    const auto& e = profile[i];
    std::printf("%10.3f %9zu %9.1f  %s\n", e.seconds, e.count,
                e.seconds * 1e6 / static_cast<double>(e.count), e.sql.c_str());
  }
}

int run_benchmark(const Options& options) {
  Reporter report("libreta-bench-replica", options.json_file);
  const fs::path parent = options.dir.empty() ? fs::temp_directory_path() : options.dir;
  TempDir dir(parent, "libreta-bench");
  if (options.sql_profile) SqlProfile::install();

  // Everything below up to the runs is preparation, not measured.
  const auto prepare_start = Clock::now();
  Book book;
  book.customers = workload::make_customers(options.customers, options.seed);
  book.edits = workload::make_edits(options.customers, options.edits, options.seed);
  book.plan = plan_edits(book.edits, options.seed);
  book.rows = baseline_rows(book.customers, options.breakdown);
  double json_bytes = 0;
  for (const auto& customer : book.customers) {
    json_bytes += static_cast<double>(workload::compact_json_size(customer));
  }
  const double mean_json = json_bytes / static_cast<double>(book.customers.size());
  report.header("libreta-bench-replica: the local replica on the WORKLOAD.md customer book",
                LIBRETA_BUILD_TYPE, "");
  report.say(
      "setup     apply_remote in pages of %zu customers; baseline: one transaction, one "
      "prepared INSERT; both journal_mode=WAL synchronous=%s, files in %s",
      options.batch, kReplicaSynchronous, parent.c_str());
  report.say("          (workload generated in %.1f s, not timed)", seconds_since(prepare_start));
  report.setup("batch_customers", options.batch);
  report.setup("synchronous", kReplicaSynchronous);
  report.setup("runs", options.runs);
  char text[256];
  std::snprintf(text, sizeof text,
                "%zu customers (compact JSON %.1f B each on average, spec ~855 B), %zu edits on "
                "%zu customers, seed %#llx",
                book.customers.size(), mean_json, book.edits.size(), book.plan.expected.size(),
                static_cast<unsigned long long>(options.seed));

  const bool replica_scenario = std::find(options.scenarios.begin(), options.scenarios.end(),
                                          "replica") != options.scenarios.end();
  if (std::find(options.scenarios.begin(), options.scenarios.end(), "app") !=
      options.scenarios.end()) {
    AppBenchOptions app;
    app.customers = options.customers;
    app.requests = options.requests;
    app.runs = options.runs;
    app.seed = options.seed;
    app.dir = parent;
    app.book = options.book;
    run_app_scenario(report, app);
  }
  if (!replica_scenario) {
    report.finish();
    return 0;
  }

  const auto runs_start = Clock::now();
  const double cpu_at_start = self_cpu_seconds();
  SqlProfiles profiles;
  RunValues first_run;
  report.scenario("replica", text,
                  {{"customers", book.customers.size()},
                   {"edits", book.edits.size()},
                   {"edited_customers", book.plan.expected.size()},
                   {"seed", options.seed},
                   {"mean_compact_json_bytes", mean_json}},
                  figures(options), options.runs, [&](std::size_t run) {
                    const bool profile = options.sql_profile && run == 0;
                    RunValues r =
                        run_once(options, run, dir.path(), book, profile ? &profiles : nullptr);
                    if (run == 0) first_run = r;
                    return r;
                  });
  const double runs_wall = seconds_since(runs_start);
  const double runs_cpu = self_cpu_seconds() - cpu_at_start;
  report.machine("cpu_share", runs_cpu / runs_wall);
  report.say("this process got %.0f %% of one core: %.0f s CPU in %.0f s",
             100 * runs_cpu / runs_wall, runs_cpu, runs_wall);
  if (options.sql_profile && report.text()) {
    print_profile("apply_remote", first_run["apply_remote_s"], profiles.apply);
    print_profile("the local edits",
                  first_run["edit_mean_us"] * 1e-6 * static_cast<double>(book.edits.size()),
                  profiles.edits);
  }
  report.finish();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("libreta-bench-replica: the local replica benchmark (docs/performance.md)");
  Options options;
  app.option_defaults()->always_capture_default();
  app.add_option("--customers", options.customers, "customers in the book");
  app.add_option("--edits", options.edits, "single-field local edits");
  app.add_option("--runs", options.runs, "runs; figures are medians with min and max");
  app.add_option("--batch", options.batch, "customers per apply_remote call");
  app.add_option("--seed", options.seed, "workload seed (default: the published one)");
  app.add_option("--dir", options.dir, "where the temporary files go (default: the system's)");
  app.add_flag("--breakdown", options.breakdown,
               "also time baselines with the replica's indexes and search");
  app.add_flag("--sql-profile", options.sql_profile,
               "time each SQL statement of the replica in the first run");
  app.add_option("--scenario", options.scenarios, "replica, app, or both (comma-separated)")
      ->delimiter(',')
      ->check(CLI::IsMember({"replica", "app"}));
  app.add_option("--requests", options.requests, "scenario app: requests of each kind per run");
  app.add_option("--book", options.book,
                 "scenario app: the book file to use, built there when missing (same --customers "
                 "and --seed)");
  app.add_option("--json", options.json_file,
                 "write the figures as JSON to FILE ('-': stdout, no table)");
  try {
    app.parse(argc, argv);
    if (options.customers == 0 || options.runs == 0 || options.batch == 0 ||
        options.requests == 0) {
      throw CLI::ValidationError("--customers, --runs, --batch and --requests must be positive");
    }
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    return run_benchmark(options);
  } catch (const std::exception& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "libreta-bench-replica: %s\n", error.what());
    return 1;
  }
}
