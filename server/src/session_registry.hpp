// The authenticated sessions of one SyncService: by token, for the per-token connection
// limit and revocation, and as readers of live updates (a manager's connection reads
// everything, a seller's their scope), so that a commit reaches only the connections it
// concerns.
//
// Ownership: holds weak_ptrs; a connection's lifetime is its own.
// Threads: thread-safe (one mutex). Connections are copied under the lock and called
// (notify_commit, close_with) after it is released, so that no connection's work runs
// under it.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "libreta/server/sync_connection.hpp"

namespace libreta::server {

struct CommitNotice;

class SessionRegistry {
 public:
  explicit SessionRegistry(std::size_t max_connections_per_token)
      : max_connections_per_token_(max_connections_per_token) {}

  // A connection's hello was accepted: counts it against its token's limit (false: over
  // it), closes an older connection of the same replica, and registers it for live updates
  // of its user's scope, or of everything.
  bool add(const std::shared_ptr<SyncConnection>& connection);
  void remove(const SyncConnection& connection);
  // Hands a commit's live update to every connection it concerns: the readers of
  // everything, the sellers whose scope it touched, and the devices whose value lost a
  // conflict it recorded.
  void fan_out(const std::shared_ptr<const CommitNotice>& notice);
  // Closes every session authenticated with the token (it was revoked).
  void close_sessions_of_token(const std::string& token_id);
  // The replica ids of the devices connected now (their hello accepted).
  std::set<std::string> connected_replicas();

 private:
  using Sessions = std::vector<std::weak_ptr<SyncConnection>>;
  void add_reader(const std::shared_ptr<SyncConnection>& connection);

  const std::size_t max_connections_per_token_;
  std::mutex mutex_;
  Sessions everything_readers_;
  std::map<std::string, Sessions> seller_readers_;  // by user
  std::map<std::string, Sessions> sessions_by_token_;
};

}  // namespace libreta::server
