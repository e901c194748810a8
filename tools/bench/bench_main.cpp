// libreta-bench: the network benchmark. Named scenarios against the real `libreta-server`
// in a child process, on the WORKLOAD.md customer book (network_bench.hpp): the load
// scenarios idle, monday, live and bootstrap (fleets of devices), the sync scenarios
// sync-bootstrap, sync-push and sync-live (single client-core clients, bytes counted).
// Prints each scenario's figures, medians over --runs with min and max, as a table and as
// JSON (--json); exits non-zero when a check fails, that is when data is not whole.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <exception>
#include <functional>
#include <set>

#include <CLI/CLI.hpp>

#include "libreta/protocol/messages.hpp"
#include "network_bench.hpp"
#include "server_process.hpp"
#include "support.hpp"
#include "sync_client.hpp"

namespace {

using namespace libreta;
using namespace libreta::bench;
namespace fs = std::filesystem;

const std::vector<std::string> kLoadScenarios = {"idle", "monday", "live", "bootstrap"};
const std::vector<std::string> kSyncScenarios = {"sync-bootstrap", "sync-push", "sync-live"};

// The options, each declared once: its flag, its field of Options (whose initial value is the
// default) and its help; for a size also its least value and its value under --quick (small
// enough for CI, also under the sanitizers, large enough that pushes meet in group commits,
// live updates interleave with pulls and pages follow one another; 0: as given).
class OptionTable {
 public:
  OptionTable(CLI::App& app, Options& o) : app_(app), o_(o) {
    app_.option_defaults()->always_capture_default();
  }
  template <class T>
  void size(const char* flag, T Options::*field, const char* help,
            std::type_identity_t<T> least = 1, std::type_identity_t<T> quick = 0) {
    T& value = o_.*field;
    app_.add_option(flag, value, help);
    after_parse_.push_back([this, &value, flag, least, quick] {
      if (value < least) {
        throw CLI::ValidationError(flag, "must be at least " + std::to_string(least));
      }
      if (o_.quick && quick > 0) value = std::min(value, quick);
    });
  }
  // After parsing: checks the sizes; with --quick caps them, and makes one run unless --runs
  // says otherwise.
  void check_and_apply_quick() {
    for (const auto& step : after_parse_) step();
    if (o_.quick && app_.count("--runs") == 0) o_.runs = 1;
  }

