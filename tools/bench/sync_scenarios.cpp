// The sync scenarios of libreta-bench: real client-core clients against the real server,
// their bytes counted by the fault proxy (with no fault) between them.
//   sync-bootstrap: a fresh client downloads N customers (wall time, bytes each way, peak
//                   memory of the client and of the server);
//   sync-push:      a caught-up client sends M offline single-field edits (wall time until
//                   every edit is acknowledged, bytes each way, bytes per edit);
//   sync-live:      C connected clients, one edits at a steady pace, the others receive
//                   (latency from the writer's commit to each receiver's apply).
// The bootstrap and push clients run in child processes (sync_client.hpp) so that their
// memory is theirs alone. Each figure comes with a plain-SQLite baseline (baseline.hpp)
// measured in the same run, before or after it in turn.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "baseline.hpp"
#include "libreta/client/replica.hpp"
#include "libreta/faultproxy/fault_proxy.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "network_bench.hpp"
#include "server_process.hpp"
#include "support.hpp"
#include "sync_client.hpp"

namespace libreta::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Marks the value a live edit writes: "<notes> [live J]".
constexpr const char* kLiveMarker = " [live ";

struct SyncSetup {
  const Context& context;
  const Options& o;
  fs::path server_db;  // N customers and a token; the bootstrap serves it as is
  std::vector<std::string> tokens;
  std::vector<BaselineRow> plain;  // the baselines' rows
  fs::path replica_template;       // a replica caught up with server_db (push), or empty
};

// Seeds customers [0, n) into a new server database and `tokens` manager tokens; returns
// their secrets (not timed).
std::vector<std::string> seed_server(const fs::path& db, std::size_t n, std::uint64_t seed,
                                     std::size_t tokens) {
  auto store = server::open_sqlite_store(db);
  seed_customers(*store, n, seed);
  return add_tokens(*store, tokens, server::Role::manager, "device-");
}

// Every edited field of every edited customer holds its last edit's value on the server.
void check_server_has_edits(server::Store& store, const EditPlan& plan, std::uint64_t seed) {
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  auto reader = store.begin_write();  // never committed: rolled back when it goes
  for (const auto& [index, fields] : plan.edited) {
    const std::string id = workload::customer_id(index, seed);
    const auto row = reader->load_row(tables::customers, id);
    if (!row) fail("customer " + id + " is missing on the server");
    const Record& expected = plan.expected.at(index);
    for (const auto& name : fields) {
      const bool is_tags = table.field(name)->kind == FieldKind::tag_set;
      auto it = expected.find(name);
      const Value want = it != expected.end() ? it->second : is_tags ? Value(TagSet{}) : Value();
      it = row->fields.find(name);
      const Value got = it != row->fields.end() ? it->second : is_tags ? Value(TagSet{}) : Value();
      if (!(got == want)) {
        fail("the server has customer " + id + " field " + name + " = " + describe(got) +
             ", not the edit's " + describe(want));
      }
    }
  }
}

// One run of a client child against the server on `db` behind the byte-counting proxy, and
// `baseline` before or after it in turn, so that neither always goes first. Fills in the
// figures both scenarios share: wall time, bytes each way, CPU and peak memory of each side.
ChildReport counted_client_run(const SyncSetup& setup, std::size_t run, const fs::path& db,
                               ChildRequest request, const std::function<void()>& baseline,
                               RunValues& r) {
  if (run % 2 == 0) baseline();
  const std::string log = "server-" + request.mode + "-" + std::to_string(run) + ".log";
  ServerProcess server(
      {setup.context.server_binary, db, setup.context.dir / log, setup.o.server_threads});
  faultproxy::FaultProxy proxy({"127.0.0.1", 0, "127.0.0.1", server.port()});
  proxy.start();
  const double server_cpu = server.cpu_seconds();
  const double self_cpu = self_cpu_seconds();
  request.url = "ws://127.0.0.1:" + std::to_string(proxy.port()) + "/sync";
  request.token = setup.tokens.at(0);
  request.compress = setup.o.compress;
  const ChildReport client = run_client_child(setup.context.dir / "client.log", request);
  r["server_cpu_s"] = server.cpu_seconds() - server_cpu;
  r["server_peak_mib"] = mib(static_cast<double>(server.peak_rss_bytes()));
  proxy.stop();
  r["proxy_cpu_s"] = self_cpu_seconds() - self_cpu;
  const auto stats = proxy.stats();
  // A client that connected more than once still finishes, but its figures include it.
  if (stats.connections != 1) {
    std::fprintf(stderr,
                 "libreta-bench: warning: the client connected %llu times; this run's "
                 "figures include the reconnections\n",
                 static_cast<unsigned long long>(stats.connections));
  }
  server.stop();
  if (run % 2 == 1) baseline();
  r["up_bytes"] = static_cast<double>(stats.bytes_up);
  r["down_bytes"] = static_cast<double>(stats.bytes_down);
  r["up_kb"] = r["up_bytes"] / 1e3;
  r["seconds"] = client.seconds;
  r["pages"] = static_cast<double>(client.pages);
  r["client_cpu_s"] = client.cpu_seconds;
  r["client_peak_mib"] = mib(static_cast<double>(client.peak_bytes));
  return client;
}

