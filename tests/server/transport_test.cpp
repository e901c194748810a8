// The server's transport on a real server (ephemeral port, temporary database): HTTP routes,
// limits on frames, anonymous connections, incoming bytes, time and queues, and shutdown.
// The sync protocol itself is tested in the service's tests; here messages are only what it
// takes to reach a transport behaviour.

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/server/server.hpp"
#include "support/http_client.hpp"
#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

using namespace std::chrono_literals;
using libreta::test::http_raw;
using libreta::test::http_request;
using libreta::test::ServerFixture;
using libreta::test::WsClient;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kCloseGoingAway = 1001;
constexpr int kClosePolicy = 1008;
constexpr int kCloseTooBig = 1009;
constexpr int kCloseTryAgainLater = 1013;

libreta::server::ServerOptions quiet() {
  return ServerFixture::quiet_options();
}

// Decodes a frame the server sent; fails the test when it is not a protocol message.
libreta::Message decode(const std::optional<std::string>& frame) {
  REQUIRE(frame.has_value());
  auto message = libreta::decode_message(*frame);
  REQUIRE(message.ok());
  return std::move(message).value();
}

// Says hello with `token` and returns once welcomed.
void say_hello_with(WsClient& client, const std::string& token) {
  libreta::Hello hello;
  hello.schema = libreta::kCustomerBookSchemaVersion;
  hello.replica = libreta::new_replica_id();
  hello.token = token;
  REQUIRE(client.send_text(libreta::encode_message(hello)));
  const auto reply = decode(client.receive());
  REQUIRE(std::holds_alternative<libreta::Welcome>(reply));
}

// Says hello with a fresh token and returns once welcomed.
void say_hello(ServerFixture& server, WsClient& client, const std::string& user = "ana") {
  say_hello_with(client, server.create_token(user));
}

nlohmann::json healthz(const ServerFixture& server) {
  const auto response = http_request(server.port(), "GET", "/healthz");
  REQUIRE(response.status == 200);
  REQUIRE(response.content_type == "application/json");
  return nlohmann::json::parse(response.body);
}

// Polls /healthz until it reports `connections`, at most `timeout`.
bool wait_for_connections(const ServerFixture& server, std::uint64_t connections,
                          std::chrono::milliseconds timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (healthz(server)["connections"] == connections) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

libreta::server::ServerOptions with_idle_timeout(std::chrono::milliseconds idle_timeout) {
  auto options = quiet();
  options.idle_timeout = idle_timeout;
  return options;
}

// A server with the given idle timeout, and a client of it that has said hello.
struct GreetedClient {
  explicit GreetedClient(std::chrono::milliseconds idle)
      : idle_timeout(idle), server(with_idle_timeout(idle)) {
    client.connect(server.url());
    say_hello(server, client);
  }
  const std::chrono::milliseconds idle_timeout;
  ServerFixture server;
  WsClient client;
};

}  // namespace

TEST_CASE("transport: /healthz answers ok with the last sequence and the open connections",
          "[server][transport]") {
  ServerFixture server(quiet());
  const auto body = healthz(server);
  CHECK(body["status"] == "ok");
  CHECK(body["last_seq"] == 0);
  CHECK(body["connections"] == 0);

  WsClient client;
  client.connect(server.url());
  CHECK(wait_for_connections(server, 1));
  client.close();
  CHECK(wait_for_connections(server, 0));
}

