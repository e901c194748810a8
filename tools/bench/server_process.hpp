// The real `libreta-server serve` on an ephemeral loopback port in a child process of a
// benchmark (ServerProcess), and what /proc says about a process (resident memory, CPU).
// Also the seeding of a server database before the server starts.
// A ServerProcess is owned and used by one thread; the free functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "libreta/process/child_process.hpp"
#include "libreta/server/store.hpp"

namespace libreta::bench {

// ---- /proc ----

// A field of /proc/<pid>/status in bytes ("VmHWM", "VmRSS"); pid "self" for this process.
// 0 when the process or field is gone.
std::uint64_t proc_status_bytes(const std::string& pid, const std::string& field);
// User + system CPU seconds of a process so far, from /proc/<pid>/stat.
double proc_cpu_seconds(pid_t pid);
// This program's path (/proc/self/exe).
std::filesystem::path self_path();
std::string read_file(const std::filesystem::path& path);

// ---- Processes ----

// Raises this process's RLIMIT_NOFILE to at least `wanted` open files (the hard limit too,
// when allowed); returns the soft limit now in force.
std::uint64_t raise_open_files_limit(std::uint64_t wanted);

struct ServerProcessOptions {
  std::filesystem::path binary;  // libreta-server
  std::filesystem::path db;
  std::filesystem::path log;  // its stdout and stderr
  int threads = 2;            // --threads
  // RLIMIT_NOFILE of the server, set in the child before exec: each connection is a file.
  std::uint64_t open_files = 0;  // 0: inherit this process's limit
};

// `libreta-server serve --listen 127.0.0.1:0` in a child process, running once the
// constructor returns (it waits for the server's "listening" log line). Stopped with SIGTERM
// by stop(), as an operator would; killed by the destructor if still running.
class ServerProcess {
 public:
  explicit ServerProcess(ServerProcessOptions options);

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  std::string url() const;               // ws://127.0.0.1:PORT/sync
  std::uint64_t peak_rss_bytes() const;  // VmHWM
  std::uint64_t rss_bytes() const;       // VmRSS
  double cpu_seconds() const;
  // GET /healthz: the server's last sequence and its open connections. Throws on failure.
  struct Health {
    std::uint64_t last_seq = 0;
    std::uint64_t connections = 0;
  };
  Health health() const;

  // SIGTERM and wait: the server commits what is queued and closes its database. A check
  // fails if it does not stop in time or exits with an error.
  void stop();

 private:
  ServerProcessOptions options_;
  std::unique_ptr<process::ChildProcess> child_;
  std::uint16_t port_ = 0;
};

// The libreta-server to run: `explicit_path` if given, else the one built with the
// benchmarks (`built_path`), else one next to this program. Throws if none is executable.
std::filesystem::path find_server(const std::filesystem::path& explicit_path,
                                  const std::filesystem::path& built_path);

// ---- Seeding the server's store (not timed) ----

// The owner a seeded customer gets instead of the workload's, by customer index.
using OwnerOf = std::function<std::string(std::size_t customer)>;

// Writes customers [0, n) of the workload into an empty server store in one transaction,
// each as one row whose fields are all at workload::server_version(i), with server sequence
// i + 1: what the server holds after one device pushed the book. `owner`, when given,
// replaces the workload's owner (seller-01..seller-20). Returns the last sequence.
std::uint64_t seed_customers(server::Store& store, std::size_t n, std::uint64_t seed,
                             const OwnerOf& owner = {});

// The user of token `t` made by add_tokens: `<user_prefix>NNNNN`.
std::string token_user(const std::string& user_prefix, std::size_t t);

// Creates `count` tokens for users token_user(user_prefix, 0..count) and returns their
// secrets in order.
std::vector<std::string> add_tokens(server::Store& store, std::size_t count, server::Role role,
                                    const std::string& user_prefix);

}  // namespace libreta::bench
