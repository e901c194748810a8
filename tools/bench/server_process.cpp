#include "server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "libreta/protocol/customer_book.hpp"
#include "libreta/server/tokens.hpp"
#include "support.hpp"
#include "workload.hpp"

extern char** environ;

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
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n == 14) utime = std::strtod(field.c_str(), nullptr);
    if (n == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
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

pid_t spawn(const fs::path& program, const std::vector<std::string>& args, const fs::path& out,
            bool stderr_too, std::uint64_t open_files) {
  std::vector<std::string> all = {program.string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : all) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const rlim_t files = static_cast<rlim_t>(open_files);
  // fork + exec rather than posix_spawn: the file limit and the parent's death signal must
  // be set in the child, and only async-signal-safe calls happen between the two.
  const pid_t pid = fork();
  if (pid < 0) system_error("fork");
  if (pid == 0) {
    // A benchmark killed mid-run must not leave its server or client behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (files > 0) {
      rlimit limit{files, files};
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) _exit(126);
    dup2(fd, STDOUT_FILENO);
    if (stderr_too) dup2(fd, STDERR_FILENO);
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  return pid;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) system_error("waitpid");
  }
  return status;
}

ServerProcess::ServerProcess(ServerProcessOptions options) : options_(std::move(options)) {
  pid_ = spawn(options_.binary,
               {"serve", "--listen", "127.0.0.1:0", "--db", options_.db.string(), "--threads",
                std::to_string(options_.threads)},
               options_.log, true, options_.open_files);
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
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      throw std::runtime_error("libreta-server exited at start: " + text);
    }
    if (Clock::now() > deadline) throw std::runtime_error("libreta-server did not start");
    std::this_thread::sleep_for(5ms);
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    wait_child(pid_);
  }
}

std::string ServerProcess::url() const {
  return "ws://127.0.0.1:" + std::to_string(port_) + "/sync";
}

std::uint64_t ServerProcess::peak_rss_bytes() const {
  return proc_status_bytes(std::to_string(pid_), "VmHWM");
}

std::uint64_t ServerProcess::rss_bytes() const {
  return proc_status_bytes(std::to_string(pid_), "VmRSS");
}

double ServerProcess::cpu_seconds() const {
  return proc_cpu_seconds(pid_);
}

ServerProcess::Health ServerProcess::health() const {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) system_error("socket");
  timeval timeout{static_cast<time_t>(kHealthTimeout.count()), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port_);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        response.append(buffer, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  const auto body = response.find("\r\n\r\n");
  if (body == std::string::npos) throw std::runtime_error("GET /healthz: no answer");
  const auto json = nlohmann::json::parse(response.substr(body + 4), nullptr, false);
  if (!json.is_object() || !json.contains("last_seq")) {
    throw std::runtime_error("GET /healthz: unexpected answer: " + response);
  }
  return {json.at("last_seq").get<std::uint64_t>(), json.value("connections", std::uint64_t{0})};
}

void ServerProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + kServerStopTimeout;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      kill(pid_, SIGKILL);
      wait_child(pid_);
      pid_ = 0;
      fail("libreta-server did not stop within 60 s of SIGTERM");
    }
    std::this_thread::sleep_for(5ms);
  }
  pid_ = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail("libreta-server stopped with status " + std::to_string(status) + ": " +
         read_file(options_.log));
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
