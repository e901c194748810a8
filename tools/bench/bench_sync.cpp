// libreta-bench-sync: sync over loopback on the WORKLOAD.md customer book, against the real
// `libreta-server` program in a child process.
//   bootstrap: a fresh client downloads N customers (wall time, bytes each way, peak memory
//              of the client and of the server);
//   push:      a caught-up client sends M offline single-field edits (wall time until every
//              edit is acknowledged, bytes each way, bytes per edit);
//   live:      C connected clients, one edits at a steady pace, the others receive (latency
//              from the writer's commit to each receiver's apply).
// Bytes are counted by a relay thread between client and server; the bootstrap and push
// clients run in child processes (this program re-executed with --child) so that their
// memory is theirs alone. Each figure comes with a plain-SQLite baseline measured in the same
// run. Prints medians over --runs with min and max; exits non-zero when a check fails.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/store.hpp"
#include "report.hpp"
#include "server_process.hpp"
#include "workload.hpp"

#ifndef LIBRETA_BUILD_TYPE
#define LIBRETA_BUILD_TYPE "unknown"
#endif
#ifndef LIBRETA_SERVER_BINARY
#define LIBRETA_SERVER_BINARY ""
#endif

namespace {

using namespace libreta;
using namespace libreta::bench;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The replica's and the server's connection settings; the baselines use the same ones.
constexpr const char* kReplicaSynchronous = "NORMAL";
constexpr const char* kServerSynchronous = "FULL";

// How long a child or a wait may take before the run is declared failed (not a figure).
constexpr auto kBootstrapTimeout = std::chrono::seconds(900);
constexpr auto kPushTimeout = std::chrono::seconds(300);
// After the push is acknowledged the client keeps reading until the server has been quiet
// this long, so that the echo of its own commits is counted whole.
constexpr auto kQuietAfterPush = std::chrono::milliseconds(300);
// Marks the value a live edit writes: "<notes> [live J]".
constexpr const char* kLiveMarker = " [live ";

enum class Scenario { bootstrap, push, live };

struct Options {
  std::size_t customers = 100'000;
  std::size_t edits = 10'000;
  std::size_t clients = 50;
  std::size_t live_customers = 200;
  std::size_t live_edits = 200;
  std::size_t live_interval_ms = 10;
  std::size_t runs = 3;
  int server_threads = 2;
  std::set<Scenario> scenarios = {Scenario::bootstrap, Scenario::push, Scenario::live};
  std::uint64_t seed = workload::kDefaultSeed;
  bool json = false;
  bool compress = true;  // false: the clients speak protocol 1, every frame text
  fs::path dir;
  fs::path server;
  fs::path prepare;  // only seed a server database there, for profiling by hand
};

[[noreturn]] void usage(int code) {
  std::fprintf(
      code ? stderr : stdout,
      "usage: libreta-bench-sync [--scenario bootstrap|push|live|all] [--customers N]\n"
      "                          [--edits M] [--clients C] [--live-customers K]\n"
      "                          [--live-edits E] [--live-interval-ms T] [--runs R]\n"
      "                          [--server-threads S] [--server PATH] [--seed S] [--dir PATH]\n"
      "                          [--no-compression] [--json]\n"
      "       libreta-bench-sync --prepare DIR [--customers N]\n"
      "  --scenario X        bootstrap, push, live, a list (bootstrap,push) or all (default)\n"
      "  --customers N       customers on the server for bootstrap and push (default 100000)\n"
      "  --edits M           offline single-field edits pushed at once (default 10000)\n"
      "  --clients C         connected clients in the live scenario, writer included (50)\n"
      "  --live-customers K  customers on the server in the live scenario (default 200)\n"
      "  --live-edits E      edits the live writer makes (default 200)\n"
      "  --live-interval-ms T  one live edit every T ms (default 10)\n"
      "  --runs R            runs; figures are medians with min and max (default 3)\n"
      "  --server-threads S  libreta-server --threads (default 2)\n"
      "  --server PATH       the libreta-server program (default: the one built with this)\n"
      "  --seed S            workload seed (default the published one)\n"
      "  --dir PATH          where the temporary files go (default the system temp dir)\n"
      "  --no-compression    clients speak protocol 1: no compressed frames\n"
      "  --json              machine-readable output\n"
      "  --prepare DIR       only seed DIR/server.db and print how to run one client by hand\n"
      "                      (to profile it; docs/performance.md)\n");
  std::exit(code);
}

std::uint64_t parse_number(const char* name, const char* text) {
  std::uint64_t value = 0;
  if (!bench::parse_number(name, text, value)) usage(2);
  return value;
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        usage(2);
      }
      return argv[++i];
    };
    auto number = [&] { return parse_number(arg.c_str(), value()); };
    if (arg == "--customers") {
      options.customers = number();
    } else if (arg == "--edits") {
      options.edits = number();
    } else if (arg == "--clients") {
      options.clients = number();
    } else if (arg == "--live-customers") {
      options.live_customers = number();
    } else if (arg == "--live-edits") {
      options.live_edits = number();
    } else if (arg == "--live-interval-ms") {
      options.live_interval_ms = number();
    } else if (arg == "--runs") {
      options.runs = number();
    } else if (arg == "--server-threads") {
      options.server_threads = static_cast<int>(number());
    } else if (arg == "--seed") {
      options.seed = number();
    } else if (arg == "--scenario") {
      // One name or several separated by commas ("bootstrap,push").
      options.scenarios.clear();
      std::istringstream names(value());
      for (std::string name; std::getline(names, name, ',');) {
        if (name == "all") {
          options.scenarios = {Scenario::bootstrap, Scenario::push, Scenario::live};
        } else if (name == "bootstrap") {
          options.scenarios.insert(Scenario::bootstrap);
        } else if (name == "push") {
          options.scenarios.insert(Scenario::push);
        } else if (name == "live") {
          options.scenarios.insert(Scenario::live);
        } else {
          std::fprintf(stderr, "--scenario: '%s' is not bootstrap, push, live or all\n",
                       name.c_str());
          usage(2);
        }
      }
      if (options.scenarios.empty()) usage(2);
    } else if (arg == "--server") {
      options.server = value();
    } else if (arg == "--dir") {
      options.dir = value();
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--prepare") {
      options.prepare = value();
    } else if (arg == "--no-compression") {
      options.compress = false;
    } else if (arg == "--help" || arg == "-h") {
      usage(0);
    } else {
      std::fprintf(stderr, "unknown argument '%s'\n", arg.c_str());
      usage(2);
    }
  }
  if (options.customers == 0 || options.runs == 0 || options.clients < 2 ||
      options.live_customers == 0 || options.live_edits == 0 || options.server_threads < 1) {
    std::fprintf(stderr,
                 "--customers, --runs, --live-customers, --live-edits and --server-threads must "
                 "be positive, --clients at least 2\n");
    usage(2);
  }
  return options;
}

// ---- The byte-counting relay -----------------------------------------------------------------

// A TCP relay on 127.0.0.1 between clients and the server, counting the bytes each way: the
// TCP payload (HTTP upgrade, WebSocket frames), not the IP and TCP headers. One accepting
// thread, two copying threads per connection; up() and down() are exact once stop() returned.
class ByteRelay {
 public:
  explicit ByteRelay(std::uint16_t target_port) : target_port_(target_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0) system_error("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 ||
        ::listen(listener_, 64) < 0) {
      system_error("relay: bind/listen");
    }
    socklen_t length = sizeof address;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~ByteRelay() { stop(); }
  ByteRelay(const ByteRelay&) = delete;
  ByteRelay& operator=(const ByteRelay&) = delete;

