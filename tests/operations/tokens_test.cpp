// Tokens over time: one past its expiry is refused, and a device connected when it expires is
// cut; a running server records when each token was last used.

#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "e2e/device.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/server/tokens.hpp"
#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

using namespace libreta;
using namespace libreta::test;
using namespace std::chrono_literals;

namespace {

// A token for `user` stored with an expiry `expires_in` from now (negative: already past).
std::string token_expiring(ServerFixture& server, const std::string& user,
                           std::chrono::milliseconds expires_in) {
  auto token = server::make_token(user, server::Role::seller, wall_ms());
  token.record.expires_ms =
      static_cast<std::uint64_t>(static_cast<std::int64_t>(wall_ms()) + expires_in.count());
  server.store().add_token(token.record);
  return token.secret;
}

std::optional<server::TokenRecord> token_of(ServerFixture& server, const std::string& user) {
  for (auto& token : server.store().tokens()) {
    if (token.user == user) return token;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("tokens: an expired token is refused with bad_token", "[operations][tokens]") {
  ServerFixture server;
  WsClient client;
  client.connect(server.url());
  Hello hello;
  hello.schema = kCustomerBookSchemaVersion;
  hello.replica = new_replica_id();
  hello.token = token_expiring(server, "ana", -1s);
  REQUIRE(client.send_text(encode_message(hello)));
  const auto frame = client.receive();
  REQUIRE(frame.has_value());
  auto message = decode_message(*frame);
  REQUIRE(message.ok());
  const auto* error = std::get_if<ProtocolError>(&message.value());
  REQUIRE(error != nullptr);
  CHECK(error->code == ErrorCode::bad_token);
  CHECK(error->message.find("expired") != std::string::npos);
  CHECK(client.wait_closed());
}

TEST_CASE("tokens: a device connected when its token expires is cut within seconds",
          "[operations][tokens]") {
  ServerFixture server;
  Device ana(server, token_expiring(server, "ana", 2s));
  ana.sync().start();
  REQUIRE(ana.sync().wait_until_synced(kDeadline));
  // The token watcher looks every second: the session ends, and reconnecting is refused.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  auto refused = [&] {
    const auto error = ana.status().last_error;
    return error && error->code == ErrorCode::bad_token;
  };
  while (!refused() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // polling a status, with a deadline
  }
  REQUIRE(refused());
  CHECK(ana.status().last_error->message.find("expired") != std::string::npos);
  CHECK_FALSE(ana.status().connected);
}

TEST_CASE("tokens: the last use of each token is recorded while serving", "[operations][tokens]") {
  ServerFixture server;
  const std::string secret = server.create_token("ana", server::Role::seller);
  server.create_token("ben", server::Role::seller);
  REQUIRE_FALSE(token_of(server, "ana")->last_used_ms.has_value());
  const std::uint64_t before = wall_ms();
  Device ana(server, secret);
  ana.sync().start();
  REQUIRE(ana.sync().wait_until_synced(kDeadline));
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!token_of(server, "ana")->last_used_ms && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // the watcher writes once a second
  }
  const auto ana_token = token_of(server, "ana");
  REQUIRE(ana_token->last_used_ms.has_value());
  CHECK(*ana_token->last_used_ms >= before);
  CHECK(*ana_token->last_used_ms <= wall_ms());
  CHECK_FALSE(token_of(server, "ben")->last_used_ms.has_value());  // never used
}
