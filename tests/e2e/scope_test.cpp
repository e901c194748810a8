// End to end, per-seller scope: two sellers and a manager, each a real replica file with its
// own sync session against a real server. Each seller's replica must hold exactly their part
// of the server, row by row; reassignment, forged writes, revocation and the session limits
// on a real connection.
#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <thread>

#include "e2e/device.hpp"
#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/server/tokens.hpp"
#include "support/ws_client.hpp"

using namespace libreta;
using namespace libreta::client;
using namespace libreta::test;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The seller's replica holds exactly the rows of their scope on the server, row by row.
void require_holds_exactly_scope(Device& device, ServerFixture& server, const std::string& user) {
  const auto held = lines_of(device.app().canonical_dump());
  const auto scope = lines_of(server.store().canonical_dump_of_scope(user));
  REQUIRE(held.size() == scope.size());
  for (std::size_t i = 0; i < held.size(); ++i) {
    INFO("row " << i << " of " << user << "'s book");
    REQUIRE(held[i] == scope[i]);
  }
}

// Waits until the device's local writes are acknowledged (read from its file: the session's
// status may not have seen the last write yet) and the session is in sync.
void require_pushed(Device& device) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (device.app().pending_count() > 0) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    device.sync().wait_until([](const SyncStatus& s) { return s.pending_changes == 0; }, 20ms);
  }
  REQUIRE(device.sync().wait_until_synced(kDeadline));
}

// A manager's device: pushed, and has read the server's stream up to its end.
void require_caught_up(Device& device, ServerFixture& server) {
  require_pushed(device);
  const std::uint64_t last = server.service().stats().last_seq;
  REQUIRE(device.sync().wait_until(
      [&](const SyncStatus& s) { return is_synced(s) && s.cursor >= last; }, kDeadline));
}

// A seller's device: pushed, and holds exactly their scope of the server, row by row. (Its
// cursor moves only with changes to its scope, so it is no measure of being caught up.)
void require_holds_scope(Device& device, ServerFixture& server, const std::string& user) {
  require_pushed(device);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (device.app().canonical_dump() != server.store().canonical_dump_of_scope(user) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);  // polls the condition until the deadline
  }
  require_holds_exactly_scope(device, server, user);
}

// Versions order edits by their clock's milliseconds: waits until the wall clock has moved on,
// so that the next edit is later than the last one on any device here.
void let_time_pass() {
  const std::uint64_t start = wall_ms();
  while (wall_ms() < start + 3) std::this_thread::sleep_for(1ms);
}

std::string add_customer_for(Device& office, const std::string& name, const std::string& owner) {
  Customer customer;
  customer.name = name;
  customer.status = "active";
  customer.city = "Sevilla";
  customer.owner = owner;
  const std::string id = office.app().create(customer);
  Contact contact;
  contact.customer_id = id;
  contact.name = "Rep of " + name;
  office.app().create(contact);
  office.sync().nudge();
  return id;
}

Message decode_frame(const std::optional<std::string>& frame) {
  REQUIRE(frame);
  auto message = decode_message(*frame);
  REQUIRE(message.ok());
  return std::move(message).value();
}

std::string hello_frame(const std::string& token, const std::string& replica = new_replica_id()) {
  Hello hello;
  hello.schema = kCustomerBookSchemaVersion;
  hello.replica = replica;
  hello.token = token;
  return encode_message(hello);
}

}  // namespace

TEST_CASE("e2e scope: each seller's replica holds only their customers, the manager all",
          "[e2e][scope]") {
  ServerFixture server;
  Device office(server, server.create_token("marta", server::Role::manager));
  office.sync().start();
  const std::string ana_customer = add_customer_for(office, "Talleres Ana", "ana");
  add_customer_for(office, "Ferretería Ana", "ana");
  const std::string luis_customer = add_customer_for(office, "Bodegas Luis", "luis");
  add_customer_for(office, "Sin vendedor", "");
  require_caught_up(office, server);

  Device ana(server, server.create_token("ana", server::Role::seller));
  Device luis(server, server.create_token("luis", server::Role::seller));
  ana.sync().start();
  luis.sync().start();
  require_holds_scope(ana, server, "ana");
  require_holds_scope(luis, server, "luis");
  require_holds_exactly_scope(ana, server, "ana");
  require_holds_exactly_scope(luis, server, "luis");
  CHECK(ana.app().get(tables::customers, ana_customer));
  CHECK_FALSE(ana.app().get(tables::customers, luis_customer));
  CHECK(ana.app().list_customers({}).size() == 2);

  // A customer Ana creates on the road is hers: the office sees it, Luis does not.
  const std::string created = ana.add_customer("Nuevo de Ana");
  require_holds_scope(ana, server, "ana");
  CHECK(ana.app().reported_refusals().empty());
  require_caught_up(office, server);
  require_holds_scope(luis, server, "luis");
  CHECK(office.field(created, "owner") == Value("ana"));
  CHECK(ana.field(created, "owner") == Value("ana"));
  CHECK_FALSE(luis.app().get(tables::customers, created));
  require_holds_exactly_scope(ana, server, "ana");
  require_holds_exactly_scope(luis, server, "luis");
  CHECK(office.app().canonical_dump() == server.store().canonical_dump());
}