  std::uint16_t port() const { return port_; }
  std::uint64_t up() const { return up_.load(); }      // client to server
  std::uint64_t down() const { return down_.load(); }  // server to client
  std::size_t connections() const { return connections_.load(); }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (int fd : sockets_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& pump : pumps_) pump.join();
    for (int fd : sockets_) ::close(fd);
    ::close(listener_);
  }

 private:
  void accept_loop() {
    for (;;) {
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        if (errno == EINTR) continue;
        return;  // shut down
      }
      const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(target_port_);
      if (server < 0 ||
          ::connect(server, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
        ::close(client);
        if (server >= 0) ::close(server);
        continue;
      }
      const int one = 1;
      setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ++connections_;
      std::lock_guard lock(mutex_);
      sockets_.push_back(client);
      sockets_.push_back(server);
      pumps_.emplace_back([this, client, server] { pump(client, server, up_); });
      pumps_.emplace_back([this, client, server] { pump(server, client, down_); });
    }
  }

  static void pump(int from, int to, std::atomic<std::uint64_t>& counter) {
    std::vector<char> buffer(256 * 1024);
    for (;;) {
      const ssize_t n = ::read(from, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      counter += static_cast<std::uint64_t>(n);
      for (ssize_t written = 0; written < n;) {
        const ssize_t w = ::write(to, buffer.data() + written, static_cast<size_t>(n - written));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          ::shutdown(from, SHUT_RD);
          return;
        }
        written += w;
      }
    }
    ::shutdown(to, SHUT_WR);  // pass the end of the stream on
  }

  std::uint16_t target_port_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  bool stopped_ = false;
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> sockets_;
  std::vector<std::thread> pumps_;
  std::atomic<std::uint64_t> up_{0}, down_{0};
  std::atomic<std::size_t> connections_{0};
};

// ---- Plain SQLite (seeding checks and baselines) ---------------------------------------------

class Db {
 public:
  explicit Db(const fs::path& file, bool read_only = false) {
    const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + file.string() + ": " + message);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Db() {
    for (auto* stmt : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error("sqlite: " + message + " in: " + sql.substr(0, 120));
    }
  }
  // A statement finalized with the connection.
  sqlite3_stmt* prepare(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    check(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), sql);
    statements_.push_back(stmt);
    return stmt;
  }
  std::int64_t scalar(const std::string& sql) {
    sqlite3_stmt* stmt = prepare(sql);
    std::int64_t value = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return value;
  }
  void step(sqlite3_stmt* stmt, const char* what) {
    int rc = sqlite3_step(stmt);
    while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
    check(rc, what);
    sqlite3_reset(stmt);
  }
  void check(int rc, const std::string& what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
      throw std::runtime_error("sqlite: " + std::string(sqlite3_errmsg(db_)) +
                               " in: " + what.substr(0, 120));
    }
  }

 private:
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> statements_;
};

