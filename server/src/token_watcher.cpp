#include "token_watcher.hpp"

#include <exception>
#include <utility>
#include <vector>

#include "libreta/server/store.hpp"
#include "session_registry.hpp"

namespace libreta::server {

void TokenUses::note(const std::string& token_id, std::uint64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto& last = uses_[token_id];
  if (now_ms > last) last = now_ms;
}

std::map<std::string, std::uint64_t> TokenUses::take() {
  std::lock_guard lock(mutex_);
  return std::exchange(uses_, {});
}

TokenWatcher::TokenWatcher(Store& store, SessionRegistry& sessions, TokenUses& uses,
                           std::shared_ptr<ClockSource> clock, std::chrono::milliseconds period)
    : store_(store),
      sessions_(sessions),
      uses_(uses),
      clock_(std::move(clock)),
      period_(period),
      thread_([this](std::stop_token stop) { run(stop); }) {}

TokenWatcher::~TokenWatcher() {
  stop();
}

void TokenWatcher::stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void TokenWatcher::look() {
  std::vector<std::string> newly_closed;
  for (auto& id : store_.revoked_token_ids(clock_->now_millis())) {
    if (closed_.insert(id).second) newly_closed.push_back(std::move(id));
  }
  for (const auto& id : newly_closed) sessions_.close_sessions_of_token(id);
  auto uses = uses_.take();
  try {
    store_.record_token_uses(uses);
  } catch (const std::exception&) {
    // Noted again, to be written next time: a later use only moves the time forward.
    for (const auto& [id, ms] : uses) uses_.note(id, ms);
    throw;
  }
}

void TokenWatcher::run(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  for (;;) {
    lock.unlock();
    try {
      look();
    } catch (const std::exception&) {
      // The store is unavailable for now: look again next time.
    }
    lock.lock();
    if (wake_.wait_for(lock, stop, period_, [&] { return stop.stop_requested(); })) break;
  }
  lock.unlock();
  try {
    store_.record_token_uses(uses_.take());
  } catch (const std::exception&) {
  }
}

}  // namespace libreta::server
