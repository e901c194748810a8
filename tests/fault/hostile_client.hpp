// The hostile client of the randomized fault run (fault_run.hpp): a thread that speaks the
// sync protocol directly over a WebSocket to the server, beside the honest devices, with its
// own tokens (a seller's, and a manager's of another user), and at each step draws from the
// run's seed one attack: forged replica ids, versions back-dated, far in the future or
// naming another replica, huge sequences, writes outside its scope, unknown fields, tag
// floods, oversized and deeply nested frames (text and compressed), unfinished frames,
// floods of pushes and bursts of messages. The server closing it is expected: it connects
// again and goes on. What must be refused and was not is a failure (docs/testing.md).
// start() and stop() are called by the driver's thread; the attacks run on their own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace libreta::fault {

// The client's replica ids start with "hs" under the seller's token and "hm" under the
// manager's.
inline constexpr const char* kHostileSellerReplicaPrefix = "hs";

struct HostileOptions {
  std::uint64_t seed = 1;
  std::string url;  // the server itself, "ws://127.0.0.1:PORT/sync"
  std::string seller_user, seller_token;
  std::string manager_user, manager_token;   // a manager, not one of the honest devices' users
  std::vector<std::string> honest_replicas;  // ids already bound to the honest devices' users
  std::vector<std::string> honest_customers;
};

struct HostileReport {
  std::map<std::string, std::uint64_t> attacks;  // steps, by kind
  std::map<std::string, std::uint64_t> answers;  // the server's errors and refusals, by code
  std::uint64_t connections = 0;                 // upgrades that succeeded
  std::uint64_t closed_by_server = 0;
  std::uint64_t connect_failures = 0;   // the server down (killed) or refusing
  std::uint64_t forged_hellos = 0;      // hellos with an honest device's id
  std::uint64_t forged_refused = 0;     // ... answered forbidden, fatal
  std::uint64_t forged_unanswered = 0;  // ... no answer: the server was killed meanwhile
  std::uint64_t changes_sent = 0;
  std::uint64_t changes_refused = 0;
  std::vector<std::string> failures;  // something accepted that must be refused

  std::string summary() const;
};

class HostileClient {
 public:
  explicit HostileClient(HostileOptions options);
  ~HostileClient();
  HostileClient(const HostileClient&) = delete;
  HostileClient& operator=(const HostileClient&) = delete;

  void start();
  // Stops the thread after its current step, waits (at most 30 s) until the server has
  // answered every push it sent, and returns what it did.
  HostileReport stop();

 private:
  void run();

  HostileOptions options_;
  HostileReport report_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace libreta::fault