void bind_text(sqlite3_stmt* stmt, int index, const std::string& text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void bind_value(sqlite3_stmt* stmt, int index, const Value& value) {
  switch (value.type()) {
    case Value::Type::null:
      sqlite3_bind_null(stmt, index);
      break;
    case Value::Type::integer:
      sqlite3_bind_int64(stmt, index, value.as_integer());
      break;
    case Value::Type::number:
      sqlite3_bind_double(stmt, index, value.as_number());
      break;
    case Value::Type::text:
      bind_text(stmt, index, value.as_text());
      break;
    case Value::Type::tags:
      bind_text(stmt, index, nlohmann::json(value.as_tags()).dump());
      break;
    case Value::Type::boolean:
      sqlite3_bind_int(stmt, index, value.as_bool() ? 1 : 0);
      break;
  }
}

// One customer as the baseline binds it: a value per column of the customers table.
struct PlainRow {
  std::string id;
  std::vector<Value> columns;
};

std::vector<PlainRow> plain_rows(std::size_t n, std::uint64_t seed) {
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  std::vector<PlainRow> rows;
  rows.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Customer customer = workload::make_customer(i, seed);
    const Record record = to_record(customer);
    PlainRow row;
    row.id = customer.id;
    for (const auto& field : table.fields) {
      auto it = record.find(field.name);
      row.columns.push_back(it == record.end() ? Value() : it->second);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// The bootstrap's baseline: the same customers bulk-inserted into a plain table (id primary
// key, a column per field) in one transaction with one prepared statement, as the replica's
// connection is set (WAL, synchronous NORMAL). Returns the seconds from BEGIN to COMMIT.
double plain_insert(const fs::path& file, const std::vector<PlainRow>& rows) {
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  remove_database(file);
  Db db(file);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(std::string("PRAGMA synchronous = ") + kReplicaSynchronous);
  std::string create = "CREATE TABLE customers (id TEXT PRIMARY KEY";
  std::string insert = "INSERT INTO customers (id";
  std::string values = "?";
  for (const auto& field : table.fields) {
    const char* type = field.kind == FieldKind::decimal   ? "REAL"
                       : field.kind == FieldKind::integer ? "INTEGER"
                                                          : "TEXT";
    create += ", \"" + field.name + "\" " + type;
    insert += ", \"" + field.name + "\"";
    values += ", ?";
  }
  db.exec(create + ")");
  const auto start = Clock::now();
  db.exec("BEGIN IMMEDIATE");
  sqlite3_stmt* stmt = db.prepare(insert + ") VALUES (" + values + ")");
  for (const auto& row : rows) {
    bind_text(stmt, 1, row.id);
    for (std::size_t c = 0; c < row.columns.size(); ++c) {
      bind_value(stmt, static_cast<int>(c + 2), row.columns[c]);
    }
    db.step(stmt, "baseline insert");
  }
  db.exec("COMMIT");
  const double elapsed = seconds_since(start);
  if (db.scalar("SELECT count(*) FROM customers") != static_cast<std::int64_t>(rows.size())) {
    fail("the baseline does not hold every row");
  }
  return elapsed;
}

// The push's baseline: the same edits as UPDATEs of the plain table, in transactions of
// `batch` (the client's push size) with the server's durability (WAL, synchronous FULL): the
// least a server that stores the pushes durably in the same batches has to do.
double plain_updates(const fs::path& file, const std::vector<workload::Edit>& edits,
                     std::size_t batch) {
  Db db(file);
  db.exec(std::string("PRAGMA synchronous = ") + kServerSynchronous);
  std::map<std::string, sqlite3_stmt*> statements;
  const auto start = Clock::now();
  for (std::size_t first = 0; first < edits.size(); first += batch) {
    db.exec("BEGIN IMMEDIATE");
    for (std::size_t j = first; j < std::min(edits.size(), first + batch); ++j) {
      auto& stmt = statements[edits[j].field];
      if (!stmt) {
        stmt = db.prepare("UPDATE customers SET \"" + edits[j].field + "\" = ? WHERE id = ?");
      }
      bind_value(stmt, 1, edits[j].value);
      bind_text(stmt, 2, edits[j].customer_id);
      db.step(stmt, "baseline update");
    }
    db.exec("COMMIT");
  }
  return seconds_since(start);
}

// The live baseline: single-row durable commits (WAL, synchronous FULL) on the same disk, as
// the server makes one per live edit; returns their median latency in seconds.
double durable_commit_latency(const fs::path& file, std::size_t count) {
  remove_database(file);
  Db db(file);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(std::string("PRAGMA synchronous = ") + kServerSynchronous);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  db.exec("INSERT INTO t VALUES (1, '')");
  sqlite3_stmt* stmt = db.prepare("UPDATE t SET v = ? WHERE id = 1");
  std::vector<double> seconds;
  for (std::size_t i = 0; i < count; ++i) {
    const auto start = Clock::now();
    db.exec("BEGIN IMMEDIATE");
    bind_text(stmt, 1, "value " + std::to_string(i));
    db.step(stmt, "baseline commit");
    db.exec("COMMIT");
    seconds.push_back(seconds_since(start));
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

// ---- Seeding the server's store --------------------------------------------------------------

// Writes customers [0, n) into the server's store in one transaction, each as one row at
// workload::server_version(i), with sequence i + 1, as if one device had pushed them; then
// `tokens` manager tokens (each device holds the whole book). Returns the tokens' secrets.
// Not timed.
std::vector<std::string> seed_server(const fs::path& db, std::size_t n, std::uint64_t seed,
                                     std::size_t tokens) {
  auto store = server::open_sqlite_store(db);
  seed_customers(*store, n, seed);
  return add_tokens(*store, tokens, server::Role::manager, "device-");
}

// ---- Edits and what the server must hold after them --------------------------------------------

struct EditPlan {
  std::size_t changing = 0;  // edits that change their customer (the others are no-ops)
  // For every edited customer: the fields edited and their final values.
  std::map<std::size_t, Record> expected;
};

EditPlan plan_edits(const std::vector<workload::Edit>& edits, std::uint64_t seed) {
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  EditPlan plan;
  std::map<std::size_t, Record> state;
  for (const auto& edit : edits) {
    auto [it, inserted] = state.try_emplace(edit.customer);
    if (inserted) it->second = to_record(workload::make_customer(edit.customer, seed));
    const bool is_tags = table.field(edit.field)->kind == FieldKind::tag_set;
    auto current = it->second.find(edit.field);
    const Value before = current != it->second.end() ? current->second
                         : is_tags                   ? Value(TagSet{})
                                                     : Value();
    plan.changing += !(before == edit.value);
    it->second[edit.field] = edit.value;
    plan.expected[edit.customer][edit.field] = edit.value;
  }
  return plan;
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

// Every edited field of every edited customer holds its last edit's value on the server.
void check_server_has_edits(server::Store& store, const EditPlan& plan, std::uint64_t seed) {
  auto reader = store.begin_write();  // never committed: rolled back when it goes
  for (const auto& [index, fields] : plan.expected) {
    const std::string id = workload::customer_id(index, seed);
    const auto row = reader->load_row(tables::customers, id);
    if (!row) fail("customer " + id + " is missing on the server");
    for (const auto& [name, want] : fields) {
      auto it = row->fields.find(name);
      Value got = it == row->fields.end() ? Value() : it->second;
      if (want.is_tags() && got.is_null()) got = Value(TagSet{});
      if (!(got == want)) {
        fail("the server has customer " + id + " field " + name + " = " + describe(got) +
             ", not the edit's " + describe(want));
      }
    }
  }
}

struct OfflineEdits {
  std::size_t outbox = 0;      // changes waiting in the outbox
  std::uint64_t last_seq = 0;  // the outbox's last sequence
  std::string replica_id;
};

// The seller's edits on a caught-up replica, offline: one update() (one transaction) each.
OfflineEdits make_offline_edits(const fs::path& replica_file,
                                const std::vector<workload::Edit>& edits, const EditPlan& plan) {
  OfflineEdits result;
  auto replica = client::Replica::open(replica_file);
  if (replica->pending_count() != 0) fail("the caught-up replica has an outbox");
  std::size_t changed = 0;
  for (const auto& edit : edits) {
    changed +=
        replica->update(tables::customers, edit.customer_id, Record{{edit.field, edit.value}}) > 0;
  }
  if (changed != plan.changing) {
    fail(std::to_string(changed) + " edits changed their customer, not " +
         std::to_string(plan.changing));
  }
  result.outbox = replica->pending_count();
  const auto pending = replica->pending_changes();
  result.last_seq = pending.empty() ? 0 : pending.back().seq;
  result.replica_id = replica->replica_id();
  return result;
}

// ---- Child processes: one client each ---------------------------------------------------------

// What a client child reports on stdout, as one JSON object.
struct ChildReport {
  double seconds = 0;               // the timed part
  double cpu_seconds = 0;           // the child's CPU (all threads) at the end of the timed part
  std::uint64_t peak_bytes = 0;     // VmHWM at the end of the timed part
  std::uint64_t rows = 0;           // bootstrap: rows received
  std::uint64_t pages = 0;          // ChangesArrived events (pages or live updates)
  double search_index_seconds = 0;  // bootstrap: update_search_index() afterwards
  std::uint64_t peak_after_index_bytes = 0;  // VmHWM after it
};

// Records the session's events with their time, for a child to wait on.
class EventClock {
 public:
  std::function<void(const client::SyncEvent&)> callback(
      std::function<bool(const client::SyncStatus&)> done) {
    return [this, done = std::move(done)](const client::SyncEvent& event) {
      const auto now = Clock::now();
      std::lock_guard lock(mutex_);
      if (auto* status = std::get_if<client::StatusChanged>(&event)) {
        if (!done_at_ && done(status->status)) {
          done_at_ = now;
          changed_.notify_all();
        }
      } else if (std::get_if<client::ChangesArrived>(&event)) {
        ++arrivals_;
        last_arrival_ = now;
      }
    };
  }
  // When the status first met the condition; nullopt if it did not within `timeout`. (The
  // session wakes its own waiters before it calls on_event: wait here, not on the session.)
  std::optional<Clock::time_point> wait_done(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return done_at_.has_value(); });
    return done_at_;
  }
  std::uint64_t arrivals() {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }
  Clock::time_point last_arrival() {
    std::lock_guard lock(mutex_);
    return last_arrival_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Clock::time_point> done_at_;
  std::uint64_t arrivals_ = 0;
  Clock::time_point last_arrival_{};
};

client::SyncOptions child_sync_options(const std::string& url, const std::string& token,
                                       bool compress) {
  client::SyncOptions options;
  options.compress = compress;
  options.server_url = url;
  options.token = token;
  options.initial_backoff = 50ms;
  options.max_backoff = 1s;
  return options;
}

std::string describe_status(const client::SyncStatus& status) {
  std::string text = "connected " + std::to_string(status.connected) + ", caught up " +
                     std::to_string(status.caught_up) + ", pending " +
                     std::to_string(status.pending_changes) + ", rows received " +
                     std::to_string(status.rows_received) + ", reconnects " +
                     std::to_string(status.reconnects);
  if (status.last_error) text += ", last error: " + status.last_error->message;
  return text;
}

std::uint64_t self_peak_bytes() {
  return proc_status_bytes("self", "VmHWM");
}

// --child bootstrap: a fresh replica downloads everything; then checks that it holds all N.
ChildReport child_bootstrap(const std::string& url, const std::string& token,
                            const fs::path& replica_file, std::size_t expect, std::uint64_t seed,
                            bool index_search, bool compress) {
  ChildReport report;
  EventClock events;
  client::SyncOptions options = child_sync_options(url, token, compress);
  options.on_event = events.callback(client::is_synced);
  const auto start = Clock::now();
  {
    client::SyncSession session(replica_file, std::move(options));
    session.start();
    const auto done = events.wait_done(kBootstrapTimeout);
    if (!done) fail("the bootstrap did not finish: " + describe_status(session.status()));
    report.seconds = seconds_between(start, *done);
    report.cpu_seconds = self_cpu_seconds();
    report.rows = session.status().rows_received;
    report.pages = events.arrivals();
    session.stop();
  }
  report.peak_bytes = self_peak_bytes();

  auto replica = client::Replica::open(replica_file);
  if (index_search) {
    const auto index_start = Clock::now();
    replica->update_search_index();
    report.search_index_seconds = seconds_since(index_start);
    report.peak_after_index_bytes = self_peak_bytes();
  }

  Db db(replica_file, /*read_only=*/true);
  const auto count = db.scalar("SELECT count(*) FROM customers WHERE deleted = 0");
  if (count != static_cast<std::int64_t>(expect)) {
    fail("the bootstrapped replica holds " + std::to_string(count) + " customers, not " +
         std::to_string(expect));
  }
  const std::size_t step = std::max<std::size_t>(1, expect / 64);
  for (std::size_t i = 0; i < expect; i += step) {
    const Customer want = workload::make_customer(i, seed);
    const auto got = replica->get(tables::customers, want.id);
    if (!got || !(*got == to_record(want))) {
      fail("customer " + std::to_string(i) + " differs after the bootstrap");
    }
  }
  return report;
}

// --child push: a caught-up replica with an outbox syncs; done when every change is
// acknowledged. Then it reads on until the server has been quiet for kQuietAfterPush.
ChildReport child_push(const std::string& url, const std::string& token,
                       const fs::path& replica_file, bool compress) {
  ChildReport report;
  EventClock events;
  client::SyncOptions options = child_sync_options(url, token, compress);
  options.on_event = events.callback(
      [](const client::SyncStatus& s) { return s.connected && s.pending_changes == 0; });
  const auto start = Clock::now();
  client::SyncSession session(replica_file, std::move(options));
  session.start();
  const auto acked = events.wait_done(kPushTimeout);
  if (!acked) fail("the push did not finish: " + describe_status(session.status()));
  report.seconds = seconds_between(start, *acked);
  report.cpu_seconds = self_cpu_seconds();
  report.peak_bytes = self_peak_bytes();
  if (!session.wait_until_synced(kPushTimeout)) {
    fail("the client did not catch up after its push: " + describe_status(session.status()));
  }
  const auto deadline = Clock::now() + 30s;
  while (Clock::now() - events.last_arrival() < kQuietAfterPush && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  report.pages = events.arrivals();
  session.stop();
  return report;
}

// One client in this process, as the benchmark starts it (and as --prepare prints it):
//   --child bootstrap|push|edit --replica FILE [--url URL --token SECRET] [--expect N]
//   [--edits M] [--seed S] [--index-search 0|1] [--compress 0|1]
// Prints one JSON object (ChildReport) on stdout; exits 1 when a check fails.
int run_child(int argc, char** argv) {
  std::string mode, url, token;
  fs::path replica;
  std::size_t expect = 0, edits = 0;
  std::uint64_t seed = workload::kDefaultSeed;
  bool index_search = false;
  bool compress = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    const char* value = argv[i + 1];
    if (arg == "--child") {
      mode = value;
    } else if (arg == "--url") {
      url = value;
    } else if (arg == "--token") {
      token = value;
    } else if (arg == "--replica") {
      replica = value;
    } else if (arg == "--expect") {
      expect = parse_number("--expect", value);
    } else if (arg == "--edits") {
      edits = parse_number("--edits", value);
    } else if (arg == "--seed") {
      seed = parse_number("--seed", value);
    } else if (arg == "--index-search") {
      index_search = std::string(value) == "1";
    } else if (arg == "--compress") {
      compress = std::string(value) == "1";
    } else {
      usage(2);
    }
  }
  try {
    ChildReport report;
    if (mode == "bootstrap") {
      report = child_bootstrap(url, token, replica, expect, seed, index_search, compress);
    } else if (mode == "push") {
      report = child_push(url, token, replica, compress);
    } else if (mode == "edit") {
      // For profiling by hand: the push's offline edits on a bootstrapped replica.
      const auto all = workload::make_edits(expect, edits, seed);
      const OfflineEdits offline = make_offline_edits(replica, all, plan_edits(all, seed));
      std::printf("{\"outbox\":%zu}\n", offline.outbox);
      return 0;
    } else {
      usage(2);
    }
    const nlohmann::json out = {{"seconds", report.seconds},
                                {"cpu_seconds", report.cpu_seconds},
                                {"peak_bytes", report.peak_bytes},
                                {"rows", report.rows},
                                {"pages", report.pages},
                                {"search_index_seconds", report.search_index_seconds},
                                {"peak_after_index_bytes", report.peak_after_index_bytes}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "libreta-bench-sync (client %s): %s\n", mode.c_str(), error.what());
    return 1;
  }
}

// Runs a client child to its end and returns its report.
ChildReport run_client_child(const fs::path& out, const std::vector<std::string>& args) {
  const pid_t pid = spawn(self_path(), args, out, false);
  const int status = wait_child(pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail("the client process failed (status " + std::to_string(status) + ")");
  }
  const auto json = nlohmann::json::parse(read_file(out));
  ChildReport report;
  report.seconds = json.at("seconds");
  report.cpu_seconds = json.at("cpu_seconds");
  report.peak_bytes = json.at("peak_bytes");
  report.rows = json.at("rows");
  report.pages = json.at("pages");
  report.search_index_seconds = json.at("search_index_seconds");
  report.peak_after_index_bytes = json.at("peak_after_index_bytes");
  return report;
}

// A client that connected more than once still finishes, but its figures include the retry.
void warn_reconnected(std::size_t connections) {
  std::fprintf(stderr,
               "libreta-bench-sync: warning: the client connected %zu times; this run's figures "
               "include the reconnections\n",
               connections);
}

std::string relay_url(const ByteRelay& relay) {
  return "ws://127.0.0.1:" + std::to_string(relay.port()) + "/sync";
}

// ---- The scenarios ---------------------------------------------------------------------------

struct Setup {
  const Options& options;
  fs::path dir;
  fs::path server_binary;
  fs::path server_db;  // N customers and tokens; bootstrap serves it as is
  std::vector<std::string> tokens;
  std::vector<PlainRow> plain;  // the baselines' rows
  fs::path replica_template;    // a replica caught up with server_db (push), or empty
};

struct BootstrapRun {
  ChildReport client;
  std::uint64_t up = 0, down = 0;
  std::size_t connections = 0;
  std::uint64_t server_peak = 0;
  double server_cpu = 0, relay_cpu = 0;
  double baseline_s = 0;
  std::uintmax_t replica_bytes = 0;
};

BootstrapRun bootstrap_once(Setup& setup, std::size_t run, bool keep_replica) {
  const Options& options = setup.options;
  BootstrapRun figures;
  const fs::path replica = setup.dir / ("bootstrap-" + std::to_string(run) + ".db");
  const fs::path baseline = setup.dir / "baseline.db";
  auto measure = [&] {
    ServerProcess server({setup.server_binary, setup.server_db,
                          setup.dir / ("server-bootstrap-" + std::to_string(run) + ".log"),
                          options.server_threads});
    ByteRelay relay(server.port());
    const double server_cpu = server.cpu_seconds();
    const double self_cpu = self_cpu_seconds();
    figures.client = run_client_child(
        setup.dir / "client.json",
        {"--child", "bootstrap", "--url", relay_url(relay), "--token", setup.tokens.at(0),
         "--replica", replica.string(), "--expect", std::to_string(options.customers), "--seed",
         std::to_string(options.seed), "--index-search", run == 0 ? "1" : "0", "--compress",
         options.compress ? "1" : "0"});
    figures.server_cpu = server.cpu_seconds() - server_cpu;
    figures.server_peak = server.peak_rss_bytes();
    relay.stop();
    figures.relay_cpu = self_cpu_seconds() - self_cpu;
    figures.up = relay.up();
    figures.down = relay.down();
    figures.connections = relay.connections();
    if (figures.connections != 1) warn_reconnected(figures.connections);
    server.stop();
  };
  auto measure_baseline = [&] {
    figures.baseline_s = plain_insert(baseline, setup.plain);
    remove_database(baseline);
  };
  if (run % 2 == 0) {
    measure_baseline();
    measure();
  } else {
    measure();
    measure_baseline();
  }
  if (figures.client.rows != options.customers) {
    fail("the bootstrap received " + std::to_string(figures.client.rows) + " rows, not " +
         std::to_string(options.customers));
  }
  figures.replica_bytes = database_bytes(replica);
  if (keep_replica) {
    setup.replica_template = setup.dir / "replica-template.db";
    remove_database(setup.replica_template);
    fs::rename(replica, setup.replica_template);
  }
  remove_database(replica);
  return figures;
}

struct PushRun {
  ChildReport client;
  std::size_t outbox = 0;  // changes in the outbox before the sync
  std::uint64_t up = 0, down = 0;
  std::size_t connections = 0;
  double server_cpu = 0;
  double baseline_s = 0;
};

PushRun push_once(Setup& setup, std::size_t run, const std::vector<workload::Edit>& edits,
                  const EditPlan& plan) {
  const Options& options = setup.options;
  PushRun figures;
  const fs::path server_db = setup.dir / "server-push.db";
  const fs::path replica_file = setup.dir / "push.db";
  const fs::path baseline = setup.dir / "baseline.db";
  copy_database(setup.server_db, server_db);
  copy_database(setup.replica_template, replica_file);

  // Offline: the seller's edits, each its own transaction (not timed).
  const OfflineEdits offline = make_offline_edits(replica_file, edits, plan);
  figures.outbox = offline.outbox;

  auto measure = [&] {
    ServerProcess server({setup.server_binary, server_db,
                          setup.dir / ("server-push-" + std::to_string(run) + ".log"),
                          options.server_threads});
    ByteRelay relay(server.port());
    const double server_cpu = server.cpu_seconds();
    figures.client = run_client_child(
        setup.dir / "client.json",
        {"--child", "push", "--url", relay_url(relay), "--token", setup.tokens.at(0), "--replica",
         replica_file.string(), "--compress", options.compress ? "1" : "0"});
    figures.server_cpu = server.cpu_seconds() - server_cpu;
    relay.stop();
    figures.up = relay.up();
    figures.down = relay.down();
    figures.connections = relay.connections();
    if (figures.connections != 1) warn_reconnected(figures.connections);
    server.stop();
  };
  auto measure_baseline = [&] {
    plain_insert(baseline, setup.plain);  // not timed: the table the edits update
    figures.baseline_s = plain_updates(baseline, edits, client::SyncOptions{}.push_batch);
    remove_database(baseline);
  };
  if (run % 2 == 0) {
    measure_baseline();
    measure();
  } else {
    measure();
    measure_baseline();
  }

  // Every edit acknowledged (the outbox is empty, the server stored up to its last
  // sequence) and delivered (the server holds every edited value).
  {
    auto replica = client::Replica::open(replica_file);
    if (replica->pending_count() != 0) {
      fail(std::to_string(replica->pending_count()) + " changes are still in the outbox");
    }
  }
  auto store = server::open_sqlite_store(server_db);
  if (store->acked(offline.replica_id) != offline.last_seq) {
    fail("the server acknowledged up to " + std::to_string(store->acked(offline.replica_id)) +
         ", not the outbox's last sequence " + std::to_string(offline.last_seq));
  }
  check_server_has_edits(*store, plan, options.seed);
  store.reset();
  remove_database(server_db);
  remove_database(replica_file);
  return figures;
}

// A live client: its session and, for a receiver, when each edit arrived.
struct LiveClient {
  fs::path file;
  std::unique_ptr<client::SyncSession> session;
  // Receivers only, used on the session's thread once armed: a read connection to the
  // replica file, and the arrival time of each edit (written there, read after stop()).
  std::unique_ptr<Db> db;
  sqlite3_stmt* read = nullptr;
  std::string customer_id;
  std::atomic<bool> armed{false};
  std::vector<Clock::time_point> arrival;
  std::int64_t seen = -1;
};

// The edit number in a value written by the live writer, or -1.
std::int64_t live_edit_of(const unsigned char* text) {
  if (!text) return -1;
  const char* marker = std::strstr(reinterpret_cast<const char*>(text), kLiveMarker);
  return marker ? std::strtoll(marker + std::strlen(kLiveMarker), nullptr, 10) : -1;
}

struct LiveRun {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double first_p50_ms = 0;  // per edit, the quickest receiver
  double server_cpu = 0, clients_cpu = 0, seconds = 0;
  double bootstrap_s = 0;  // all clients catching up, not a figure
  double baseline_ms = 0;
};

LiveRun live_once(const Options& options, const fs::path& dir, const fs::path& server_binary,
                  const fs::path& live_db, const std::vector<std::string>& tokens,
                  std::size_t run) {
  LiveRun figures;
  const fs::path server_db = dir / "server-live.db";
  copy_database(live_db, server_db);
  const std::size_t edits = options.live_edits;
  const std::string customer_id = workload::customer_id(0, options.seed);
  const std::string base_notes = workload::make_customer(0, options.seed).notes.value_or("");

  figures.baseline_ms = durable_commit_latency(dir / "baseline.db", 100) * 1e3;
  remove_database(dir / "baseline.db");

  ServerProcess server({server_binary, server_db,
                        dir / ("server-live-" + std::to_string(run) + ".log"),
                        options.server_threads});
  const std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/sync";
  std::mutex done_mutex;
  std::condition_variable done_changed;
  std::size_t receivers_done = 0;

  std::vector<std::unique_ptr<LiveClient>> clients;
  for (std::size_t c = 0; c < options.clients; ++c) {
    auto live = std::make_unique<LiveClient>();
    live->file = dir / ("live-" + std::to_string(c) + ".db");
    remove_database(live->file);
    live->customer_id = customer_id;
    live->arrival.assign(edits, Clock::time_point{});
    client::SyncOptions sync = child_sync_options(url, tokens.at(c), options.compress);
    if (c > 0) {
      LiveClient* self = live.get();
      sync.on_event = [self, edits, &done_mutex, &done_changed,
                       &receivers_done](const client::SyncEvent& event) {
        const auto* arrived = std::get_if<client::ChangesArrived>(&event);
        if (!arrived || !arrived->live || !self->armed.load(std::memory_order_acquire)) return;
        const auto now = Clock::now();
        bind_text(self->read, 1, self->customer_id);
        std::int64_t edit = -1;
        if (sqlite3_step(self->read) == SQLITE_ROW) {
          edit = live_edit_of(sqlite3_column_text(self->read, 0));
        }
        sqlite3_reset(self->read);
        if (edit <= self->seen) return;
        for (auto k = self->seen + 1; k <= edit && k < static_cast<std::int64_t>(edits); ++k) {
          self->arrival[static_cast<std::size_t>(k)] = now;
        }
        self->seen = edit;
        if (edit + 1 == static_cast<std::int64_t>(edits)) {
          {
            std::lock_guard lock(done_mutex);
            ++receivers_done;
          }
          done_changed.notify_all();
        }
      };
    }
    live->session = std::make_unique<client::SyncSession>(live->file, std::move(sync));
    clients.push_back(std::move(live));
  }

  // Everyone downloads the book and goes live (not timed as a figure).
  const auto bootstrap_start = Clock::now();
  for (auto& live : clients) live->session->start();
  for (auto& live : clients) {
    if (!live->session->wait_until_synced(
            std::chrono::duration_cast<std::chrono::milliseconds>(kBootstrapTimeout))) {
      fail("a live client did not catch up: " + describe_status(live->session->status()));
    }
  }
  figures.bootstrap_s = seconds_since(bootstrap_start);
  for (std::size_t c = 1; c < clients.size(); ++c) {
    clients[c]->db = std::make_unique<Db>(clients[c]->file, /*read_only=*/true);
    clients[c]->read = clients[c]->db->prepare("SELECT notes FROM customers WHERE id = ?");
    clients[c]->armed.store(true, std::memory_order_release);
  }

  // The writer: one edit every interval, each its own transaction, then nudge().
  LiveClient& writer = *clients.front();
  auto app = client::Replica::open(writer.file);
  std::vector<Clock::time_point> committed(edits);
  const double server_cpu = server.cpu_seconds();
  const double self_cpu = self_cpu_seconds();
  const auto start = Clock::now();
  for (std::size_t j = 0; j < edits; ++j) {
    std::this_thread::sleep_until(start + j * std::chrono::milliseconds(options.live_interval_ms));
    const std::string value = base_notes + kLiveMarker + std::to_string(j) + "]";
    if (app->update(tables::customers, customer_id, Record{{"notes", Value(value)}}) != 1) {
      fail("live edit " + std::to_string(j) + " did not change the customer");
    }
    committed[j] = Clock::now();
    writer.session->nudge();
  }
  {
    std::unique_lock lock(done_mutex);
    if (!done_changed.wait_for(lock, 120s, [&] { return receivers_done == clients.size() - 1; })) {
      fail(std::to_string(clients.size() - 1 - receivers_done) +
           " live clients did not receive every edit");
    }
  }
  figures.seconds = seconds_since(start);
  figures.server_cpu = server.cpu_seconds() - server_cpu;
  figures.clients_cpu = self_cpu_seconds() - self_cpu;
  for (auto& live : clients) live->session->stop();
  app.reset();
  server.stop();

  std::vector<double> all_ms, first_ms(edits, 1e300);
  for (std::size_t c = 1; c < clients.size(); ++c) {
    for (std::size_t j = 0; j < edits; ++j) {
      if (clients[c]->arrival[j] == Clock::time_point{}) {
        fail("live client " + std::to_string(c) + " never received edit " + std::to_string(j));
      }
      const double ms = seconds_between(committed[j], clients[c]->arrival[j]) * 1e3;
      all_ms.push_back(ms);
      first_ms[j] = std::min(first_ms[j], ms);
    }
  }
  std::sort(all_ms.begin(), all_ms.end());
  std::sort(first_ms.begin(), first_ms.end());
  figures.p50_ms = quantile(all_ms, 0.50);
  figures.p99_ms = quantile(all_ms, 0.99);
  figures.max_ms = all_ms.back();
  figures.first_p50_ms = quantile(first_ms, 0.50);
  for (auto& live : clients) {
    live->db.reset();
    remove_database(live->file);
  }
  remove_database(server_db);
  return figures;
}

// ---- Reporting -----------------------------------------------------------------------------

void line(const char* what, const Summary& s, const char* unit, const char* goal) {
  print_line(what, s, unit, goal);
}

fs::path find_server(const Options& options) {
  return bench::find_server(options.server, LIBRETA_SERVER_BINARY);
}

// --prepare: a seeded server database and the commands that run one bootstrap and one push
// by hand, each client in its own process, so that a profiler can attach to either side.
int prepare_only(const Options& options) {
  fs::create_directories(options.prepare);
  const fs::path db = fs::absolute(options.prepare) / "server.db";
  remove_database(db);
  const auto tokens = seed_server(db, options.customers, options.seed, 1);
  const fs::path self = self_path();
  const fs::path replica = fs::absolute(options.prepare) / "replica.db";
  std::printf(
      "# %zu customers in %s. Start the server (note its port), then:\n"
      "%s serve --listen 127.0.0.1:0 --db %s --threads %d\n"
      "%s --child bootstrap --url ws://127.0.0.1:PORT/sync --token %s --replica %s "
      "--expect %zu --index-search 0\n"
      "%s --child edit --replica %s --expect %zu --edits %zu\n"
      "%s --child push --url ws://127.0.0.1:PORT/sync --token %s --replica %s\n",
      options.customers, db.c_str(), find_server(options).c_str(), db.c_str(),
      options.server_threads, self.c_str(), tokens.front().c_str(), replica.c_str(),
      options.customers, self.c_str(), replica.c_str(), options.customers, options.edits,
      self.c_str(), tokens.front().c_str(), replica.c_str());
  return 0;
}

int run_benchmark(const Options& options) {
  if (!options.prepare.empty()) return prepare_only(options);
  const unsigned cores = std::thread::hardware_concurrency();
  const double load_at_start = load_average();
  const fs::path parent = options.dir.empty() ? fs::temp_directory_path() : options.dir;
  TempDir dir(parent, "libreta-bench-sync");
  const fs::path server_binary = find_server(options);
  const bool text = !options.json;
  const bool want_bootstrap = options.scenarios.count(Scenario::bootstrap) > 0;
  const bool want_push = options.scenarios.count(Scenario::push) > 0;
  const bool want_live = options.scenarios.count(Scenario::live) > 0;
  nlohmann::json out;
  const auto runs_start = Clock::now();

  if (text) {
    std::printf("libreta-bench-sync: sync over loopback on the WORKLOAD.md customer book\n");
    std::printf(
        "machine   %u cores (load average %.1f at start), SQLite %s, build %s, "
        "libreta-server --threads %d\n",
        cores, load_at_start, sqlite3_libversion(), LIBRETA_BUILD_TYPE, options.server_threads);
    std::printf("server    %s; files in %s\n", server_binary.c_str(), parent.c_str());
    std::printf("wire      %s\n", options.compress ? "protocol 2: large messages compressed (zstd)"
                                                   : "protocol 1: every frame text, uncompressed");
    std::fflush(stdout);
  }

  Setup setup{options, dir.path(), server_binary, {}, {}, {}, {}};
  if (want_bootstrap || want_push) {
    const auto prepare_start = Clock::now();
    setup.server_db = dir.path() / "server.db";
    setup.tokens = seed_server(setup.server_db, options.customers, options.seed, 1);
    setup.plain = plain_rows(options.customers, options.seed);
    if (text) {
      std::printf(
          "setup     server database seeded with %zu customers (%.1f MB) in %.1f s, not timed\n",
          options.customers, mb(static_cast<double>(database_bytes(setup.server_db))),
          seconds_since(prepare_start));
      std::fflush(stdout);
    }
  }

  // ---- bootstrap ----
  if (want_bootstrap) {
    if (text) {
      std::printf(
          "\nbootstrap: a fresh client (own process) downloads %zu customers through a "
          "byte-counting relay\n"
          "baseline:  plain SQLite bulk insert of the same rows (one transaction, WAL, "
          "synchronous=%s)\n",
          options.customers, kReplicaSynchronous);
      std::printf("%-4s %8s %9s %9s %8s %9s %9s %9s %8s %9s %7s %9s\n", "run", "wall s", "up KB",
                  "down MB", "pages", "client MB", "server MB", "client s", "server s", "baseline",
                  "ratio", "index s");
      std::fflush(stdout);
    }
    std::vector<BootstrapRun> runs;
    for (std::size_t run = 0; run < options.runs; ++run) {
      runs.push_back(bootstrap_once(setup, run, want_push && run + 1 == options.runs));
      const BootstrapRun& r = runs.back();
      char index_seconds[32] = "-";  // update_search_index() runs after the first only
      if (run == 0)
        std::snprintf(index_seconds, sizeof index_seconds, "%.2f", r.client.search_index_seconds);
      if (text) {
        std::printf("%-4zu %8.3f %9.1f %9.2f %8llu %9.1f %9.1f %9.2f %8.2f %9.3f %7.2f %9s\n",
                    run + 1, r.client.seconds, static_cast<double>(r.up) / 1e3,
                    mb(static_cast<double>(r.down)),
                    static_cast<unsigned long long>(r.client.pages),
                    mib(static_cast<double>(r.client.peak_bytes)),
                    mib(static_cast<double>(r.server_peak)), r.client.cpu_seconds, r.server_cpu,
                    r.baseline_s, r.client.seconds / r.baseline_s, index_seconds);
        std::fflush(stdout);
      }
    }
    const Summary wall = summarize(runs, [](const BootstrapRun& r) { return r.client.seconds; });
    const Summary up = summarize(runs, [](const BootstrapRun& r) { return double(r.up); });
    const Summary down = summarize(runs, [](const BootstrapRun& r) { return double(r.down); });
    const Summary client_peak =
        summarize(runs, [](const BootstrapRun& r) { return mib(double(r.client.peak_bytes)); });
    // update_search_index() runs after the first bootstrap only.
    const double client_peak_index = mib(double(runs.front().client.peak_after_index_bytes));
    const double search = runs.front().client.search_index_seconds;
    const Summary server_peak =
        summarize(runs, [](const BootstrapRun& r) { return mib(double(r.server_peak)); });
    const Summary client_cpu =
        summarize(runs, [](const BootstrapRun& r) { return r.client.cpu_seconds; });
    const Summary server_cpu = summarize(runs, [](const BootstrapRun& r) { return r.server_cpu; });
    const Summary relay_cpu = summarize(runs, [](const BootstrapRun& r) { return r.relay_cpu; });
    const Summary baseline = summarize(runs, [](const BootstrapRun& r) { return r.baseline_s; });
    const Summary ratio =
        summarize(runs, [](const BootstrapRun& r) { return r.client.seconds / r.baseline_s; });
    const double n = static_cast<double>(options.customers);
    if (text) {
      std::printf("\nbootstrap, median over %zu run%s (min - max)\n", runs.size(),
                  runs.size() == 1 ? "" : "s");
      line("wall time until the client has all N", wall, "s", "goal <= 2.5 s");
      line("bytes client -> server",
           summarize(runs, [](const BootstrapRun& r) { return double(r.up) / 1e3; }), "KB", "");
      line("bytes server -> client",
           summarize(runs, [](const BootstrapRun& r) { return mb(double(r.down)); }), "MB", "");
      std::printf("%-36s %10.0f B   per customer (median)\n", "   per customer", down.median / n);
      line("client peak memory (VmHWM)", client_peak, "MiB", "goal <= 64 MiB");
      std::printf("%-36s %10.2f MiB (first run)\n", "   after update_search_index()",
                  client_peak_index);
      line("server peak memory (VmHWM)", server_peak, "MiB", "");
      line("client CPU", client_cpu, "s", "");
      line("server CPU", server_cpu, "s", "");
      line("relay CPU (this process)", relay_cpu, "s", "");
      line("plain SQLite bulk insert", baseline, "s", "");
      line("ratio bootstrap / baseline", ratio, "x", "");
      std::printf("%-36s %10.2f s   (first run; not in the wall time)\n",
                  "then update_search_index()", search);
      std::printf("%-36s %10.1f MB with the search index (first run)\n", "replica file",
                  mb(double(runs.front().replica_bytes)));
      if (runs.size() > 1) {
        std::printf("%-36s %10.1f MB without it (last run)\n", "",
                    mb(double(runs.back().replica_bytes)));
      }
      std::fflush(stdout);
    }
    nlohmann::json per_run = nlohmann::json::array();
    for (const auto& r : runs) {
      per_run.push_back({{"seconds", r.client.seconds},
                         {"up_bytes", r.up},
                         {"down_bytes", r.down},
                         {"connections", r.connections},
                         {"pages", r.client.pages},
                         {"client_peak_bytes", r.client.peak_bytes},
                         {"client_peak_after_index_bytes", r.client.peak_after_index_bytes},
                         {"server_peak_bytes", r.server_peak},
                         {"client_cpu_s", r.client.cpu_seconds},
                         {"server_cpu_s", r.server_cpu},
                         {"relay_cpu_s", r.relay_cpu},
                         {"baseline_s", r.baseline_s},
                         {"search_index_s", r.client.search_index_seconds},
                         {"replica_bytes", r.replica_bytes}});
    }
    out["bootstrap"] = {{"customers", options.customers},
                        {"seconds", to_json(wall)},
                        {"up_bytes", to_json(up)},
                        {"down_bytes", to_json(down)},
                        {"client_peak_mib", to_json(client_peak)},
                        {"client_peak_after_index_mib", client_peak_index},
                        {"server_peak_mib", to_json(server_peak)},
                        {"client_cpu_s", to_json(client_cpu)},
                        {"server_cpu_s", to_json(server_cpu)},
                        {"relay_cpu_s", to_json(relay_cpu)},
                        {"baseline_s", to_json(baseline)},
                        {"ratio", to_json(ratio)},
                        {"search_index_s", search},
                        {"runs", std::move(per_run)}};
  }

  // ---- push ----
  if (want_push) {
    if (setup.replica_template.empty()) {
      // A caught-up replica to edit: one more bootstrap, not reported.
      const auto start = Clock::now();
      bootstrap_once(setup, 0, true);
      if (text) {
        std::printf("\nsetup     a caught-up replica bootstrapped in %.1f s, not timed\n",
                    seconds_since(start));
      }
    }
    const std::vector<workload::Edit> edits =
        workload::make_edits(options.customers, options.edits, options.seed);
    const EditPlan plan = plan_edits(edits, options.seed);
    if (text) {
      std::printf(
          "\npush: a caught-up client makes %zu offline edits on %zu customers (%zu change "
          "something), then syncs\n"
          "baseline: the same edits as plain SQLite UPDATEs, %zu per transaction, "
          "synchronous=%s\n",
          edits.size(), plan.expected.size(), plan.changing, client::SyncOptions{}.push_batch,
          kServerSynchronous);
      std::printf("%-4s %8s %8s %9s %9s %8s %9s %9s %9s %8s\n", "run", "wall s", "outbox", "up KB",
                  "down KB", "B/edit", "client s", "server s", "baseline", "ratio");
      std::fflush(stdout);
    }
    std::vector<PushRun> runs;
    for (std::size_t run = 0; run < options.runs; ++run) {
      runs.push_back(push_once(setup, run, edits, plan));
      const PushRun& r = runs.back();
      if (text) {
        std::printf("%-4zu %8.3f %8zu %9.1f %9.1f %8.1f %9.2f %9.2f %9.3f %8.2f\n", run + 1,
                    r.client.seconds, r.outbox, double(r.up) / 1e3, double(r.down) / 1e3,
                    double(r.up) / double(plan.changing), r.client.cpu_seconds, r.server_cpu,
                    r.baseline_s, r.client.seconds / r.baseline_s);
        std::fflush(stdout);
      }
    }
    const double changing = static_cast<double>(std::max<std::size_t>(plan.changing, 1));
    const Summary wall = summarize(runs, [](const PushRun& r) { return r.client.seconds; });
    const Summary up = summarize(runs, [](const PushRun& r) { return double(r.up); });
    const Summary down = summarize(runs, [](const PushRun& r) { return double(r.down); });
    const Summary per_edit =
        summarize(runs, [&](const PushRun& r) { return double(r.up) / changing; });
    const Summary per_change =
        summarize(runs, [](const PushRun& r) { return double(r.up) / double(r.outbox); });
    const Summary client_cpu =
        summarize(runs, [](const PushRun& r) { return r.client.cpu_seconds; });
    const Summary server_cpu = summarize(runs, [](const PushRun& r) { return r.server_cpu; });
    const Summary client_peak =
        summarize(runs, [](const PushRun& r) { return mib(double(r.client.peak_bytes)); });
    const Summary baseline = summarize(runs, [](const PushRun& r) { return r.baseline_s; });
    const Summary ratio =
        summarize(runs, [](const PushRun& r) { return r.client.seconds / r.baseline_s; });
    if (text) {
      std::printf("\npush, median over %zu run%s (min - max)\n", runs.size(),
                  runs.size() == 1 ? "" : "s");
      line("wall time until every edit is acked", wall, "s", "goal <= 0.5 s");
      line("bytes client -> server",
           summarize(runs, [](const PushRun& r) { return double(r.up) / 1e3; }), "KB", "");
      line("   per edit that changes something", per_edit, "B", "goal <= 100 B");
      line("   per outbox change", per_change, "B", "");
      line("bytes server -> client (acks + echo)",
           summarize(runs, [](const PushRun& r) { return double(r.down) / 1e3; }), "KB", "");
      line("client CPU (whole child)", client_cpu, "s", "");
      line("server CPU", server_cpu, "s", "");
      line("client peak memory (VmHWM)", client_peak, "MiB", "");
      line("plain SQLite updates, durable", baseline, "s", "");
      line("ratio push / baseline", ratio, "x", "");
      std::printf("%-36s %10zu changes from %zu edits (%zu no-ops)\n", "outbox before the sync",
                  runs.front().outbox, edits.size(), edits.size() - plan.changing);
      std::fflush(stdout);
    }
    nlohmann::json per_run = nlohmann::json::array();
    for (const auto& r : runs) {
      per_run.push_back({{"seconds", r.client.seconds},
                         {"outbox", r.outbox},
                         {"up_bytes", r.up},
                         {"down_bytes", r.down},
                         {"connections", r.connections},
                         {"live_updates_and_pages", r.client.pages},
                         {"client_cpu_s", r.client.cpu_seconds},
                         {"server_cpu_s", r.server_cpu},
                         {"client_peak_bytes", r.client.peak_bytes},
                         {"baseline_s", r.baseline_s}});
    }
    out["push"] = {{"edits", edits.size()},
                   {"changing_edits", plan.changing},
                   {"edited_customers", plan.expected.size()},
                   {"seconds", to_json(wall)},
                   {"up_bytes", to_json(up)},
                   {"down_bytes", to_json(down)},
                   {"up_bytes_per_edit", to_json(per_edit)},
                   {"up_bytes_per_change", to_json(per_change)},
                   {"client_cpu_s", to_json(client_cpu)},
                   {"server_cpu_s", to_json(server_cpu)},
                   {"client_peak_mib", to_json(client_peak)},
                   {"baseline_s", to_json(baseline)},
                   {"ratio", to_json(ratio)},
                   {"runs", std::move(per_run)}};
  }
  // The bootstrap's files are not needed by the live scenario.
  if (!setup.server_db.empty()) remove_database(setup.server_db);
  if (!setup.replica_template.empty()) remove_database(setup.replica_template);
  setup.plain = {};

  // ---- live ----
  if (want_live) {
    const auto prepare_start = Clock::now();
    const fs::path live_db = dir.path() / "server-live-template.db";
    const std::vector<std::string> tokens =
        seed_server(live_db, options.live_customers, options.seed, options.clients);
    if (text) {
      std::printf(
          "\nlive: %zu clients connected to a server holding %zu customers (seeded in %.1f s); "
          "client 1 edits\n"
          "      one customer's notes %zu times, one edit every %zu ms; the %zu others "
          "receive each edit\n"
          "baseline: one durable single-row SQLite commit (synchronous=%s), median of 100\n",
          options.clients, options.live_customers, seconds_since(prepare_start), options.live_edits,
          options.live_interval_ms, options.clients - 1, kServerSynchronous);
      std::printf("%-4s %9s %9s %9s %10s %9s %10s %9s %11s\n", "run", "p50 ms", "p99 ms", "max ms",
                  "first p50", "server s", "clients s", "wall s", "baseline ms");
      std::fflush(stdout);
    }
    std::vector<LiveRun> runs;
    for (std::size_t run = 0; run < options.runs; ++run) {
      runs.push_back(live_once(options, dir.path(), server_binary, live_db, tokens, run));
      const LiveRun& r = runs.back();
      if (text) {
        std::printf("%-4zu %9.2f %9.2f %9.2f %10.2f %9.2f %10.2f %9.2f %11.2f\n", run + 1, r.p50_ms,
                    r.p99_ms, r.max_ms, r.first_p50_ms, r.server_cpu, r.clients_cpu, r.seconds,
                    r.baseline_ms);
        std::fflush(stdout);
      }
    }
    const Summary p50 = summarize(runs, [](const LiveRun& r) { return r.p50_ms; });
    const Summary p99 = summarize(runs, [](const LiveRun& r) { return r.p99_ms; });
    const Summary max = summarize(runs, [](const LiveRun& r) { return r.max_ms; });
    const Summary first = summarize(runs, [](const LiveRun& r) { return r.first_p50_ms; });
    const Summary server_cpu = summarize(runs, [](const LiveRun& r) { return r.server_cpu; });
    const Summary clients_cpu = summarize(runs, [](const LiveRun& r) { return r.clients_cpu; });
    const Summary baseline = summarize(runs, [](const LiveRun& r) { return r.baseline_ms; });
    const Summary bootstrap = summarize(runs, [](const LiveRun& r) { return r.bootstrap_s; });
    if (text) {
      std::printf(
          "\nlive, median over %zu run%s (min - max); latency from the writer's commit\n"
          "to each receiver's apply, over all (edit, receiver) pairs\n",
          runs.size(), runs.size() == 1 ? "" : "s");
      line("latency p50", p50, "ms", "");
      line("latency p99", p99, "ms", "");
      line("latency max", max, "ms", "");
      line("quickest receiver per edit, p50", first, "ms", "");
      line("server CPU during the edits", server_cpu, "s", "");
      line("clients' CPU during the edits", clients_cpu, "s", "(all in this process)");
      line("durable commit (baseline)", baseline, "ms", "");
      line("all clients caught up (setup)", bootstrap, "s", "");
      std::fflush(stdout);
    }
    nlohmann::json per_run = nlohmann::json::array();
    for (const auto& r : runs) {
      per_run.push_back({{"p50_ms", r.p50_ms},
                         {"p99_ms", r.p99_ms},
                         {"max_ms", r.max_ms},
                         {"first_p50_ms", r.first_p50_ms},
                         {"server_cpu_s", r.server_cpu},
                         {"clients_cpu_s", r.clients_cpu},
                         {"seconds", r.seconds},
                         {"bootstrap_s", r.bootstrap_s},
                         {"baseline_ms", r.baseline_ms}});
    }
    out["live"] = {{"clients", options.clients},
                   {"customers", options.live_customers},
                   {"edits", options.live_edits},
                   {"interval_ms", options.live_interval_ms},
                   {"p50_ms", to_json(p50)},
                   {"p99_ms", to_json(p99)},
                   {"max_ms", to_json(max)},
                   {"first_p50_ms", to_json(first)},
                   {"server_cpu_s", to_json(server_cpu)},
                   {"clients_cpu_s", to_json(clients_cpu)},
                   {"baseline_ms", to_json(baseline)},
                   {"runs", std::move(per_run)}};
    remove_database(live_db);
  }

  const double load_at_end = load_average();
  if (options.json) {
    out["machine"] = {{"cores", cores},
                      {"sqlite", sqlite3_libversion()},
                      {"build", LIBRETA_BUILD_TYPE},
                      {"server_threads", options.server_threads},
                      {"load_average_start", load_at_start},
                      {"load_average_end", load_at_end}};
    out["setup"] = {
        {"runs", options.runs}, {"seed", options.seed}, {"compression", options.compress}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("\ntotal %.0f s, load average %.1f at end\n", seconds_since(runs_start),
                load_at_end);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--child") return run_child(argc, argv);
  const Options options = parse_options(argc, argv);
  // A client that goes away must not kill the relay or the writer with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  try {
    return run_benchmark(options);
  } catch (const std::exception& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "libreta-bench-sync: %s\n", error.what());
    return 1;
  }
}
