// What every connection of one Server shares: the options, the sync service, and the registry
// of open WebSocket sessions that close_all_connections() and stop() walk.
//
// Ownership: held by shared_ptr by the Server, the listener and every session, so it lives as
// long as the last of them. The registry holds weak_ptrs: a session's lifetime is its own, and
// it leaves the registry when it finishes.
// Threads: every method is thread-safe (one mutex). Sessions are told to close after the lock
// is released, from copies of the weak_ptrs taken under it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include <boost/asio/thread_pool.hpp>

#include "address_filter.hpp"
#include "libreta/server/log.hpp"
#include "libreta/server/office_pages.hpp"
#include "libreta/server/rest_api.hpp"
#include "libreta/server/server_options.hpp"
#include "metrics.hpp"

namespace boost::asio::ssl {
class context;
}

namespace libreta::server {

class SyncService;
class WebsocketSession;

// What the transport counts, for GET /metrics. Thread-safe (atomics).
struct TransportCounters {
  std::atomic<std::uint64_t> frames_in{0}, bytes_in{0}, frames_out{0}, bytes_out{0};
  // Bytes queued to go out on every connection together.
  std::atomic<std::int64_t> queued_bytes{0};
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  LabeledValues closed;    // {reason}: WebSocket connections closed since start
  LabeledValues requests;  // {path, status}: HTTP requests answered (other than upgrades)
};

// Who may read GET /metrics: addresses in `allow` (any when empty), with the bearer token
// whose SHA-256 is `token_sha256` when it is set.
struct MetricsAccessRules {
  bool enabled = true;
  AddressFilter allow;
  std::string token_sha256;
};
// Throws std::invalid_argument for an address or network that does not parse.
std::shared_ptr<const MetricsAccessRules> make_metrics_access(const MetricsAccess& access);

class SharedState {
 public:
  // Threads for the requests that block (REST API): two writes may wait on the writer while
  // reads go on.
  static constexpr std::size_t kBlockingThreads = 4;

  // `tls_context` null: a plain server. Throws std::invalid_argument for metrics rules
  // that do not parse.
  SharedState(ServerOptions options, std::shared_ptr<SyncService> service,
              std::shared_ptr<boost::asio::ssl::context> tls_context);

  const ServerOptions& options() const { return options_; }
  const std::shared_ptr<SyncService>& service() const { return service_; }
  // The REST API (/api/v1), and the threads its requests run on: they block on the store and
  // on the writer, which the network threads must not.
  RestApi& rest_api() { return rest_api_; }
  OfficePages& office() { return office_; }
  void run_blocking(std::function<void()> task);
  // Waits for the blocking work queued so far (at stop, once the service has stopped).
  void join_blocking();
  // The operator's log (a log that writes nowhere when the options have none).
  const Log& log() const { return *log_; }
  TransportCounters& counters() { return counters_; }

  // The TLS settings new connections use (null: plain); replaced by a reload, while the
  // connections already open keep theirs.
  std::shared_ptr<boost::asio::ssl::context> tls_context() const;
  void set_tls_context(std::shared_ptr<boost::asio::ssl::context> context);
  std::shared_ptr<const MetricsAccessRules> metrics_access() const;
  void set_metrics_access(std::shared_ptr<const MetricsAccessRules> rules);

  // Registers an open session; false once stop has begun (the session must then close).
  bool join(const std::shared_ptr<WebsocketSession>& session);
  void leave(const WebsocketSession* session);
  std::size_t session_count() const;

  // Anonymous WebSocket connections (upgraded, hello not yet accepted): takes a place, or
  // false when max_anonymous_connections hold one already. Lock-free.
  bool admit_anonymous();
  void release_anonymous();
  std::size_t anonymous_count() const;

  // The budget of bytes of incoming messages being read (max_incoming_bytes): takes `bytes`
  // from it, or false (taking nothing) when they would exceed it. Lock-free.
  bool reserve_incoming(std::size_t bytes);
  void release_incoming(std::size_t bytes);
  std::size_t incoming_bytes() const;

  // From now on no session may join.
  void begin_stop();
  bool stopping() const;

  // Asks every session to close with going_away once its queue is sent.
  void close_all_gracefully();
  // Closes every session's socket at once.
  void drop_all();
  // Lets every session check its silence against the idle timeout (WebsocketSession::
  // keep_alive): the server's keep-alive tick.
  void keep_alive();
  // Waits for the registry to empty, at most until `deadline`; true if it did.
  bool wait_until_empty(std::chrono::steady_clock::time_point deadline);

 private:
  template <class Visit>
  void for_each_session(Visit visit);

  const ServerOptions options_;
  const std::shared_ptr<SyncService> service_;
  const std::shared_ptr<Log> log_;
  TransportCounters counters_;
  RestApi rest_api_;
  OfficePages office_;
  boost::asio::thread_pool blocking_{kBlockingThreads};

  mutable std::mutex settings_mutex_;  // the reloadable settings below
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::shared_ptr<const MetricsAccessRules> metrics_access_;

  mutable std::mutex mutex_;
  std::condition_variable emptied_;
  std::unordered_map<const WebsocketSession*, std::weak_ptr<WebsocketSession>> sessions_;
  bool stopping_ = false;

  std::atomic<std::size_t> anonymous_{0};
  std::atomic<std::size_t> incoming_bytes_{0};
};

}  // namespace libreta::server
