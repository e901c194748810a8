// The Monday morning of libreta-bench: C sellers reconnect at once, each with E offline
// edits of their own customers, and the office's manager connection reads everything (or C
// managers, each receiving every other's edits); beside it, SQLite alone writing the same
// rows (storage_floor.hpp). On either kind of fleet.
#include <algorithm>
#include <map>

#include "libreta/server/sync_service.hpp"
#include "load_setup.hpp"
#include "storage_floor.hpp"

namespace libreta::bench {

namespace fs = std::filesystem;

namespace {

// The same morning's pushes with SQLite alone (storage_floor.hpp), on a fresh copy of the
// seeded book. `touched`: for each device, the customers of its edits that changed
// something; `pending`: its changes, pushed in batches of at most `push_batch` as the device
// does (the customers split evenly among them). `scattered`: each customer a device edits
// stands for one drawn uniformly over the whole book (as many rows, written as often). The
// book's sellers own customers i mod C and the devices push roughly in seller order, so one
// group's rows are neighbours in the file; in a real book they are anywhere, a page each.
StorageFloor monday_floor(const LoadSetup& setup,
                          const std::vector<std::vector<std::string>>& touched,
                          const std::vector<std::uint64_t>& pending, std::size_t push_batch,
                          std::size_t run, bool scattered) {
  const Options& o = setup.o;
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
      push.replica = Fleet::replica_id(d);
      push.customer_ids.assign(
          ids.begin() + static_cast<std::ptrdiff_t>(ids.size() * b / batches),
          ids.begin() + static_cast<std::ptrdiff_t>(ids.size() * (b + 1) / batches));
      push.changes = pending[d] * (b + 1) / batches - pending[d] * b / batches;
      pushes.push_back(std::move(push));
    }
  }
  const fs::path db = setup.context.dir / ("monday-floor-" + std::to_string(run) + ".db");
  copy_database(setup.template_db, db);
  StorageFloor floor =
      measure_storage_floor(db, pushes, server::SyncServiceOptions{}.max_group_changes);
  remove_database(db);
  return floor;
}

// The devices of a Monday: the sellers and the office's manager last, or the managers; in
// files, each a copy of its Friday replica in `dir`.
std::vector<FleetDevice> monday_devices(const LoadSetup& setup, const fs::path& dir) {
  const Options& o = setup.o;
  const std::size_t n = o.monday_clients;
  if (o.monday_managers) return managers(setup, n, setup.book_seq);
  if (setup.seller_tokens.size() < n) fail("fewer seller tokens than devices");
  std::vector<FleetDevice> devices;
  for (std::size_t d = 0; d <= n; ++d) {
    devices.push_back({d < n ? setup.seller_tokens[d] : setup.tokens.at(0), setup.book_seq, {}});
    if (o.replica_files) {
      devices.back().file = dir / setup.friday_replicas.at(d).filename();
      copy_database(setup.friday_replicas[d], devices.back().file);
    }
  }
  return devices;
}

// Monday's checks once done: every edit acknowledged, received by whom it must reach
// (`receivers` for each), and back on its seller's device; nothing more.
void check_monday(const Fleet& fleet, std::size_t n, std::size_t receivers, bool sellers,
                  std::uint64_t changes) {
  const FleetCounters c = fleet.counters();
  // More receipts than that would be a seller seeing another's customers.
  if (c.receipts != receivers * c.tracked || (sellers && fleet.report(n).receipts != c.tracked)) {
    fail(std::to_string(c.receipts) + " edits received, not " +
         std::to_string(receivers * c.tracked));
  }
  if (c.changes_acked != changes) {
    fail(std::to_string(c.changes_acked) + " changes acknowledged, not " + std::to_string(changes));
  }
  if (c.unknown_versions != 0) fail("devices received versions no device made");
  for (std::size_t d = 0; d < n; ++d) {
    const auto report = fleet.report(d);
    if (report.pending != 0) fail("device " + std::to_string(d) + " has an outbox left");
    if (sellers && report.echoes != report.tracked) {
      fail("seller " + std::to_string(d) + " received " + std::to_string(report.echoes) +
           " of its " + std::to_string(report.tracked) + " edits back");
    }
  }
}

}  // namespace

EditsByDevice plan_monday(const Options& o) {
  const std::size_t devices = o.monday_clients;
  EditsByDevice plan(devices);
  for (std::size_t d = 0; d < devices; ++d) {
    if (d >= o.customers) fail("fewer customers than devices");
    const std::size_t owned = (o.customers - d + devices - 1) / devices;
    for (std::size_t k = 0; k < o.monday_edits; ++k) {
      const std::uint64_t j = d * o.monday_edits + k;
      // Uniform over the device's own customers.
      workload::Rng pick = workload::edit_rng(j, o.seed ^ 0x6d6f6e646179ULL);
      const std::size_t customer = d + devices * pick.below(owned);
      plan[d].push_back(plan_edit(o, j, customer, !o.monday_managers));
    }
  }
  return plan;
}

