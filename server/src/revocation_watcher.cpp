#include "revocation_watcher.hpp"

#include <exception>
#include <utility>
#include <vector>

#include "libreta/server/store.hpp"
#include "session_registry.hpp"

namespace libreta::server {

RevocationWatcher::RevocationWatcher(Store& store, SessionRegistry& sessions,
                                     std::chrono::milliseconds period)
    : store_(store), sessions_(sessions), period_(period), thread_([this] { run(); }) {}

RevocationWatcher::~RevocationWatcher() {
  stop();
}

void RevocationWatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_requested_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RevocationWatcher::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    try {
      lock.unlock();
      std::vector<std::string> newly_revoked;
      for (auto& id : store_.revoked_token_ids()) {
        if (revoked_.insert(id).second) newly_revoked.push_back(std::move(id));
      }
      for (const auto& id : newly_revoked) sessions_.close_sessions_of_token(id);
      lock.lock();
    } catch (const std::exception&) {
      lock.lock();  // the store is unavailable for now: look again next time
    }
    if (stop_requested_.wait_for(lock, period_, [&] { return stopping_; })) return;
  }
}

}  // namespace libreta::server
