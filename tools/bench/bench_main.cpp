// libreta-bench: the network benchmark. Named scenarios against the real `libreta-server`
// in a child process, on the WORKLOAD.md customer book (network_bench.hpp): the load
// scenarios idle, monday, live and bootstrap (fleets of devices), the sync scenarios
// sync-bootstrap, sync-push and sync-live (single client-core clients, bytes counted).
// Prints each scenario's figures, medians over --runs with min and max, as a table and as
// JSON (--json); exits non-zero when a check fails, that is when data is not whole.
#include <sqlite3.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <exception>
#include <thread>

#include <CLI/CLI.hpp>

#include "libreta/protocol/messages.hpp"
#include "network_bench.hpp"
#include "server_process.hpp"
#include "support.hpp"
#include "sync_client.hpp"

#ifndef LIBRETA_BUILD_TYPE
#define LIBRETA_BUILD_TYPE "unknown"
#endif
#ifndef LIBRETA_SERVER_BINARY
#define LIBRETA_SERVER_BINARY ""
#endif

namespace {

using namespace libreta;
using namespace libreta::bench;
namespace fs = std::filesystem;

const std::vector<std::string> kLoadScenarios = {"idle", "monday", "live", "bootstrap"};
const std::vector<std::string> kSyncScenarios = {"sync-bootstrap", "sync-push", "sync-live"};

void add_options(CLI::App& app, Options& o, std::string& scenarios, std::string& replicas) {
  app.option_defaults()->always_capture_default();
  app.add_option("--scenario", scenarios,
                 "idle, monday, live, bootstrap, sync-bootstrap, sync-push, sync-live, a list "
                 "(monday,live) or all")
      ->default_str("all");
  app.add_option("--runs", o.runs, "runs; figures are medians with min and max");
  app.add_flag("--quick", o.quick, "small numbers, one run: checks that everything works (CI)");
  app.add_option("--json", o.json_file,
                 "write the figures as JSON to FILE ('-': stdout, no table)");
  app.add_option("--customers", o.customers, "customers in the server's book");
  app.add_option("--idle-clients", o.idle_clients, "idle: connected devices");
  app.add_option("--idle-seconds", o.idle_seconds, "idle: the rest window CPU is measured over");
  app.add_option("--monday-clients", o.monday_clients, "monday: devices reconnecting at once");
  app.add_option("--monday-edits", o.monday_edits, "monday: offline edits per device");
  app.add_flag("--monday-managers", o.monday_managers,
               "monday: the devices are managers, each receiving every other device's edits "
               "(default: sellers, and one office manager)");
  app.add_option("--live-clients", o.live_clients, "live: editing devices, plus one manager");
  app.add_option("--live-rate", o.live_rate, "live: edits a second, all devices together");
  app.add_option("--live-seconds", o.live_seconds, "live: how long the devices edit");
  app.add_option("--bootstrap-clients", o.bootstrap_clients,
                 "bootstrap: fresh devices downloading the book");
  app.add_option("--client-threads", o.client_threads, "threads running the devices in memory");
  app.add_option("--connect-concurrency", o.connect_concurrency, "handshakes in progress at once");
  app.add_option("--device-idle-ms", o.device_idle_ms,
                 "a device's idle timeout; pings at half (as client-core)");
  app.add_option("--replicas", replicas,
                 "load devices keep their replica in memory, or each in a client-core replica "
                 "file synced by a real sync session: monday (sellers) and bootstrap only, the "
                 "default load scenarios then")
      ->check(CLI::IsMember({"memory", "files"}));
  app.add_option("--push-edits", o.push_edits,
                 "sync-push: offline single-field edits pushed at once");
  app.add_option("--sync-live-clients", o.sync_live_clients,
                 "sync-live: connected clients, writer included");
  app.add_option("--sync-live-customers", o.sync_live_customers,
                 "sync-live: customers on the server");
  app.add_option("--sync-live-edits", o.sync_live_edits, "sync-live: edits the writer makes");
  app.add_option("--sync-live-interval-ms", o.sync_live_interval_ms,
                 "sync-live: one edit every this many ms");
  app.add_option("--prepare", o.prepare,
                 "only seed DIR/server.db and print how to run one sync client by hand (to "
                 "profile it)");
  app.add_option("--server-threads", o.server_threads, "libreta-server --threads");
  app.add_flag("!--no-compression", o.compress, "devices speak protocol 1: no compressed frames");
  app.add_option("--seed", o.seed, "workload seed (default: the published one)");
  app.add_option("--dir", o.dir, "where the temporary files go (default: the system's)");
  app.add_option("--server", o.server, "the libreta-server program (default: the one built)");
}

// --quick: small enough for CI (also under the sanitizers), large enough that pushes meet in
// group commits, live updates interleave with pulls and pages follow one another.
void make_quick(Options& o, bool runs_given) {
  o.customers = std::min<std::size_t>(o.customers, 3000);
  o.idle_clients = std::min<std::size_t>(o.idle_clients, 200);
  o.idle_seconds = std::min(o.idle_seconds, 1.0);
  o.monday_clients = std::min<std::size_t>(o.monday_clients, 30);
  o.monday_edits = std::min<std::size_t>(o.monday_edits, 40);
  o.live_clients = std::min<std::size_t>(o.live_clients, 20);
  o.live_rate = std::min<std::size_t>(o.live_rate, 100);
  o.live_seconds = std::min(o.live_seconds, 2.0);
  o.bootstrap_clients = std::min<std::size_t>(o.bootstrap_clients, 3);
  o.push_edits = std::min<std::size_t>(o.push_edits, 200);
  o.sync_live_clients = std::min<std::size_t>(o.sync_live_clients, 4);
  o.sync_live_customers = std::min<std::size_t>(o.sync_live_customers, 50);
  o.sync_live_edits = std::min<std::size_t>(o.sync_live_edits, 20);
  if (!runs_given) o.runs = 1;
}

// The scenarios asked for, in the order of the lists; exits through `app` when one is
// unknown or the options do not fit them.
std::vector<std::string> chosen_scenarios(const CLI::App& app, const Options& o,
                                          const std::string& names) {
  std::vector<std::string> all = kLoadScenarios;
  all.insert(all.end(), kSyncScenarios.begin(), kSyncScenarios.end());
  std::vector<std::string> asked;
  for (const auto& name : CLI::detail::split(names, ',')) {
    if (name == "all") {
      asked = all;
    } else if (std::find(all.begin(), all.end(), name) != all.end()) {
      asked.push_back(name);
    } else {
      throw CLI::ValidationError("--scenario", "'" + name + "' is not a scenario");
    }
  }
  if (o.replica_files) {
    // Every idle or live device is a manager holding the whole book: 10,000 or 200 copies of
    // it on disk. In files, only the scenarios whose devices do not.
    if (app.count("--scenario") == 0) asked = {"monday", "bootstrap"};
    for (const auto& name : asked) {
      if (name == "idle" || name == "live" || o.monday_managers) {
        throw CLI::ValidationError(
            "--replicas files runs monday (sellers) and bootstrap: the idle "
            "fleet, the live day and --monday-managers need the whole "
            "book on every device");
      }
    }
  }
  if (o.customers == 0 || o.runs == 0 || o.idle_clients == 0 || o.monday_clients < 2 ||
      o.monday_edits == 0 || o.live_clients == 0 || o.live_rate == 0 || o.live_seconds <= 0 ||
      o.bootstrap_clients == 0 || o.client_threads < 1 || o.server_threads < 1 ||
      o.connect_concurrency == 0 || o.sync_live_clients < 2 || o.sync_live_customers == 0 ||
      o.sync_live_edits == 0) {
    throw CLI::ValidationError(
        "every count must be positive, --monday-clients and --sync-live-clients at least 2");
  }
  std::vector<std::string> ordered;
  for (const auto& name : all) {
    if (std::find(asked.begin(), asked.end(), name) != asked.end()) ordered.push_back(name);
  }
  return ordered;
}

std::vector<std::string> only(const std::vector<std::string>& chosen,
                              const std::vector<std::string>& of) {
  std::vector<std::string> out;
  for (const auto& name : chosen) {
    if (std::find(of.begin(), of.end(), name) != of.end()) out.push_back(name);
  }
  return out;
}

int run(const Options& o, const std::vector<std::string>& scenarios) {
  const fs::path server_binary = find_server(o.server, LIBRETA_SERVER_BINARY);
  if (!o.prepare.empty()) return prepare_sync_by_hand(o, server_binary);
  const fs::path parent = o.dir.empty() ? fs::temp_directory_path() : o.dir;
  TempDir dir(parent, "libreta-bench");
  Reporter report("libreta-bench", o.json_file);
  const unsigned cores = std::thread::hardware_concurrency();
  report.say("libreta-bench: libreta-server and its devices over loopback, WORKLOAD.md book");
  report.say(
      "machine   %u cores (load average %.1f at start), SQLite %s, build %s, "
      "libreta-server --threads %d, %d device thread%s",
      cores, load_average(), sqlite3_libversion(), LIBRETA_BUILD_TYPE, o.server_threads,
      o.client_threads, o.client_threads == 1 ? "" : "s");
  report.say("devices   load: %s, protocol %d; server %s; files in %s",
             o.replica_files ? "client-core replica files and sync sessions" : "in memory",
             o.compress ? kProtocolVersion : 1, server_binary.c_str(), parent.c_str());
  report.machine("cores", cores);
  report.machine("sqlite", sqlite3_libversion());
  report.machine("build", LIBRETA_BUILD_TYPE);
  report.setup("runs", o.runs);
  report.setup("customers", o.customers);
  report.setup("seed", o.seed);
  report.setup("compression", o.compress);
  report.setup("replicas", o.replica_files ? "files" : "memory");
  report.setup("server_threads", o.server_threads);
  report.setup("client_threads", o.client_threads);
  report.setup("quick", o.quick);
  Context context{o, dir.path(), server_binary, report};
  if (o.quick) context.phase_timeout = std::chrono::seconds(120);
  if (const auto load = only(scenarios, kLoadScenarios); !load.empty()) {
    run_load_scenarios(context, load);
  }
  if (const auto sync = only(scenarios, kSyncScenarios); !sync.empty()) {
    run_sync_scenarios(context, sync);
  }
  report.finish();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--child") return run_sync_child(argc, argv);
  CLI::App app("libreta-bench: the network benchmark (docs/performance.md)");
  Options options;
  std::string names = "all", replicas = "memory";
  add_options(app, options, names, replicas);
  std::vector<std::string> scenarios;
  try {
    app.parse(argc, argv);
    options.replica_files = replicas == "files";
    if (options.quick) make_quick(options, app.count("--runs") > 0);
    scenarios = chosen_scenarios(app, options, names);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  // A device, client or server that goes away must not kill the benchmark with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  try {
    return run(options, scenarios);
  } catch (const std::exception& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "libreta-bench: %s\n", error.what());
    return 1;
  }
}