TEST_CASE("e2e scope: reassignment with the old owner's pending edits", "[e2e][scope][reassign]") {
  ServerFixture server;
  Device office(server, server.create_token("marta", server::Role::manager));
  office.sync().start();
  const std::string customer = add_customer_for(office, "Talleres Ana", "ana");
  require_caught_up(office, server);
  Device ana(server, server.create_token("ana", server::Role::seller));
  Device luis(server, server.create_token("luis", server::Role::seller));
  ana.sync().start();
  luis.sync().start();
  require_holds_scope(ana, server, "ana");
  require_holds_scope(luis, server, "luis");
  REQUIRE(ana.app().get(tables::customers, customer));

  // Ana goes offline and edits her customer.
  ana.sync().stop();
  ana.set(customer, "phone", Value("954000111"));
  let_time_pass();
  // Then the office gives it to Luis.
  office.set(customer, "owner", Value("luis"));
  require_caught_up(office, server);
  require_holds_scope(luis, server, "luis");
  REQUIRE(luis.app().get(tables::customers, customer));
  // Still offline, Ana edits it again: after the reassignment, before her device can know.
  let_time_pass();
  ana.set(customer, "notes", Value("visit on Monday"));

  ana.sync().start();
  require_holds_scope(ana, server, "ana");
  require_holds_scope(luis, server, "luis");
  // Both edits were made before her device could know (whatever its clock says): they
  // reached Luis, and nothing was refused.
  CHECK(luis.field(customer, "phone") == Value("954000111"));
  CHECK(luis.field(customer, "notes") == Value("visit on Monday"));
  const auto refusals = ana.app().reported_refusals();
  std::string reasons;
  for (const auto& r : refusals) reasons += r.field + ": " + r.message + "; ";
  INFO(reasons);
  CHECK(refusals.empty());
  // Her device no longer holds the customer nor its contact.
  CHECK_FALSE(ana.app().get(tables::customers, customer));
  CHECK(ana.app().canonical_dump().find(customer) == std::string::npos);
  require_holds_exactly_scope(ana, server, "ana");
  require_holds_exactly_scope(luis, server, "luis");
}

TEST_CASE("e2e scope: a seller's refused change is undone on her device and stays listed",
          "[e2e][scope][refusals]") {
  ServerFixture server;
  Device office(server, server.create_token("marta", server::Role::manager));
  office.sync().start();
  const std::string customer = add_customer_for(office, "Talleres Ana", "ana");
  require_caught_up(office, server);
  Device ana(server, server.create_token("ana", server::Role::seller));
  ana.sync().start();
  require_holds_scope(ana, server, "ana");

  // Only a manager gives customers away: her change of owner is refused, and her device
  // shows her as the owner again, as the server and the office do.
  let_time_pass();
  ana.set(customer, "owner", Value("bob"));
  ana.set(customer, "city", Value("Zamora"));  // in the same push, accepted
  require_pushed(ana);
  CHECK(ana.field(customer, "owner") == Value("ana"));
  CHECK(ana.field(customer, "city") == Value("Zamora"));
  require_holds_exactly_scope(ana, server, "ana");
  require_caught_up(office, server);
  CHECK(office.field(customer, "owner") == Value("ana"));
  CHECK(office.app().canonical_dump() == server.store().canonical_dump());

  // The refusal stays for her to see, with its reason.
  const auto refusals = ana.app().reported_refusals();
  REQUIRE(refusals.size() == 1);
  CHECK(refusals[0].row == customer);
  CHECK(refusals[0].field == "owner");
  CHECK(refusals[0].code == ErrorCode::forbidden);
  CHECK(refusals[0].message.find("only a manager") != std::string::npos);

  // Still the same after a restart of her device.
  ana.sync().stop();
  ana.sync().start();
  require_holds_scope(ana, server, "ana");
  CHECK(ana.field(customer, "owner") == Value("ana"));
}

