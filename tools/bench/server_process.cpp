#include "server_process.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "libreta/protocol/customer_book.hpp"
#include "libreta/server/tokens.hpp"
#include "support.hpp"
#include "workload.hpp"

namespace libreta::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto kServerStartTimeout = std::chrono::seconds(60);
constexpr auto kServerStopTimeout = std::chrono::seconds(60);
constexpr auto kHealthTimeout = std::chrono::seconds(10);

}  // namespace

// ---- /proc ----

std::uint64_t proc_status_bytes(const std::string& pid, const std::string& field) {
  std::ifstream file("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(file, line)) {
    if (line.compare(0, field.size() + 1, field + ":") == 0) {
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10) * 1024;
    }
  }
  return 0;
}

double proc_cpu_seconds(pid_t pid) {
  const std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = text.rfind(')');
  unsigned long long utime = 0, stime = 0;
  // After "pid (comm) " come the state (field 3) and, as fields 14 and 15, utime and stime.
  if (close == std::string::npos ||
      std::sscanf(text.c_str() + close + 1,
                  " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) {
    return 0;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

fs::path self_path() {
  std::error_code error;
  fs::path path = fs::read_symlink("/proc/self/exe", error);
  if (error) throw std::runtime_error("cannot find this program's path: " + error.message());
  return path;
}

std::string read_file(const fs::path& path) {
  std::ifstream file(path);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// ---- Processes ----

std::uint64_t raise_open_files_limit(std::uint64_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) system_error("getrlimit");
  if (limit.rlim_cur >= wanted) return limit.rlim_cur;
  rlimit raised = limit;
  raised.rlim_cur = wanted;
  if (raised.rlim_max < wanted) raised.rlim_max = wanted;
  // Raising the hard limit needs privileges; without them, go as far as the hard limit.
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    raised.rlim_max = limit.rlim_max;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) system_error("setrlimit(RLIMIT_NOFILE)");
  }
  return raised.rlim_cur;
}

ServerProcess::ServerProcess(ServerProcessOptions options) : options_(std::move(options)) {
  fs::remove(options_.log);  // the log is appended to: the listening line must be this run's
  child_ = std::make_unique<process::ChildProcess>(
      options_.binary,
      std::vector<std::string>{"serve", "--listen", "127.0.0.1:0", "--db", options_.db.string(),
                               "--threads", std::to_string(options_.threads)},
      options_.log, false, options_.open_files);
  // The server logs "event=listening ... listen=127.0.0.1:PORT" once it accepts.
  const auto deadline = Clock::now() + kServerStartTimeout;
  const std::string marker = " listen=127.0.0.1:";
  while (port_ == 0) {
    const std::string text = read_file(options_.log);
    if (const auto at = text.find(marker); at != std::string::npos) {
      port_ =
          static_cast<std::uint16_t>(std::strtoul(text.c_str() + at + marker.size(), nullptr, 10));
      break;
    }
    if (child_->poll_exit()) throw std::runtime_error("libreta-server exited at start: " + text);
    if (Clock::now() > deadline) throw std::runtime_error("libreta-server did not start");
    std::this_thread::sleep_for(5ms);
  }
}

std::string ServerProcess::url() const {
  return "ws://127.0.0.1:" + std::to_string(port_) + "/sync";
}

std::uint64_t ServerProcess::peak_rss_bytes() const {
  return proc_status_bytes(std::to_string(pid()), "VmHWM");
}

std::uint64_t ServerProcess::rss_bytes() const {
  return proc_status_bytes(std::to_string(pid()), "VmRSS");
}

double ServerProcess::cpu_seconds() const {
  return proc_cpu_seconds(pid());
}

ServerProcess::Health ServerProcess::health() const {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::empty_body> request{http::verb::get, "/healthz", 11};
  request.set(http::field::host, "127.0.0.1");
  http::response<http::string_body> response;
  beast::flat_buffer buffer;
  beast::error_code error;  // of the first step that failed
  stream.expires_after(kHealthTimeout);
  using Error = beast::error_code;
  stream.async_connect({boost::asio::ip::address_v4::loopback(), port_}, [&](Error connected) {
    if ((error = connected)) return;
    http::async_write(stream, request, [&](Error written, std::size_t) {
      if ((error = written)) return;
      http::async_read(stream, buffer, response, [&](Error read, std::size_t) { error = read; });
    });
  });
  io.run();
  if (error) throw std::runtime_error("GET /healthz: " + error.message());
  const auto json = nlohmann::json::parse(response.body(), nullptr, false);
  if (!json.is_object() || !json.contains("last_seq")) {
    throw std::runtime_error("GET /healthz: unexpected answer: " + response.body());
  }
  return {json.at("last_seq").get<std::uint64_t>(), json.value("connections", std::uint64_t{0})};
}

void ServerProcess::stop() {
  if (!child_->running()) return;
  const auto status = child_->stop(SIGTERM, Clock::now() + kServerStopTimeout);
  if (!status) fail("libreta-server did not stop within 60 s of SIGTERM");
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    fail("libreta-server stopped with " + process::describe_wait_status(*status) + ": " +
         process::tail_of_file(options_.log));
  }
}

fs::path find_server(const fs::path& explicit_path, const fs::path& built_path) {
  std::vector<fs::path> candidates;
  if (!explicit_path.empty()) {
    candidates = {explicit_path};
  } else {
    const fs::path here = self_path().parent_path();
    candidates = {built_path, here / "libreta-server",
                  here / ".." / ".." / "server" / "libreta-server"};
  }
  for (const auto& candidate : candidates) {
    if (!candidate.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error("cannot find libreta-server; build it or pass --server PATH");
}

// ---- Seeding ----

std::uint64_t seed_customers(server::Store& store, std::size_t n, std::uint64_t seed,
                             const OwnerOf& owner) {
  auto writer = store.begin_write();
  std::uint64_t seq = writer->last_seq();
  if (seq != 0) fail("the server database to seed is not empty");
  for (std::size_t i = 0; i < n; ++i) {
    Customer customer = workload::make_customer(i, seed);
    if (owner) customer.owner = owner(i);
    server::ServerRow row;
    row.table = tables::customers;
    row.id = customer.id;
    row.fields = to_record(customer);
    for (const Change& change : workload::customer_changes(customer, i)) {
      row.versions.merge(change);
    }
    row.seq = ++seq;
    for (const auto& [key, version] : row.versions.entries()) row.key_seqs[key] = row.seq;
    // Its scope, as the sync service would set it: the seller who owns it.
    row.customer = row.id;
    row.scope = customer.owner.value_or("");
    row.scope_seq = row.seq;
    writer->save_row(row);
  }
  writer->set_last_seq(seq);
  writer->commit();
  return seq;
}

std::string token_user(const std::string& user_prefix, std::size_t t) {
  char number[32];
  std::snprintf(number, sizeof number, "%05zu", t);
  return user_prefix + number;
}

std::vector<std::string> add_tokens(server::Store& store, std::size_t count, server::Role role,
                                    const std::string& user_prefix) {
  std::vector<std::string> secrets;
  secrets.reserve(count);
  const std::uint64_t now = wall_ms();
  for (std::size_t t = 0; t < count; ++t) {
    server::NewToken token = server::make_token(token_user(user_prefix, t), role, now);
    store.add_token(token.record);
    secrets.push_back(std::move(token.secret));
  }
  return secrets;
}

}  // namespace libreta::bench
