// The fault proxy does what each fault says: real sockets on loopback, an echo server
// behind the proxy. Waits are on the sockets, with deadlines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "libreta/faultproxy/fault_proxy.hpp"

using namespace std::chrono_literals;
using libreta::faultproxy::FaultProxy;
using libreta::faultproxy::FaultProxyOptions;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kDeadline = std::chrono::milliseconds(10s);

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// Echoes every connection's bytes back; counts what it received on connections it saw end.
class EchoServer {
 public:
  EchoServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto address = loopback(0);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~EchoServer() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
    for (auto& t : connections_) t.join();
  }
  std::uint16_t port() const { return port_; }
  // Bytes received by connections that have ended, and how many ended.
  std::size_t ended_bytes() const { return ended_bytes_; }
  int ended() const { return ended_; }

 private:
  void accept_loop() {
    while (!stopping_) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      connections_.emplace_back([this, fd] {
        char buffer[4096];
        std::size_t total = 0;
        for (;;) {
          const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
          if (n <= 0) break;
          total += static_cast<std::size_t>(n);
          if (::send(fd, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL) < 0) break;
        }
        ::close(fd);
        ended_bytes_ += total;
        ++ended_;
      });
    }
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::vector<std::thread> connections_;
  std::atomic<std::size_t> ended_bytes_{0};
  std::atomic<int> ended_{0};
};

class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto address = loopback(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send(const std::string& text) {
    return ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  }
  // Reads until `bytes` arrived, the peer closed (returns what came), or the deadline.
  struct Read {
    std::string data;
    bool closed = false;  // end of stream or reset
  };
  Read read(std::size_t bytes, std::chrono::milliseconds timeout) {
    Read result;
    const auto deadline = Clock::now() + timeout;
    while (result.data.size() < bytes) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        result.closed = true;
        break;
      }
      result.data.append(buffer, static_cast<std::size_t>(n));
    }
    return result;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

struct ProxyFixture {
  EchoServer echo;
  FaultProxy proxy{[this] {
    FaultProxyOptions options;
    options.upstream_port = echo.port();
    return options;
  }()};
  ProxyFixture() { proxy.start(); }

  // A client whose first round trip went through, so the proxy knows its connection.
  std::unique_ptr<Client> connected_client() {
    auto client = std::make_unique<Client>(proxy.port());
    REQUIRE(client->connected());
    REQUIRE(client->send("hello"));
    REQUIRE(client->read(5, kDeadline).data == "hello");
    return client;
  }
};

}  // namespace

TEST_CASE("fault proxy: forwards both ways until told otherwise", "[fault][proxy]") {
  ProxyFixture f;
  auto client = f.connected_client();
  const std::string big(100'000, 'x');
  REQUIRE(client->send(big));
  CHECK(client->read(big.size(), kDeadline).data == big);
  CHECK(f.proxy.open_connections() == 1);
  // The proxy counts a write when it completes, which may be just after the peer read it.
  const std::uint64_t both_ways = 2 * (big.size() + 5);
  const auto deadline = Clock::now() + kDeadline;
  while (f.proxy.stats().bytes_forwarded < both_ways && Clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  CHECK(f.proxy.stats().bytes_forwarded >= both_ways);
}

TEST_CASE("fault proxy: a cut resets the connection at once", "[fault][proxy]") {
  ProxyFixture f;
  auto first = f.connected_client();
  auto second = f.connected_client();
  REQUIRE(f.proxy.cut_all() == 2);
  CHECK(first->read(1, kDeadline).closed);
  CHECK(second->read(1, kDeadline).closed);
  CHECK(f.proxy.stats().cuts == 2);
  // A new connection goes through.
  f.connected_client();
}

TEST_CASE("fault proxy: a mid-chunk cut delivers part of the chunk, then the end",
          "[fault][proxy]") {
  ProxyFixture f;
  auto client = f.connected_client();
  REQUIRE(f.proxy.cut_mid_chunk(0));
  REQUIRE(client->send(std::string(1000, 'y')));
  CHECK(client->read(2000, kDeadline).closed);
  // The echo server saw the first round trip, then a truncated chunk, then the end.
  const auto deadline = Clock::now() + kDeadline;
  while (f.echo.ended() < 1 && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  REQUIRE(f.echo.ended() == 1);
  CHECK(f.echo.ended_bytes() > 5);
  CHECK(f.echo.ended_bytes() < 5 + 1000);
  CHECK(f.proxy.stats().mid_chunk_cuts == 1);
}

TEST_CASE("fault proxy: a black hole forwards nothing and closes nothing", "[fault][proxy]") {
  ProxyFixture f;
  auto client = f.connected_client();
  REQUIRE(f.proxy.black_hole(0));
  REQUIRE(client->send("ping"));
  // Silence is the expected outcome: a short look is enough, a longer one proves no more.
  const auto read = client->read(4, 300ms);
  CHECK(read.data.empty());
  CHECK_FALSE(read.closed);
  CHECK(f.proxy.open_connections() == 1);
  // Healing closes the stale flow; new connections work.
  f.proxy.heal();
  CHECK(client->read(1, kDeadline).closed);
  f.connected_client();
}

TEST_CASE("fault proxy: refusing resets new connections only, until it ends", "[fault][proxy]") {
  ProxyFixture f;
  auto existing = f.connected_client();
  f.proxy.set_refusing(true);
  {
    Client refused(f.proxy.port());
    // The kernel accepts the TCP connection; the proxy resets it at once.
    CHECK(refused.read(1, kDeadline).closed);
  }
  REQUIRE(existing->send("still"));
  CHECK(existing->read(5, kDeadline).data == "still");
  CHECK(f.proxy.stats().refused == 1);
  f.proxy.refuse_for(50ms);  // turns itself off
  const auto deadline = Clock::now() + kDeadline;
  bool through = false;
  while (!through && Clock::now() < deadline) {
    Client next(f.proxy.port());
    through = next.send("again") && next.read(5, 1s).data == "again";
  }
  CHECK(through);
}

TEST_CASE("fault proxy: a delay holds every chunk back", "[fault][proxy]") {
  ProxyFixture f;
  auto client = f.connected_client();
  f.proxy.set_delay(150ms);
  const auto start = Clock::now();
  REQUIRE(client->send("slow"));
  CHECK(client->read(4, kDeadline).data == "slow");
  // Both ways are held: at least twice the delay.
  CHECK(Clock::now() - start >= 300ms);
  CHECK(f.proxy.stats().delayed_chunks >= 2);
  f.proxy.heal();
}