RunValues monday_once(const LoadSetup& setup, const EditsByDevice& plan, std::size_t run) {
  const Options& o = setup.o;
  const std::size_t n = o.monday_clients;
  const bool sellers = !o.monday_managers;
  const std::size_t devices = sellers ? n + 1 : n;
  RunServer server(setup, "monday-" + std::to_string(run), devices);
  ServerProcess& process = *server.process;
  TempDir dir(setup.context.dir, "monday-replicas");
  FleetOptions options = fleet_options(setup, process);
  options.max_edits_per_device = o.monday_edits;
  options.max_connecting = devices;  // all at once: 9 a.m.
  auto fleet = make_fleet(o.replica_files, options, monday_devices(setup, dir.path()));
  // The weekend, offline (not timed).
  std::vector<std::vector<std::string>> touched(n);
  std::vector<std::uint64_t> pending(n);
  std::uint64_t changes = 0;
  for (std::size_t d = 0; d < n; ++d) {
    touched[d] = fleet->make_offline_edits(d, plan[d]);
    changes += pending[d] = fleet->report(d).pending;
  }
  RunValues r;
  r["edits"] = static_cast<double>(fleet->counters().edits);
  if (!o.replica_files) {
    // The same row writes by SQLite alone, grouped as the server groups them, on an
    // otherwise idle machine: the storage's share of the goal.
    const StorageFloor floor =
        monday_floor(setup, touched, pending, options.push_batch, run, false);
    r["sqlite_alone_changes_per_s"] = floor.changes_per_s();
    r["sqlite_alone_commit_percent"] =
        floor.seconds > 0 ? 100 * floor.commit_seconds / floor.seconds : 0;
    r["sqlite_alone_rows_anywhere_changes_per_s"] =
        monday_floor(setup, touched, pending, options.push_batch, run, true).changes_per_s();
  }

  const double server_cpu = process.cpu_seconds();
  const double client_cpu = self_cpu_seconds();
  const auto start = Clock::now();
  fleet->start();
  // Who must receive each edit: the office (sellers see only their own customers, and get
  // their own edits back in their scope's updates), or every other manager.
  const std::size_t receivers = sellers ? 1 : n - 1;
  wait_for(setup, *fleet, "monday morning", [&](const FleetCounters& c) {
    return c.outboxes_empty == devices && c.caught_up == devices &&
           c.receipts >= receivers * c.tracked && (!sellers || c.echoes >= c.tracked);
  });
  const auto end =
      std::max({fleet->record().last_ack.get(), fleet->record().last_receipt.get(),
                fleet->record().last_caught_up.get(), fleet->record().last_echo.get()});
  r["server_cpu_s"] = process.cpu_seconds() - server_cpu;
  r["client_cpu_s"] = self_cpu_seconds() - client_cpu;
  r["total_s"] = seconds_between(start, end);
  r["acked_s"] = seconds_between(start, fleet->record().last_ack.get());
  const double window =
      seconds_between(fleet->record().first_push.get(), fleet->record().last_ack.get());
  r["push_window_s"] = window;
  check_monday(*fleet, n, receivers, sellers, changes);
  // A seller's cursor moves only with their scope (docs/protocol.md, "Live updates"): their
  // own edits back is their being caught up; the office is at the server's last sequence.
  wait_caught_up(setup, *fleet, process, sellers ? n : 0);
  r["changes"] = static_cast<double>(changes);
  r["changes_per_s"] = static_cast<double>(changes) / window;
  r["edits_per_s"] = r["edits"] / window;
  r["sequences"] = static_cast<double>(process.health().last_seq - setup.book_seq);
  r["server_peak_mib"] = mib(static_cast<double>(process.peak_rss_bytes()));
  fleet->stop();
  process.stop();
  fleet->check_replicas(server.db, [&](std::size_t d) {
    return d < n ? token_user(kSellerPrefix, d) : std::string();
  });
  return r;
}

// Each synced once with the seeded book (not timed).
std::vector<fs::path> prepare_friday_replicas(const LoadSetup& setup) {
  const std::size_t n = setup.o.monday_clients;
  const fs::path dir = setup.context.dir / "friday";
  fs::create_directories(dir);
  std::vector<FleetDevice> devices;
  std::vector<fs::path> files;
  for (std::size_t d = 0; d <= n; ++d) {
    files.push_back(dir / (Fleet::replica_id(d) + ".db"));
    devices.push_back({d < n ? setup.seller_tokens.at(d) : setup.tokens.at(0), 0, files.back()});
  }
  RunServer server(setup, "friday", n + 1);
  {
    const auto fleet = make_file_fleet(fleet_options(setup, *server.process), std::move(devices));
    fleet->start();
    wait_for(setup, *fleet, "syncing the replicas before the weekend",
             [&](const FleetCounters& c) { return c.caught_up == n + 1; });
  }
  server.process->stop();
  return files;
}

}  // namespace libreta::bench
