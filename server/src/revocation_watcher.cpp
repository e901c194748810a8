#include "revocation_watcher.hpp"

#include <exception>
#include <utility>
#include <vector>

#include "libreta/server/store.hpp"
#include "session_registry.hpp"

namespace libreta::server {

RevocationWatcher::RevocationWatcher(Store& store, SessionRegistry& sessions,
                                     std::chrono::milliseconds period)
    : store_(store),
      sessions_(sessions),
      period_(period),
      thread_([this](std::stop_token stop) { run(stop); }) {}

RevocationWatcher::~RevocationWatcher() {
  stop();
}

void RevocationWatcher::stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void RevocationWatcher::run(std::stop_token stop) {
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
    if (wake_.wait_for(lock, stop, period_, [&] { return stop.stop_requested(); })) return;
  }
}

}  // namespace libreta::server
