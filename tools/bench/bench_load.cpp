// libreta-bench: a load generator. Many simulated devices (device_fleet.hpp: real WebSocket
// connections, each with its own replica id and token, replicas in memory; or with
// --replicas files, replica_fleet.hpp: client-core replica files and sync sessions) against
// the real `libreta-server` in a child process, on the WORKLOAD.md customer book:
//   idle:      C connected, authenticated, caught-up devices held open: the server's resident
//              memory per connection and its CPU at rest;
//   monday:    C sellers reconnect at once, each with E offline edits of their own customers,
//              and the office's manager connection reads everything: time until every edit
//              is acknowledged, back on its seller's device and at the office; changes
//              applied a second by the server (--monday-managers: every device a manager
//              that receives every other's edits);
//   live:      C connected devices make R edits a second in all, and a manager connection
//              sees everything: latency from an edit to each other device's receipt;
//   bootstrap: C fresh devices download the whole book at once: total time and the server's
//              peak memory.
// Each run starts a fresh server on a copy of a database seeded once (not timed). Prints
// medians over --runs with min and max (--json for machines); exits non-zero when a check
// fails: an edit not acknowledged or not delivered, a device not caught up, a bootstrap short
// of a row (and, with replica files, a replica that does not hold what the server holds for
// it). docs/performance.md, "Load".
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "device_fleet.hpp"
#include "libreta/client/replica.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/sync_service.hpp"
#include "replica_fleet.hpp"
#include "report.hpp"
#include "server_process.hpp"
#include "storage_floor.hpp"
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

// How long a phase may take before the run is declared failed (these are not figures).
std::chrono::seconds phase_timeout{600};
// Files a process needs besides its connections (libraries, databases, logs).
constexpr std::uint64_t kSpareFiles = 1024;
// How often the waiting thread looks at the fleet's counters; the figures come from the
// times the devices recorded, not from this.
constexpr auto kPollInterval = std::chrono::milliseconds(5);
// Users of the Monday sellers' tokens (token_user) and of every other device's manager token.
const std::string kSellerPrefix = "seller-";
const std::string kDevicePrefix = "device-";

enum class Scenario { idle, monday, live, bootstrap };
const Scenario kAllScenarios[] = {Scenario::idle, Scenario::monday, Scenario::live,
                                  Scenario::bootstrap};

const char* scenario_name(Scenario s) {
  switch (s) {
    case Scenario::idle:
      return "idle";
    case Scenario::monday:
      return "monday";
    case Scenario::live:
      return "live";
    case Scenario::bootstrap:
      return "bootstrap";
  }
  return "?";
}

struct Options {
  std::set<Scenario> scenarios = {kAllScenarios[0], kAllScenarios[1], kAllScenarios[2],
                                  kAllScenarios[3]};
  std::size_t customers = 100'000;
  std::size_t idle_clients = 10'000;
  double idle_seconds = 30;
  std::size_t monday_clients = 500;
  std::size_t monday_edits = 200;
  bool monday_managers = false;  // every Monday device a manager reading everything
  std::size_t live_clients = 200;
  std::size_t live_rate = 1000;
  double live_seconds = 10;
  std::size_t bootstrap_clients = 20;
  std::size_t runs = 3;
  int client_threads = 1;
  int server_threads = 2;
  std::size_t connect_concurrency = 256;
  std::chrono::milliseconds device_idle_timeout{30'000};
  bool compress = true;
  // Devices with client-core replica files and sync sessions instead of in-memory replicas
  // (monday with sellers, and bootstrap: the scenarios whose devices do not each need the
  // whole book beforehand).
  bool replica_files = false;
  bool quick = false;
  bool json = false;
  std::uint64_t seed = workload::kDefaultSeed;
  fs::path dir;
  fs::path server;
};

[[noreturn]] void usage(int code) {
  std::fprintf(
      code ? stderr : stdout,
      "usage: libreta-bench [--scenario idle|monday|live|bootstrap|all] [--runs R] [--quick]\n"
      "                     [--customers N] [--idle-clients C] [--idle-seconds S]\n"
      "                     [--monday-clients C] [--monday-edits E] [--monday-managers]\n"
      "                     [--live-clients C] [--live-rate R] [--live-seconds S]\n"
      "                     [--bootstrap-clients C]\n"
      "                     [--client-threads T] [--server-threads S] [--connect-concurrency K]\n"
      "                     [--device-idle-ms MS] [--no-compression] [--replicas memory|files]\n"
      "                     [--server PATH] [--dir PATH] [--seed S] [--json]\n"
      "  --scenario X           idle, monday, live, bootstrap, a list (monday,live) or all\n"
      "  --runs R               runs; figures are medians with min and max (default 3)\n"
      "  --quick                small numbers, one run: checks that everything works (CI)\n"
      "  --customers N          customers in the server's book (default 100000)\n"
      "  --idle-clients C       idle fleet: connected devices (default 10000)\n"
      "  --idle-seconds S       idle fleet: the rest window CPU is measured over (default 30)\n"
      "  --monday-clients C     monday: devices reconnecting at once (default 500)\n"
      "  --monday-edits E       monday: offline edits per device (default 200)\n"
      "  --monday-managers      monday: the devices are managers, each receiving every other\n"
      "                         device's edits (default: sellers, and one office manager)\n"
      "  --live-clients C       live: editing devices, plus one manager (default 200)\n"
      "  --live-rate R          live: edits a second, all devices together (default 1000)\n"
      "  --live-seconds S       live: how long the devices edit (default 10)\n"
      "  --bootstrap-clients C  bootstrap: fresh devices downloading the book (default 20)\n"
      "  --client-threads T     threads running the simulated devices (default 1)\n"
      "  --server-threads S     libreta-server --threads (default 2)\n"
      "  --connect-concurrency K  handshakes in progress at once (default 256)\n"
      "  --device-idle-ms MS    a device's idle timeout; pings at half (default 30000, as\n"
      "                         client-core)\n"
      "  --no-compression       devices speak protocol 1: no compressed frames\n"
      "  --replicas memory|files  devices keep their replica in memory (default), or each in\n"
      "                         a client-core replica file synced by a real sync session:\n"
      "                         monday (sellers) and bootstrap only, the default scenarios then\n"
      "  --server PATH          the libreta-server program (default: the one built with this)\n"
      "  --dir PATH             where the temporary files go (default the system temp dir)\n"
      "  --seed S               workload seed (default the published one)\n"
      "  --json                 machine-readable output\n");
  std::exit(code);
}

Options parse_options(int argc, char** argv) {
  Options o;
  ArgReader args(argc, argv, [](int code) { usage(code); });
  bool runs_given = false, scenarios_given = false;
  while (args.next()) {
    const std::string& arg = args.arg();
    if (arg == "--scenario") {
      scenarios_given = true;
      o.scenarios.clear();
      std::istringstream names(args.value());
      for (std::string name; std::getline(names, name, ',');) {
        bool known = name == "all";
        if (known) o.scenarios.insert(std::begin(kAllScenarios), std::end(kAllScenarios));
        for (Scenario s : kAllScenarios) {
          if (name == scenario_name(s)) {
            o.scenarios.insert(s);
            known = true;
          }
        }
        if (!known) {
          std::fprintf(stderr, "--scenario: '%s' is not idle, monday, live, bootstrap or all\n",
                       name.c_str());
          usage(2);
        }
      }
      if (o.scenarios.empty()) usage(2);
    } else if (arg == "--runs") {
      o.runs = args.number();
      runs_given = true;
    } else if (arg == "--quick") {
      o.quick = true;
    } else if (arg == "--customers") {
      o.customers = args.number();
    } else if (arg == "--idle-clients") {
      o.idle_clients = args.number();
    } else if (arg == "--idle-seconds") {
      o.idle_seconds = static_cast<double>(args.number());
    } else if (arg == "--monday-clients") {
      o.monday_clients = args.number();
    } else if (arg == "--monday-edits") {
      o.monday_edits = args.number();
    } else if (arg == "--monday-managers") {
      o.monday_managers = true;
    } else if (arg == "--live-clients") {
      o.live_clients = args.number();
    } else if (arg == "--live-rate") {
      o.live_rate = args.number();
    } else if (arg == "--live-seconds") {
      o.live_seconds = static_cast<double>(args.number());
    } else if (arg == "--bootstrap-clients") {
      o.bootstrap_clients = args.number();
    } else if (arg == "--client-threads") {
      o.client_threads = static_cast<int>(args.number());
    } else if (arg == "--server-threads") {
      o.server_threads = static_cast<int>(args.number());
    } else if (arg == "--connect-concurrency") {
      o.connect_concurrency = args.number();
    } else if (arg == "--device-idle-ms") {
      o.device_idle_timeout = std::chrono::milliseconds(args.number());
    } else if (arg == "--no-compression") {
      o.compress = false;
    } else if (arg == "--replicas") {
      const std::string kind = args.value();
      if (kind != "memory" && kind != "files") {
        std::fprintf(stderr, "--replicas: '%s' is not memory or files\n", kind.c_str());
        usage(2);
      }
      o.replica_files = kind == "files";
    } else if (arg == "--server") {
      o.server = args.value();
    } else if (arg == "--dir") {
      o.dir = args.value();
    } else if (arg == "--seed") {
      o.seed = args.number();
    } else if (arg == "--json") {
      o.json = true;
    } else {
      args.unknown();
    }
  }
  if (o.quick) {
    // Small enough for CI (also under the sanitizers), large enough that pushes meet in
    // group commits, live updates interleave with pulls and pages follow one another.
    o.customers = std::min<std::size_t>(o.customers, 3000);
    o.idle_clients = std::min<std::size_t>(o.idle_clients, 200);
    o.idle_seconds = std::min(o.idle_seconds, 1.0);
    o.monday_clients = std::min<std::size_t>(o.monday_clients, 30);
    o.monday_edits = std::min<std::size_t>(o.monday_edits, 40);
    o.live_clients = std::min<std::size_t>(o.live_clients, 20);
    o.live_rate = std::min<std::size_t>(o.live_rate, 100);
    o.live_seconds = std::min(o.live_seconds, 2.0);
    o.bootstrap_clients = std::min<std::size_t>(o.bootstrap_clients, 3);
    if (!runs_given) o.runs = 1;
    phase_timeout = std::chrono::seconds(120);
  }
  if (o.replica_files) {
    // Every idle or live device is a manager holding the whole book: 10,000 or 200 copies
    // of it on disk, prepared before the run. In files, only the scenarios that do not.
    if (!scenarios_given) o.scenarios = {Scenario::monday, Scenario::bootstrap};
    if (o.scenarios.count(Scenario::idle) || o.scenarios.count(Scenario::live) ||
        o.monday_managers) {
      std::fprintf(stderr,
                   "--replicas files runs monday (sellers) and bootstrap: the idle fleet, the "
                   "live day and --monday-managers need the whole book on every device\n");
      usage(2);
    }
  }
  if (o.customers == 0 || o.runs == 0 || o.idle_clients == 0 || o.monday_clients < 2 ||
      o.monday_edits == 0 || o.live_clients == 0 || o.live_rate == 0 || o.live_seconds <= 0 ||
      o.bootstrap_clients == 0 || o.client_threads < 1 || o.server_threads < 1 ||
      o.connect_concurrency == 0) {
    std::fprintf(stderr, "every count must be positive, --monday-clients at least 2\n");
    usage(2);
  }
  return o;
}

// ---- What every scenario shares --------------------------------------------------------------

struct Setup {
  const Options& options;
  fs::path dir;
  fs::path server_binary;
  fs::path template_db;             // the seeded book and the devices' tokens
  std::uint64_t book_seq = 0;       // the seeded book's last sequence: a caught-up device's cursor
  std::vector<std::string> tokens;  // managers': device-NNNNN
  std::vector<std::string> seller_tokens;  // the Monday sellers': seller-NNNNN
  // --replicas files: the Monday sellers' and office's replica files as synced before the
  // weekend (the office last), which each run copies; and a hash of the book's canonical
  // dump, which every bootstrapped replica must match.
  std::vector<fs::path> friday_replicas;
  std::size_t book_dump_hash = 0;
};

// One run's server: a fresh copy of the seeded database, its own log.
struct RunServer {
  fs::path db;
  std::unique_ptr<ServerProcess> process;

