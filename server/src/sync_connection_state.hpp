// What one sync connection knows of its device, shared by the files that implement
// SyncConnection (sync_connection.cpp, sync_connection_pull.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "libreta/server/sync_connection.hpp"
#include "libreta/server/tokens.hpp"

namespace libreta::server {

struct SyncConnection::State {
  std::shared_ptr<SyncContext> context;
  std::shared_ptr<Outbound> out;
  std::string peer;
  bool authenticated = false;
  bool closed = false;
  std::string replica;
  std::string user;
  std::string token_id;
  Role role = Role::seller;
  // The session's protocol (set by hello); 2 or later takes and may send compressed frames.
  int protocol = kMinProtocolVersion;
  bool compressed_frames = false;
  // The server's last sequence at hello, for a new replica's claim.
  std::uint64_t first_seq = 0;
  // How far the device knows the book, for the reassignment rule (docs/security.md): what
  // earlier connections of this replica were sent (known at hello), what this one was sent
  // (the highest, and when, to tell what it has had time to receive), and what the device
  // confirmed having applied (its pulls' `after`).
  std::uint64_t known_seq = 0;
  std::uint64_t sent_seq = 0;
  std::uint64_t confirmed_seq = 0;
  std::deque<std::pair<std::uint64_t, std::uint64_t>> sends;  // (clock ms, sequence)
  // Protocol 3: the device asked for the conflicts it lost; the inbox id sent up to.
  bool conflicts_wanted = false;
  std::uint64_t conflicts_cursor = 0;
  // Message rate limit: a token bucket refilled at options.max_messages_per_second.
  double message_tokens = 0;
  std::chrono::steady_clock::time_point refilled = std::chrono::steady_clock::now();
  // Live once a pull reached the end; live_cursor is the last sequence this client has.
  bool live = false;
  std::uint64_t live_cursor = 0;
  std::shared_ptr<std::atomic<int>> pushes_in_flight = std::make_shared<std::atomic<int>>(0);
};

}  // namespace libreta::server
