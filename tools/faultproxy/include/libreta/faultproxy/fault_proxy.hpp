// A fault-injecting TCP proxy for testing sync under a bad network: it sits between clients
// and the server, forwards bytes both ways, and on command delays them, cuts connections
// (at once, or in the middle of a chunk, so a WebSocket frame arrives truncated), stops
// forwarding without closing (a black hole), or refuses new connections for a while.
//
// Threads: the proxy runs one io_context on its own thread. Every public method is
// thread-safe and may be called from any thread but the proxy's own.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

namespace libreta::faultproxy {

struct FaultProxyOptions {
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0: an ephemeral port, see FaultProxy::port()
  std::string upstream_address = "127.0.0.1";
  std::uint16_t upstream_port = 0;
  // Seeds the choice of where a mid-chunk cut falls, so a run can be repeated.
  std::uint64_t seed = 1;
};

// What the proxy did so far; every count only grows.
struct FaultProxyStats {
  std::uint64_t connections = 0;      // accepted and connected upstream
  std::uint64_t upstream_down = 0;    // accepted, but the upstream refused: closed at once
  std::uint64_t refused = 0;          // closed at once because new connections were refused
  std::uint64_t cuts = 0;             // connections reset at once (cut, cut_all)
  std::uint64_t mid_chunk_cuts = 0;   // connections closed after forwarding part of a chunk
  std::uint64_t black_holes = 0;      // connections that stopped forwarding
  std::uint64_t delayed_chunks = 0;   // chunks held back by the delay
  std::uint64_t bytes_forwarded = 0;  // both ways
  std::uint64_t bytes_up = 0;         // of those, client to upstream
  std::uint64_t bytes_down = 0;       // upstream to client
};

// The kinds of fault random_fault() injects, for summaries.
enum class FaultKind { delay, cut, cut_all, mid_chunk_cut, black_hole, refuse, none };
const char* fault_kind_name(FaultKind kind);

class FaultProxy {
 public:
  explicit FaultProxy(FaultProxyOptions options);
  ~FaultProxy();  // stop()
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // Binds and listens, then runs the proxy's thread. Throws boost::system::system_error if
  // the address cannot be bound.
  void start();
  // The port the proxy listens on (the ephemeral one when options.listen_port was 0).
  std::uint16_t port() const;
  // Closes every connection and the listener, and joins the thread. Idempotent.
  void stop();

  // ---- Faults ---------------------------------------------------------------------------
  // Holds every chunk forwarded from now on this long before writing it (per direction, in
  // order): a slow network. Zero forwards at once.
  void set_delay(std::chrono::milliseconds delay);
  // Resets every open connection (RST both ways). Returns how many were open.
  std::size_t cut_all();
  // Resets one open connection, the pick-th (modulo how many are open). False if none.
  bool cut(std::uint64_t pick);
  // The pick-th connection forwards only a random part of its next chunk (either way) and
  // then closes both sides: the peer gets a truncated frame, then the end of the stream.
  bool cut_mid_chunk(std::uint64_t pick);
  // The pick-th connection stops forwarding without closing: what either side sends is
  // read and dropped. Only a timeout of one of the ends can notice.
  bool black_hole(std::uint64_t pick);
  // While on, new connections are accepted and reset at once (a server that is down
  // behind a load balancer, a captive portal). refuse_for() turns it off by itself.
  void set_refusing(bool refusing);
  void refuse_for(std::chrono::milliseconds duration);
  // Ends every fault: no delay, new connections welcome, black-holed connections closed (the
  // network is back and stale flows are gone), nothing armed to cut.
  void heal();

  // Injects one fault chosen with `random`, touching at most one connection except for
  // cut_all: the proxy-level part of a randomized fault test (libreta-faultproxy --chaos).
  FaultKind random_fault(std::mt19937_64& random);

  std::size_t open_connections() const;
  FaultProxyStats stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace libreta::faultproxy
