// libreta-bench-replica: the local replica on the WORKLOAD.md customer book.
//   a. local single-field edit latency (Replica::update, one transaction each);
//   b. applying N remote customers (apply_remote, pages of --batch customers) against a plain
//      SQLite bulk insert of the same rows (baseline.hpp), measured in the same process,
//      interleaved.
// Prints medians over --runs with min and max through the Reporter; exits non-zero when the
// replica does not end up holding exactly what was written. Single-threaded.
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "baseline.hpp"
#include "libreta/client/replica.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "report.hpp"
#include "support.hpp"
#include "workload.hpp"

#ifndef LIBRETA_BUILD_TYPE
#define LIBRETA_BUILD_TYPE "unknown"
#endif

namespace {

using namespace libreta;
using namespace libreta::bench;

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
  std::filesystem::path dir;
};

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

struct ApplyFigures {
  double seconds = 0;  // inside apply_remote calls only
  std::size_t changes = 0;
  double first_batch_ms = 0;  // mean of the first tenth of the batches
  double last_batch_ms = 0;   // mean of the last tenth: growth with the table's size
};

struct EditFigures {
  double p50_us = 0, p99_us = 0, mean_us = 0, max_us = 0;
  std::size_t changed = 0;  // edits that changed a value (the others are no-ops)
};

struct RunFigures {
  ApplyFigures apply;
  double baseline_s = 0;
  std::map<std::string, double> breakdown_s;
  EditFigures edits;
  std::uintmax_t replica_bytes = 0, baseline_bytes = 0;
  std::vector<SqlProfile::Entry> apply_profile, edit_profile;  // --sql-profile, first run
};

client::ReplicaOptions replica_options() {
  client::ReplicaOptions options;
  options.new_replica_id = "bench";
  return options;
}

ApplyFigures apply_customers(client::Replica& replica, const std::vector<Customer>& customers,
                             std::size_t batch) {
  ApplyFigures figures;
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
    figures.seconds += elapsed;
    batch_ms.push_back(elapsed * 1e3);
    figures.changes += changes.size();
    if (result.applied != changes.size() || result.ignored != 0) {
      fail("apply_remote of customers [" + std::to_string(first) + ", " + std::to_string(end) +
           ") applied " + std::to_string(result.applied) + " and ignored " +
           std::to_string(result.ignored) + " of " + std::to_string(changes.size()) +
           " new changes");
    }
  }
  const std::size_t tenth = std::max<std::size_t>(1, batch_ms.size() / 10);
  for (std::size_t i = 0; i < tenth; ++i) {
    figures.first_batch_ms += batch_ms[i] / static_cast<double>(tenth);
    figures.last_batch_ms += batch_ms[batch_ms.size() - 1 - i] / static_cast<double>(tenth);
  }
  return figures;
}

// The replica must return exactly `expected` for customer `id`.
void check_customer(const client::Replica& replica, const std::string& id, const Record& expected) {
  const auto stored = replica.get(tables::customers, id);
  if (!stored) fail("customer " + id + " is missing from the replica");
  if (*stored == expected) return;
  std::set<std::string> names;
  for (const auto& [name, value] : expected) names.insert(name);
  for (const auto& [name, value] : *stored) names.insert(name);
  for (const auto& name : names) {
    auto a = expected.find(name);
    auto b = stored->find(name);
    const Value want = a == expected.end() ? Value() : a->second;
    const Value got = b == stored->end() ? Value() : b->second;
    if (!(want == got)) {
      fail("customer " + id + " field " + name + ": expected " + describe(want) + ", replica has " +
           describe(got));
    }
  }
  fail("customer " + id + " differs from what was written");
}

void check_holds_customers(const client::Replica& replica, const std::vector<Customer>& customers) {
  // Every row is there (a count on the file, read through a second connection)...
  {
    sqlite::Database db(replica.path().string(), false);
    auto mode = db.prepare("PRAGMA journal_mode");
    if (!mode.step() || mode.text(0) != "wal") {
      fail("the replica is not in WAL mode: the baseline would not be comparable");
    }
    auto count_rows = db.prepare("SELECT count(*) FROM customers WHERE deleted = 0");
    count_rows.step();
    const auto count = count_rows.integer(0);
    if (count != static_cast<std::int64_t>(customers.size())) {
      fail("the replica holds " + std::to_string(count) + " customers, not " +
           std::to_string(customers.size()));
    }
  }
  // ...and a spread sample (first and last included) reads back exactly as generated.
  const std::size_t step = std::max<std::size_t>(1, customers.size() / 256);
  for (std::size_t i = 0; i < customers.size(); i += step) {
    check_customer(replica, customers[i].id, to_record(customers[i]));
  }
  check_customer(replica, customers.back().id, to_record(customers.back()));
}