RunValues bootstrap_once(SyncSetup& setup, std::size_t run, bool keep_replica) {
  const Options& o = setup.o;
  const fs::path dir = setup.context.dir;
  const fs::path replica = dir / ("bootstrap-" + std::to_string(run) + ".db");
  ChildRequest request{"bootstrap", "", "", replica.string(), o.customers};
  request.seed = o.seed;
  request.index_search = run == 0;  // update_search_index() after the first bootstrap only
  RunValues r;
  const ChildReport client = counted_client_run(
      setup, run, setup.server_db, request,
      [&] {
        r["baseline_s"] = bulk_insert(dir / "baseline.db", setup.plain);
        remove_database(dir / "baseline.db");
      },
      r);
  if (client.rows != o.customers) {
    fail("the bootstrap received " + std::to_string(client.rows) + " rows, not " +
         std::to_string(o.customers));
  }
  r["down_mb"] = mb(r["down_bytes"]);
  r["down_bytes_per_customer"] = r["down_bytes"] / static_cast<double>(o.customers);
  const double replica_mb = mb(static_cast<double>(database_bytes(replica)));
  if (run == 0) {
    r["search_index_s"] = client.search_index_seconds;
    r["client_peak_after_index_mib"] = mib(static_cast<double>(client.peak_after_index_bytes));
    r["replica_mb_with_index"] = replica_mb;
  } else {
    r["replica_mb"] = replica_mb;
  }
  if (keep_replica) {
    setup.replica_template = dir / "replica-template.db";
    remove_database(setup.replica_template);
    fs::rename(replica, setup.replica_template);
  }
  remove_database(replica);
  return r;
}

RunValues push_once(SyncSetup& setup, std::size_t run, const std::vector<workload::Edit>& edits,
                    const EditPlan& plan) {
  const fs::path dir = setup.context.dir;
  const fs::path server_db = dir / "server-push.db";
  const fs::path replica_file = dir / "push.db";
  copy_database(setup.server_db, server_db);
  copy_database(setup.replica_template, replica_file);
  // Offline: the seller's edits, each its own transaction (not timed).
  const OfflineEdits offline = make_offline_edits(replica_file, edits, plan);
  RunValues r;
  counted_client_run(
      setup, run, server_db, {"push", "", "", replica_file.string()},
      [&] {
        bulk_insert(dir / "baseline.db", setup.plain);  // not timed: the table to update
        r["baseline_s"] =
            plain_updates(dir / "baseline.db", edits, client::SyncOptions{}.push_batch);
        remove_database(dir / "baseline.db");
      },
      r);
  // Every edit acknowledged (the outbox is empty, the server stored up to its last
  // sequence) and delivered (the server holds every edited value).
  if (const auto left = client::Replica::open(replica_file)->pending_count(); left != 0) {
    fail(std::to_string(left) + " changes are still in the outbox");
  }
  auto store = server::open_sqlite_store(server_db);
  if (store->acked(offline.replica_id) != offline.last_seq) {
    fail("the server acknowledged up to " + std::to_string(store->acked(offline.replica_id)) +
         ", not the outbox's last sequence " + std::to_string(offline.last_seq));
  }
  check_server_has_edits(*store, plan, setup.o.seed);
  store.reset();
  remove_database(server_db);
  remove_database(replica_file);
  r["outbox"] = static_cast<double>(offline.outbox);
  r["down_kb"] = r["down_bytes"] / 1e3;
  r["up_bytes_per_edit"] =
      r["up_bytes"] / static_cast<double>(std::max<std::size_t>(plan.changing, 1));
  r["up_bytes_per_change"] = r["up_bytes"] / static_cast<double>(offline.outbox);
  return r;
}

