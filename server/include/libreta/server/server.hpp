// The sync server's transport: an HTTP listener that upgrades `/sync` to WebSocket and hands
// each connection to the SyncService, plus `GET /healthz`, `/readyz` and `/metrics`, over TLS
// when configured. Beast,
// Asio and OpenSSL stay behind a pimpl.
//
// Ownership: the Server shares ownership of the SyncService (which must not outlive the Store
// it was created with: stop() or destroy the Server before closing the Store).
// Threads: start(), stop() and the destructor are called by the owner, never from a handler
// of the server itself; port() and close_all_connections() are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "libreta/server/server_options.hpp"
#include "libreta/server/sync_service.hpp"

namespace libreta::server {

class Server {
 public:
  Server(ServerOptions options, std::shared_ptr<SyncService> service);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (SO_REUSEADDR, so a restarted server gets its port back while old
  // connections linger in TIME_WAIT), then runs the threads. Throws boost::system::system_error
  // when the address cannot be bound, std::invalid_argument for a plain server on an address
  // that is not loopback without allow_plain, or a TLS certificate or key that cannot be
  // loaded (the message names the file), std::logic_error when called twice.
  void start();
  // The bound port (the ephemeral one when options.port was 0); 0 before start().
  std::uint16_t port() const;
  // Drops every WebSocket connection at once, without a close handshake, as a network cut
  // would. HTTP requests and the listener are not affected.
  void close_all_connections();
  // Loads a new certificate and key for the connections accepted from now on; those open
  // keep theirs (a certificate renewed without dropping anyone). Throws std::invalid_argument,
  // keeping the current ones, when they cannot be loaded or the server serves plain ws://
  // (TLS is turned on or off by a restart). Thread-safe, after start().
  void reload_tls(const std::string& cert_file, const std::string& key_file);
  // Replaces who may read GET /metrics; throws std::invalid_argument for an entry that does
  // not parse, keeping the current rules. Thread-safe, after start().
  void set_metrics_access(const MetricsAccess& access);
  // Graceful and idempotent: stops accepting, stops the service (queued pushes are committed
  // and acknowledged), closes every session with going_away once its queue is sent (dropping
  // those still open after shutdown_timeout), then joins the threads.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace libreta::server