void check_edits(const client::Replica& replica, const std::vector<Customer>& customers,
                 const EditPlan& plan) {
  for (const auto& [index, record] : plan.expected) {
    check_customer(replica, customers[index].id, record);
  }
  if (plan.changing > 0 && replica.pending_count() == 0) fail("local edits left no outbox entry");
}

// Each edit is one update() call, so one transaction, timed on its own.
EditFigures run_edits(client::Replica& replica, const std::vector<workload::Edit>& edits,
                      const EditPlan& plan) {
  EditFigures figures;
  if (edits.empty()) return figures;
  std::vector<Record> updates;  // as update() takes them, made before anything is timed
  for (const auto& edit : edits) updates.push_back(Record{{edit.field, edit.value}});
  std::vector<double> micros;
  micros.reserve(edits.size());
  for (std::size_t j = 0; j < edits.size(); ++j) {
    const auto start = Clock::now();
    const std::size_t changed = replica.update(tables::customers, edits[j].customer_id, updates[j]);
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if ((changed > 0) != plan.changes[j]) {
      fail("edit " + std::to_string(j) + " of " + edits[j].field + " on " + edits[j].customer_id +
           (plan.changes[j] ? " should have changed the row" : " should have been a no-op"));
    }
    figures.changed += plan.changes[j];
  }

  std::vector<double> sorted = micros;
  std::sort(sorted.begin(), sorted.end());
  figures.p50_us = quantile(sorted, 0.50);
  figures.p99_us = quantile(sorted, 0.99);
  figures.max_us = sorted.back();
  double sum = 0;
  for (double us : micros) sum += us;
  figures.mean_us = sum / static_cast<double>(micros.size());
  return figures;
}

// One run: the baseline and the replica load in alternating order, then the edits.
RunFigures run_once(const Options& options, std::size_t run, const std::filesystem::path& dir,
                    const std::vector<Customer>& customers, const std::vector<BaselineRow>& rows,
                    const std::vector<workload::Edit>& edits) {
  RunFigures figures;
  const auto replica_file = dir / "replica.db";
  const auto baseline_file = dir / "baseline.db";
  remove_database(replica_file);

  const bool profile = options.sql_profile && run == 0;
  auto replica_load = [&] {
    auto replica = client::Replica::open(replica_file, replica_options());
    if (profile) SqlProfile::start();
    figures.apply = apply_customers(*replica, customers, options.batch);
    if (profile) figures.apply_profile = SqlProfile::stop();
    return replica;
  };
  auto baseline_load = [&] {
    figures.baseline_s = bulk_insert(baseline_file, rows);
    figures.baseline_bytes = database_bytes(baseline_file);
    remove_database(baseline_file);
  };
  std::unique_ptr<client::Replica> replica;
  if (run % 2 == 0) {
    baseline_load();
    replica = replica_load();
  } else {
    replica = replica_load();
    baseline_load();
  }
  if (options.breakdown) {
    for (BaselineKind kind : kBreakdownKinds) {
      figures.breakdown_s[baseline_name(kind)] = bulk_insert(baseline_file, rows, kind);
      remove_database(baseline_file);
    }
  }
  check_holds_customers(*replica, customers);
  const EditPlan plan = plan_edits(edits, options.seed);
  if (profile) SqlProfile::start();
  figures.edits = run_edits(*replica, edits, plan);
  if (profile) figures.edit_profile = SqlProfile::stop();
  check_edits(*replica, customers, plan);
  replica.reset();  // closes the file (and checkpoints the WAL)
  figures.replica_bytes = database_bytes(replica_file);
  remove_database(replica_file);
  return figures;
}

// ---- Reporting ---------------------------------------------------------------------------

// The breakdown's figures by kind: their keys.
const char* breakdown_key(BaselineKind kind) {
  switch (kind) {
    case BaselineKind::indexed:
      return "indexed";
    case BaselineKind::search:
      return "search";
    case BaselineKind::returning:
      return "returning";
    case BaselineKind::deferred:
      return "deferred";
    case BaselineKind::plain:
      break;
  }
  return "plain";
}

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
    const std::string key = breakdown_key(kind);
    all.push_back({"breakdown_" + key + "_s", std::string("   breakdown: ") + baseline_name(kind),
                   "s", "", "baseline_s"});
    all.push_back({"apply_remote_to_" + key, "     apply_remote / it", "x"});
  }
  return all;
}

