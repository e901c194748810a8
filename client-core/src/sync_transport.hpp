// The sync session's connection to the server: one WebSocket carrying the protocol's frames
// (JSON text, or binary for compressed messages), over TLS
// for wss:// (the server's certificate verified, its host name checked), with timeouts on
// connecting and keep-alive pings when idle. Beast and OpenSSL live in sync_transport.cpp only.
// Not thread-safe: created, used and closed on the thread running the io_context, and its
// handler is called on that thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "libreta/protocol/error.hpp"

namespace boost::asio {
class io_context;
}

namespace libreta::client {

// Where the server listens, from a ws:// URL.
struct ServerAddress {
  bool tls = false;  // wss://
  std::string host;
  std::string port;
  std::string target;  // the HTTP path, "/sync"
};
// Parses ws:// or wss://host[:port][/path]; IPv6 hosts in brackets.
Result<ServerAddress> parse_server_url(std::string_view url);

struct TransportOptions {
  // TCP connect, then the TLS handshake; then, again, the WebSocket handshake.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::string ca_file;       // wss://: trusted CAs (PEM); empty: the system's store
  bool allow_plain = false;  // ws:// to a host that is not loopback
};

// The code of network failures (refused, reset, closed); a failed TLS handshake or
// certificate, and a refused plain connection, are ErrorCode::tls instead.
inline constexpr ErrorCode kNetworkErrorCode = ErrorCode::unreachable;

// Largest frame the client accepts from the server (a page of rows, a live update).
inline constexpr std::size_t kMaxIncomingFrameBytes = 64 * 1024 * 1024;

class SyncTransport {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_open() = 0;  // the WebSocket handshake succeeded
    virtual void on_frame(std::string bytes, bool binary) = 0;
    // The connection failed or was closed by the server; called once, and nothing after.
    virtual void on_failure(ErrorCode code, std::string message) = 0;
  };

  virtual ~SyncTransport() = default;
  // Queues a frame, text or binary; frames are written in order, one at a time.
  virtual void send(std::string bytes, bool binary) = 0;
  // Closes the connection at once; the handler is not called any more.
  virtual void close() = 0;
};

// Starts connecting; the handler must outlive the transport or its close(). Throws Error
// (ErrorCode::tls) when the CA file cannot be read.
std::shared_ptr<SyncTransport> connect_transport(boost::asio::io_context& io,
                                                 const ServerAddress& address,
                                                 const TransportOptions& options,
                                                 SyncTransport::Handler& handler);

}  // namespace libreta::client
