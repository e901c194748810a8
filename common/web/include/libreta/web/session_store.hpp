// Signed-in browsers of a web face: a session per cookie value, each with its form token
// (CSRF) and what the face keeps of who signed in (`Data`). A session ends after `idle` without
// a request; past `max_sessions` the least recently used goes. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "libreta/web/guard.hpp"

namespace libreta::web {

template <class Data>
class SessionStore {
 public:
  struct Session {
    std::string csrf;
    Data data;
  };

  SessionStore(std::chrono::steady_clock::duration idle, std::size_t max_sessions)
      : idle_(idle), max_sessions_(max_sessions) {}

  // A new session; returns its cookie value.
  std::string open(Data data) {
    std::lock_guard lock(mutex_);
    if (sessions_.size() >= max_sessions_) {
      auto oldest = sessions_.begin();
      for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
        if (it->second.last_used < oldest->second.last_used) oldest = it;
      }
      sessions_.erase(oldest);
    }
    std::string id = random_token();
    sessions_[id] = Entry{{random_token(), std::move(data)}, Clock::now()};
    return id;
  }

  // The session of a cookie value, still in time (a copy), and marks it used.
  std::optional<Session> find(const std::string& id) {
    std::lock_guard lock(mutex_);
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return std::nullopt;
    if (Clock::now() - it->second.last_used > idle_) {
      sessions_.erase(it);
      return std::nullopt;
    }
    it->second.last_used = Clock::now();
    return it->second.session;
  }

  void close(const std::string& id) {
    std::lock_guard lock(mutex_);
    sessions_.erase(id);
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Session session;
    Clock::time_point last_used;
  };

  const Clock::duration idle_;
  const std::size_t max_sessions_;
  std::mutex mutex_;
  std::map<std::string, Entry> sessions_;
};

}  // namespace libreta::web