// ---- sync-live --------------------------------------------------------------------------------

// A live client: its session and, for a receiver, when each edit arrived.
struct LiveClient {
  fs::path file;
  std::unique_ptr<client::SyncSession> session;
  // Receivers only, written on the session's thread, read after stop().
  std::vector<Clock::time_point> arrival;  // by edit
  std::int64_t seen = -1;                  // the last edit received
};

// The receivers' count of clients that have every edit, for the writer to wait on.
struct LiveDone {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t receivers = 0;
};

// The edit number in a value written by the live writer, or -1.
std::int64_t live_edit_of(std::string_view text) {
  const auto marker = text.find(kLiveMarker);
  if (marker == std::string_view::npos) return -1;
  return std::strtoll(std::string(text.substr(marker + std::strlen(kLiveMarker))).c_str(), nullptr,
                      10);
}

// On a receiver's live update (applied when it is reported): stamps the edits of the
// customer's notes it shows.
void on_live_update(LiveClient& self, const client::ChangesArrived& arrived,
                    const std::string& customer_id, LiveDone& done) {
  const auto now = Clock::now();
  const auto edits = static_cast<std::int64_t>(self.arrival.size());
  for (const RowState& row : arrived.received) {
    const auto notes = row.fields.find("notes");
    if (row.id != customer_id || notes == row.fields.end() || !notes->second.is_text()) continue;
    const std::int64_t edit = live_edit_of(notes->second.as_text());
    if (edit <= self.seen) continue;
    for (auto k = self.seen + 1; k <= edit && k < edits; ++k) {
      self.arrival[static_cast<std::size_t>(k)] = now;
    }
    self.seen = edit;
    if (edit + 1 == edits) {
      std::lock_guard lock(done.mutex);
      ++done.receivers;
      done.changed.notify_all();
    }
  }
}

std::vector<std::unique_ptr<LiveClient>> live_clients(const SyncSetup& setup,
                                                      const std::string& url,
                                                      const std::string& customer_id,
                                                      LiveDone& done) {
  const Options& o = setup.o;
  std::vector<std::unique_ptr<LiveClient>> clients;
  for (std::size_t c = 0; c < o.sync_live_clients; ++c) {
    auto live = std::make_unique<LiveClient>();
    live->file = setup.context.dir / ("live-" + std::to_string(c) + ".db");
    remove_database(live->file);
    live->arrival.assign(o.sync_live_edits, Clock::time_point{});
    client::SyncOptions sync = client_sync_options(url, setup.tokens.at(c), o.compress);
    if (c > 0) {
      sync.on_event = [self = live.get(), customer_id, &done](const client::SyncEvent& event) {
        const auto* arrived = std::get_if<client::ChangesArrived>(&event);
        if (arrived && arrived->live) on_live_update(*self, *arrived, customer_id, done);
      };
    }
    live->session = std::make_unique<client::SyncSession>(live->file, std::move(sync));
    clients.push_back(std::move(live));
  }
  return clients;
}

