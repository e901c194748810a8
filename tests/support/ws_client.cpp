#include "support/ws_client.hpp"

#include <deque>
#include <functional>
#include <stdexcept>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace libreta::test {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct WsClient::Impl {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  std::deque<std::string> inbox;
  bool reading = false;
  bool connected = false;
  std::size_t pings = 0;
  bool closed = false;

  ~Impl() {
    // Pending operations end aborted and their handlers run before the members go away;
    // what is left (Beast's timers) is destroyed with the io_context, never run.
    beast::get_lowest_layer(ws).close();
    ioc.restart();
    ioc.poll();
  }

  // Runs handlers until `done`, the deadline, or nothing is left to run.
  bool run_until(const std::function<bool()>& done, Clock::time_point deadline) {
    while (!done()) {
      if (ioc.stopped()) ioc.restart();
      if (ioc.run_one_until(deadline) == 0 && !done()) {
        if (Clock::now() >= deadline || ioc.stopped()) return false;
      }
    }
    return true;
  }

  // An operation that did not finish in time: the connection is abandoned, and the
  // operation's handler (which refers to the caller's frame) runs before returning.
  void abandon(const std::function<bool()>& done) {
    beast::get_lowest_layer(ws).close();
    run_until(done, Clock::now() + std::chrono::seconds(5));
    closed = true;
  }

  // Keeps one read pending, so that control frames are answered and messages kept.
  void start_read() {
    if (reading || closed || !connected) return;
    reading = true;
    ws.async_read(buffer, [this](beast::error_code ec, std::size_t) {
      reading = false;
      if (ec) {
        closed = true;
        return;
      }
      inbox.push_back(beast::buffers_to_string(buffer.data()));
      buffer.consume(buffer.size());
      start_read();
    });
  }

  bool send(std::string_view bytes, bool binary, std::chrono::milliseconds timeout) {
    if (closed || !connected) return false;
    start_read();
    ws.binary(binary);
    bool done = false;
    beast::error_code result;
    ws.async_write(net::buffer(bytes.data(), bytes.size()), [&](beast::error_code ec, std::size_t) {
      done = true;
      result = ec;
    });
    const auto finished = [&] { return done; };
    if (!run_until(finished, Clock::now() + timeout)) {
      abandon(finished);
      return false;
    }
    return !result;
  }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}
WsClient::~WsClient() = default;

void WsClient::connect(const std::string& url, std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  const std::string scheme = "ws://";
  if (url.rfind(scheme, 0) != 0) throw std::runtime_error("not a ws:// url: " + url);
  const auto authority_end = url.find('/', scheme.size());
  const std::string authority = url.substr(scheme.size(), authority_end - scheme.size());
  const std::string path = authority_end == std::string::npos ? "/" : url.substr(authority_end);
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("no port in url: " + url);
  const std::string host = authority.substr(0, colon);
  const std::string port = authority.substr(colon + 1);

  const auto deadline = Clock::now() + timeout;
  tcp::resolver resolver(impl.ioc);
  const auto endpoints = resolver.resolve(host, port);

  bool done = false;
  beast::error_code result;
  const auto finished = [&] { return done; };
  beast::get_lowest_layer(impl.ws).async_connect(endpoints,
                                                 [&](beast::error_code ec, const tcp::endpoint&) {
                                                   done = true;
                                                   result = ec;
                                                 });
  if (!impl.run_until(finished, deadline)) {
    impl.abandon(finished);
    throw std::runtime_error("connect to " + url + ": timed out");
  }
  if (result) throw std::runtime_error("connect to " + url + ": " + result.message());

  impl.ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  done = false;
  impl.ws.async_handshake(authority, path, [&](beast::error_code ec) {
    done = true;
    result = ec;
  });
  if (!impl.run_until(finished, deadline)) {
    impl.abandon(finished);
    throw std::runtime_error("handshake with " + url + ": timed out");
  }
  if (result) throw std::runtime_error("handshake with " + url + ": " + result.message());
  impl.ws.control_callback([&impl](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping) ++impl.pings;
  });
  impl.connected = true;
  impl.start_read();
}

bool WsClient::ping(std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  if (impl.closed || !impl.connected) return false;
  impl.start_read();
  bool done = false;
  beast::error_code result;
  impl.ws.async_ping({}, [&](beast::error_code ec) {
    done = true;
    result = ec;
  });
  const auto finished = [&] { return done; };
  if (!impl.run_until(finished, Clock::now() + timeout)) {
    impl.abandon(finished);
    return false;
  }
  return !result;
}

bool WsClient::send_unfinished_frame(std::size_t declared_bytes, std::string_view payload_start,
                                     std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  if (impl.closed || !impl.connected) return false;
  impl.start_read();
  // RFC 6455 5.2: FIN and text, then the masked 64-bit length. A zero mask key leaves the
  // payload as it is.
  std::string frame = {'\x81', '\xff'};
  for (int shift = 56; shift >= 0; shift -= 8) {
    frame.push_back(static_cast<char>((declared_bytes >> shift) & 0xff));
  }
  frame.append(4, '\0');
  frame.append(payload_start);
  bool done = false;
  beast::error_code result;
  net::async_write(beast::get_lowest_layer(impl.ws), net::buffer(frame),
                   [&](beast::error_code ec, std::size_t) {
                     done = true;
                     result = ec;
                   });
  const auto finished = [&] { return done; };
  if (!impl.run_until(finished, Clock::now() + timeout)) {
    impl.abandon(finished);
    return false;
  }
  return !result;
}

std::size_t WsClient::pings_received() const {
  return impl_->pings;
}

bool WsClient::send_text(std::string_view text, std::chrono::milliseconds timeout) {
  return impl_->send(text, false, timeout);
}

bool WsClient::send_binary(std::string_view bytes, std::chrono::milliseconds timeout) {
  return impl_->send(bytes, true, timeout);
}

std::optional<std::string> WsClient::receive(std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  impl.start_read();
  impl.run_until([&] { return !impl.inbox.empty() || impl.closed; }, Clock::now() + timeout);
  if (impl.inbox.empty()) return std::nullopt;
  std::string message = std::move(impl.inbox.front());
  impl.inbox.pop_front();
  return message;
}

bool WsClient::wait_closed(std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  impl.start_read();
  return impl.run_until([&] { return impl.closed; }, Clock::now() + timeout);
}

bool WsClient::closed() const {
  return impl_->closed;
}

std::optional<int> WsClient::close_code() const {
  const auto& reason = impl_->ws.reason();
  if (reason.code == websocket::close_code::none) return std::nullopt;
  return static_cast<int>(reason.code);
}

void WsClient::close(std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  if (impl.closed || !impl.connected) return;
  impl.start_read();
  bool done = false;
  impl.ws.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
  const auto finished = [&] { return done; };
  if (!impl.run_until(finished, Clock::now() + timeout)) return impl.abandon(finished);
  impl.run_until([&] { return impl.closed; }, Clock::now() + timeout);
  impl.closed = true;
}

}  // namespace libreta::test
