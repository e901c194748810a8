#include "session_registry.hpp"

#include <utility>

#include "live_update.hpp"

namespace libreta::server {

bool SessionRegistry::add(const std::shared_ptr<SyncConnection>& connection) {
  std::vector<std::shared_ptr<SyncConnection>> replaced;
  {
    std::lock_guard lock(mutex_);
    auto& sessions = sessions_by_token_[connection->token_id()];
    std::size_t others = 0;
    for (const auto& weak : sessions) {
      auto session = weak.lock();
      if (!session) continue;
      if (session->replica() == connection->replica())
        replaced.push_back(std::move(session));
      else
        ++others;
    }
    if (others >= max_connections_per_token_) return false;
    std::erase_if(sessions, [](const auto& weak) { return weak.expired(); });
    sessions.push_back(connection);
  }
  // The device reconnected while its old connection lingers (a network that dropped it
  // silently): the new one takes over.
  for (const auto& old : replaced) {
    old->close_with(ErrorCode::forbidden, "replaced by a newer connection of the same device");
  }
  add_reader(connection);
  return true;
}

void SessionRegistry::add_reader(const std::shared_ptr<SyncConnection>& connection) {
  std::lock_guard lock(mutex_);
  auto& list =
      connection->sees_everything() ? everything_readers_ : seller_readers_[connection->user()];
  std::erase_if(list, [](const auto& weak) { return weak.expired(); });
  list.push_back(connection);
}

void SessionRegistry::remove(const SyncConnection& connection) {
  std::lock_guard lock(mutex_);
  auto it = sessions_by_token_.find(connection.token_id());
  if (it == sessions_by_token_.end()) return;
  std::erase_if(it->second, [&](const auto& weak) {
    auto session = weak.lock();
    return !session || session.get() == &connection;
  });
  if (it->second.empty()) sessions_by_token_.erase(it);
}

void SessionRegistry::fan_out(const std::shared_ptr<const CommitNotice>& notice) {
  std::vector<std::shared_ptr<SyncConnection>> targets;
  {
    std::lock_guard lock(mutex_);
    auto collect = [&](Sessions& list) {
      std::erase_if(list, [&](const auto& weak) {
        auto connection = weak.lock();
        if (!connection) return true;
        targets.push_back(std::move(connection));
        return false;
      });
    };
    collect(everything_readers_);
    for (const auto& [seller, update] : notice->by_seller) {
      auto it = seller_readers_.find(seller);
      if (it == seller_readers_.end()) continue;
      collect(it->second);
      if (it->second.empty()) seller_readers_.erase(it);
    }
    // The devices whose value lost a conflict hear of it even when nothing of their scope
    // changed (their own value was refused by the merge).
    if (!notice->losers.empty()) {
      for (const auto& [token, sessions] : sessions_by_token_) {
        for (const auto& weak : sessions) {
          auto connection = weak.lock();
          if (connection && notice->losers.count(connection->replica()) &&
              !connection->sees_everything() && !notice->by_seller.count(connection->user()))
            targets.push_back(std::move(connection));
        }
      }
    }
  }
  for (const auto& connection : targets) connection->notify_commit(notice);
}

void SessionRegistry::close_sessions_of_token(const std::string& token_id) {
  std::vector<std::shared_ptr<SyncConnection>> sessions;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_by_token_.find(token_id);
    if (it == sessions_by_token_.end()) return;
    for (const auto& weak : it->second) {
      if (auto session = weak.lock()) sessions.push_back(std::move(session));
    }
  }
  for (const auto& session : sessions) {
    session->close_with(ErrorCode::bad_token,
                        "the token was revoked or has expired; ask for a new one");
  }
}

std::set<std::string> SessionRegistry::connected_replicas() {
  std::lock_guard lock(mutex_);
  std::set<std::string> out;
  for (const auto& [token, sessions] : sessions_by_token_) {
    for (const auto& weak : sessions) {
      if (auto session = weak.lock()) out.insert(session->replica());
    }
  }
  return out;
}

}  // namespace libreta::server