// The latencies of every (edit, receiver) pair from the edit's commit; the quickest
// receiver's per edit.
void live_latencies(const std::vector<std::unique_ptr<LiveClient>>& clients,
                    const std::vector<Clock::time_point>& committed, RunValues& r) {
  std::vector<double> all_ms, first_ms(committed.size(), 1e300);
  for (std::size_t c = 1; c < clients.size(); ++c) {
    for (std::size_t j = 0; j < committed.size(); ++j) {
      if (clients[c]->arrival[j] == Clock::time_point{}) {
        fail("live client " + std::to_string(c) + " never received edit " + std::to_string(j));
      }
      const double ms = milliseconds_between(committed[j], clients[c]->arrival[j]);
      all_ms.push_back(ms);
      first_ms[j] = std::min(first_ms[j], ms);
    }
  }
  std::sort(all_ms.begin(), all_ms.end());
  std::sort(first_ms.begin(), first_ms.end());
  r["p50_ms"] = quantile(all_ms, 0.50);
  r["p99_ms"] = quantile(all_ms, 0.99);
  r["max_ms"] = all_ms.back();
  r["first_p50_ms"] = quantile(first_ms, 0.50);
}

RunValues live_once(const SyncSetup& setup, std::size_t run) {
  const Options& o = setup.o;
  const fs::path dir = setup.context.dir;
  const fs::path server_db = dir / "server-live.db";
  copy_database(setup.server_db, server_db);
  const std::size_t edits = o.sync_live_edits;
  const std::string customer_id = workload::customer_id(0, o.seed);
  const std::string base_notes = workload::make_customer(0, o.seed).notes.value_or("");
  RunValues r;
  r["baseline_ms"] = durable_commit_latency(dir / "baseline.db", 100) * 1e3;
  remove_database(dir / "baseline.db");

  ServerProcess server({setup.context.server_binary, server_db,
                        dir / ("server-live-" + std::to_string(run) + ".log"), o.server_threads});
  LiveDone done;
  const auto clients = live_clients(setup, server.url(), customer_id, done);
  // Everyone downloads the book and goes live (not timed as a figure).
  const auto bootstrap_start = Clock::now();
  for (auto& live : clients) live->session->start();
  for (auto& live : clients) {
    if (!live->session->wait_until_synced(std::chrono::minutes(15))) {
      fail("a live client did not catch up: " + describe_status(live->session->status()));
    }
  }
  r["bootstrap_s"] = seconds_since(bootstrap_start);

  // The writer: one edit every interval, each its own transaction, then nudge().
  auto app = client::Replica::open(clients.front()->file);
  std::vector<Clock::time_point> committed(edits);
  const double server_cpu = server.cpu_seconds();
  const double self_cpu = self_cpu_seconds();
  const auto start = Clock::now();
  for (std::size_t j = 0; j < edits; ++j) {
    std::this_thread::sleep_until(start + j * std::chrono::milliseconds(o.sync_live_interval_ms));
    const std::string value = base_notes + kLiveMarker + std::to_string(j) + "]";
    if (app->update(tables::customers, customer_id, Record{{"notes", Value(value)}}) != 1) {
      fail("live edit " + std::to_string(j) + " did not change the customer");
    }
    committed[j] = Clock::now();
    clients.front()->session->nudge();
  }
  {
    std::unique_lock lock(done.mutex);
    if (!done.changed.wait_for(lock, 120s, [&] { return done.receivers == clients.size() - 1; })) {
      fail(std::to_string(clients.size() - 1 - done.receivers) +
           " live clients did not receive every edit");
    }
  }
  r["seconds"] = seconds_since(start);
  r["server_cpu_s"] = server.cpu_seconds() - server_cpu;
  r["clients_cpu_s"] = self_cpu_seconds() - self_cpu;
  for (auto& live : clients) live->session->stop();
  app.reset();
  server.stop();
  live_latencies(clients, committed, r);
  for (auto& live : clients) remove_database(live->file);
  remove_database(server_db);
  return r;
}

// ---- The figures -------------------------------------------------------------------------------

const std::vector<Figure> kBootstrapFigures = {
    {"seconds", "wall time until the client has all N", "s", "goal <= 2.5 s", "baseline_s"},
    {"up_kb", "bytes client -> server", "KB"},
    {"down_mb", "bytes server -> client", "MB"},
    {"down_bytes_per_customer", "  per customer", "B"},
    {"pages", "pages", ""},
    {"client_peak_mib", "client peak memory (VmHWM)", "MiB", "goal <= 64 MiB"},
    {"client_peak_after_index_mib", "  after update_search_index() (first run)", "MiB"},
    {"server_peak_mib", "server peak memory (VmHWM)", "MiB"},
    {"client_cpu_s", "client CPU", "s"},
    {"server_cpu_s", "server CPU", "s"},
    {"proxy_cpu_s", "byte-counting proxy CPU (this process)", "s"},
    {"baseline_s", "plain SQLite bulk insert", "s"},
    {"search_index_s", "then update_search_index() (first run)", "s", "not in the wall time"},
    {"replica_mb_with_index", "replica file with the search index (first run)", "MB"},
    {"replica_mb", "replica file without it (later runs)", "MB"},
};