RunValues values_of(const RunFigures& r, std::size_t customers, std::size_t edits) {
  const double n = static_cast<double>(customers);
  RunValues v = {{"edit_p50_us", r.edits.p50_us},
                 {"edit_p99_us", r.edits.p99_us},
                 {"edit_mean_us", r.edits.mean_us},
                 {"edit_max_us", r.edits.max_us},
                 {"apply_remote_s", r.apply.seconds},
                 {"baseline_s", r.baseline_s},
                 {"first_page_ms", r.apply.first_batch_ms},
                 {"last_page_ms", r.apply.last_batch_ms},
                 {"apply_customers_per_s", n / r.apply.seconds},
                 {"apply_changes_per_s", static_cast<double>(r.apply.changes) / r.apply.seconds},
                 {"baseline_customers_per_s", n / r.baseline_s},
                 {"replica_mb", mb(static_cast<double>(r.replica_bytes))},
                 {"baseline_mb", mb(static_cast<double>(r.baseline_bytes))},
                 {"remote_changes", static_cast<double>(r.apply.changes)},
                 {"edit_no_ops", static_cast<double>(edits - r.edits.changed)}};
  for (BaselineKind kind : kBreakdownKinds) {
    const auto it = r.breakdown_s.find(baseline_name(kind));
    if (it == r.breakdown_s.end()) continue;
    const std::string key = breakdown_key(kind);
    v["breakdown_" + key + "_s"] = it->second;
    v["apply_remote_to_" + key] = r.apply.seconds / it->second;
  }
  return v;
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
  const std::filesystem::path parent =
      options.dir.empty() ? std::filesystem::temp_directory_path() : options.dir;
  TempDir dir(parent, "libreta-bench");
  if (options.sql_profile) SqlProfile::install();

  // Everything below up to the runs is preparation, not measured.
  const auto prepare_start = Clock::now();
  const std::vector<Customer> customers = workload::make_customers(options.customers, options.seed);
  const std::vector<workload::Edit> edits =
      workload::make_edits(options.customers, options.edits, options.seed);
  const std::vector<BaselineRow> rows = baseline_rows(customers, options.breakdown);
  double json_bytes = 0;
  for (const auto& customer : customers) {
    json_bytes += static_cast<double>(workload::compact_json_size(customer));
  }
  std::set<std::size_t> edited;
  for (const auto& edit : edits) edited.insert(edit.customer);
  const double mean_json = json_bytes / static_cast<double>(customers.size());
  const unsigned cores = std::thread::hardware_concurrency();
  report.say("libreta-bench-replica: the local replica on the WORKLOAD.md customer book");
  report.say("machine   %u cores (load average %.1f at start), SQLite %s, build %s", cores,
             load_average(), sqlite3_libversion(), LIBRETA_BUILD_TYPE);
  report.say(
      "setup     apply_remote in pages of %zu customers; baseline: one transaction, one "
      "prepared INSERT; both journal_mode=WAL synchronous=%s, files in %s",
      options.batch, kReplicaSynchronous, parent.c_str());
  report.say("          (workload generated in %.1f s, not timed)", seconds_since(prepare_start));
  report.machine("cores", cores);
  report.machine("sqlite", sqlite3_libversion());
  report.machine("build", LIBRETA_BUILD_TYPE);
  report.setup("batch_customers", options.batch);
  report.setup("synchronous", kReplicaSynchronous);
  report.setup("runs", options.runs);
  char text[256];
  std::snprintf(text, sizeof text,
                "%zu customers (compact JSON %.1f B each on average, spec ~855 B), %zu edits on "
                "%zu customers, seed %#llx",
                customers.size(), mean_json, edits.size(), edited.size(),
                static_cast<unsigned long long>(options.seed));
  report.begin("replica", text,
               {{"customers", customers.size()},
                {"edits", edits.size()},
                {"edited_customers", edited.size()},
                {"seed", options.seed},
                {"mean_compact_json_bytes", mean_json}},
               figures(options));

  const auto runs_start = Clock::now();
  const double cpu_at_start = self_cpu_seconds();
  std::vector<RunFigures> runs;
  for (std::size_t run = 0; run < options.runs; ++run) {
    runs.push_back(run_once(options, run, dir.path(), customers, rows, edits));
    report.add_run(values_of(runs.back(), customers.size(), edits.size()));
  }
  const double runs_wall = seconds_since(runs_start);
  const double runs_cpu = self_cpu_seconds() - cpu_at_start;
  report.end();
  report.machine("cpu_share", runs_cpu / runs_wall);
  report.say("this process got %.0f %% of one core: %.0f s CPU in %.0f s",
             100 * runs_cpu / runs_wall, runs_cpu, runs_wall);
  if (options.sql_profile && report.text()) {
    const RunFigures& first = runs.front();
    print_profile("apply_remote", first.apply.seconds, first.apply_profile);
    print_profile("the local edits", first.edits.mean_us * 1e-6 * static_cast<double>(edits.size()),
                  first.edit_profile);
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
  app.add_option("--json", options.json_file,
                 "write the figures as JSON to FILE ('-': stdout, no table)");
  try {
    app.parse(argc, argv);
    if (options.customers == 0 || options.runs == 0 || options.batch == 0) {
      throw CLI::ValidationError("--customers, --runs and --batch must be positive");
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
