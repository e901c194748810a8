#include "fault/fault_run.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "libreta/faultproxy/fault_proxy.hpp"
#include "libreta/process/child_process.hpp"
#include "libreta/protocol/hlc.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/tokens.hpp"
#include "libreta/sqlite/sqlite.hpp"

namespace libreta::fault {

using process::ChildProcess;
using process::describe_wait_status;
using process::tail_of_file;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kStartDeadline = std::chrono::seconds(30);

std::uint64_t unix_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

bool port_free(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return free;
}

// A port for the server below the kernel's ephemeral range, so that no outgoing connection
// (the proxy's, reconnecting while the server is down) can take it between restarts.
std::uint16_t pick_server_port() {
  std::random_device random;
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<std::uint16_t>(20000 + random() % 12000);
    if (port_free(port)) return port;
  }
  throw std::runtime_error("no free port for the server");
}

bool accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

std::uint64_t server_last_seq(const std::filesystem::path& db) {
  sqlite::Database connection(db.string(), false);
  auto stmt = connection.prepare("SELECT value FROM meta WHERE key = 'last_seq'");
  return stmt.step() ? std::stoull(stmt.text(0)) : 0;
}

// libreta-server as a child process on a fixed port and database file.
class ServerProcess {
 public:
  ServerProcess(std::filesystem::path binary, std::filesystem::path db, std::filesystem::path log)
      : binary_(std::move(binary)), db_(std::move(db)), log_(std::move(log)) {}

  std::uint16_t port() const { return port_; }

  void start() {
    for (int attempt = 0;; ++attempt) {
      if (port_ == 0) port_ = pick_server_port();
      process_ = std::make_unique<ChildProcess>(
          binary_,
          std::vector<std::string>{"serve", "--listen", "127.0.0.1:" + std::to_string(port_),
                                   "--db", db_.string(), "--threads", "2"},
          log_, false);
      const auto deadline = Clock::now() + kStartDeadline;
      // The server gives no other sign of being ready than accepting: look for it.
      while (Clock::now() < deadline) {
        if (accepts(port_)) return;
        if (auto status = process_->poll_exit()) {
          process_.reset();
          if (attempt < 5) break;  // the port was taken meanwhile: try again
          throw std::runtime_error("libreta-server exited at start (" +
                                   describe_wait_status(*status) + "): " + tail_of_file(log_));
        }
        std::this_thread::sleep_for(milliseconds(10));
      }
      if (process_) {
        if (Clock::now() >= deadline) throw std::runtime_error("libreta-server did not start");
        return;
      }
    }
  }

  void kill() {
    if (process_) process_->kill_now();
    process_.reset();
  }

  // SIGTERM: the server commits what is queued and closes the database. Returns the status.
  std::string stop() {
    if (!process_) return "not running";
    auto status = process_->stop(SIGTERM, Clock::now() + std::chrono::seconds(30));
    process_.reset();
    return status ? describe_wait_status(*status) : "killed after 30 s";
  }

  bool exited() { return process_ && process_->poll_exit().has_value(); }
  const std::filesystem::path& log() const { return log_; }

