#include "sync_client.hpp"

#include <sys/wait.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "network_bench.hpp"
#include "server_process.hpp"
#include "support.hpp"

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

std::uint64_t self_peak_bytes() {
  return proc_status_bytes("self", "VmHWM");
}

// --child bootstrap: a fresh replica downloads everything; then checks that it holds all N.
ChildReport child_bootstrap(const std::string& url, const std::string& token,
                            const fs::path& replica_file, std::size_t expect, std::uint64_t seed,
                            bool index_search, bool compress) {
  ChildReport report;
  EventClock events;
  client::SyncOptions options = client_sync_options(url, token, compress);
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

  sqlite::Database db(replica_file.string(), false);
  auto count_rows = db.prepare("SELECT count(*) FROM customers WHERE deleted = 0");
  count_rows.step();
  const auto count = count_rows.integer(0);
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
  client::SyncOptions options = client_sync_options(url, token, compress);
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

}  // namespace

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

// One client in this process, as the benchmark starts it (and as --prepare prints it):
//   --child bootstrap|push|edit --replica FILE [--url URL --token SECRET] [--expect N]
//   [--edits M] [--seed S] [--index-search 0|1] [--compress 0|1]
// Prints one JSON object (ChildReport) on stdout; exits 1 when a check fails.
int run_sync_child(int argc, char** argv) {
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
      expect = std::stoull(value);
    } else if (arg == "--edits") {
      edits = std::stoull(value);
    } else if (arg == "--seed") {
      seed = std::stoull(value, nullptr, 0);
    } else if (arg == "--index-search") {
      index_search = std::string(value) == "1";
    } else if (arg == "--compress") {
      compress = std::string(value) == "1";
    } else {
      mode.clear();
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
      throw std::runtime_error("unknown client arguments");
    }
    const nlohmann::json out = report;
    std::printf("%s\n", out.dump().c_str());
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "libreta-bench (client %s): %s\n", mode.c_str(), error.what());
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
  return nlohmann::json::parse(read_file(out)).get<ChildReport>();
}

// --prepare: a seeded server database and the commands that run one bootstrap and one push
// by hand, each client in its own process, so that a profiler can attach to either side.
int prepare_sync_by_hand(const Options& options, const fs::path& server_binary) {
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
      options.customers, db.c_str(), server_binary.c_str(), db.c_str(), options.server_threads,
      self.c_str(), tokens.front().c_str(), replica.c_str(), options.customers, self.c_str(),
      replica.c_str(), options.customers, options.push_edits, self.c_str(), tokens.front().c_str(),
      replica.c_str());
  return 0;
}

}  // namespace libreta::bench
