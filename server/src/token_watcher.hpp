// Keeps the running service in step with the tokens table, which other processes write
// (`libreta-server token revoke`): a thread that, at start and then every `period`, closes
// the sessions of tokens revoked or expired, and records when tokens were last used (noted
// at hello by TokenUses, written here so that no connection waits on the store for it).
//
// Threads: TokenUses is thread-safe; TokenWatcher runs its own thread, stop() from any other.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <thread>

#include "libreta/protocol/hlc.hpp"

namespace libreta::server {

class Store;
class SessionRegistry;

// The tokens used since the last look, with the time of their latest accepted hello.
class TokenUses {
 public:
  void note(const std::string& token_id, std::uint64_t now_ms);
  std::map<std::string, std::uint64_t> take();

 private:
  std::mutex mutex_;
  std::map<std::string, std::uint64_t> uses_;
};

class TokenWatcher {
 public:
  // Starts the thread.
  TokenWatcher(Store& store, SessionRegistry& sessions, TokenUses& uses,
               std::shared_ptr<ClockSource> clock, std::chrono::milliseconds period);
  ~TokenWatcher();  // stop()
  // Records the last uses noted, then ends the thread (at once, unless it is reading the
  // store). Idempotent.
  void stop();

 private:
  void run(std::stop_token stop);
  void look();

  Store& store_;
  SessionRegistry& sessions_;
  TokenUses& uses_;
  const std::shared_ptr<ClockSource> clock_;
  const std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable_any wake_;  // when a stop is requested
  std::set<std::string> closed_;      // the thread's only: tokens whose sessions were closed
  std::jthread thread_;               // last: starts once the rest is made
};

}  // namespace libreta::server
