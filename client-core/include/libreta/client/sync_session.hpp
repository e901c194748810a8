// The sync session of a seller's device: a background thread that keeps one replica file in
// sync with the server over WebSocket (docs/protocol.md): connect, hello, push the outbox,
// pull until caught up, then receive live updates; on any failure, reconnect with backoff.
//
// Ownership and threads: the session opens its own Replica on the file and uses it only on
// its own thread (SQLite WAL lets the app keep another connection to the same file). Every
// public method of SyncSession is thread-safe. `on_event` runs on the session's thread: it
// must be quick and must not call stop() or destroy the session.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "libreta/client/sync_types.hpp"

namespace libreta::client {

class SyncSession {
 public:
  SyncSession(std::filesystem::path replica_file, SyncOptions options);
  ~SyncSession();  // stops
  SyncSession(const SyncSession&) = delete;
  SyncSession& operator=(const SyncSession&) = delete;

  // Starts the session's thread; it runs until stop(). Calling it when running does nothing.
  void start();
  // Closes the connection and joins the thread; prompt (the time of one replica operation).
  void stop();

  SyncStatus status() const;
  // Blocks until `condition` holds for the status or `timeout` passes; true if it held.
  // Wakes on every status change, without polling.
  bool wait_until(const std::function<bool(const SyncStatus&)>& condition,
                  std::chrono::milliseconds timeout) const;
  // Connected, caught up and nothing pending.
  bool wait_until_synced(std::chrono::milliseconds timeout) const;
  // The app wrote to the replica: push now rather than at the next outbox check.
  void nudge();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Runs a session until the replica is in sync (everything pushed, everything pulled), an
// error that retrying cannot fix (a bad token, an unsupported protocol or schema), three
// connections in a row that could not reach the server (nothing listens there: it does not
// wait out the timeout then), or the timeout; returns the status at that point. For
// `libreta sync`.
SyncStatus sync_once(const std::filesystem::path& replica_file, SyncOptions options,
                     std::chrono::milliseconds timeout);

}  // namespace libreta::client