TEST_CASE("e2e scope: a forged write to another seller's customer is refused; others go on",
          "[e2e][scope]") {
  ServerFixture server;
  Device office(server, server.create_token("marta", server::Role::manager));
  office.sync().start();
  const std::string luis_customer = add_customer_for(office, "Bodegas Luis", "luis");
  require_caught_up(office, server);
  Device luis(server, server.create_token("luis", server::Role::seller));
  luis.sync().start();
  require_holds_scope(luis, server, "luis");
  const std::string before = server.store().canonical_dump();

  WsClient mallory;
  mallory.connect(server.url());
  const std::string replica = new_replica_id();
  REQUIRE(
      mallory.send_text(hello_frame(server.create_token("ana", server::Role::seller), replica)));
  REQUIRE(std::holds_alternative<Welcome>(decode_frame(mallory.receive())));
  Push push;
  push.changes.push_back({1, Change{tables::customers,
                                    luis_customer,
                                    "phone",
                                    {},
                                    Value("666"),
                                    Version{Hlc::from_parts(wall_ms(), 0), replica},
                                    {}}});
  REQUIRE(mallory.send_text(encode_message(push)));
  const Message answer = decode_frame(mallory.receive());
  REQUIRE(std::holds_alternative<Ack>(answer));
  const Ack& ack = std::get<Ack>(answer);
  REQUIRE(ack.refused.size() == 1);
  CHECK(ack.refused[0].code == ErrorCode::forbidden);
  CHECK(server.store().canonical_dump() == before);

  // Luis keeps syncing as if nothing happened.
  luis.set(luis_customer, "city", Value("Jerez"));
  require_holds_scope(luis, server, "luis");
  require_caught_up(office, server);
  CHECK(office.field(luis_customer, "city") == Value("Jerez"));
}

TEST_CASE("e2e scope: a revoked token is cut off at once and cannot come back", "[e2e][auth]") {
  server::SyncServiceOptions service_options;
  service_options.revocation_check = 50ms;
  ServerFixture server(ServerFixture::quiet_options(), service_options);
  auto token = server::make_token("ana", server::Role::seller, wall_ms());
  server.store().add_token(token.record);
  Device ana(server, token.secret);
  ana.sync().start();
  require_holds_scope(ana, server, "ana");
  REQUIRE(server.store().revoke_token(token.record.id, wall_ms()));
  REQUIRE(ana.sync().wait_until(
      [](const SyncStatus& s) {
        return !s.connected && s.last_error && s.last_error->code == ErrorCode::bad_token;
      },
      kDeadline));
  // The device does not get back in.
  ana.add_customer("After revocation");
  CHECK_FALSE(ana.sync().wait_until([](const SyncStatus& s) { return s.connected; }, 1s));
  CHECK(ana.status().pending_changes >= 1);
}

TEST_CASE("e2e limits: connections per token and message rate on a real connection",
          "[e2e][limits]") {
  server::SyncServiceOptions service_options;
  service_options.max_connections_per_token = 2;
  service_options.max_messages_per_second = 5;
  service_options.message_burst = 5;
  ServerFixture server(ServerFixture::quiet_options(), service_options);
  const std::string token = server.create_token("ana", server::Role::seller);
  WsClient first, second, third;
  for (WsClient* client : {&first, &second}) {
    client->connect(server.url());
    REQUIRE(client->send_text(hello_frame(token)));
    REQUIRE(std::holds_alternative<Welcome>(decode_frame(client->receive())));
  }
  third.connect(server.url());
  REQUIRE(third.send_text(hello_frame(token)));
  const Message over = decode_frame(third.receive());
  REQUIRE(std::holds_alternative<ProtocolError>(over));
  CHECK(std::get<ProtocolError>(over).code == ErrorCode::rate_limited);
  CHECK(third.wait_closed());

  // A flood on one connection: it is closed with rate_limited; the other is untouched.
  bool limited = false;
  for (int i = 0; i < 20 && !limited; ++i) {
    if (!first.send_text(encode_message(Pull{0, 0}))) break;
    const Message reply = decode_frame(first.receive());
    if (const auto* error = std::get_if<ProtocolError>(&reply)) {
      CHECK(error->code == ErrorCode::rate_limited);
      limited = true;
    }
  }
  CHECK(limited);
  CHECK(first.wait_closed());
  REQUIRE(second.send_text(encode_message(Pull{0, 0})));
  CHECK(std::holds_alternative<Rows>(decode_frame(second.receive())));
}
