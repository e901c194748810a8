// libreta-bench-replica: the local replica on the WORKLOAD.md customer book.
//   a. local single-field edit latency (Replica::update, one transaction each);
//   b. applying N remote customers (apply_remote, pages of --batch customers) against a plain
//      SQLite bulk insert of the same rows, measured in the same process, interleaved.
// Prints medians over --runs with min and max; exits non-zero when the replica does not
// end up holding exactly what was written. Single-threaded.
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "libreta/client/replica.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/row_versions.hpp"
#include "libreta/protocol/text.hpp"
#include "report.hpp"
#include "workload.hpp"

#ifndef LIBRETA_BUILD_TYPE
#define LIBRETA_BUILD_TYPE "unknown"
#endif

namespace {

using namespace libreta;
using namespace libreta::bench;

// The replica's connection settings (Replica::open); the baseline uses the same ones.
constexpr const char* kJournalMode = "WAL";
constexpr const char* kSynchronous = "NORMAL";

struct Options {
  std::size_t customers = 100'000;
  std::size_t edits = 10'000;
  std::size_t runs = 5;
  // Customers per apply_remote call: the bootstrap sends pages of about this many.
  std::size_t batch = 1'000;
  std::uint64_t seed = workload::kDefaultSeed;
  bool json = false;
  bool breakdown = false;
  bool sql_profile = false;
  std::filesystem::path dir;
};

[[noreturn]] void usage(int code) {
  std::fprintf(
      code ? stderr : stdout,
      "usage: libreta-bench-replica [--customers N] [--edits M] [--runs R] [--batch B]\n"
      "                             [--seed S] [--dir PATH] [--breakdown] [--sql-profile]\n"
      "                             [--json]\n"
      "  --customers N  customers in the book (default 100000)\n"
      "  --edits M      single-field local edits (default 10000)\n"
      "  --runs R       runs; figures are medians with min and max (default 5)\n"
      "  --batch B      customers per apply_remote call (default 1000)\n"
      "  --seed S       workload seed (default the published one)\n"
      "  --dir PATH     where the temporary files go (default the system temp dir)\n"
      "  --breakdown    also time baselines with the replica's indexes and search\n"
      "  --sql-profile  time each SQL statement of the replica in the first run\n"
      "  --json         machine-readable output\n");
  std::exit(code);
}

Options parse_options(int argc, char** argv) {
  Options options;
  bench::ArgReader args(argc, argv, [](int code) { usage(code); });
  while (args.next()) {
    const std::string& arg = args.arg();
    if (arg == "--customers") {
      options.customers = args.number();
    } else if (arg == "--edits") {
      options.edits = args.number();
    } else if (arg == "--runs") {
      options.runs = args.number();
    } else if (arg == "--batch") {
      options.batch = args.number();
    } else if (arg == "--seed") {
      options.seed = args.number();
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--breakdown") {
      options.breakdown = true;
    } else if (arg == "--sql-profile") {
      options.sql_profile = true;
    } else if (arg == "--dir") {
      options.dir = args.value();
    } else {
      args.unknown();
    }
  }
  if (options.customers == 0 || options.runs == 0 || options.batch == 0) {
    std::fprintf(stderr, "--customers, --runs and --batch must be positive\n");
    usage(2);
  }
  return options;
}

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

// ---- Plain SQLite ------------------------------------------------------------------------

class Db {
 public:
  explicit Db(const std::filesystem::path& file, bool read_only = false) {
    const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + file.string() + ": " + message);
    }
  }
  ~Db() { sqlite3_close_v2(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return db_; }
  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error("sqlite: " + message + " in: " + sql.substr(0, 120));
    }
  }
  std::int64_t scalar(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    check(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), sql);
    std::int64_t value = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    check(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), sql);
    std::string value;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* data = sqlite3_column_text(stmt, 0);
      if (data) value = reinterpret_cast<const char*>(data);
    }
    sqlite3_finalize(stmt);
    return value;
  }
  void check(int rc, const std::string& what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
      throw std::runtime_error("sqlite: " + std::string(sqlite3_errmsg(db_)) +
                               " in: " + what.substr(0, 120));
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

// One customer as the baseline binds it: a value per column of the customers table, in
// schema order; tag sets as JSON array text like the replica stores them.
struct BaselineRow {
  std::string id;
  std::vector<Value> columns;
  std::string versions;     // only for --breakdown: the replica's _versions blob
  std::string search_body;  // only for --breakdown: a search document of similar size
};

// A search document like the replica's (client-core/src/replica.cpp, append_search_text,
// as of commit d7c49cd): the text, its folded form when that differs, every ending of at
// least 6 digits of a phone, and a compact tax id.
void append_search_text(std::string& body, const std::string& text, FieldKind kind) {
  body += text + '\n';
  std::string lower = text;
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (std::string folded = fold_text(text); folded != text && folded != lower) {
    body += folded + '\n';
  }
  if (kind == FieldKind::phone) {
    const std::string digits = digits_only(text);
    for (std::size_t start = 0; start + 6 <= digits.size(); ++start) {
      body += digits.substr(start) + ' ';
    }
    body += '\n';
  } else if (kind == FieldKind::text) {
    const std::string compact = normalize_tax_id(text);
    if (compact.size() >= 6 && compact.size() <= 16 &&
        compact.find_first_of("0123456789") != std::string::npos && compact != text) {
      body += compact + '\n';
    }
  }
}

std::vector<BaselineRow> baseline_rows(const std::vector<Customer>& customers, bool breakdown) {
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  std::vector<BaselineRow> rows;
  rows.reserve(customers.size());
  for (std::size_t i = 0; i < customers.size(); ++i) {
    const Record record = to_record(customers[i]);
    BaselineRow row;
    row.id = customers[i].id;
    for (const auto& field : table.fields) {
      auto it = record.find(field.name);
      if (it == record.end()) {
        row.columns.emplace_back();
      } else if (it->second.is_tags()) {
        row.columns.emplace_back(nlohmann::json(it->second.as_tags()).dump());
      } else {
        row.columns.push_back(it->second);
      }
      if (breakdown && field.searchable && it != record.end() && it->second.is_text()) {
        append_search_text(row.search_body, it->second.as_text(), field.kind);
      }
    }
    if (breakdown) {
      RowVersions versions;
      for (const auto& change : workload::customer_changes(customers[i], i)) versions.merge(change);
      row.versions = versions.encode();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

enum class BaselineKind {
  plain,      // id TEXT PRIMARY KEY + one column per field: the reference of the ratio
  indexed,    // plus a _versions column and the replica's three indexes on customers
  search,     // plus one FTS5 document per customer, as the replica keeps
  returning,  // as search, with the replica's statement: INSERT .. ON CONFLICT .. RETURNING
  deferred,   // as search, but the indexes are created after the rows (same transaction)
};
constexpr BaselineKind kBreakdownKinds[] = {BaselineKind::indexed, BaselineKind::search,
                                            BaselineKind::returning, BaselineKind::deferred};

const char* baseline_name(BaselineKind kind) {
  switch (kind) {
    case BaselineKind::plain:
      return "plain";
    case BaselineKind::indexed:
      return "+versions+indexes";
    case BaselineKind::search:
      return "+versions+indexes+fts";
    case BaselineKind::returning:
      return "same, upsert..returning";
    case BaselineKind::deferred:
      return "same, indexes built after";
  }
  return "?";
}

void bind_text(sqlite3_stmt* stmt, int index, const std::string& text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

// Bulk-inserts `rows` in one transaction with one prepared statement; returns the seconds
// from BEGIN to COMMIT. Creating the file and the table is not timed.
double run_baseline(const std::filesystem::path& file, const std::vector<BaselineRow>& rows,
                    BaselineKind kind) {
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  const bool versions = kind != BaselineKind::plain;
  const bool search = kind != BaselineKind::plain && kind != BaselineKind::indexed;
  remove_database(file);
  double elapsed = 0;
  {
    Db db(file);
    db.exec(std::string("PRAGMA journal_mode = ") + kJournalMode);
    db.exec(std::string("PRAGMA synchronous = ") + kSynchronous);
    std::string create = "CREATE TABLE customers (id TEXT PRIMARY KEY";
    std::string insert = "INSERT INTO customers (id";
    std::string values = "?";
    std::string updates;
    for (const auto& field : table.fields) {
      const char* type = field.kind == FieldKind::decimal   ? "REAL"
                         : field.kind == FieldKind::integer ? "INTEGER"
                                                            : "TEXT";
      const std::string column = "\"" + field.name + "\"";
      create += ", " + column + " " + type;
      insert += ", " + column;
      values += ", ?";
      updates += (updates.empty() ? "" : ", ") + column + " = excluded." + column;
    }
    if (versions) {
      create += ", _versions TEXT NOT NULL";
      insert += ", _versions";
      values += ", ?";
      updates += ", _versions = excluded._versions";
    }
    insert += ") VALUES (" + values + ")";
    if (kind == BaselineKind::returning) {
      insert += " ON CONFLICT(id) DO UPDATE SET " + updates + " RETURNING rowid";
    }
    db.exec(create + ")");
    const char* indexes =
        "CREATE INDEX customers_owner ON customers(owner);"
        "CREATE INDEX customers_status ON customers(status);"
        "CREATE INDEX customers_city ON customers(city);";
    if (versions && kind != BaselineKind::deferred) db.exec(indexes);
    if (search) {
      db.exec(
          "CREATE VIRTUAL TABLE search_index USING fts5(customer_id UNINDEXED, tbl UNINDEXED, "
          "row_id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2')");
    }

    const auto start = Clock::now();
    db.exec("BEGIN IMMEDIATE");
    sqlite3_stmt* stmt = nullptr;
    db.check(sqlite3_prepare_v2(db.handle(), insert.c_str(), -1, &stmt, nullptr), insert);
    sqlite3_stmt* fts = nullptr;
    if (search) {
      const char* sql =
          "INSERT INTO search_index(rowid, customer_id, tbl, row_id, body) VALUES (?, ?, ?, ?, ?)";
      db.check(sqlite3_prepare_v2(db.handle(), sql, -1, &fts, nullptr), sql);
    }
    std::int64_t rowid = 0;
    for (const auto& row : rows) {
      int index = 1;
      bind_text(stmt, index++, row.id);
      for (const auto& value : row.columns) {
        const int at = index++;
        switch (value.type()) {
          case Value::Type::null:
            sqlite3_bind_null(stmt, at);
            break;
          case Value::Type::integer:
            sqlite3_bind_int64(stmt, at, value.as_integer());
            break;
          case Value::Type::number:
            sqlite3_bind_double(stmt, at, value.as_number());
            break;
          case Value::Type::text:
            bind_text(stmt, at, value.as_text());
            break;
          default:
            throw std::logic_error("baseline: unexpected value type");
        }
      }
      if (versions) bind_text(stmt, index++, row.versions);
      int rc = sqlite3_step(stmt);
      while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
      db.check(rc, insert);
      sqlite3_reset(stmt);
      ++rowid;
      if (fts) {
        sqlite3_bind_int64(fts, 1, rowid * 8);
        bind_text(fts, 2, row.id);
        sqlite3_bind_text(fts, 3, "customers", -1, SQLITE_STATIC);
        bind_text(fts, 4, row.id);
        bind_text(fts, 5, row.search_body);
        db.check(sqlite3_step(fts), "fts insert");
        sqlite3_reset(fts);
      }
    }
    sqlite3_finalize(stmt);
    sqlite3_finalize(fts);
    if (kind == BaselineKind::deferred) db.exec(indexes);
    db.exec("COMMIT");
    elapsed = seconds_since(start);

    if (db.scalar("SELECT count(*) FROM customers") != static_cast<std::int64_t>(rows.size())) {
      fail(std::string("the ") + baseline_name(kind) + " baseline does not hold every row");
    }
  }
  return elapsed;
}

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

std::string describe(const Value& value) {
  switch (value.type()) {
    case Value::Type::null:
      return "null";
    case Value::Type::text:
      return "'" + value.as_text() + "'";
    case Value::Type::tags:
      return nlohmann::json(value.as_tags()).dump();
    case Value::Type::number:
    case Value::Type::integer:
      return std::to_string(value.as_number());
    case Value::Type::boolean:
      return value.as_bool() ? "true" : "false";
  }
  return "?";
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
    Db db(replica.path(), /*read_only=*/true);
    if (db.text("PRAGMA journal_mode") != "wal") {
      fail("the replica is not in WAL mode: the baseline would not be comparable");
    }
    const auto count = db.scalar("SELECT count(*) FROM customers WHERE deleted = 0");
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

// The edits as update() takes them, whether each changes its row, and what every edited
// customer holds after all of them; computed in memory before anything is timed.
struct EditPlan {
  std::vector<Record> updates;
  std::vector<bool> changes;
  std::map<std::size_t, Record> expected;
};

EditPlan plan_edits(const std::vector<Customer>& customers,
                    const std::vector<workload::Edit>& edits) {
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  EditPlan plan;
  for (const auto& edit : edits) {
    plan.updates.push_back(Record{{edit.field, edit.value}});
    auto [it, inserted] = plan.expected.try_emplace(edit.customer);
    if (inserted) it->second = to_record(customers[edit.customer]);
    Record& state = it->second;
    const bool is_tags = table.field(edit.field)->kind == FieldKind::tag_set;
    auto current = state.find(edit.field);
    const Value before = current != state.end() ? current->second
                         : is_tags              ? Value(TagSet{})
                                                : Value();
    plan.changes.push_back(!(before == edit.value));
    if (is_tags && edit.value.as_tags().empty()) {
      state.erase(edit.field);
    } else {
      state[edit.field] = edit.value;
    }
  }
  return plan;
}

void check_edits(const client::Replica& replica, const std::vector<Customer>& customers,
                 const EditPlan& plan) {
  for (const auto& [index, record] : plan.expected) {
    check_customer(replica, customers[index].id, record);
  }
  const bool any_change =
      std::find(plan.changes.begin(), plan.changes.end(), true) != plan.changes.end();
  if (any_change && replica.pending_count() == 0) fail("local edits left no outbox entry");
}

// Each edit is one update() call, so one transaction, timed on its own.
EditFigures run_edits(client::Replica& replica, const std::vector<workload::Edit>& edits,
                      const EditPlan& plan) {
  EditFigures figures;
  if (edits.empty()) return figures;
  std::vector<double> micros;
  micros.reserve(edits.size());
  for (std::size_t j = 0; j < edits.size(); ++j) {
    const auto start = Clock::now();
    const std::size_t changed =
        replica.update(tables::customers, edits[j].customer_id, plan.updates[j]);
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
    figures.baseline_s = run_baseline(baseline_file, rows, BaselineKind::plain);
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
      figures.breakdown_s[baseline_name(kind)] = run_baseline(baseline_file, rows, kind);
      remove_database(baseline_file);
    }
  }
  check_holds_customers(*replica, customers);
  const EditPlan plan = plan_edits(customers, edits);
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

int run_benchmark(const Options& options) {
  const unsigned cores = std::thread::hardware_concurrency();
  const double load_at_start = load_average();
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
  const double prepare_s = seconds_since(prepare_start);

  const double mean_json = json_bytes / static_cast<double>(customers.size());
  if (!options.json) {
    std::printf("libreta-bench-replica: the local replica on the WORKLOAD.md customer book\n");
    std::printf("machine   %u cores (load average %.1f at start), SQLite %s, build %s\n", cores,
                load_at_start, sqlite3_libversion(), LIBRETA_BUILD_TYPE);
    std::printf(
        "workload  %zu customers (compact JSON %.1f B each on average, spec ~855 B), "
        "%zu edits on %zu customers, seed %#llx\n",
        customers.size(), mean_json, edits.size(), edited.size(),
        static_cast<unsigned long long>(options.seed));
    std::printf(
        "setup     apply_remote in pages of %zu customers; baseline: one transaction, "
        "one prepared INSERT; both journal_mode=%s synchronous=%s, files in %s\n",
        options.batch, kJournalMode, kSynchronous, parent.c_str());
    std::printf("          (workload generated in %.1f s, not timed)\n\n", prepare_s);
    std::printf("%-4s %12s %12s %7s %12s %12s %11s %11s %11s %8s\n", "run", "apply (s)",
                "baseline (s)", "ratio", "first pg ms", "last pg ms", "edit p50 us", "edit p99 us",
                "edit max us", "no-ops");
    std::fflush(stdout);
  }

  const auto runs_start = Clock::now();
  const double cpu_at_start = self_cpu_seconds();
  std::vector<RunFigures> runs;
  for (std::size_t run = 0; run < options.runs; ++run) {
    runs.push_back(run_once(options, run, dir.path(), customers, rows, edits));
    const RunFigures& r = runs.back();
    if (!options.json) {
      std::printf("%-4zu %12.3f %12.3f %7.2f %12.1f %12.1f %11.1f %11.1f %11.1f %8zu\n", run + 1,
                  r.apply.seconds, r.baseline_s, r.apply.seconds / r.baseline_s,
                  r.apply.first_batch_ms, r.apply.last_batch_ms, r.edits.p50_us, r.edits.p99_us,
                  r.edits.max_us, edits.size() - r.edits.changed);
      std::fflush(stdout);
    }
  }

  const double runs_wall = seconds_since(runs_start);
  const double runs_cpu = self_cpu_seconds() - cpu_at_start;
  const double load_at_end = load_average();
  const Summary apply = summarize(runs, [](const RunFigures& r) { return r.apply.seconds; });
  const Summary baseline = summarize(runs, [](const RunFigures& r) { return r.baseline_s; });
  const Summary ratio =
      summarize(runs, [](const RunFigures& r) { return r.apply.seconds / r.baseline_s; });
  const Summary p50 = summarize(runs, [](const RunFigures& r) { return r.edits.p50_us; });
  const Summary p99 = summarize(runs, [](const RunFigures& r) { return r.edits.p99_us; });
  const Summary mean = summarize(runs, [](const RunFigures& r) { return r.edits.mean_us; });
  const Summary first_page =
      summarize(runs, [](const RunFigures& r) { return r.apply.first_batch_ms; });
  const Summary last_page =
      summarize(runs, [](const RunFigures& r) { return r.apply.last_batch_ms; });
  const std::size_t changes = runs.front().apply.changes;
  const double n = static_cast<double>(customers.size());

  if (options.json) {
    nlohmann::json out;
    out["machine"] = {{"cores", cores},
                      {"sqlite", sqlite3_libversion()},
                      {"build", LIBRETA_BUILD_TYPE},
                      {"load_average_start", load_at_start},
                      {"load_average_end", load_at_end},
                      {"cpu_share", runs_cpu / runs_wall}};
    out["workload"] = {{"customers", customers.size()},        {"edits", edits.size()},
                       {"edited_customers", edited.size()},    {"seed", options.seed},
                       {"mean_compact_json_bytes", mean_json}, {"changes", changes}};
    out["setup"] = {{"batch_customers", options.batch},
                    {"journal_mode", kJournalMode},
                    {"synchronous", kSynchronous},
                    {"runs", options.runs}};
    out["edit_us"] = {{"p50", to_json(p50)}, {"p99", to_json(p99)}, {"mean", to_json(mean)}};
    out["apply_remote_s"] = to_json(apply);
    out["baseline_s"] = to_json(baseline);
    out["ratio"] = to_json(ratio);
    out["page_ms"] = {{"first", to_json(first_page)}, {"last", to_json(last_page)}};
    nlohmann::json per_run = nlohmann::json::array();
    for (const auto& r : runs) {
      nlohmann::json j = {
          {"apply_remote_s", r.apply.seconds},       {"baseline_s", r.baseline_s},
          {"ratio", r.apply.seconds / r.baseline_s}, {"edit_p50_us", r.edits.p50_us},
          {"edit_p99_us", r.edits.p99_us},           {"edit_max_us", r.edits.max_us},
          {"edits_changed", r.edits.changed},        {"replica_bytes", r.replica_bytes},
          {"baseline_bytes", r.baseline_bytes}};
      for (const auto& [name, seconds] : r.breakdown_s) j["breakdown_s"][name] = seconds;
      per_run.push_back(std::move(j));
    }
    out["runs"] = std::move(per_run);
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }

  const auto line = [](const char* what, const Summary& s, const char* unit, const char* goal) {
    std::printf("%-34s %10.2f %s  (%.2f - %.2f)   %s\n", what, s.median, unit, s.min, s.max, goal);
  };
  std::printf("\nmedian over %zu run%s (min - max)\n", runs.size(), runs.size() == 1 ? "" : "s");
  line("a. local edit p50", p50, "us", "goal <= 100 us");
  line("   local edit p99", p99, "us", "");
  line("   local edit mean", mean, "us", "");
  line("b. apply_remote, N customers", apply, "s ", "");
  line("   plain SQLite bulk insert", baseline, "s ", "");
  line("   ratio apply_remote / baseline", ratio, "x ", "goal <= 2.0");
  line("   apply page, first tenth", first_page, "ms", "");
  line("   apply page, last tenth", last_page, "ms", "");
  std::printf("%-34s %10.0f customers/s, %.0f changes/s (median)\n", "   apply_remote throughput",
              n / apply.median, static_cast<double>(changes) / apply.median);
  std::printf("%-34s %10.0f customers/s (median)\n", "   baseline throughput", n / baseline.median);
  if (options.breakdown) {
    std::printf(
        "   breakdown: the baseline doing more of what the replica does (median s, min - max,\n"
        "   its ratio to the plain baseline, and apply_remote's ratio to it)\n");
    for (BaselineKind kind : kBreakdownKinds) {
      const std::string name = baseline_name(kind);
      const Summary s =
          summarize(runs, [&](const RunFigures& r) { return r.breakdown_s.at(name); });
      const Summary to_plain = summarize(
          runs, [&](const RunFigures& r) { return r.breakdown_s.at(name) / r.baseline_s; });
      const Summary apply_to_it = summarize(
          runs, [&](const RunFigures& r) { return r.apply.seconds / r.breakdown_s.at(name); });
      std::printf("     %-29s %10.2f s   (%.2f - %.2f)   %.2fx plain; apply_remote %.2fx it\n",
                  name.c_str(), s.median, s.min, s.max, to_plain.median, apply_to_it.median);
    }
  }
  std::printf("%-34s %10.1f MB replica, %.1f MB baseline (last run)\n", "   file size",
              static_cast<double>(runs.back().replica_bytes) / 1e6,
              static_cast<double>(runs.back().baseline_bytes) / 1e6);
  std::printf("%-34s %10zu changes (%.2f per customer), %zu of %zu edits were no-ops\n",
              "   remote changes", changes, static_cast<double>(changes) / n,
              edits.size() - runs.back().edits.changed, edits.size());
  std::printf("%-34s %10.0f %% of one core: %.0f s CPU in %.0f s (load average %.1f at end)\n",
              "   this process got", 100 * runs_cpu / runs_wall, runs_cpu, runs_wall, load_at_end);
  if (options.sql_profile) {
    const auto print_profile = [](const char* phase, double total,
                                  const std::vector<SqlProfile::Entry>& profile) {
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
    };
    const RunFigures& first = runs.front();
    print_profile("apply_remote", first.apply.seconds, first.apply_profile);
    print_profile("the local edits", first.edits.mean_us * 1e-6 * static_cast<double>(edits.size()),
                  first.edit_profile);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  try {
    return run_benchmark(options);
  } catch (const std::exception& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "libreta-bench-replica: %s\n", error.what());
    return 1;
  }
}
