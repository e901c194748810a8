// The load scenarios of libreta-bench: fleets of devices against the real server, on the
// WORKLOAD.md book seeded once (not timed), each run on a fresh copy of it.
//   idle:      C connected, caught-up devices held open: the server's memory per connection
//              and its CPU at rest;
//   monday:    C sellers reconnect at once, each with E offline edits of their own
//              customers, and the office's manager connection reads everything (or C
//              managers, each receiving every other's edits);
//   live:      C connected devices make R edits a second in all; a manager sees everything;
//   bootstrap: C fresh devices download the whole book at once.
// monday and bootstrap run on either kind of fleet (fleet.hpp); idle and live on devices in
// memory.
#include <algorithm>
#include <map>
#include <thread>

#include "libreta/protocol/customer_book.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "load_setup.hpp"
#include "network_bench.hpp"
#include "server_process.hpp"

namespace libreta::bench {

namespace fs = std::filesystem;

namespace {

// How often the waiting thread looks at the fleet's counters; the figures come from the
// times the devices recorded, not from this.
constexpr auto kPollInterval = std::chrono::milliseconds(5);

}  // namespace

RunServer::RunServer(const LoadSetup& setup, const std::string& name, std::size_t connections) {
  db = setup.context.dir / (name + ".db");
  copy_database(setup.template_db, db);
  ServerProcessOptions options;
  options.binary = setup.context.server_binary;
  options.db = db;
  options.log = setup.context.dir / (name + ".log");
  options.threads = setup.o.server_threads;
  options.open_files = connections + kSpareFiles;
  process = std::make_unique<ServerProcess>(std::move(options));
}

RunServer::~RunServer() {
  process.reset();
  remove_database(db);
}

FleetOptions fleet_options(const LoadSetup& setup, const ServerProcess& server) {
  FleetOptions f;
  f.port = server.port();
  f.compress = setup.o.compress;
  f.threads = setup.o.client_threads;
  f.idle_timeout = std::chrono::milliseconds(setup.o.device_idle_ms);
  f.max_connecting = setup.o.connect_concurrency;
  f.seed = setup.o.seed;
  return f;
}

std::vector<FleetDevice> managers(const LoadSetup& setup, std::size_t count, std::uint64_t cursor) {
  if (count > setup.tokens.size()) fail("more devices than tokens");
  std::vector<FleetDevice> devices;
  for (std::size_t d = 0; d < count; ++d) devices.push_back({setup.tokens[d], cursor, {}});
  return devices;
}

void wait_for(const LoadSetup& setup, const Fleet& fleet, const char* what,
              const std::function<bool(const FleetCounters&)>& done) {
  wait_until(
      what, setup.context.phase_timeout,
      [&] { return fleet.counters().failed > 0 ? fleet.record().error() : std::string(); },
      [&] { return done(fleet.counters()); },
      [&] {
        const FleetCounters c = fleet.counters();
        return std::to_string(c.welcomed) + " welcomed, " + std::to_string(c.caught_up) +
               " caught up, " + std::to_string(c.outboxes_empty) + " with an empty outbox, " +
               std::to_string(c.receipts) + " receipts and " + std::to_string(c.echoes) +
               " echoes of " + std::to_string(c.tracked) + " edits, " + std::to_string(c.rows) +
               " rows received";
      },
      [&] { fleet.print_missing(stderr); });
}

// Every device from `first` on is caught up at the server's last sequence. A session in a
// file reports the rows it applied just before its new cursor: wait for the cursor too.
void wait_caught_up(const LoadSetup& setup, const Fleet& fleet, const ServerProcess& server,
                    std::size_t first) {
  const std::uint64_t last_seq = server.health().last_seq;
  for (std::size_t d = first; d < fleet.size(); ++d) {
    wait_until(
        "the devices' cursors", setup.context.phase_timeout, [&] { return fleet.record().error(); },
        [&] {
          const auto r = fleet.report(d);
          return r.caught_up && r.cursor == last_seq;
        },
        [&] {
          return "device " + std::to_string(d) + " is at " +
                 std::to_string(fleet.report(d).cursor) + ", the server at " +
                 std::to_string(last_seq);
        });
  }
}

std::string seeded_owner(const Options& o, std::size_t customer) {
  return token_user(kSellerPrefix, customer % o.monday_clients);
}

std::shared_ptr<const PlannedEdit> plan_edit(const Options& o, std::uint64_t stream_index,
                                             std::size_t customer, bool seller) {
  auto planned = std::make_shared<PlannedEdit>();
  planned->edit = workload::make_edit(stream_index, customer, o.seed);
  for (std::uint64_t attempt = 1; seller && planned->edit.field == "owner"; ++attempt) {
    planned->edit = workload::make_edit(stream_index + (attempt << 40), customer, o.seed);
  }
  Customer book = workload::make_customer(customer, o.seed);
  book.owner = seeded_owner(o, customer);
  const Record record = to_record(book);
  if (auto it = record.find(planned->edit.field); it != record.end()) {
    planned->original = it->second;
  }
  return planned;
}

namespace {

// ---- idle fleet --------------------------------------------------------------------------------

RunValues idle_once(const LoadSetup& setup, std::size_t run) {
  const std::size_t n = setup.o.idle_clients;
  RunServer server(setup, "idle-" + std::to_string(run), n);
  ServerProcess& process = *server.process;
  process.health();  // the server has served a request: its threads and buffers exist
  const double rss_before = static_cast<double>(process.rss_bytes());
  const double client_rss_before = static_cast<double>(proc_status_bytes("self", "VmRSS"));
  const auto fleet =
      make_memory_fleet(fleet_options(setup, process), managers(setup, n, setup.book_seq));
  const auto start = Clock::now();
  fleet->start();
  wait_for(setup, *fleet, "connecting the idle fleet",
           [&](const FleetCounters& c) { return c.welcomed == n && c.caught_up == n; });
  RunValues r;
  r["connect_s"] = seconds_between(start, fleet->record().last_caught_up.get());
  wait_caught_up(setup, *fleet, process);
  const auto connections = process.health().connections;
  if (connections != n) {
    fail("the server counts " + std::to_string(connections) + " connections, not " +
         std::to_string(n));
  }
  const double rss_connected = static_cast<double>(process.rss_bytes());
  const double client_rss = static_cast<double>(proc_status_bytes("self", "VmRSS"));

  // At rest: nothing to send, nothing to receive; whatever CPU is spent now is overhead.
  const double server_cpu = process.cpu_seconds();
  const double client_cpu = self_cpu_seconds();
  const auto rest_start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(setup.o.idle_seconds));
  const double rest = seconds_since(rest_start);
  r["rest_cpu_percent"] = 100 * (process.cpu_seconds() - server_cpu) / rest;
  r["client_rest_cpu_percent"] = 100 * (self_cpu_seconds() - client_cpu) / rest;
  if (fleet->counters().failed > 0) fail("during the rest: " + fleet->record().error());
  r["rss_after_rest_mib"] = mib(static_cast<double>(process.rss_bytes()));
  r["rss_before_mib"] = mib(rss_before);
  r["rss_connected_mib"] = mib(rss_connected);
  r["per_connection_kib"] = (rss_connected - rss_before) / static_cast<double>(n) / 1024.0;
  r["client_rss_per_device_kib"] =
      (client_rss - client_rss_before) / static_cast<double>(n) / 1024.0;
  fleet->stop();
  process.stop();
  return r;
}

// ---- live day ----------------------------------------------------------------------------------

EditsByDevice plan_live(const Options& o, std::size_t total) {
  const std::size_t devices = o.live_clients;
  const std::size_t per_device = (total + devices - 1) / devices;
  // Each edit on a customer the device has not edited yet in this run: a receiver that
  // catches up by pulling sees every edit, none hidden by a later one of the same field.
  if (per_device * devices > o.customers) {
    fail("the live day needs at least " + std::to_string(per_device * devices) +
         " customers; raise --customers");
  }
  EditsByDevice plan(devices);
  for (std::size_t j = 0; j < total; ++j) {
    const std::size_t d = j % devices, k = j / devices;
    plan[d].push_back(plan_edit(o, 1'000'000'000 + j, d + devices * k));
  }
  return plan;
}

RunValues live_once(const LoadSetup& setup, const EditsByDevice& plan, std::size_t total,
                    std::size_t run) {
  const Options& o = setup.o;
  const std::size_t editors = o.live_clients;
  const std::size_t devices = editors + 1;  // the last one is the manager, who only reads
  RunServer server(setup, "live-" + std::to_string(run), devices);
  ServerProcess& process = *server.process;
  FleetOptions options = fleet_options(setup, process);
  options.max_edits_per_device = plan.front().size();
  options.record_latency = true;
  const auto fleet = make_memory_fleet(options, managers(setup, devices, setup.book_seq));
  fleet->start();
  wait_for(setup, *fleet, "connecting the live devices",
           [&](const FleetCounters& c) { return c.welcomed == devices && c.caught_up == devices; });

  const double server_cpu = process.cpu_seconds();
  const double client_cpu = self_cpu_seconds();
  const auto start = Clock::now();
  const auto interval = std::chrono::duration<double>(1.0 / static_cast<double>(o.live_rate));
  for (std::size_t j = 0; j < total; ++j) {
    std::this_thread::sleep_until(start +
                                  std::chrono::duration_cast<Clock::duration>(interval * j));
    fleet->make_live_edit(j % editors, plan[j % editors][j / editors]);
  }
  wait_for(setup, *fleet, "the live day", [&](const FleetCounters& c) {
    return c.edits_made == total && c.outboxes_empty == devices &&
           c.receipts >= (devices - 1) * c.tracked && c.caught_up == devices;
  });
  RunValues r;
  const double elapsed = seconds_between(
      start, std::max(fleet->record().last_ack.get(), fleet->record().last_receipt.get()));
  r["server_cpu_percent"] = 100 * (process.cpu_seconds() - server_cpu) / elapsed;
  r["client_cpu_percent"] = 100 * (self_cpu_seconds() - client_cpu) / elapsed;
  const FleetCounters c = fleet->counters();
  if (c.receipts != (devices - 1) * c.tracked) {
    fail(std::to_string(c.receipts) + " receipts, not " +
         std::to_string((devices - 1) * c.tracked));
  }
  if (c.unknown_versions != 0) fail("devices received versions no device made");
  r["rate"] = static_cast<double>(total) / seconds_since(start);
  r["receipts"] = static_cast<double>(c.receipts);
  wait_caught_up(setup, *fleet, process);
  fleet->stop();
  process.stop();

  std::vector<double> all, manager;
  for (std::size_t d = 0; d < devices; ++d) {
    for (float ms : fleet->latencies(d)) (d == editors ? manager : all).push_back(ms);
  }
  std::sort(all.begin(), all.end());
  std::sort(manager.begin(), manager.end());
  r["p50_ms"] = quantile(all, 0.50);
  r["p99_ms"] = quantile(all, 0.99);
  r["max_ms"] = all.empty() ? 0 : all.back();
  r["manager_p50_ms"] = quantile(manager, 0.50);
  r["manager_p99_ms"] = quantile(manager, 0.99);
  r["manager_max_ms"] = manager.empty() ? 0 : manager.back();
  return r;
}

// ---- bootstrap storm ---------------------------------------------------------------------------

RunValues bootstrap_once(const LoadSetup& setup, std::uint64_t book_xor, std::size_t run) {
  const Options& o = setup.o;
  const std::size_t n = o.bootstrap_clients;
  RunServer server(setup, "bootstrap-" + std::to_string(run), n);
  ServerProcess& process = *server.process;
  process.health();
  RunValues r;
  r["server_rss_before_mib"] = mib(static_cast<double>(process.rss_bytes()));
  TempDir dir(setup.context.dir, "bootstrap-replicas");
  std::vector<FleetDevice> devices = managers(setup, n, 0);
  if (o.replica_files) {
    for (std::size_t d = 0; d < n; ++d)
      devices[d].file = dir.path() / (Fleet::replica_id(d) + ".db");
  }
  auto fleet = make_fleet(o.replica_files, fleet_options(setup, process), std::move(devices));
  const double server_cpu = process.cpu_seconds();
  const double client_cpu = self_cpu_seconds();
  const auto start = Clock::now();
  fleet->start();
  Clock::time_point first{};
  wait_for(setup, *fleet, "the bootstrap storm", [&](const FleetCounters& c) {
    if (c.caught_up > 0 && first == Clock::time_point{})
      first = fleet->record().last_caught_up.get();
    return c.caught_up == n;
  });
  r["total_s"] = seconds_between(start, fleet->record().last_caught_up.get());
  r["first_s"] = seconds_between(start, first);
  r["server_cpu_s"] = process.cpu_seconds() - server_cpu;
  r["client_cpu_s"] = self_cpu_seconds() - client_cpu;
  r["server_peak_mib"] = mib(static_cast<double>(process.peak_rss_bytes()));
  if (!o.replica_files) {  // sessions do not count their bytes
    r["mb_in"] = mb(static_cast<double>(fleet->counters().bytes_in));
  }
  wait_caught_up(setup, *fleet, process);
  for (std::size_t d = 0; d < n; ++d) {
    const auto report = fleet->report(d);
    if (report.rows_received != o.customers || report.row_id_xor != book_xor) {
      fail("device " + std::to_string(d) + " received " + std::to_string(report.rows_received) +
           " rows, not the " + std::to_string(o.customers) + " customers of the book");
    }
  }
  fleet->stop();
  process.stop();
  fleet->check_replicas(server.db, [](std::size_t) { return std::string(); });
  return r;
}

// ---- The figures -------------------------------------------------------------------------------

const std::vector<Figure> kIdleFigures = {
    {"per_connection_kib", "server RSS per connection", "KiB", "goal <= 16 KiB"},
    {"rest_cpu_percent", "server CPU at rest, % of one core", "%", "goal: near zero"},
    {"rss_connected_mib", "server RSS, all connected", "MiB"},
    {"rss_before_mib", "server RSS before the devices connect", "MiB"},
    {"rss_after_rest_mib", "server RSS after the rest", "MiB"},
    {"connect_s", "time to connect all", "s"},
    {"client_rest_cpu_percent", "devices' CPU at rest, % of one core", "%", "(this process)"},
    {"client_rss_per_device_kib", "devices' RSS per device", "KiB", "(this process)"},
};

const std::vector<Figure> kMondayFigures = {
    {"total_s", "every edit acked, every device caught up", "s", "goal <= 5 s"},
    {"acked_s", "every edit acknowledged", "s"},
    {"changes_per_s", "changes applied a second", "/s", "goal >= 50,000/s",
     "sqlite_alone_changes_per_s"},
    {"edits_per_s", "edits applied a second", "/s"},
    {"push_window_s", "first push to last ack", "s"},
    {"edits", "edits pushed", ""},
    {"changes", "changes pushed", ""},
    {"sequences", "server sequences used", ""},
    {"server_cpu_s", "server CPU", "s"},
    {"client_cpu_s", "devices' CPU (this process)", "s"},
    {"server_peak_mib", "server peak memory (VmHWM)", "MiB"},
    {"sqlite_alone_changes_per_s", "SQLite alone, the same row writes", "/s"},
    {"sqlite_alone_commit_percent", "  of which in COMMIT", "%"},
    {"sqlite_alone_rows_anywhere_changes_per_s", "  the same, rows anywhere in the book", "/s"},
};

const std::vector<Figure> kLiveFigures = {
    {"p50_ms", "latency p50", "ms"},
    {"p99_ms", "latency p99", "ms", "goal <= 50 ms"},
    {"max_ms", "latency max", "ms"},
    {"manager_p50_ms", "manager latency p50", "ms"},
    {"manager_p99_ms", "manager latency p99", "ms"},
    {"manager_max_ms", "manager latency max", "ms"},
    {"rate", "edits a second made", "/s"},
    {"receipts", "receipts", ""},
    {"server_cpu_percent", "server CPU, % of one core", "%"},
    {"client_cpu_percent", "devices' CPU, % of one core", "%", "(this process)"},
};

const std::vector<Figure> kBootstrapFigures = {
    {"total_s", "every device has the whole book", "s"},
    {"first_s", "the first device has it", "s"},
    {"server_peak_mib", "server peak memory (VmHWM)", "MiB", "must not grow with the book"},
    {"server_rss_before_mib", "server RSS before", "MiB"},
    {"server_cpu_s", "server CPU", "s"},
    {"client_cpu_s", "devices' CPU (this process)", "s"},
    {"mb_in", "message bytes received, after inflate", "MB"},
};

// Seeds the book, a manager token per device and a seller token per Monday seller (not timed).
void seed_book(LoadSetup& setup, std::size_t devices, std::size_t sellers) {
  const Options& o = setup.o;
  const auto start = Clock::now();
  auto store = server::open_sqlite_store(setup.template_db);
  setup.book_seq = seed_customers(*store, o.customers, o.seed,
                                  [&o](std::size_t i) { return seeded_owner(o, i); });
  setup.tokens = add_tokens(*store, devices, server::Role::manager, kDevicePrefix);
  setup.seller_tokens = add_tokens(*store, sellers, server::Role::seller, kSellerPrefix);
  store.reset();
  setup.context.report.say(
      "setup     %zu customers, %zu manager and %zu seller tokens seeded in %.1f s (%.1f MB), "
      "not timed",
      o.customers, devices, sellers, seconds_since(start),
      mb(static_cast<double>(database_bytes(setup.template_db))));
}

}  // namespace

void wait_until(const char* what, std::chrono::seconds timeout,
                const std::function<std::string()>& error, const std::function<bool()>& done,
                const std::function<std::string()>& progress,
                const std::function<void()>& missing) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (std::string e = error(); !e.empty()) fail(std::string(what) + ": " + e);
    if (done()) return;
    if (Clock::now() > deadline) {
      if (missing) missing();
      fail(std::string(what) + " took longer than " + std::to_string(timeout.count()) +
           " s: " + progress());
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

void run_load_scenarios(const Context& context, const std::vector<std::string>& scenarios) {
  const Options& o = context.options;
  const auto want = [&](const char* name) {
    return std::find(scenarios.begin(), scenarios.end(), name) != scenarios.end();
  };
  std::size_t devices = 0;
  if (want("idle")) devices = std::max(devices, o.idle_clients);
  if (want("monday")) devices = std::max(devices, o.monday_clients);
  if (want("live")) devices = std::max(devices, o.live_clients + 1);
  if (want("bootstrap")) devices = std::max(devices, o.bootstrap_clients);
  if (o.replica_files && want("monday")) ++devices;  // the office
  // A device in files holds its socket and its database's three files (db, WAL, shm).
  const std::uint64_t files_needed = devices * (o.replica_files ? 4 : 1) + kSpareFiles;
  if (const auto files = raise_open_files_limit(files_needed); files < files_needed) {
    fail("only " + std::to_string(files) + " open files allowed; " + std::to_string(files_needed) +
         " needed");
  }
  LoadSetup setup{context, o, context.dir / "template.db", 0, {}, {}, {}};
  seed_book(setup, devices, want("monday") && !o.monday_managers ? o.monday_clients : 0);
  if (o.replica_files && want("monday")) {
    const auto start = Clock::now();
    setup.friday_replicas = prepare_friday_replicas(setup);
    context.report.say(
        "setup     %zu sellers' and the office's replica files synced in %.1f s, "
        "not timed",
        o.monday_clients, seconds_since(start));
  }
  const char* devices_kind = o.replica_files ? "files" : "memory";
  char text[512];
  if (want("idle")) {
    std::snprintf(text, sizeof text,
                  "%zu devices connect (%zu handshakes at a time), say hello, pull, and stay "
                  "connected, caught up; then %.0f s at rest",
                  o.idle_clients, o.connect_concurrency, o.idle_seconds);
    setup.context.report.scenario(
        "idle", text, {{"clients", o.idle_clients}, {"rest_s", o.idle_seconds}}, kIdleFigures,
        setup.o.runs, [&](std::size_t run) { return idle_once(setup, run); });
  }
  if (want("monday")) {
    const EditsByDevice plan = plan_monday(o);
    std::snprintf(text, sizeof text,
                  o.monday_managers
                      ? "%zu managers' devices, each with %zu offline edits of its own customers, "
                        "reconnect at once; done when every edit is acknowledged and every "
                        "device has received every other device's edits"
                      : "%zu sellers' devices, each with %zu offline edits of its own customers, "
                        "and the office's manager connection reconnect at once; done when every "
                        "edit is acknowledged, back on its seller's device and at the office",
                  o.monday_clients, o.monday_edits);
    setup.context.report.scenario(
        "monday", text,
        {{"clients", o.monday_clients},
         {"edits_per_client", o.monday_edits},
         {"devices", o.monday_managers ? "managers" : "sellers and one manager"},
         {"replicas", devices_kind}},
        kMondayFigures, setup.o.runs,
        [&](std::size_t run) { return monday_once(setup, plan, run); });
  }
  if (want("live")) {
    const auto total = static_cast<std::size_t>(static_cast<double>(o.live_rate) * o.live_seconds);
    const EditsByDevice plan = plan_live(o, total);
    std::snprintf(text, sizeof text,
                  "%zu connected devices make %zu edits a second in all for %.0f s, each on its "
                  "own customers; every other device and one manager connection receive each "
                  "edit; latency from the edit to each receipt",
                  o.live_clients, o.live_rate, o.live_seconds);
    setup.context.report.scenario(
        "live", text,
        {{"clients", o.live_clients}, {"rate", o.live_rate}, {"seconds", o.live_seconds}},
        kLiveFigures, setup.o.runs,
        [&](std::size_t run) { return live_once(setup, plan, total, run); });
  }
  if (want("bootstrap")) {
    std::uint64_t book_xor = 0;
    for (std::size_t i = 0; i < o.customers; ++i) {
      book_xor ^= Fleet::row_id_hash(workload::customer_id(i, o.seed));
    }
    std::snprintf(text, sizeof text, "%zu fresh devices download the %zu customers at once",
                  o.bootstrap_clients, o.customers);
    setup.context.report.scenario(
        "bootstrap", text,
        {{"clients", o.bootstrap_clients}, {"customers", o.customers}, {"replicas", devices_kind}},
        kBootstrapFigures, o.runs,
        [&](std::size_t run) { return bootstrap_once(setup, book_xor, run); });
  }
}

}  // namespace libreta::bench