  RunServer(const Setup& setup, const std::string& name, std::size_t connections) {
    db = setup.dir / (name + ".db");
    copy_database(setup.template_db, db);
    ServerProcessOptions options;
    options.binary = setup.server_binary;
    options.db = db;
    options.log = setup.dir / (name + ".log");
    options.threads = setup.options.server_threads;
    options.open_files = connections + kSpareFiles;
    process = std::make_unique<ServerProcess>(std::move(options));
  }
  ~RunServer() {
    process.reset();
    remove_database(db);
  }
};

FleetOptions fleet_options(const Setup& setup, const ServerProcess& server) {
  FleetOptions f;
  f.port = server.port();
  f.compress = setup.options.compress;
  f.threads = setup.options.client_threads;
  f.idle_timeout = setup.options.device_idle_timeout;
  f.max_connecting = setup.options.connect_concurrency;
  f.seed = setup.options.seed;
  return f;
}

std::vector<DeviceSpec> device_specs(const Setup& setup, std::size_t count, std::uint64_t cursor) {
  if (count > setup.tokens.size()) fail("more devices than tokens");
  std::vector<DeviceSpec> specs(count);
  for (std::size_t d = 0; d < count; ++d) specs[d] = {setup.tokens[d], cursor};
  return specs;
}

// Waits until `done` holds; fails when `error` names one, or when `what` takes longer than
// phase_timeout (with `progress` and `missing` for the message).
void wait_until(const char* what, const std::function<std::string()>& error,
                const std::function<bool()>& done, const std::function<std::string()>& progress,
                const std::function<void()>& missing = {}) {
  const auto deadline = Clock::now() + phase_timeout;
  for (;;) {
    if (std::string e = error(); !e.empty()) fail(std::string(what) + ": " + e);
    if (done()) return;
    if (Clock::now() > deadline) {
      if (missing) missing();
      fail(std::string(what) + " took longer than " + std::to_string(phase_timeout.count()) +
           " s: " + progress());
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

void wait_for(const DeviceFleet& fleet, const char* what,
              const std::function<bool(const FleetCounters&)>& done) {
  wait_until(
      what, [&] { return fleet.counters().failed > 0 ? fleet.first_error() : std::string(); },
      [&] { return done(fleet.counters()); },
      [&] {
        const FleetCounters c = fleet.counters();
        return std::to_string(c.welcomed) + " welcomed, " + std::to_string(c.caught_up) +
               " caught up, " + std::to_string(c.edits_acked) + " of " +
               std::to_string(c.edits_sent) + " edits acknowledged, " + std::to_string(c.receipts) +
               " receipts";
      },
      [&] { fleet.print_missing(stderr); });
}

void wait_for(const ReplicaFleet& fleet, const char* what,
              const std::function<bool(const ReplicaFleetCounters&)>& done) {
  wait_until(
      what, [&] { return fleet.counters().failed > 0 ? fleet.first_error() : std::string(); },
      [&] { return done(fleet.counters()); },
      [&] {
        const ReplicaFleetCounters c = fleet.counters();
        return std::to_string(c.connected) + " connected, " + std::to_string(c.caught_up) +
               " caught up, " + std::to_string(c.acked) + " with an empty outbox, " +
               std::to_string(c.receipts) + " receipts and " + std::to_string(c.echoes) +
               " echoes of " + std::to_string(c.tracked) + " edits, " + std::to_string(c.rows) +
               " rows received";
      });
}

// Every device from `first` on is at the server's last sequence.
void check_caught_up(const DeviceFleet& fleet, const ServerProcess& server, std::size_t first = 0) {
  const std::uint64_t last_seq = server.health().last_seq;
  for (std::size_t d = first; d < fleet.size(); ++d) {
    const auto r = fleet.report(d);
    if (!r.caught_up || r.cursor != last_seq) {
      fail("device " + std::to_string(d) + " is at " + std::to_string(r.cursor) +
           (r.caught_up ? "" : " (not caught up)") + ", the server at " + std::to_string(last_seq));
    }
  }
}

// The seeded book's owner of a customer: customer i belongs to seller i mod C, C the Monday
// devices, whose tokens are those sellers' (the other scenarios' devices are managers).
std::string seeded_owner(const Options& o, std::size_t customer) {
  return token_user(kSellerPrefix, customer % o.monday_clients);
}

// The edit a device makes on one of its own customers (customer i belongs to device
// i mod devices, as customers belong to sellers), with the field's value in the seeded book.
// A seller does not give customers away (only a manager may): for `seller`, an edit that
// would change the owner is drawn again from another stream index.
std::shared_ptr<const PlannedEdit> plan_edit(const Options& o, std::uint64_t stream_index,
                                             std::size_t customer, bool seller = false) {
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

// ---- idle fleet --------------------------------------------------------------------------------

struct IdleRun {
  double connect_s = 0;
  double rss_before_mib = 0, rss_connected_mib = 0, rss_after_rest_mib = 0;
  double per_connection_kib = 0;
  double rest_cpu_percent = 0;  // of one core
  double client_rest_cpu_percent = 0;
  double client_rss_per_device_kib = 0;
  std::uint64_t connections = 0;
};

IdleRun idle_once(const Setup& setup, std::size_t run) {
  const Options& o = setup.options;
  IdleRun r;
  RunServer server(setup, "idle-" + std::to_string(run), o.idle_clients);
  ServerProcess& process = *server.process;
  process.health();  // the server has served a request: its threads and buffers exist
  const double rss_before = static_cast<double>(process.rss_bytes());
  const double client_rss_before = static_cast<double>(proc_status_bytes("self", "VmRSS"));
  DeviceFleet fleet(fleet_options(setup, process),
                    device_specs(setup, o.idle_clients, setup.book_seq));
  const auto start = Clock::now();
  fleet.start();
  const std::size_t n = o.idle_clients;
  wait_for(fleet, "connecting the idle fleet",
           [&](const FleetCounters& c) { return c.welcomed == n && c.caught_up == n; });
  r.connect_s = seconds_between(start, fleet.last_caught_up());
  check_caught_up(fleet, process);
  r.connections = process.health().connections;
  if (r.connections != n) {
    fail("the server counts " + std::to_string(r.connections) + " connections, not " +
         std::to_string(n));
  }
  const double rss_connected = static_cast<double>(process.rss_bytes());
  const double client_rss = static_cast<double>(proc_status_bytes("self", "VmRSS"));

  // At rest: nothing to send, nothing to receive; whatever CPU is spent now is overhead.
  const double server_cpu = process.cpu_seconds();
  const double client_cpu = self_cpu_seconds();
  const auto rest_start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_seconds));
  const double rest = seconds_since(rest_start);
  r.rest_cpu_percent = 100 * (process.cpu_seconds() - server_cpu) / rest;
  r.client_rest_cpu_percent = 100 * (self_cpu_seconds() - client_cpu) / rest;
  const FleetCounters after = fleet.counters();
  if (after.failed > 0) fail("during the rest: " + fleet.first_error());
  r.rss_after_rest_mib = mib(static_cast<double>(process.rss_bytes()));
  r.rss_before_mib = mib(rss_before);
  r.rss_connected_mib = mib(rss_connected);
  r.per_connection_kib = (rss_connected - rss_before) / static_cast<double>(n) / 1024.0;
  r.client_rss_per_device_kib = (client_rss - client_rss_before) / static_cast<double>(n) / 1024.0;
  fleet.stop();
  process.stop();
  return r;
}

// ---- monday morning ----------------------------------------------------------------------------

struct MondayPlan {
  std::vector<std::vector<std::shared_ptr<const PlannedEdit>>> edits;  // per device
};

MondayPlan plan_monday(const Options& o) {
  MondayPlan plan;
  const std::size_t devices = o.monday_clients;
  plan.edits.resize(devices);
  for (std::size_t d = 0; d < devices; ++d) {
    if (d >= o.customers) fail("fewer customers than devices");
    const std::size_t owned = (o.customers - d + devices - 1) / devices;
    for (std::size_t k = 0; k < o.monday_edits; ++k) {
      const std::uint64_t j = d * o.monday_edits + k;
      // Uniform over the device's own customers.
      workload::Rng pick = workload::edit_rng(j, o.seed ^ 0x6d6f6e646179ULL);
      const std::size_t customer = d + devices * pick.below(owned);
      plan.edits[d].push_back(plan_edit(o, j, customer, !o.monday_managers));
    }
  }
  return plan;
}

struct MondayRun {
  double total_s = 0;        // start -> every edit acked and every device has every edit
  double acked_s = 0;        // start -> last ack
  double push_window_s = 0;  // first push sent -> last ack
  double changes_per_s = 0, edits_per_s = 0;
  std::uint64_t edits = 0, changes = 0;
  std::uint64_t sequences = 0;  // server sequences used (rows written, over all commits)
  double server_cpu_s = 0, client_cpu_s = 0;
  double server_peak_mib = 0;
  // The storage's floor under the same pushes (storage_floor.hpp), measured before the
  // devices connect, with nothing else running.
  StorageFloor floor;
  double share_of_floor = 0;  // changes_per_s / the floor's
  // The same, each edit's customer drawn over the whole book instead (below).
  StorageFloor scattered_floor;
};

// The same morning's pushes with SQLite alone, on a fresh copy of the seeded book: what
// the storage takes before any of the server's own work. `touched`: for each device, the
// customers of its edits that changed something; `pending`: its changes, pushed in batches
// of at most `push_batch` as the device does (the customers split evenly among them: a
// batch's exact rows depend on how the outbox coalesced; a device's batches may share a
// group here, which its one push in flight never allows: Monday's 200 edits are one batch).
// `scattered`: each customer a
// device edits stands for one drawn uniformly over the whole book (as many rows, written
// as often). The book's sellers own customers i mod C and the devices push roughly in
// seller order, so one group's rows are neighbours in the file; in a real book a group's
// rows are anywhere, and each costs a page of its own.
StorageFloor monday_floor(const Setup& setup, const std::vector<std::vector<std::string>>& touched,
                          const std::vector<std::uint64_t>& pending, std::size_t push_batch,
                          std::size_t run, bool scattered) {
  const Options& o = setup.options;
  workload::Rng pick(o.seed ^ 0x73636174746572ULL ^ run);
  std::vector<FloorPush> pushes;
  for (std::size_t d = 0; d < touched.size(); ++d) {
    std::map<std::string, std::string> anywhere;
    std::vector<std::string> ids;
    for (const std::string& id : touched[d]) {
      if (scattered && !anywhere.count(id))
        anywhere[id] = workload::customer_id(pick.below(o.customers), o.seed);
      ids.push_back(scattered ? anywhere[id] : id);
    }
    const std::size_t batches =
        std::max<std::size_t>(1, (pending[d] + push_batch - 1) / push_batch);
    for (std::size_t b = 0; b < batches; ++b) {
      FloorPush push;
      push.replica = DeviceFleet::replica_id(d);
      push.customer_ids.assign(
          ids.begin() + static_cast<std::ptrdiff_t>(ids.size() * b / batches),
          ids.begin() + static_cast<std::ptrdiff_t>(ids.size() * (b + 1) / batches));
      push.changes = pending[d] * (b + 1) / batches - pending[d] * b / batches;
      pushes.push_back(std::move(push));
    }
  }
  const fs::path db = setup.dir / ("monday-floor-" + std::to_string(run) + ".db");
  copy_database(setup.template_db, db);
  StorageFloor floor =
      measure_storage_floor(db, pushes, server::SyncServiceOptions{}.max_group_changes);
  remove_database(db);
  return floor;
}

MondayRun monday_once(const Setup& setup, const MondayPlan& plan, std::size_t run) {
  const Options& o = setup.options;
  MondayRun r;
  const std::size_t n = o.monday_clients;
  // Sellers, and the office's manager connection as the last device; or n managers.
  const bool sellers = !o.monday_managers;
  const std::size_t devices = sellers ? n + 1 : n;
  std::vector<DeviceSpec> specs;
  if (sellers) {
    if (setup.seller_tokens.size() < n) fail("fewer seller tokens than devices");
    for (std::size_t d = 0; d < n; ++d) specs.push_back({setup.seller_tokens[d], setup.book_seq});
    specs.push_back({setup.tokens.at(0), setup.book_seq});
  } else {
    specs = device_specs(setup, n, setup.book_seq);
  }
  RunServer server(setup, "monday-" + std::to_string(run), devices);
  ServerProcess& process = *server.process;
  FleetOptions options = fleet_options(setup, process);
  options.max_edits_per_device = o.monday_edits;
  options.max_connecting = devices;  // all at once: 9 a.m.
  DeviceFleet fleet(options, std::move(specs));
  // The weekend, offline (not timed).
  std::vector<std::vector<std::string>> touched(n);  // customers of edits that changed them
  for (std::size_t d = 0; d < n; ++d) {
    for (const auto& edit : plan.edits[d]) {
      if (fleet.make_offline_edit(d, *edit)) touched[d].push_back(edit->edit.customer_id);
    }
  }
  const FleetCounters before = fleet.counters();
  const std::uint64_t to_send = before.edits_made - before.edits_noop - before.edits_coalesced;
  std::uint64_t changes = 0;
  std::vector<std::uint64_t> pending(n);
  for (std::size_t d = 0; d < n; ++d) changes += pending[d] = fleet.report(d).pending;
  r.floor = monday_floor(setup, touched, pending, options.push_batch, run, false);
  r.scattered_floor = monday_floor(setup, touched, pending, options.push_batch, run, true);

  const double server_cpu = process.cpu_seconds();
  const double client_cpu = self_cpu_seconds();
  const auto start = Clock::now();
  fleet.start();
  // Who must receive each edit: the office (sellers see only their own customers, and get
  // their own edits back in their scope's updates), or every other manager.
  const std::size_t receivers = sellers ? 1 : n - 1;
  wait_for(fleet, "monday morning", [&](const FleetCounters& c) {
    return c.edits_acked == to_send && c.receipts >= receivers * c.edits_tracked &&
           (!sellers || c.echoes >= c.edits_tracked) && c.caught_up == devices;
  });
  const auto end =
      std::max({fleet.last_ack(), fleet.last_receipt(), fleet.last_caught_up(), fleet.last_echo()});
  r.server_cpu_s = process.cpu_seconds() - server_cpu;
  r.client_cpu_s = self_cpu_seconds() - client_cpu;
  r.total_s = seconds_between(start, end);
  r.acked_s = seconds_between(start, fleet.last_ack());
  r.push_window_s = seconds_between(fleet.first_push(), fleet.last_ack());
  const FleetCounters c = fleet.counters();
  // More receipts than that would be a seller seeing another's customers.
  if (c.receipts != receivers * c.edits_tracked) {
    fail(std::to_string(c.receipts) + " edits received, not " +
         std::to_string(receivers * c.edits_tracked));
  }
  if (c.changes_pushed != changes) {
    fail(std::to_string(c.changes_pushed) + " changes pushed, not " + std::to_string(changes));
  }
  if (c.unknown_versions != 0) fail("devices received versions no device made");
  for (std::size_t d = 0; d < n; ++d) {
    const auto report = fleet.report(d);
    if (report.pending != 0) fail("device " + std::to_string(d) + " has an outbox left");
    if (sellers && report.echoes != report.edits_tracked) {
      fail("seller " + std::to_string(d) + " received " + std::to_string(report.echoes) +
           " of its " + std::to_string(report.edits_tracked) + " edits back");
    }
  }
  // A seller's cursor moves only with their scope (docs/protocol.md, "Live updates"): their
  // own edits back is their being caught up; the office is at the server's last sequence.
  check_caught_up(fleet, process, sellers ? n : 0);
  r.edits = to_send;
  r.changes = changes;
  r.changes_per_s = static_cast<double>(changes) / r.push_window_s;
  r.edits_per_s = static_cast<double>(to_send) / r.push_window_s;
  const double floor_rate = r.floor.changes_per_s();
  r.share_of_floor = floor_rate > 0 ? r.changes_per_s / floor_rate : 0;
  r.sequences = process.health().last_seq - setup.book_seq;
  r.server_peak_mib = mib(static_cast<double>(process.peak_rss_bytes()));
  fleet.stop();
  process.stop();
  return r;
}

// With --replicas files: the same morning, the devices client-core replica files synced by
// real sessions. Done when every seller's outbox is empty and their edits are back in their
// files, and the office's file has every edit; then every replica must hold exactly what
// the server holds for its user.
ReplicaFleetOptions replica_fleet_options(const Setup& setup, const ServerProcess& server) {
  ReplicaFleetOptions f;
  f.server_url = server.url();
  f.compress = setup.options.compress;
  f.idle_timeout = setup.options.device_idle_timeout;
  return f;
}

// The sellers' and the office's replicas as they stood before the weekend: each synced once
// with the seeded book (not timed).
std::vector<fs::path> prepare_friday_replicas(const Setup& setup) {
  const std::size_t n = setup.options.monday_clients;
  if (setup.seller_tokens.size() < n) fail("fewer seller tokens than devices");
  const fs::path dir = setup.dir / "friday";
  fs::create_directories(dir);
  std::vector<ReplicaDeviceSpec> specs;
  std::vector<fs::path> files;
  for (std::size_t d = 0; d <= n; ++d) {
    files.push_back(dir / (DeviceFleet::replica_id(d) + ".db"));
    specs.push_back({files.back(), d < n ? setup.seller_tokens[d] : setup.tokens.at(0)});
  }
  RunServer server(setup, "friday", n + 1);
  {
    ReplicaFleet fleet(replica_fleet_options(setup, *server.process), std::move(specs));
    fleet.start();
    wait_for(fleet, "syncing the replicas before the weekend",
             [&](const ReplicaFleetCounters& c) { return c.caught_up == n + 1; });
  }
  server.process->stop();
  return files;
}

// check(i) for i in [0, count), on every core (checks, not timed); rethrows the first failure.
void check_in_parallel(std::size_t count, const std::function<void(std::size_t)>& check) {
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::exception_ptr failure;
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < std::max(1u, std::thread::hardware_concurrency()); ++t) {
    threads.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < count;) {
        try {
          check(i);
        } catch (...) {
          std::lock_guard lock(mutex);
          if (!failure) failure = std::current_exception();
          next = count;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);
}

// Each replica file holds exactly what the server's database holds for its user.
void check_replicas_match(const fs::path& server_db, const std::vector<fs::path>& files,
                          const std::function<std::string(std::size_t)>& seller_of) {
  auto store = server::open_sqlite_store(server_db);
  check_in_parallel(files.size(), [&](std::size_t d) {
    const std::string seller = seller_of(d);
    const std::string expected =
        seller.empty() ? store->canonical_dump() : store->canonical_dump_of_scope(seller);
    if (client::Replica::open(files[d])->canonical_dump() != expected) {
      fail("replica " + files[d].filename().string() + " does not hold what the server holds for " +
           (seller.empty() ? std::string("a manager") : seller));
    }
  });
}

MondayRun monday_files_once(const Setup& setup, const MondayPlan& plan, std::size_t run) {
  const Options& o = setup.options;
  MondayRun r;
  const std::size_t n = o.monday_clients, devices = n + 1;  // the office last
  RunServer server(setup, "monday-" + std::to_string(run), devices);
  ServerProcess& process = *server.process;
  TempDir dir(setup.dir, "monday-replicas");
  std::vector<fs::path> files;
  std::vector<ReplicaDeviceSpec> specs;
  for (std::size_t d = 0; d < devices; ++d) {
    files.push_back(dir.path() / setup.friday_replicas.at(d).filename());
    copy_database(setup.friday_replicas[d], files.back());
    specs.push_back({files.back(), d < n ? setup.seller_tokens.at(d) : setup.tokens.at(0)});
  }
  std::uint64_t tracked = 0, changes = 0;
  {
    ReplicaFleet fleet(replica_fleet_options(setup, process), std::move(specs));
    // The weekend, offline, through each replica file (not timed).
    for (std::size_t d = 0; d < n; ++d) fleet.make_offline_edits(d, plan.edits[d]);
    for (std::size_t d = 0; d < n; ++d) changes += fleet.report(d).changes;
    tracked = fleet.counters().tracked;

    const double server_cpu = process.cpu_seconds();
    const double client_cpu = self_cpu_seconds();
    const auto start = Clock::now();
    fleet.start();
    wait_for(fleet, "monday morning", [&](const ReplicaFleetCounters& c) {
      return c.acked == devices && c.caught_up == devices && c.echoes >= tracked &&
             c.receipts >= tracked;
    });
    const auto end = std::max(
        {fleet.last_acked(), fleet.last_caught_up(), fleet.last_receipt(), fleet.last_echo()});
    r.server_cpu_s = process.cpu_seconds() - server_cpu;
    r.client_cpu_s = self_cpu_seconds() - client_cpu;
    r.total_s = seconds_between(start, end);
    r.acked_s = seconds_between(start, fleet.last_acked());
    r.push_window_s = seconds_between(fleet.first_connected(), fleet.last_acked());
    // Only the office receives others' edits: more would be a seller seeing another's.
    const ReplicaFleetCounters c = fleet.counters();
    if (c.receipts != tracked || fleet.report(n).receipts != tracked) {
      fail(std::to_string(c.receipts) + " edits received, " +
           std::to_string(fleet.report(n).receipts) + " at the office, not " +
           std::to_string(tracked));
    }
    for (std::size_t d = 0; d < n; ++d) {
      const auto report = fleet.report(d);
      if (report.pending != 0) fail("seller " + std::to_string(d) + " has an outbox left");
      if (report.echoes != report.tracked) {
        fail("seller " + std::to_string(d) + " received " + std::to_string(report.echoes) +
             " of its " + std::to_string(report.tracked) + " edits back");
      }
    }
    // The office's session reports the rows it applied just before its new cursor: wait
    // for the cursor too (it does not move the end time by more than that).
    const std::uint64_t last_seq = process.health().last_seq;
    wait_until(
        "the office's cursor", [&] { return fleet.first_error(); },
        [&] { return fleet.report(n).cursor == last_seq; },
        [&] {
          return "the office is at " + std::to_string(fleet.report(n).cursor) + ", the server at " +
                 std::to_string(last_seq);
        });
    r.sequences = last_seq - setup.book_seq;
    r.server_peak_mib = mib(static_cast<double>(process.peak_rss_bytes()));
  }
  process.stop();
  check_replicas_match(server.db, files, [&](std::size_t d) {
    return d < n ? token_user(kSellerPrefix, d) : std::string();
  });
  r.edits = tracked;
  r.changes = changes;
  r.changes_per_s = static_cast<double>(changes) / r.push_window_s;
  r.edits_per_s = static_cast<double>(tracked) / r.push_window_s;
  return r;
}

// ---- live day ----------------------------------------------------------------------------------

struct LivePlan {
  std::size_t total = 0;
  std::vector<std::vector<std::shared_ptr<const PlannedEdit>>> edits;  // per device
};

LivePlan plan_live(const Options& o) {
  LivePlan plan;
  const std::size_t devices = o.live_clients;
  plan.total = static_cast<std::size_t>(static_cast<double>(o.live_rate) * o.live_seconds);
  const std::size_t per_device = (plan.total + devices - 1) / devices;
  // Each edit on a customer the device has not edited yet in this run: a receiver that
  // catches up by pulling sees every edit, none hidden by a later one of the same field.
  if (per_device * devices > o.customers) {
    fail("the live day needs at least " + std::to_string(per_device * devices) +
         " customers; raise --customers");
  }
  plan.edits.resize(devices);
  for (std::size_t j = 0; j < plan.total; ++j) {
    const std::size_t d = j % devices, k = j / devices;
    plan.edits[d].push_back(plan_edit(o, 1'000'000'000 + j, d + devices * k));
  }
  return plan;
}

struct LiveRun {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double manager_p50_ms = 0, manager_p99_ms = 0, manager_max_ms = 0;
  double rate = 0;  // edits a second actually made
  double server_cpu_percent = 0, client_cpu_percent = 0;
  std::uint64_t edits = 0, receipts = 0;
};

LiveRun live_once(const Setup& setup, const LivePlan& plan, std::size_t run) {
  const Options& o = setup.options;
  LiveRun r;
  const std::size_t editors = o.live_clients;
  const std::size_t devices = editors + 1;  // the last one is the manager, who only reads
  RunServer server(setup, "live-" + std::to_string(run), devices);
  ServerProcess& process = *server.process;
  FleetOptions options = fleet_options(setup, process);
  options.max_edits_per_device = plan.edits.front().size();
  options.record_latency = true;
  DeviceFleet fleet(options, device_specs(setup, devices, setup.book_seq));
  fleet.start();
  wait_for(fleet, "connecting the live devices",
           [&](const FleetCounters& c) { return c.welcomed == devices && c.caught_up == devices; });

  const double server_cpu = process.cpu_seconds();
  const double client_cpu = self_cpu_seconds();
  const auto start = Clock::now();
  const auto interval = std::chrono::duration<double>(1.0 / static_cast<double>(o.live_rate));
  for (std::size_t j = 0; j < plan.total; ++j) {
    std::this_thread::sleep_until(start +
                                  std::chrono::duration_cast<Clock::duration>(interval * j));
    fleet.make_live_edit(j % editors, plan.edits[j % editors][j / editors]);
  }
  wait_for(fleet, "the live day", [&](const FleetCounters& c) {
    const std::uint64_t sent = c.edits_made - c.edits_noop - c.edits_coalesced;
    return c.edits_made == plan.total && c.edits_acked == sent &&
           c.receipts >= (devices - 1) * c.edits_tracked && c.caught_up == devices;
  });
  const double elapsed = seconds_between(start, std::max(fleet.last_ack(), fleet.last_receipt()));
  r.server_cpu_percent = 100 * (process.cpu_seconds() - server_cpu) / elapsed;
  r.client_cpu_percent = 100 * (self_cpu_seconds() - client_cpu) / elapsed;
  const FleetCounters c = fleet.counters();
  r.edits = c.edits_acked;
  r.receipts = c.receipts;
  if (c.receipts != (devices - 1) * c.edits_tracked) {
    fail(std::to_string(c.receipts) + " receipts, not " +
         std::to_string((devices - 1) * c.edits_tracked));
  }
  if (c.unknown_versions != 0) fail("devices received versions no device made");
  r.rate = static_cast<double>(plan.total) / seconds_since(start);
  check_caught_up(fleet, process);
  fleet.stop();
  process.stop();

  std::vector<double> all, manager;
  for (std::size_t d = 0; d < devices; ++d) {
    for (float ms : fleet.latencies(d)) (d == editors ? manager : all).push_back(ms);
  }
  std::sort(all.begin(), all.end());
  std::sort(manager.begin(), manager.end());
  r.p50_ms = quantile(all, 0.50);
  r.p99_ms = quantile(all, 0.99);
  r.max_ms = all.empty() ? 0 : all.back();
  r.manager_p50_ms = quantile(manager, 0.50);
  r.manager_p99_ms = quantile(manager, 0.99);
  r.manager_max_ms = manager.empty() ? 0 : manager.back();
  return r;
}

// ---- bootstrap storm ---------------------------------------------------------------------------

struct BootstrapRun {
  double total_s = 0;
  double first_s = 0;  // the quickest device
  double server_peak_mib = 0, server_rss_before_mib = 0;
  double server_cpu_s = 0, client_cpu_s = 0;
  double mb_in = 0;  // message bytes the devices received, after inflate
};

// Starts the fleet and waits until all n devices are caught up: the storm's times, CPU and
// the server's peak, for either kind of fleet.
template <class Fleet>
void run_storm(Fleet& fleet, const ServerProcess& process, std::size_t n, BootstrapRun& r) {
  const double server_cpu = process.cpu_seconds();
  const double client_cpu = self_cpu_seconds();
  const auto start = Clock::now();
  fleet.start();
  Clock::time_point first{};
  wait_for(fleet, "the bootstrap storm", [&](const auto& c) {
    if (c.caught_up > 0 && first == Clock::time_point{}) first = fleet.last_caught_up();
    return c.caught_up == n;
  });
  r.total_s = seconds_between(start, fleet.last_caught_up());
  r.first_s = seconds_between(start, first);
  r.server_cpu_s = process.cpu_seconds() - server_cpu;
  r.client_cpu_s = self_cpu_seconds() - client_cpu;
  r.server_peak_mib = mib(static_cast<double>(process.peak_rss_bytes()));
}

BootstrapRun bootstrap_once(const Setup& setup, std::uint64_t book_xor, std::size_t run) {
  const Options& o = setup.options;
  BootstrapRun r;
  const std::size_t n = o.bootstrap_clients;
  RunServer server(setup, "bootstrap-" + std::to_string(run), n);
  ServerProcess& process = *server.process;
  process.health();
  r.server_rss_before_mib = mib(static_cast<double>(process.rss_bytes()));
  DeviceFleet fleet(fleet_options(setup, process), device_specs(setup, n, 0));
  run_storm(fleet, process, n, r);
  r.mb_in = mb(static_cast<double>(fleet.counters().bytes_in));
  for (std::size_t d = 0; d < n; ++d) {
    const auto report = fleet.report(d);
    if (report.rows_received != o.customers || report.row_id_xor != book_xor) {
      fail("device " + std::to_string(d) + " received " + std::to_string(report.rows_received) +
           " rows, not the " + std::to_string(o.customers) + " customers of the book");
    }
  }
  check_caught_up(fleet, process);
  fleet.stop();
  process.stop();
  return r;
}

// With --replicas files: fresh client-core replica files, each bootstrapped by a real session.
// Every file must end holding the whole book, as the server holds it.
BootstrapRun bootstrap_files_once(const Setup& setup, std::size_t run) {
  const Options& o = setup.options;
  BootstrapRun r;
  const std::size_t n = o.bootstrap_clients;
  RunServer server(setup, "bootstrap-" + std::to_string(run), n);
  ServerProcess& process = *server.process;
  process.health();
  r.server_rss_before_mib = mib(static_cast<double>(process.rss_bytes()));
  TempDir dir(setup.dir, "bootstrap-replicas");
  std::vector<ReplicaDeviceSpec> specs;
  for (std::size_t d = 0; d < n; ++d) {
    specs.push_back({dir.path() / (DeviceFleet::replica_id(d) + ".db"), setup.tokens.at(d)});
  }
  std::vector<fs::path> files;
  for (const auto& spec : specs) files.push_back(spec.file);
  {
    ReplicaFleet fleet(replica_fleet_options(setup, process), std::move(specs));
    run_storm(fleet, process, n, r);
    const std::uint64_t last_seq = process.health().last_seq;
    for (std::size_t d = 0; d < n; ++d) {
      const auto report = fleet.report(d);
      if (report.rows_received != o.customers || report.cursor != last_seq) {
        fail("device " + std::to_string(d) + " received " + std::to_string(report.rows_received) +
             " rows, not the " + std::to_string(o.customers) +
             " customers of the book, and is at " + std::to_string(report.cursor) +
             ", the server at " + std::to_string(last_seq));
      }
    }
  }
  process.stop();
  check_in_parallel(files.size(), [&](std::size_t d) {
    if (std::hash<std::string>{}(client::Replica::open(files[d])->canonical_dump()) !=
        setup.book_dump_hash) {
      fail("replica " + files[d].filename().string() +
           " does not hold the book as the server does");
    }
  });
  return r;
}

// ---- The benchmark -----------------------------------------------------------------------------

int run_benchmark(const Options& o) {
  const bool text = !o.json;
  const double load_at_start = load_average();
  const fs::path parent = o.dir.empty() ? fs::temp_directory_path() : o.dir;
  TempDir dir(parent, "libreta-bench");
  const fs::path server_binary = find_server(o.server, LIBRETA_SERVER_BINARY);
  const auto want = [&](Scenario s) { return o.scenarios.count(s) > 0; };

  std::size_t most_devices = 0;
  if (want(Scenario::idle)) most_devices = std::max(most_devices, o.idle_clients);
  if (want(Scenario::monday)) most_devices = std::max(most_devices, o.monday_clients);
  if (want(Scenario::live)) most_devices = std::max(most_devices, o.live_clients + 1);
  if (want(Scenario::bootstrap)) most_devices = std::max(most_devices, o.bootstrap_clients);
  if (o.replica_files && want(Scenario::monday)) ++most_devices;  // the office
  // A device in files holds its socket and its database's three files (db, WAL, shm).
  const std::uint64_t files_needed = most_devices * (o.replica_files ? 4 : 1) + kSpareFiles;
  const std::uint64_t files = raise_open_files_limit(files_needed);
  if (files < files_needed) {
    fail("only " + std::to_string(files) + " open files allowed; " + std::to_string(files_needed) +
         " needed");
  }

  if (text) {
    std::printf("libreta-bench: simulated devices against libreta-server, WORKLOAD.md book\n");
    std::printf(
        "machine   %u cores (load average %.1f at start), SQLite %s, build %s, "
        "libreta-server --threads %d, %d device thread%s\n",
        std::thread::hardware_concurrency(), load_at_start, sqlite3_libversion(),
        LIBRETA_BUILD_TYPE, o.server_threads, o.client_threads, o.client_threads == 1 ? "" : "s");
    std::printf("devices   %s, protocol %d; server %s; files in %s\n",
                o.replica_files ? "client-core replica files and sync sessions" : "in memory",
                o.compress ? kProtocolVersion : 1, server_binary.c_str(), parent.c_str());
    std::fflush(stdout);
  }

  // The book, one manager token per device and a seller token per Monday seller, seeded
  // once (not timed).
  Setup setup{o, dir.path(), server_binary, dir.path() / "template.db", 0, {}, {}, {}, 0};
  const std::size_t sellers = want(Scenario::monday) && !o.monday_managers ? o.monday_clients : 0;
  const auto seed_start = Clock::now();
  {
    auto store = server::open_sqlite_store(setup.template_db);
    setup.book_seq = seed_customers(*store, o.customers, o.seed,
                                    [&o](std::size_t i) { return seeded_owner(o, i); });
    setup.tokens = add_tokens(*store, most_devices, server::Role::manager, kDevicePrefix);
    setup.seller_tokens = add_tokens(*store, sellers, server::Role::seller, kSellerPrefix);
    if (o.replica_files && want(Scenario::bootstrap)) {
      setup.book_dump_hash = std::hash<std::string>{}(store->canonical_dump());
    }
  }
  if (text) {
    std::printf(
        "setup     %zu customers, %zu manager and %zu seller tokens seeded in %.1f s (%.1f MB), "
        "not timed\n",
        o.customers, most_devices, sellers, seconds_since(seed_start),
        mb(static_cast<double>(database_bytes(setup.template_db))));
    std::fflush(stdout);
  }
  if (o.replica_files && want(Scenario::monday)) {
    const auto friday_start = Clock::now();
    setup.friday_replicas = prepare_friday_replicas(setup);
    if (text) {
      std::printf(
          "setup     %zu sellers' and the office's replica files synced in %.1f s, not timed\n",
          o.monday_clients, seconds_since(friday_start));
      std::fflush(stdout);
    }
  }
  nlohmann::json out;
  const auto runs_start = Clock::now();

  if (want(Scenario::idle)) {
    if (text) {
      std::printf(
          "\nidle fleet: %zu devices connect (%zu handshakes at a time), say hello, pull, and\n"
          "stay connected, caught up; then %.0f s at rest\n",
          o.idle_clients, o.connect_concurrency, o.idle_seconds);
      std::printf("%-4s %10s %11s %11s %12s %11s %11s %12s\n", "run", "connect s", "RSS 0 MiB",
                  "RSS C MiB", "KiB / conn", "rest CPU %", "RSS end MiB", "client KiB/dev");
      std::fflush(stdout);
    }
    std::vector<IdleRun> runs;
    for (std::size_t run = 0; run < o.runs; ++run) {
      runs.push_back(idle_once(setup, run));
      const IdleRun& r = runs.back();
      if (text) {
        std::printf("%-4zu %10.2f %11.1f %11.1f %12.2f %11.2f %11.1f %12.2f\n", run + 1,
                    r.connect_s, r.rss_before_mib, r.rss_connected_mib, r.per_connection_kib,
                    r.rest_cpu_percent, r.rss_after_rest_mib, r.client_rss_per_device_kib);
        std::fflush(stdout);
      }
    }
    const Summary per_conn = summarize(runs, [](const IdleRun& r) { return r.per_connection_kib; });
    const Summary rest = summarize(runs, [](const IdleRun& r) { return r.rest_cpu_percent; });
    const Summary connect = summarize(runs, [](const IdleRun& r) { return r.connect_s; });
    const Summary rss = summarize(runs, [](const IdleRun& r) { return r.rss_connected_mib; });
    const Summary client_rest =
        summarize(runs, [](const IdleRun& r) { return r.client_rest_cpu_percent; });
    if (text) {
      std::printf("\nidle fleet, median over %zu run%s (min - max)\n", runs.size(),
                  runs.size() == 1 ? "" : "s");
      print_line("server RSS per connection", per_conn, "KiB", "goal <= 16 KiB");
      print_line("server CPU at rest, % of one core", rest, "%", "goal: near zero");
      print_line("server RSS, all connected", rss, "MiB", "");
      print_line("time to connect all", connect, "s", "");
      print_line("devices' CPU at rest, % of one core", client_rest, "%", "(this process)");
      std::fflush(stdout);
    }
    nlohmann::json per_run = nlohmann::json::array();
    for (const auto& r : runs) {
      per_run.push_back({{"connect_s", r.connect_s},
                         {"rss_before_mib", r.rss_before_mib},
                         {"rss_connected_mib", r.rss_connected_mib},
                         {"rss_after_rest_mib", r.rss_after_rest_mib},
                         {"per_connection_kib", r.per_connection_kib},
                         {"rest_cpu_percent", r.rest_cpu_percent},
                         {"client_rest_cpu_percent", r.client_rest_cpu_percent},
                         {"client_rss_per_device_kib", r.client_rss_per_device_kib}});
    }
    out["idle"] = {{"clients", o.idle_clients},
                   {"rest_s", o.idle_seconds},
                   {"per_connection_kib", to_json(per_conn)},
                   {"rest_cpu_percent", to_json(rest)},
                   {"rss_connected_mib", to_json(rss)},
                   {"connect_s", to_json(connect)},
                   {"runs", std::move(per_run)}};
  }

  if (want(Scenario::monday)) {
    const auto plan_start = Clock::now();
    const MondayPlan plan = plan_monday(o);
    if (text) {
      std::printf(
          o.monday_managers
              ? "\nmonday morning: %zu managers' devices, each with %zu offline edits of its own\n"
                "customers (planned in %.1f s), reconnect at once; done when every edit is\n"
                "acknowledged and every device has received every other device's edits\n"
              : "\nmonday morning: %zu sellers' devices, each with %zu offline edits of its own\n"
                "customers (planned in %.1f s), and the office's manager connection reconnect at\n"
                "once; done when every edit is acknowledged, back on its seller's device and at\n"
                "the office\n",
          o.monday_clients, o.monday_edits, seconds_since(plan_start));
      std::printf("%-4s %9s %9s %9s %10s %11s %9s %9s %10s %10s %11s\n", "run", "total s",
                  "acked s", "edits", "changes", "changes/s", "seqs", "server s", "devices s",
                  "peak MiB", "SQLite /s");
      std::fflush(stdout);
    }
    std::vector<MondayRun> runs;
    for (std::size_t run = 0; run < o.runs; ++run) {
      runs.push_back(o.replica_files ? monday_files_once(setup, plan, run)
                                     : monday_once(setup, plan, run));
      const MondayRun& r = runs.back();
      if (text) {
        std::printf("%-4zu %9.3f %9.3f %9llu %10llu %11.0f %9llu %9.2f %10.2f %10.1f %11.0f\n",
                    run + 1, r.total_s, r.acked_s, static_cast<unsigned long long>(r.edits),
                    static_cast<unsigned long long>(r.changes), r.changes_per_s,
                    static_cast<unsigned long long>(r.sequences), r.server_cpu_s, r.client_cpu_s,
                    r.server_peak_mib, r.floor.changes_per_s());
        std::fflush(stdout);
      }
    }
    const Summary total = summarize(runs, [](const MondayRun& r) { return r.total_s; });
    const Summary acked = summarize(runs, [](const MondayRun& r) { return r.acked_s; });
    const Summary rate = summarize(runs, [](const MondayRun& r) { return r.changes_per_s; });
    const Summary server_cpu = summarize(runs, [](const MondayRun& r) { return r.server_cpu_s; });
    const Summary client_cpu = summarize(runs, [](const MondayRun& r) { return r.client_cpu_s; });
    const Summary floor_rate =
        summarize(runs, [](const MondayRun& r) { return r.floor.changes_per_s(); });
    const Summary floor_commit = summarize(runs, [](const MondayRun& r) {
      return r.floor.seconds > 0 ? 100 * r.floor.commit_seconds / r.floor.seconds : 0;
    });
    const Summary share = summarize(runs, [](const MondayRun& r) { return r.share_of_floor; });
    const Summary scattered_rate =
        summarize(runs, [](const MondayRun& r) { return r.scattered_floor.changes_per_s(); });
    if (text) {
      std::printf("\nmonday morning, median over %zu run%s (min - max)\n", runs.size(),
                  runs.size() == 1 ? "" : "s");
      print_line("every edit acked, every device caught up", total, "s", "goal <= 5 s");
      print_line("every edit acknowledged", acked, "s", "");
      print_line("changes applied a second", rate, "/s", "goal >= 50,000/s");
      print_line("server CPU", server_cpu, "s", "");
      print_line("devices' CPU (this process)", client_cpu, "s", "");
      if (!o.replica_files) {
        // The same rows read and rewritten by SQLite alone, grouped as the server groups
        // them, on an otherwise idle machine: the storage's share of the goal.
        print_line("SQLite alone, the same row writes", floor_rate, "/s", "");
        print_line("  of which in COMMIT", floor_commit, "%", "");
        print_line("  the same, rows anywhere in the book", scattered_rate, "/s", "");
        print_line("server / SQLite alone", share, "", "");
      }
      std::fflush(stdout);
    }
    nlohmann::json per_run = nlohmann::json::array();
    for (const auto& r : runs) {
      per_run.push_back({{"total_s", r.total_s},
                         {"acked_s", r.acked_s},
                         {"push_window_s", r.push_window_s},
                         {"edits", r.edits},
                         {"changes", r.changes},
                         {"changes_per_s", r.changes_per_s},
                         {"edits_per_s", r.edits_per_s},
                         {"sequences", r.sequences},
                         {"server_cpu_s", r.server_cpu_s},
                         {"client_cpu_s", r.client_cpu_s},
                         {"server_peak_mib", r.server_peak_mib}});
      if (r.floor.groups > 0) {
        per_run.back()["sqlite_alone"] = {{"seconds", r.floor.seconds},
                                          {"commit_seconds", r.floor.commit_seconds},
                                          {"rows", r.floor.rows},
                                          {"groups", r.floor.groups},
                                          {"changes_per_s", r.floor.changes_per_s()}};
        per_run.back()["share_of_sqlite_alone"] = r.share_of_floor;
        per_run.back()["sqlite_alone_rows_anywhere"] = {
            {"seconds", r.scattered_floor.seconds},
            {"rows", r.scattered_floor.rows},
            {"changes_per_s", r.scattered_floor.changes_per_s()}};
      }
    }
    out["monday"] = {{"clients", o.monday_clients},
                     {"devices", o.monday_managers ? "managers" : "sellers and one manager"},
                     {"edits_per_client", o.monday_edits},
                     {"total_s", to_json(total)},
                     {"acked_s", to_json(acked)},
                     {"changes_per_s", to_json(rate)},
                     {"server_cpu_s", to_json(server_cpu)},
                     {"client_cpu_s", to_json(client_cpu)},
                     {"runs", std::move(per_run)}};
    if (!o.replica_files) {
      out["monday"]["sqlite_alone_changes_per_s"] = to_json(floor_rate);
      out["monday"]["share_of_sqlite_alone"] = to_json(share);
      out["monday"]["sqlite_alone_rows_anywhere_changes_per_s"] = to_json(scattered_rate);
    }
  }

  if (want(Scenario::live)) {
    const LivePlan plan = plan_live(o);
    if (text) {
      std::printf(
          "\nlive day: %zu connected devices make %zu edits a second in all for %.0f s, each\n"
          "on its own customers; every other device and one manager connection receive each\n"
          "edit; latency from the edit to each receipt\n",
          o.live_clients, o.live_rate, o.live_seconds);
      std::printf("%-4s %8s %8s %8s %8s %8s %8s %9s %10s %10s\n", "run", "p50 ms", "p99 ms",
                  "max ms", "mgr p50", "mgr p99", "edits/s", "server %", "devices %", "receipts");
      std::fflush(stdout);
    }
    std::vector<LiveRun> runs;
    for (std::size_t run = 0; run < o.runs; ++run) {
      runs.push_back(live_once(setup, plan, run));
      const LiveRun& r = runs.back();
      if (text) {
        std::printf("%-4zu %8.2f %8.2f %8.1f %8.2f %8.2f %8.0f %9.1f %10.1f %10llu\n", run + 1,
                    r.p50_ms, r.p99_ms, r.max_ms, r.manager_p50_ms, r.manager_p99_ms, r.rate,
                    r.server_cpu_percent, r.client_cpu_percent,
                    static_cast<unsigned long long>(r.receipts));
        std::fflush(stdout);
      }
    }
    const Summary p50 = summarize(runs, [](const LiveRun& r) { return r.p50_ms; });
    const Summary p99 = summarize(runs, [](const LiveRun& r) { return r.p99_ms; });
    const Summary max = summarize(runs, [](const LiveRun& r) { return r.max_ms; });
    const Summary mp50 = summarize(runs, [](const LiveRun& r) { return r.manager_p50_ms; });
    const Summary mp99 = summarize(runs, [](const LiveRun& r) { return r.manager_p99_ms; });
    const Summary server_cpu =
        summarize(runs, [](const LiveRun& r) { return r.server_cpu_percent; });
    const Summary client_cpu =
        summarize(runs, [](const LiveRun& r) { return r.client_cpu_percent; });
    if (text) {
      std::printf("\nlive day, median over %zu run%s (min - max)\n", runs.size(),
                  runs.size() == 1 ? "" : "s");
      print_line("latency p50", p50, "ms", "");
      print_line("latency p99", p99, "ms", "goal <= 50 ms");
      print_line("latency max", max, "ms", "");
      print_line("manager latency p50", mp50, "ms", "");
      print_line("manager latency p99", mp99, "ms", "");
      print_line("server CPU, % of one core", server_cpu, "%", "");
      print_line("devices' CPU, % of one core", client_cpu, "%", "(this process)");
      std::fflush(stdout);
    }
    nlohmann::json per_run = nlohmann::json::array();
    for (const auto& r : runs) {
      per_run.push_back({{"p50_ms", r.p50_ms},
                         {"p99_ms", r.p99_ms},
                         {"max_ms", r.max_ms},
                         {"manager_p50_ms", r.manager_p50_ms},
                         {"manager_p99_ms", r.manager_p99_ms},
                         {"manager_max_ms", r.manager_max_ms},
                         {"rate", r.rate},
                         {"edits", r.edits},
                         {"receipts", r.receipts},
                         {"server_cpu_percent", r.server_cpu_percent},
                         {"client_cpu_percent", r.client_cpu_percent}});
    }
    out["live"] = {{"clients", o.live_clients},
                   {"rate", o.live_rate},
                   {"seconds", o.live_seconds},
                   {"p50_ms", to_json(p50)},
                   {"p99_ms", to_json(p99)},
                   {"max_ms", to_json(max)},
                   {"manager_p50_ms", to_json(mp50)},
                   {"manager_p99_ms", to_json(mp99)},
                   {"server_cpu_percent", to_json(server_cpu)},
                   {"client_cpu_percent", to_json(client_cpu)},
                   {"runs", std::move(per_run)}};
  }

  if (want(Scenario::bootstrap)) {
    std::uint64_t book_xor = 0;
    for (std::size_t i = 0; i < o.customers; ++i) {
      book_xor ^= DeviceFleet::row_id_hash(workload::customer_id(i, o.seed));
    }
    if (text) {
      std::printf("\nbootstrap storm: %zu fresh devices download the %zu customers at once\n",
                  o.bootstrap_clients, o.customers);
      std::printf("%-4s %9s %9s %13s %13s %9s %10s %9s\n", "run", "total s", "first s",
                  "server MiB 0", "server peak", "server s", "devices s", "MB in");
      std::fflush(stdout);
    }
    std::vector<BootstrapRun> runs;
    for (std::size_t run = 0; run < o.runs; ++run) {
      runs.push_back(o.replica_files ? bootstrap_files_once(setup, run)
                                     : bootstrap_once(setup, book_xor, run));
      const BootstrapRun& r = runs.back();
      if (text) {
        char mb_in[32] = "-";  // sessions do not count their bytes
        if (!o.replica_files) std::snprintf(mb_in, sizeof mb_in, "%.1f", r.mb_in);
        std::printf("%-4zu %9.2f %9.2f %13.1f %13.1f %9.2f %10.2f %9s\n", run + 1, r.total_s,
                    r.first_s, r.server_rss_before_mib, r.server_peak_mib, r.server_cpu_s,
                    r.client_cpu_s, mb_in);
        std::fflush(stdout);
      }
    }
    const Summary total = summarize(runs, [](const BootstrapRun& r) { return r.total_s; });
    const Summary peak = summarize(runs, [](const BootstrapRun& r) { return r.server_peak_mib; });
    const Summary server_cpu =
        summarize(runs, [](const BootstrapRun& r) { return r.server_cpu_s; });
    const Summary client_cpu =
        summarize(runs, [](const BootstrapRun& r) { return r.client_cpu_s; });
    if (text) {
      std::printf("\nbootstrap storm, median over %zu run%s (min - max)\n", runs.size(),
                  runs.size() == 1 ? "" : "s");
      print_line("every device has the whole book", total, "s", "");
      print_line("server peak memory (VmHWM)", peak, "MiB", "must not grow with the book");
      print_line("server CPU", server_cpu, "s", "");
      print_line("devices' CPU (this process)", client_cpu, "s", "");
      std::fflush(stdout);
    }
    nlohmann::json per_run = nlohmann::json::array();
    for (const auto& r : runs) {
      per_run.push_back({{"total_s", r.total_s},
                         {"first_s", r.first_s},
                         {"server_peak_mib", r.server_peak_mib},
                         {"server_rss_before_mib", r.server_rss_before_mib},
                         {"server_cpu_s", r.server_cpu_s},
                         {"client_cpu_s", r.client_cpu_s},
                         {"mb_in", r.mb_in}});
    }
    out["bootstrap"] = {
        {"clients", o.bootstrap_clients},      {"customers", o.customers},
        {"total_s", to_json(total)},           {"server_peak_mib", to_json(peak)},
        {"server_cpu_s", to_json(server_cpu)}, {"client_cpu_s", to_json(client_cpu)},
        {"runs", std::move(per_run)}};
  }

  const double load_at_end = load_average();
  if (o.json) {
    out["machine"] = {{"cores", std::thread::hardware_concurrency()},
                      {"sqlite", sqlite3_libversion()},
                      {"build", LIBRETA_BUILD_TYPE},
                      {"server_threads", o.server_threads},
                      {"client_threads", o.client_threads},
                      {"load_average_start", load_at_start},
                      {"load_average_end", load_at_end}};
    out["setup"] = {{"runs", o.runs},
                    {"customers", o.customers},
                    {"seed", o.seed},
                    {"compression", o.compress},
                    {"replicas", o.replica_files ? "files" : "memory"},
                    {"quick", o.quick}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("\ntotal %.0f s, load average %.1f at end\n", seconds_since(runs_start),
                load_at_end);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  // A device or server that goes away must not kill the generator with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  try {
    return run_benchmark(options);
  } catch (const std::exception& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "libreta-bench: %s\n", error.what());
    return 1;
  }
}