TEST_CASE("transport: a path other than /healthz and /sync answers 404 with a JSON error",
          "[server][transport]") {
  ServerFixture server(quiet());
  const auto response = http_request(server.port(), "GET", "/nothing-here");
  CHECK(response.status == 404);
  CHECK(response.content_type == "application/json");
  CHECK(nlohmann::json::parse(response.body) == nlohmann::json{{"error", "not_found"}});

  // A WebSocket upgrade is only accepted on /sync.
  WsClient client;
  CHECK_THROWS(client.connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/other"));
}

TEST_CASE("transport: requests that are not acceptable HTTP get a 4xx and the connection closes",
          "[server][transport]") {
  ServerFixture server(quiet());

  SECTION("a malformed request answers 400") {
    const auto response = http_raw(server.port(), "THIS IS NOT HTTP\r\n\r\n");
    CHECK(response.status == 400);
    CHECK(nlohmann::json::parse(response.body) == nlohmann::json{{"error", "bad_request"}});
  }
  SECTION("a header over the 8 KiB limit answers 431") {
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                std::string(libreta::server::kMaxHttpHeaderBytes, 'a') + "\r\n\r\n";
    CHECK(http_raw(server.port(), request).status == 431);
  }
  SECTION("a body over the 64 KiB limit answers 413") {
    const auto size = libreta::server::kMaxHttpBodyBytes + 1;
    const std::string request =
        "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(size) +
        "\r\n\r\n" + std::string(size, 'a');
    CHECK(http_raw(server.port(), request).status == 413);
  }
  SECTION("/sync without an upgrade answers 426") {
    CHECK(http_request(server.port(), "GET", "/sync").status == 426);
  }
}

TEST_CASE("transport: a connection that sends no request is closed after the handshake timeout",
          "[server][transport][timeout]") {
  auto options = quiet();
  options.handshake_timeout = 300ms;
  ServerFixture server(options);
  const auto start = Clock::now();
  // Writes nothing and waits for a response that never comes: the server hangs up.
  CHECK_THROWS(http_raw(server.port(), "", 10s));
  const auto waited = Clock::now() - start;
  CHECK(waited >= 250ms);
  CHECK(waited < 5s);
}

TEST_CASE("transport: a frame over kMaxFrameBytes closes that connection, not the others",
          "[server][transport][limits]") {
  ServerFixture server(quiet());
  WsClient other;
  other.connect(server.url());
  say_hello(server, other, "bruno");

  WsClient sender;
  sender.connect(server.url());
  say_hello(server, sender, "carla");
  // The send itself may fail midway: the server stops reading at the limit.
  sender.send_text(std::string(libreta::server::kMaxFrameBytes + 1, 'x'), 10s);
  REQUIRE(sender.wait_closed(10s));
  if (sender.close_code()) CHECK(*sender.close_code() == kCloseTooBig);

  // The other connection still answers.
  REQUIRE_FALSE(other.closed());
  REQUIRE(other.send_text(libreta::encode_message(libreta::Pull{0, 0})));
  const auto reply = decode(other.receive());
  CHECK(std::holds_alternative<libreta::Rows>(reply));
}

TEST_CASE("transport: a frame just under kMaxFrameBytes is accepted (and judged by the protocol)",
          "[server][transport][limits]") {
  ServerFixture server(quiet());
  WsClient client;
  client.connect(server.url());
  say_hello(server, client);
  REQUIRE(client.send_text(std::string(libreta::server::kMaxFrameBytes, ' '), 10s));
  // Not JSON: the service answers with an error; the transport did not cut the connection
  // for its size.
  const auto reply = decode(client.receive(10s));
  CHECK(std::holds_alternative<libreta::ProtocolError>(reply));
  CHECK(client.close_code() != kCloseTooBig);
}

TEST_CASE("transport: before hello a frame over kMaxHelloFrameBytes closes the connection",
          "[server][transport][limits]") {
  ServerFixture server(quiet());

  SECTION("a whole frame") {
    WsClient anonymous;
    anonymous.connect(server.url());
    anonymous.send_text(std::string(libreta::server::kMaxHelloFrameBytes + 1, ' '));
    REQUIRE(anonymous.wait_closed());
    if (anonymous.close_code()) CHECK(*anonymous.close_code() == kCloseTooBig);
  }
  SECTION("a frame that only declares its size: nothing of it is held") {
    WsClient anonymous;
    anonymous.connect(server.url());
    REQUIRE(anonymous.send_unfinished_frame(libreta::server::kMaxFrameBytes, "{"));
    REQUIRE(anonymous.wait_closed());
    CHECK(anonymous.close_code() == kCloseTooBig);
    CHECK(healthz(server)["incoming_bytes"] == 0);
  }
  SECTION("once hello is accepted, frames up to kMaxFrameBytes are read") {
    WsClient client;
    client.connect(server.url());
    say_hello(server, client);
    libreta::Pull pull;
    std::string text = libreta::encode_message(pull);
    text.append(libreta::server::kMaxHelloFrameBytes * 4, ' ');  // JSON allows the spaces
    REQUIRE(client.send_text(text));
    CHECK(std::holds_alternative<libreta::Rows>(decode(client.receive())));
  }
}

TEST_CASE("transport: deeply nested JSON is refused before it is parsed, in bounded time",
          "[server][transport][limits]") {
  // 64 MiB once decompressed: over one token's burst of bytes, which would refuse the last
  // frames before their JSON is looked at (a limit with its own test).
  libreta::server::SyncServiceOptions service;
  service.byte_burst_per_token = 128u << 20;
  ServerFixture server(quiet(), service);
  WsClient other;
  other.connect(server.url());
  say_hello(server, other, "bruno");

  SECTION("before hello: a fatal too_large") {
    WsClient anonymous;
    anonymous.connect(server.url());
    REQUIRE(anonymous.send_text(std::string(libreta::server::kMaxHelloFrameBytes, '[')));
    const auto reply = decode(anonymous.receive());
    REQUIRE(std::holds_alternative<libreta::ProtocolError>(reply));
    const auto& error = std::get<libreta::ProtocolError>(reply);
    CHECK(error.code == libreta::ErrorCode::too_large);
    CHECK(error.fatal);
    REQUIRE(anonymous.wait_closed());
    CHECK(anonymous.close_code() == kClosePolicy);
  }
  SECTION("after hello: 8 MiB of '[' compressed into a small frame, again and again") {
    WsClient client;
    client.connect(server.url());
    say_hello(server, client);
    const auto frame = libreta::compress_message(std::string(libreta::server::kMaxFrameBytes, '['),
                                                 libreta::kDeviceCompressionLevel);
    REQUIRE(frame.has_value());
    REQUIRE(frame->size() < 4096);

    constexpr int kFrames = 8;
    const auto start = Clock::now();
    for (int i = 0; i < kFrames; ++i) REQUIRE(client.send_binary(*frame));
    // Meanwhile another device is answered at once.
    REQUIRE(other.send_text(libreta::encode_message(libreta::Pull{0, 0})));
    CHECK(std::holds_alternative<libreta::Rows>(decode(other.receive(2s))));
    for (int i = 0; i < kFrames; ++i) {
      const auto reply = decode(client.receive(10s));
      REQUIRE(std::holds_alternative<libreta::ProtocolError>(reply));
      const auto& error = std::get<libreta::ProtocolError>(reply);
      CHECK(error.code == libreta::ErrorCode::too_large);
      CHECK_THAT(error.message, Catch::Contains("deeper than 8"));
      CHECK_FALSE(error.fatal);
    }
    // Each costs a decompression and a scan that stops at the ninth byte, not a parse.
    CHECK(Clock::now() - start < 2s);
    // The session goes on.
    REQUIRE(client.send_text(libreta::encode_message(libreta::Pull{0, 0})));
    CHECK(std::holds_alternative<libreta::Rows>(decode(client.receive())));
  }
}

TEST_CASE("transport: anonymous connections beyond the limit are refused with 503",
          "[server][transport][limits]") {
  auto options = quiet();
  options.max_anonymous_connections = 3;
  ServerFixture server(options);
  const auto anonymous_count = [&] { return healthz(server)["anonymous_connections"]; };
  const auto wait_for_anonymous = [&](std::uint64_t count) {
    const auto deadline = Clock::now() + 5s;
    while (anonymous_count() != count && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return anonymous_count() == count;
  };
  const std::string upgrade =
      "GET /sync HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

  // A device that said hello is not anonymous and does not count.
  WsClient greeted;
  greeted.connect(server.url());
  say_hello(server, greeted);

  std::vector<std::unique_ptr<WsClient>> anonymous;
  for (int i = 0; i < 3; ++i) {
    anonymous.push_back(std::make_unique<WsClient>());
    anonymous.back()->connect(server.url());
  }
  REQUIRE(wait_for_anonymous(3));

  const auto refused = http_raw(server.port(), upgrade);
  CHECK(refused.status == 503);
  CHECK(nlohmann::json::parse(refused.body) ==
        nlohmann::json{{"error", "too_many_anonymous_connections"}});
  WsClient one_more;
  CHECK_THROWS(one_more.connect(server.url()));

  // Authenticated devices are still served.
  REQUIRE(greeted.send_text(libreta::encode_message(libreta::Pull{0, 0})));
  CHECK(std::holds_alternative<libreta::Rows>(decode(greeted.receive())));

  SECTION("a hello frees a place") {
    say_hello(server, *anonymous.front());
  }
  SECTION("a connection that ends frees its place") {
    anonymous.front()->close();
  }
  REQUIRE(wait_for_anonymous(2));
  WsClient next;
  next.connect(server.url());
  say_hello(server, next);
}

TEST_CASE(
    "transport: unfinished messages beyond the incoming budget close the connection "
    "that would exceed it",
    "[server][transport][limits]") {
  auto options = quiet();
  options.max_incoming_bytes = 1u << 20;
  // The closed connection's peer is still in the middle of its message and cannot answer
  // the close handshake; the server gives up on it after this.
  options.handshake_timeout = 500ms;
  ServerFixture server(options);
  const auto incoming_bytes = [&] { return healthz(server)["incoming_bytes"].get<std::size_t>(); };

  WsClient first;
  first.connect(server.url());
  say_hello(server, first, "ana");
  WsClient second;
  second.connect(server.url());
  say_hello(server, second, "bruno");
  WsClient bystander;
  bystander.connect(server.url());
  say_hello(server, bystander, "carla");

  // Two devices stall in the middle of a 4 MiB message: the first holds 3/4 of the budget.
  const std::size_t held = 768u << 10;
  REQUIRE(first.send_unfinished_frame(4u << 20, std::string(held, ' ')));
  const auto deadline = Clock::now() + 5s;
  while (incoming_bytes() < held && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  REQUIRE(incoming_bytes() == held);

  second.send_unfinished_frame(4u << 20, std::string(512u << 10, ' '));
  REQUIRE(second.wait_closed());
  CHECK(second.close_code() == kCloseTryAgainLater);
  CHECK(incoming_bytes() == held);

  // What is left of the budget still serves everyone else.
  REQUIRE(bystander.send_text(libreta::encode_message(libreta::Pull{0, 0})));
  CHECK(std::holds_alternative<libreta::Rows>(decode(bystander.receive())));
  CHECK_FALSE(first.closed());

  // The stalled message's bytes go back to the budget with its connection.
  first.close(1s);
  const auto released = Clock::now() + 5s;
  while (incoming_bytes() != 0 && Clock::now() < released) std::this_thread::sleep_for(10ms);
  CHECK(incoming_bytes() == 0);
}

TEST_CASE("transport: a connection that never says hello is closed after the hello timeout",
          "[server][transport][timeout]") {
  auto options = quiet();
  options.hello_timeout = 300ms;
  ServerFixture server(options);

  WsClient silent;
  const auto start = Clock::now();
  silent.connect(server.url());
  const auto reply = decode(silent.receive(10s));
  REQUIRE(std::holds_alternative<libreta::ProtocolError>(reply));
  const auto& error = std::get<libreta::ProtocolError>(reply);
  CHECK(error.code == libreta::ErrorCode::timeout);
  CHECK(error.fatal);
  REQUIRE(silent.wait_closed(10s));
  CHECK(silent.close_code() == kClosePolicy);
  const auto waited = Clock::now() - start;
  CHECK(waited >= 250ms);
  CHECK(waited < 5s);

  SECTION("a connection that said hello in time stays open past it") {
    WsClient client;
    client.connect(server.url());
    say_hello(server, client);
    CHECK_FALSE(client.receive(options.hello_timeout * 3).has_value());
    CHECK_FALSE(client.closed());
  }
}

TEST_CASE("transport: a live client survives the idle timeout thanks to keep-alive pings",
          "[server][transport][timeout]") {
  GreetedClient greeted(300ms);
  WsClient& client = greeted.client;
  // The client reads (and so answers pings) but has nothing to say for three idle periods.
  CHECK_FALSE(client.receive(greeted.idle_timeout * 3).has_value());
  CHECK_FALSE(client.closed());
  CHECK(client.pings_received() >= 1);
}

TEST_CASE("transport: a client that answers nothing is dropped after the idle timeout",
          "[server][transport][timeout]") {
  GreetedClient greeted(300ms);
  const auto start = Clock::now();
  // The client does not read from here on: the server's ping goes unanswered, as it would
  // to a device whose network vanished.
  REQUIRE(wait_for_connections(greeted.server, 0));
  const auto waited = Clock::now() - start;
  CHECK(waited >= 300ms);
  CHECK(waited < 5s);
}

TEST_CASE("transport: a client that keeps talking is not pinged by the server",
          "[server][transport][timeout]") {
  // Pings cost a fleet of idle devices its CPU at rest (docs/performance.md, "What limits each
  // figure"): the server pings only a connection that has been silent for half the idle
  // timeout.
  // Long enough that a client stalled by a loaded machine for less than half of it (600 ms)
  // still counts as talking; Beast's keep-alive pinged every 600 ms whatever it heard.
  GreetedClient greeted(1200ms);
  WsClient& client = greeted.client;
  // Two idle periods in which the client pings every 50 ms, as a device does at its own
  // pace, and reads in between.
  const auto until = Clock::now() + greeted.idle_timeout * 2;
  while (Clock::now() < until) {
    REQUIRE(client.ping());
    CHECK_FALSE(client.receive(50ms).has_value());
  }
  CHECK_FALSE(client.closed());
  CHECK(client.pings_received() == 0);
}

TEST_CASE("transport: a binary frame is answered with a protocol error", "[server][transport]") {
  ServerFixture server(quiet());
  WsClient client;
  client.connect(server.url());
  REQUIRE(client.send_binary(std::string("\x01\x02\x03", 3)));
  const auto reply = decode(client.receive());
  CHECK(std::holds_alternative<libreta::ProtocolError>(reply));
}

TEST_CASE("transport: a client whose outgoing queue exceeds the limit is dropped",
          "[server][transport][limits]") {
  auto options = quiet();
  options.max_queued_bytes = 16;  // smaller than any answer
  ServerFixture server(options);
  WsClient client;
  client.connect(server.url());
  REQUIRE(client.send_binary("x"));  // its error answer does not fit
  REQUIRE(client.wait_closed());
  CHECK_FALSE(client.close_code().has_value());  // dropped, not closed politely
  CHECK(healthz(server)["status"] == "ok");
}

TEST_CASE("transport: close_all_connections drops every WebSocket and the server goes on",
          "[server][transport]") {
  ServerFixture server(quiet());
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    clients.back()->connect(server.url());
  }
  say_hello(server, *clients.front());
  REQUIRE(wait_for_connections(server, 3));

  server.close_all_connections();
  for (auto& client : clients) CHECK(client->wait_closed());

  WsClient again;
  again.connect(server.url());
  say_hello(server, again);
}

TEST_CASE("transport: stop() with clients connected returns promptly and closes them",
          "[server][transport][shutdown]") {
  SECTION("clients that answer the close handshake get going_away") {
    ServerFixture server(quiet());
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 3; ++i) {
      clients.push_back(std::make_unique<WsClient>());
      clients.back()->connect(server.url());
    }
    say_hello(server, *clients.front());
    REQUIRE(wait_for_connections(server, 3));

    const auto start = Clock::now();
    auto stopping = std::async(std::launch::async, [&] { server.stop(); });
    for (auto& client : clients) {
      REQUIRE(client->wait_closed(10s));
      CHECK(client->close_code() == kCloseGoingAway);
    }
    REQUIRE(stopping.wait_for(10s) == std::future_status::ready);
    stopping.get();
    CHECK(Clock::now() - start < 3s);
  }

  SECTION("clients that do not answer are dropped after the shutdown timeout") {
    auto options = quiet();
    options.shutdown_timeout = 300ms;
    ServerFixture server(options);
    WsClient deaf;
    deaf.connect(server.url());
    REQUIRE(wait_for_connections(server, 1));

    const auto start = Clock::now();
    server.stop();  // `deaf` runs no handler meanwhile: it answers nothing
    CHECK(Clock::now() - start < 3s);
    CHECK(deaf.wait_closed());
  }
}

TEST_CASE("fixture: restart() comes back on the same port with the same database",
          "[server][fixture]") {
  ServerFixture server(quiet());
  const auto port = server.port();
  const std::string url = server.url();
  const std::string token = server.create_token("carla");
  WsClient before;
  before.connect(url);
  say_hello_with(before, token);

  server.restart();
  CHECK(server.port() == port);
  CHECK(before.wait_closed());

  WsClient after;
  after.connect(url);
  say_hello_with(after, token);  // the token is in the reopened database
}