const std::vector<Figure> kPushFigures = {
    {"seconds", "wall time until every edit is acked", "s", "goal <= 0.5 s", "baseline_s"},
    {"up_kb", "bytes client -> server", "KB"},
    {"up_bytes_per_edit", "  per edit that changes something", "B", "goal <= 100 B"},
    {"up_bytes_per_change", "  per outbox change", "B"},
    {"down_kb", "bytes server -> client (acks + echo)", "KB"},
    {"outbox", "outbox before the sync", "changes"},
    {"pages", "live updates and pages received", ""},
    {"client_cpu_s", "client CPU (whole child)", "s"},
    {"server_cpu_s", "server CPU", "s"},
    {"proxy_cpu_s", "byte-counting proxy CPU (this process)", "s"},
    {"client_peak_mib", "client peak memory (VmHWM)", "MiB"},
    {"server_peak_mib", "server peak memory (VmHWM)", "MiB"},
    {"baseline_s", "plain SQLite updates, durable", "s"},
};

const std::vector<Figure> kLiveFigures = {
    {"p50_ms", "latency p50", "ms", "", "baseline_ms"},
    {"p99_ms", "latency p99", "ms"},
    {"max_ms", "latency max", "ms"},
    {"first_p50_ms", "quickest receiver per edit, p50", "ms"},
    {"server_cpu_s", "server CPU during the edits", "s"},
    {"clients_cpu_s", "clients' CPU during the edits", "s", "(all in this process)"},
    {"seconds", "wall time of the edits", "s"},
    {"baseline_ms", "durable commit (baseline)", "ms"},
    {"bootstrap_s", "all clients caught up (setup)", "s"},
};

// Seeds the server's database (and the baselines' rows), not timed.
void seed(SyncSetup& setup, const fs::path& db, std::size_t customers, std::size_t tokens,
          bool plain) {
  const auto start = Clock::now();
  setup.server_db = db;
  setup.tokens = seed_server(db, customers, setup.o.seed, tokens);
  if (plain) setup.plain = baseline_rows(workload::make_customers(customers, setup.o.seed), false);
  setup.context.report.say(
      "setup     server database seeded with %zu customers (%.1f MB) in "
      "%.1f s, not timed",
      customers, mb(static_cast<double>(database_bytes(db))), seconds_since(start));
}

void run_push(SyncSetup& setup) {
  const Options& o = setup.o;
  if (setup.replica_template.empty()) {
    // A caught-up replica to edit: one more bootstrap, not reported.
    const auto start = Clock::now();
    bootstrap_once(setup, 0, true);
    setup.context.report.say("setup     a caught-up replica bootstrapped in %.1f s, not timed",
                             seconds_since(start));
  }
  const std::vector<workload::Edit> edits = workload::make_edits(o.customers, o.push_edits, o.seed);
  const EditPlan plan = plan_edits(edits, o.seed);
  char text[512];
  std::snprintf(text, sizeof text,
                "a caught-up client makes %zu offline edits on %zu customers (%zu change "
                "something, %zu no-ops), then syncs; baseline: the same edits as plain SQLite "
                "UPDATEs, %zu per transaction, synchronous=%s",
                edits.size(), plan.expected.size(), plan.changing, edits.size() - plan.changing,
                client::SyncOptions{}.push_batch, kServerSynchronous);
  setup.context.report.scenario("sync-push", text,
                                {{"edits", edits.size()},
                                 {"changing_edits", plan.changing},
                                 {"edited_customers", plan.expected.size()}},
                                kPushFigures, setup.o.runs, [&](std::size_t run) {
                                  return push_once(setup, run, edits, plan);
                                });
}

}  // namespace

