#include "sync_client.hpp"

#include <sys/wait.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "libreta/client/replica.hpp"
#include "libreta/process/child_process.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "server_process.hpp"

namespace libreta::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

client::SyncOptions client_sync_options(const std::string& url, const std::string& token,
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

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ChildReport, seconds, cpu_seconds, peak_bytes, rows, pages,
                                   search_index_seconds, peak_after_index_bytes)

namespace {

// How long a child may take before the run is declared failed (not a figure).
constexpr auto kBootstrapTimeout = std::chrono::seconds(900);
constexpr auto kPushTimeout = std::chrono::seconds(300);
// After the push is acknowledged the client keeps reading until the server has been quiet
// this long, so that the echo of its own commits is counted whole.
constexpr auto kQuietAfterPush = std::chrono::milliseconds(300);

// The session's events with their time, for a child to wait on. (The session wakes its own
// waiters before it calls on_event: wait here, not on the session.) Read through read().
struct EventClock {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<Clock::time_point> done_at;  // when the status first met the condition
  std::uint64_t arrivals = 0;                // ChangesArrived events: pages or live updates
  Clock::time_point last_arrival{};

  std::function<void(const client::SyncEvent&)> callback(
      std::function<bool(const client::SyncStatus&)> done) {
    return [this, done = std::move(done)](const client::SyncEvent& event) {
      const auto now = Clock::now();
      std::lock_guard lock(mutex);
      if (auto* status = std::get_if<client::StatusChanged>(&event)) {
        if (!done_at && done(status->status)) {
          done_at = now;
          changed.notify_all();
        }
      } else if (std::get_if<client::ChangesArrived>(&event)) {
        ++arrivals;
        last_arrival = now;
      }
    };
  }
  template <class T>
  T read(const T& member) {
    std::lock_guard lock(mutex);
    return member;
  }
  // When the status met the condition; nullopt if it did not within `timeout`.
  std::optional<Clock::time_point> wait_done(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, timeout, [&] { return done_at.has_value(); });
    return done_at;
  }
};

std::uint64_t self_peak_bytes() {
  return proc_status_bytes("self", "VmHWM");
}

// --child bootstrap: a fresh replica downloads everything; then checks that it holds all N.
ChildReport child_bootstrap(const ChildRequest& request) {
  const fs::path replica_file = request.replica;
  const std::size_t expect = request.expect;
  ChildReport report;
  EventClock events;
  client::SyncOptions options = client_sync_options(request.url, request.token, request.compress);
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
    report.pages = events.read(events.arrivals);
    session.stop();
  }
  report.peak_bytes = self_peak_bytes();

  auto replica = client::Replica::open(replica_file);
  if (request.index_search) {
    const auto index_start = Clock::now();
    replica->update_search_index();
    report.search_index_seconds = seconds_since(index_start);
    report.peak_after_index_bytes = self_peak_bytes();
  }

  check_replica_holds_book(*replica, expect, request.seed);
  return report;
}

// --child push: a caught-up replica with an outbox syncs; done when every change is
// acknowledged. Then it reads on until the server has been quiet for kQuietAfterPush.
ChildReport child_push(const ChildRequest& request) {
  ChildReport report;
  EventClock events;
  client::SyncOptions options = client_sync_options(request.url, request.token, request.compress);
  options.on_event = events.callback(
      [](const client::SyncStatus& s) { return s.connected && s.pending_changes == 0; });
  const auto start = Clock::now();
  client::SyncSession session(request.replica, std::move(options));
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
  while (Clock::now() - events.read(events.last_arrival) < kQuietAfterPush &&
         Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  report.pages = events.read(events.arrivals);
  session.stop();
  return report;
}

}  // namespace

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

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ChildRequest, mode, url, token, replica, expect,
                                                edits, seed, index_search, compress)

int run_sync_child(int argc, char** argv) {
  ChildRequest request;
  try {
    if (argc != 3) throw std::runtime_error("usage: --child REQUEST (JSON)");
    request = nlohmann::json::parse(argv[2]).get<ChildRequest>();
    ChildReport report;
    if (request.mode == "bootstrap") {
      report = child_bootstrap(request);
    } else if (request.mode == "push") {
      report = child_push(request);
    } else if (request.mode == "edit") {
      const auto all = workload::make_edits(request.expect, request.edits, request.seed);
      const OfflineEdits offline =
          make_offline_edits(request.replica, all, plan_edits(all, request.seed));
      std::printf("{\"outbox\":%zu}\n", offline.outbox);
      return 0;
    } else {
      throw std::runtime_error("unknown client mode '" + request.mode + "'");
    }
    std::printf("%s\n", nlohmann::json(report).dump().c_str());
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "libreta-bench (client %s): %s\n", request.mode.c_str(), error.what());
    return 1;
  }
}

ChildReport run_client_child(const fs::path& log, const ChildRequest& request) {
  process::ChildProcess child(self_path(), {"--child", nlohmann::json(request).dump()}, log, true);
  const auto deadline = Clock::now() + kBootstrapTimeout + 60s;
  const std::optional<std::string> line = child.read_line(deadline);
  const std::optional<int> status = child.wait_exit(deadline);
  if (!line || !status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    fail("the client process failed (" +
         (status ? process::describe_wait_status(*status) : std::string("no exit")) +
         "): " + process::tail_of_file(log));
  }
  return nlohmann::json::parse(*line).get<ChildReport>();
}

std::string child_command(const ChildRequest& request) {
  return self_path().string() + " --child '" + nlohmann::json(request).dump() + "'";
}

}  // namespace libreta::bench
