// Closes the sessions of tokens revoked from another process (`libreta-server token revoke`
// writes to the store, not to the running service): a thread that reads the store's revoked
// tokens at start and then every `period`.
//
// Threads: its own thread; stop() from any other.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <thread>

namespace libreta::server {

class Store;
class SessionRegistry;

class RevocationWatcher {
 public:
  // Starts the thread.
  RevocationWatcher(Store& store, SessionRegistry& sessions, std::chrono::milliseconds period);
  ~RevocationWatcher();  // stop()

  // Ends the thread (at once, unless it is reading the store). Idempotent.
  void stop();

 private:
  void run(std::stop_token stop);

  Store& store_;
  SessionRegistry& sessions_;
  const std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable_any wake_;  // when a stop is requested
  std::set<std::string> revoked_;     // the thread's only
  std::jthread thread_;               // last: starts once the rest is made
};

}  // namespace libreta::server
