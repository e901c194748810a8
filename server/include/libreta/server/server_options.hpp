// The options of the sync server's transport (Server): where it listens, TLS, and the
// limits on what a client may send or make the server hold, with their defaults
// (docs/security.md). Plain values: copy them freely.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libreta/server/log.hpp"

namespace libreta::server {

// Limits on what a client may send or make the server hold, with their defaults.
// Largest WebSocket message a client may send; a bigger one closes that connection (1009).
inline constexpr std::size_t kMaxFrameBytes = 8u << 20;
// Largest WebSocket message before hello is accepted (a hello is under 1 KiB), so that an
// anonymous connection holds at most this much of a message it never finishes; a bigger one
// closes the connection (1009). kMaxFrameBytes applies from the welcome on.
inline constexpr std::size_t kMaxHelloFrameBytes = 16u << 10;
// WebSocket connections upgraded but not yet past hello, server-wide. Beyond it an upgrade
// request is answered 503: connections nobody has vouched for cannot pile up, while those
// already authenticated are not affected.
inline constexpr std::size_t kMaxAnonymousConnections = 1024;
// Bytes of incoming messages being read, all connections together: what the server holds
// of messages still arriving (a frame stalled mid-way included) before it decodes them. A
// connection whose next bytes would exceed it is closed (1013, try again later).
// Authenticated connections alone could otherwise hold kMaxFrameBytes each, for every
// connection of every token.
inline constexpr std::size_t kMaxIncomingBytes = 256u << 20;
// From TCP accept to a read HTTP request, and for the WebSocket upgrade (and close) handshake.
inline constexpr std::chrono::milliseconds kHandshakeTimeout = std::chrono::seconds(10);
// From the upgrade to an accepted hello; an anonymous connection is closed after it.
inline constexpr std::chrono::milliseconds kHelloTimeout = std::chrono::seconds(10);
// A WebSocket connection silent for this long is closed. One silent for half of it is
// pinged, so a live client that has nothing to say stays connected; a client that talks or
// pings is not pinged at all. Checked every eighth of it: a dead connection goes within
// nine eighths.
inline constexpr std::chrono::milliseconds kIdleTimeout = std::chrono::seconds(60);
// Bytes waiting in one connection's outgoing queue. Exceeded means the client reads too
// slowly: it is dropped, reconnects, and catches up by pulling, which costs less memory.
inline constexpr std::size_t kMaxQueuedBytes = 64u << 20;
// Size of an HTTP request's header and body (no endpoint takes a large body).
inline constexpr std::uint32_t kMaxHttpHeaderBytes = 8u << 10;
inline constexpr std::uint64_t kMaxHttpBodyBytes = 64u << 10;
// How long stop() lets sessions send what is queued and finish their close handshake before
// it drops them.
inline constexpr std::chrono::milliseconds kShutdownTimeout = std::chrono::seconds(5);

// Who may read GET /metrics (docs/operations.md). The metrics say nothing of customers, but
// who connects and how much is the operator's business.
struct MetricsAccess {
  bool enabled = true;
  // Peer addresses or networks ("10.0.0.0/8", "::1"); empty: any address.
  std::vector<std::string> allow = {"127.0.0.0/8", "::1"};
  // Lowercase hex SHA-256 of a bearer token the scraper sends ("Authorization: Bearer T");
  // empty: none needed.
  std::string token_sha256;
};

// Why a list of addresses and networks (MetricsAccess::allow) does not parse, if it does not.
std::optional<std::string> check_address_list(const std::vector<std::string>& entries);

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: an ephemeral port, see Server::port()
  int threads = 2;         // threads running the one io_context

  std::size_t max_frame_bytes = kMaxFrameBytes;
  std::size_t max_hello_frame_bytes = kMaxHelloFrameBytes;
  std::size_t max_anonymous_connections = kMaxAnonymousConnections;
  std::size_t max_incoming_bytes = kMaxIncomingBytes;
  std::chrono::milliseconds handshake_timeout = kHandshakeTimeout;
  std::chrono::milliseconds hello_timeout = kHelloTimeout;
  std::chrono::milliseconds idle_timeout = kIdleTimeout;
  std::size_t max_queued_bytes = kMaxQueuedBytes;
  std::uint32_t max_http_header_bytes = kMaxHttpHeaderBytes;
  std::uint64_t max_http_body_bytes = kMaxHttpBodyBytes;
  std::chrono::milliseconds shutdown_timeout = kShutdownTimeout;

  // TLS (docs/security.md): with both files set (PEM: the certificate chain, leaf first, and
  // its private key) every connection speaks TLS 1.2 or later: wss:// and https only. The TLS
  // handshake is bounded by handshake_timeout.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Without TLS, tokens and customer data cross the network in clear: a plain server listens
  // only on a loopback address (behind a TLS proxy on the same machine, or for tests) unless
  // this is set.
  bool allow_plain = false;

  MetricsAccess metrics;

  // The names the office pages answer to (the Host header, HOST or HOST:PORT; a name without
  // a port takes the listening one), besides localhost, 127.0.0.1 and [::1].
  std::vector<std::string> office_hosts;

  // The operator's log: a line per connection closed, limit hit, TLS handshake failed,
  // handler failure. Null: no log.
  std::shared_ptr<Log> log;
};

}  // namespace libreta::server
