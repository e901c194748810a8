// A synchronous WebSocket client for protocol-level tests: each call blocks, with a timeout,
// on a private io_context. Messages that arrive while the test does something else are kept
// in order until receive() takes them.
// Not thread-safe: one test thread uses it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace libreta::test {

class WsClient {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout = std::chrono::seconds(5);

  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Connects to "ws://HOST:PORT/PATH" and upgrades; throws std::runtime_error on failure.
  void connect(const std::string& url, std::chrono::milliseconds timeout = kDefaultTimeout);

  // Sends one frame; false when the connection failed (or the send timed out, which closes
  // the connection).
  bool send_text(std::string_view text, std::chrono::milliseconds timeout = kDefaultTimeout);
  bool send_binary(std::string_view bytes, std::chrono::milliseconds timeout = kDefaultTimeout);

  // Writes the header of a text frame that declares `declared_bytes` of payload, and the
  // first bytes of that payload, and leaves the frame unfinished, as a peer that stalls in
  // the middle of a message. Nothing may be sent after it but more of the same frame; false
  // when the connection failed.
  bool send_unfinished_frame(std::size_t declared_bytes, std::string_view payload_start,
                             std::chrono::milliseconds timeout = kDefaultTimeout);

  // Sends a ping and waits until it is written; false when the connection failed.
  bool ping(std::chrono::milliseconds timeout = kDefaultTimeout);
  // Pings received from the server so far (each answered while the client reads).
  std::size_t pings_received() const;

  // The next message, or nullopt when none came within the timeout or the connection closed.
  std::optional<std::string> receive(std::chrono::milliseconds timeout = kDefaultTimeout);
  // Waits until the connection is closed, keeping the messages that come before; true if it
  // closed within the timeout.
  bool wait_closed(std::chrono::milliseconds timeout = kDefaultTimeout);
  bool closed() const;
  // The code of the server's close frame (1001 going away, 1008 policy, 1009 too big), if one
  // came before the connection ended.
  std::optional<int> close_code() const;

  // Starts the close handshake and waits for it, at most `timeout`.
  void close(std::chrono::milliseconds timeout = kDefaultTimeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace libreta::test