void run_sync_scenarios(const Context& context, const std::vector<std::string>& scenarios) {
  const Options& o = context.options;
  const auto want = [&](const char* name) {
    return std::find(scenarios.begin(), scenarios.end(), name) != scenarios.end();
  };
  context.report.say("wire      %s", o.compress ? "protocol 2: large messages compressed (zstd)"
                                                : "protocol 1: every frame text, uncompressed");
  SyncSetup setup{context, o, {}, {}, {}, {}};
  char text[512];
  if (want("sync-bootstrap") || want("sync-push")) {
    seed(setup, context.dir / "server.db", o.customers, 1, true);
  }
  if (want("sync-bootstrap")) {
    std::snprintf(text, sizeof text,
                  "a fresh client (own process) downloads %zu customers through a "
                  "byte-counting proxy; baseline: plain SQLite bulk insert of the same rows (one "
                  "transaction, WAL, synchronous=%s)",
                  o.customers, kReplicaSynchronous);
    const bool keep = want("sync-push");
    context.report.scenario(
        "sync-bootstrap", text, {{"customers", o.customers}}, kBootstrapFigures, o.runs,
        [&](std::size_t run) { return bootstrap_once(setup, run, keep && run + 1 == o.runs); });
  }
  if (want("sync-push")) run_push(setup);
  // The bootstrap's files are not needed by the live scenario.
  if (!setup.server_db.empty()) remove_database(setup.server_db);
  if (!setup.replica_template.empty()) remove_database(setup.replica_template);
  setup.plain = {};
  if (want("sync-live")) {
    seed(setup, context.dir / "server-live-template.db", o.sync_live_customers, o.sync_live_clients,
         false);
    std::snprintf(text, sizeof text,
                  "%zu clients connected to a server holding %zu customers; client 1 edits one "
                  "customer's notes %zu times, one edit every %zu ms; the %zu others receive "
                  "each edit; latency from the writer's commit to each receiver's apply, over "
                  "all (edit, receiver) pairs; baseline: one durable single-row SQLite commit "
                  "(synchronous=%s), median of 100",
                  o.sync_live_clients, o.sync_live_customers, o.sync_live_edits,
                  o.sync_live_interval_ms, o.sync_live_clients - 1, kServerSynchronous);
    setup.context.report.scenario("sync-live", text,
                                  {{"clients", o.sync_live_clients},
                                   {"customers", o.sync_live_customers},
                                   {"edits", o.sync_live_edits},
                                   {"interval_ms", o.sync_live_interval_ms}},
                                  kLiveFigures, setup.o.runs,
                                  [&](std::size_t run) { return live_once(setup, run); });
    remove_database(setup.server_db);
  }
}

// --prepare: a seeded server database and the commands that run one bootstrap and one push
// by hand, each client in its own process, so that a profiler can attach to either side.
int prepare_sync_by_hand(const Options& options, const fs::path& server_binary) {
  fs::create_directories(options.prepare);
  const fs::path db = fs::absolute(options.prepare) / "server.db";
  remove_database(db);
  const auto tokens = seed_server(db, options.customers, options.seed, 1);
  const std::string url = "ws://127.0.0.1:PORT/sync";
  const std::string replica = (fs::absolute(options.prepare) / "replica.db").string();
  ChildRequest bootstrap{"bootstrap", url, tokens.front(), replica};
  bootstrap.expect = options.customers;
  bootstrap.seed = options.seed;
  ChildRequest edit{"edit", "", "", replica};
  edit.expect = options.customers;
  edit.edits = options.push_edits;
  edit.seed = options.seed;
  std::printf(
      "# %zu customers in %s. Start the server (note its port), then:\n"
      "%s serve --listen 127.0.0.1:0 --db %s --threads %d\n%s\n%s\n%s\n",
      options.customers, db.c_str(), server_binary.c_str(), db.c_str(), options.server_threads,
      child_command(bootstrap).c_str(), child_command(edit).c_str(),
      child_command({"push", url, tokens.front(), replica}).c_str());
  return 0;
}

}  // namespace libreta::bench