 private:
  std::filesystem::path binary_, db_, log_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// Waits until the server has bound every honest device's replica id to its user (at their
// first hello) and holds the customers they create: the hostile client's forged hellos then
// name ids that are someone else's, and its seller's writes to those customers are outside
// its scope. Returns the customers the server holds.
std::vector<std::string> wait_for_honest_devices(const std::filesystem::path& db,
                                                 const std::vector<std::string>& replicas,
                                                 const std::vector<std::string>& customers) {
  const auto deadline = Clock::now() + kStartDeadline;
  std::vector<std::string> present;
  for (;;) {
    std::size_t claimed = 0;
    present.clear();
    try {
      sqlite::Database connection(db.string(), false);
      auto claim = connection.prepare("SELECT count(*) FROM replicas WHERE replica = ?");
      for (const auto& replica : replicas) {
        claim.reset();
        claim.bind(1, replica);
        if (claim.step() && claim.integer(0) > 0) ++claimed;
      }
      auto row = connection.prepare("SELECT count(*) FROM rows WHERE tbl = 'customers' AND id = ?");
      for (const auto& customer : customers) {
        row.reset();
        row.bind(1, customer);
        if (row.step() && row.integer(0) > 0) present.push_back(customer);
      }
    } catch (const Error&) {
      // The server's writer holds the file for a moment: look again.
    }
    if (claimed == replicas.size() && present.size() == customers.size()) return present;
    if (Clock::now() >= deadline) {
      if (claimed < replicas.size())
        throw std::runtime_error("the honest devices did not all say hello within 30 s");
      return present;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

struct Worker {
  DeviceFiles files;
  std::string token;
  std::filesystem::path log;
  std::unique_ptr<ChildProcess> process;
  int incarnation = 0;
};

}  // namespace

std::string FaultRunReport::summary() const {
  std::ostringstream out;
  out << "fault run seed=" << seed << "\n";
  out << "  operations (fields written and logged): " << check.writes_logged << "\n";
  out << "  faults:";
  for (const auto& [kind, count] : faults) out << " " << kind << "=" << count;
  out << " server_kill=" << server_kills << " client_kill=" << worker_kills << "\n";
  out << "  changes acknowledged: " << check.changes_acknowledged
      << "  server rows: " << check.server_rows << "  conflicts: " << check.conflicts << "\n";
  out << "  writes present: " << check.present << "  superseded by own: " << check.superseded_own
      << "  by a writer who saw them: " << check.superseded_seen
      << "  concurrently, in the inbox: " << check.superseded_conflict
      << "  automatic fields: " << check.superseded_automatic
      << "  unverifiable: " << check.unverifiable << "  tag removes: " << check.tag_removes << "\n";
  out << "  changes lost: " << check.lost << "\n";
  out << "  time to converge: " << converge_time.count() << " ms\n";
  if (hostile) {
    out << hostile_report.summary();
    out << "    server rows: " << bounds.rows << " (the seller's " << bounds.seller_rows
        << "), largest " << bounds.largest_row_bytes << " bytes";
    if (bounds.latest_version_millis > 0) {
      out << ", latest version "
          << static_cast<std::int64_t>(bounds.latest_version_millis) -
                 static_cast<std::int64_t>(unix_ms())
          << " ms from the check";
    }
    out << "\n";
  }
  for (const auto& failure : failures) out << "  FAILED: " << failure << "\n";
  return out.str();
}

FaultRunReport run_fault_scenario(const FaultRunOptions& options) {
  FaultRunReport report;
  report.seed = options.seed;
  auto fail = [&](std::string what) { report.failures.push_back(std::move(what)); };

  std::filesystem::create_directories(options.work_dir);
  const auto db = options.work_dir / "server.db";
  std::mt19937_64 plan(options.seed);

  // Tokens first, with the server's own library, before the server opens the file.
  std::vector<Worker> workers(static_cast<std::size_t>(options.workers));
  {
    auto store = server::open_sqlite_store(db);
    for (int k = 0; k < options.workers; ++k) {
      auto token =
          server::make_token("manager-" + std::to_string(k), server::Role::manager, unix_ms());
      store->add_token(token.record);
      Worker& w = workers[static_cast<std::size_t>(k)];
      w.token = token.secret;
      w.files.replica_id = "device-" + std::to_string(k);
      w.files.replica_file = options.work_dir / ("device-" + std::to_string(k) + ".db");
      w.files.write_log = options.work_dir / ("device-" + std::to_string(k) + ".writes");
      w.log = options.work_dir / ("device-" + std::to_string(k) + ".log");
    }
  }
  std::string customers;
  std::vector<std::string> customer_ids;
  for (int i = 0; i < options.customers; ++i) {
    customer_ids.push_back("c" + std::to_string(options.seed) + "-" + std::to_string(i));
    customers += (i ? "," : "") + customer_ids.back();
  }
  HostileOptions hostile;
  if (options.hostile) {
    auto store = server::open_sqlite_store(db);
    hostile.seed = options.seed;
    hostile.seller_user = "intruso";
    auto seller = server::make_token(hostile.seller_user, server::Role::seller, unix_ms());
    store->add_token(seller.record);
    hostile.seller_token = seller.secret;
    hostile.manager_user = "otra-oficina";
    auto manager = server::make_token(hostile.manager_user, server::Role::manager, unix_ms());
    store->add_token(manager.record);
    hostile.manager_token = manager.secret;
    for (const auto& w : workers) hostile.honest_replicas.push_back(w.files.replica_id);
  }

  ServerProcess server(options.server_binary, db, options.work_dir / "server.log");
  server.start();
  faultproxy::FaultProxyOptions proxy_options;
  proxy_options.upstream_port = server.port();
  proxy_options.seed = options.seed;
  faultproxy::FaultProxy proxy(proxy_options);
  proxy.start();
  const std::string url = "ws://127.0.0.1:" + std::to_string(proxy.port()) + "/sync";

  auto start_worker = [&](Worker& w) {
    const std::uint64_t seed = options.seed * 1'000'003ULL +
                               std::hash<std::string>{}(w.files.replica_id) % 1000 * 1009ULL +
                               static_cast<std::uint64_t>(w.incarnation++);
    w.process = std::make_unique<ChildProcess>(
        options.worker_binary,
        std::vector<std::string>{"--replica", w.files.replica_file.string(), "--replica-id",
                                 w.files.replica_id, "--url", url, "--token", w.token,
                                 "--write-log", w.files.write_log.string(), "--seed",
                                 std::to_string(seed), "--customers", customers},
        w.log, true);
    auto line = w.process->read_line(Clock::now() + kStartDeadline);
    if (!line || line->rfind("ready ", 0) != 0) {
      throw std::runtime_error(w.files.replica_id + " did not start: " + tail_of_file(w.log));
    }
  };
  for (auto& w : workers) start_worker(w);
  std::unique_ptr<HostileClient> attacker;
  if (options.hostile) {
    hostile.honest_customers = wait_for_honest_devices(db, hostile.honest_replicas, customer_ids);
    if (hostile.honest_customers.empty()) hostile.honest_customers = customer_ids;
    // Straight to the server, not through the proxy: the attacks reach it whole and at
    // once; the server's kills and restarts still cut it off.
    hostile.url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/sync";
    attacker = std::make_unique<HostileClient>(hostile);
    attacker->start();
  }

  // ---- Chaos ----
  const auto chaos_end = Clock::now() + options.chaos;
  auto roll = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(plan);
  };
  while (Clock::now() < chaos_end && report.failures.empty()) {
    std::this_thread::sleep_for(milliseconds(roll(150, 600)));  // the plan's pace
    const int dice = roll(0, 99);
    if (dice < 55) {
      ++report.faults[faultproxy::fault_kind_name(proxy.random_fault(plan))];
    } else if (dice < 65) {
      ++report.server_kills;
      server.kill();
      std::this_thread::sleep_for(milliseconds(roll(50, 1500)));  // down for a while
      server.start();
    } else if (dice < 80) {
      Worker& w = workers[static_cast<std::size_t>(roll(0, options.workers - 1))];
      ++report.worker_kills;
      w.process->kill_now();
      std::this_thread::sleep_for(milliseconds(roll(0, 800)));
      start_worker(w);
    } else if (dice < 90) {
      proxy.heal();
      ++report.faults["heal"];
    }
    for (auto& w : workers) {
      if (auto status = w.process->poll_exit()) {
        fail(w.files.replica_id + " exited by itself (" + describe_wait_status(*status) +
             "): " + tail_of_file(w.log));
      }
    }
    if (server.exited()) fail("libreta-server exited by itself: " + tail_of_file(server.log()));
  }

  if (attacker) {
    report.hostile = true;
    report.hostile_report = attacker->stop();
    for (const auto& failure : report.hostile_report.failures) fail("hostile client: " + failure);
  }

  // ---- Heal, and let sync go quiet ----
  proxy.heal();
  const auto healed = Clock::now();
  const auto deadline = healed + options.converge_deadline;
  auto ask = [&](Worker& w, const std::string& command, const std::string& expected) {
    if (!report.failures.empty()) return;
    if (!w.process->write_line(command)) {
      fail(w.files.replica_id + " is gone: " + tail_of_file(w.log));
      return;
    }
    auto answer = w.process->read_line(deadline);
    if (!answer || answer->rfind(expected, 0) != 0) {
      fail(w.files.replica_id + " answered \"" + answer.value_or("nothing") + "\" to " + command +
           "; log: " + tail_of_file(w.log, 1500));
    }
  };
  auto left_ms = [&] {
    return std::to_string(std::max<std::int64_t>(
        0, std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count()));
  };
  for (auto& w : workers) ask(w, "pause", "paused");
  for (auto& w : workers) ask(w, "await-pushed " + left_ms(), "pushed");
  const std::uint64_t last_seq = report.failures.empty() ? server_last_seq(db) : 0;
  for (auto& w : workers)
    ask(w, "await-cursor " + std::to_string(last_seq) + " " + left_ms(), "converged");
  report.converge_time = std::chrono::duration_cast<milliseconds>(Clock::now() - healed);

  // ---- Stop everything, then check the files ----
  for (auto& w : workers) {
    ask(w, "exit", "bye");
    if (w.process->running()) {
      auto status = w.process->wait_exit(Clock::now() + std::chrono::seconds(30));
      if (!status || *status != 0) fail(w.files.replica_id + " did not exit cleanly");
    }
    w.process.reset();
  }
  const std::string server_status = server.stop();
  if (server_status != "exit 0") {
    fail("libreta-server stopped with " + server_status + ": " + tail_of_file(server.log()));
  }
  proxy.stop();
  const auto stats = proxy.stats();
  report.faults["upstream_down"] = stats.upstream_down;
  report.faults["refused_connections"] = stats.refused;

  if (report.failures.empty()) {
    std::vector<DeviceFiles> devices;
    for (const auto& w : workers) devices.push_back(w.files);
    report.check = check_fault_run(db, devices);
    for (const auto& failure : report.check.failures) fail(failure);
  }
  if (report.hostile) {
    ServerBounds bounds;
    bounds.latest_millis =
        unix_ms() +
        static_cast<std::uint64_t>(
            std::chrono::duration_cast<milliseconds>(HybridClock::kDefaultMaxSkew).count());
    bounds.seller_user = hostile.seller_user;
    bounds.seller_replica_prefix = kHostileSellerReplicaPrefix;
    report.bounds = check_server_bounds(db, bounds);
    for (const auto& failure : report.bounds.failures) fail(failure);
  }
  if (!options.keep_files || report.passed()) {
    std::error_code ignored;
    std::filesystem::remove_all(options.work_dir, ignored);
  }
  return report;
}

}  // namespace libreta::fault