 private:
  CLI::App& app_;
  Options& o_;
  std::vector<std::function<void()>> after_parse_;
};

void add_options(OptionTable& t, CLI::App& app, Options& o, std::string& replicas) {
  using O = Options;
  t.size("--runs", &O::runs, "runs; figures are medians with min and max");
  app.add_flag("--quick", o.quick, "small numbers, one run: checks that everything works (CI)");
  app.add_option("--json", o.json_file,
                 "write the figures as JSON to FILE ('-': stdout, no table)");
  t.size("--customers", &O::customers, "customers in the server's book", 1, 3000);
  t.size("--idle-clients", &O::idle_clients, "idle: connected devices", 1, 200);
  t.size("--idle-seconds", &O::idle_seconds, "idle: the rest window CPU is measured over", 0, 1);
  t.size("--monday-clients", &O::monday_clients, "monday: devices reconnecting at once", 2, 30);
  t.size("--monday-edits", &O::monday_edits, "monday: offline edits per device", 1, 40);
  app.add_flag("--monday-managers", o.monday_managers,
               "monday: the devices are managers, each receiving every other device's edits "
               "(default: sellers, and one office manager)");
  t.size("--live-clients", &O::live_clients, "live: editing devices, plus one manager", 1, 20);
  t.size("--live-rate", &O::live_rate, "live: edits a second, all devices together", 1, 100);
  t.size("--live-seconds", &O::live_seconds, "live: how long the devices edit", 1e-9, 2);
  t.size("--bootstrap-clients", &O::bootstrap_clients,
         "bootstrap: fresh devices downloading the book", 1, 3);
  t.size("--client-threads", &O::client_threads, "threads running the devices in memory");
  t.size("--connect-concurrency", &O::connect_concurrency, "handshakes in progress at once");
  t.size("--device-idle-ms", &O::device_idle_ms,
         "a device's idle timeout; pings at half (as client-core)", 0);
  app.add_option("--replicas", replicas,
                 "load devices keep their replica in memory, or each in a client-core replica "
                 "file synced by a real sync session: monday (sellers) and bootstrap only, the "
                 "default load scenarios then")
      ->check(CLI::IsMember({"memory", "files"}));
  t.size("--push-edits", &O::push_edits, "sync-push: offline single-field edits pushed at once", 0,
         200);
  t.size("--sync-live-clients", &O::sync_live_clients,
         "sync-live: connected clients, writer included", 2, 4);
  t.size("--sync-live-customers", &O::sync_live_customers, "sync-live: customers on the server", 1,
         50);
  t.size("--sync-live-edits", &O::sync_live_edits, "sync-live: edits the writer makes", 1, 20);
  t.size("--sync-live-interval-ms", &O::sync_live_interval_ms,
         "sync-live: one edit every this many ms", 0);
  app.add_option(
      "--prepare", o.prepare,
      "only seed DIR/server.db and print how to run one sync client by hand (to profile it)");
  t.size("--server-threads", &O::server_threads, "libreta-server --threads");
  app.add_flag("!--no-compression", o.compress, "devices speak protocol 1: no compressed frames");
  app.add_option("--seed", o.seed, "workload seed (default: the published one)");
  app.add_option("--dir", o.dir, "where the temporary files go (default: the system's)");
  app.add_option("--server", o.server, "the libreta-server program (default: the one built)");
}

// The scenarios asked for, in the order of the lists; throws a CLI error when one is
// unknown or the options do not fit them.
std::vector<std::string> chosen_scenarios(const CLI::App& app, const Options& o,
                                          const std::string& names) {
  std::vector<std::string> all = kLoadScenarios;
  all.insert(all.end(), kSyncScenarios.begin(), kSyncScenarios.end());
  std::set<std::string> asked;
  for (const auto& name : CLI::detail::split(names, ',')) {
    if (name == "all") {
      asked.insert(all.begin(), all.end());
    } else if (std::find(all.begin(), all.end(), name) != all.end()) {
      asked.insert(name);
    } else {
      throw CLI::ValidationError("--scenario", "'" + name + "' is not a scenario");
    }
  }
  if (o.replica_files) {
    // Every idle or live device is a manager holding the whole book: 10,000 or 200 copies of
    // it on disk. In files, only the scenarios whose devices do not.
    if (app.count("--scenario") == 0) asked = {"monday", "bootstrap"};
    if (asked.count("idle") || asked.count("live") || o.monday_managers) {
      throw CLI::ValidationError(
          "--replicas files runs monday (sellers) and bootstrap: the idle fleet, the live day "
          "and --monday-managers need the whole book on every device");
    }
  }
  std::erase_if(all, [&](const std::string& name) { return asked.count(name) == 0; });
  return all;
}

// The names of `chosen` that are in `of`.
std::vector<std::string> only(std::vector<std::string> chosen, const std::vector<std::string>& of) {
  std::erase_if(chosen, [&](const std::string& name) {
    return std::find(of.begin(), of.end(), name) == of.end();
  });
  return chosen;
}

int run(const Options& o, const std::vector<std::string>& scenarios) {
  const fs::path server_binary = find_server(o.server, LIBRETA_SERVER_BINARY);
  if (!o.prepare.empty()) return prepare_sync_by_hand(o, server_binary);
  const fs::path parent = o.dir.empty() ? fs::temp_directory_path() : o.dir;
  TempDir dir(parent, "libreta-bench");
  Reporter report("libreta-bench", o.json_file);
  report.header("libreta-bench: libreta-server and its devices over loopback, WORKLOAD.md book",
                LIBRETA_BUILD_TYPE,
                ", libreta-server --threads " + std::to_string(o.server_threads) + ", " +
                    std::to_string(o.client_threads) + " device thread" +
                    (o.client_threads == 1 ? "" : "s"));
  report.say("devices   load: %s, protocol %d; server %s; files in %s",
             o.replica_files ? "client-core replica files and sync sessions" : "in memory",
             o.compress ? kProtocolVersion : 1, server_binary.c_str(), parent.c_str());
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
  OptionTable table(app, options);
  app.add_option("--scenario", names,
                 "idle, monday, live, bootstrap, sync-bootstrap, sync-push, sync-live, a list "
                 "(monday,live) or all");
  add_options(table, app, options, replicas);
  std::vector<std::string> scenarios;
  try {
    app.parse(argc, argv);
    options.replica_files = replicas == "files";
    table.check_and_apply_quick();
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
