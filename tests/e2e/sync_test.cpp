// End to end: real replicas in temporary directories, each with its own SyncSession, against
// a real server on an ephemeral port. Every wait is on a condition with a deadline.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include "e2e/device.hpp"
#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/server/store.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_client.hpp"

using namespace std::chrono_literals;
using namespace libreta;
using namespace libreta::client;
using libreta::test::Device;
using libreta::test::EventLog;
using libreta::test::kBootstrapDeadline;
using libreta::test::kDeadline;
using libreta::test::ServerFixture;
using libreta::test::TempDir;
using libreta::test::wall_ms;
using libreta::test::WsClient;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Waits until every device has pushed everything, then until each has pulled everything
// the server holds (its cursor reached the server's last sequence).
void require_converged(ServerFixture& server, const std::vector<Device*>& devices) {
  for (Device* device : devices) REQUIRE(device->sync().wait_until_synced(kDeadline));
  const std::uint64_t last = server.service().stats().last_seq;
  for (Device* device : devices) {
    REQUIRE(device->sync().wait_until(
        [&](const SyncStatus& s) { return is_synced(s) && s.cursor >= last; }, kDeadline));
  }
}

std::size_t count_rows(server::Store& store, const std::string& table) {
  std::size_t count = 0;
  for (const auto& row : store.read_page(0, 1'000'000, nullptr).rows) count += row.table == table;
  return count;
}

// Writes `count` customers straight into the server's store, in one transaction, as if
// another device had pushed them: a bootstrap to download without minutes of pushing.
std::vector<std::string> seed_customers(server::Store& store, std::size_t count) {
  auto writer = store.begin_write();
  std::uint64_t seq = writer->last_seq();
  const std::uint64_t now = wall_ms();
  std::vector<std::string> ids;
  ids.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    server::ServerRow row;
    row.table = tables::customers;
    row.id = new_row_id(now);
    row.customer = row.id;
    const Version version{Hlc::from_parts(now, 0), "seed"};
    row.fields = Record{{"kind", Value("company")},
                        {"name", Value("Cliente " + std::to_string(i))},
                        {"status", Value("active")},
                        {"city", Value(i % 2 ? "Sevilla" : "Málaga")}};
    row.seq = ++seq;
    for (const auto& [field, value] : row.fields) {
      row.versions.set_field(field, version);
      row.key_seqs[field] = row.seq;
    }
    writer->save_row(row);
    ids.push_back(row.id);
  }
  writer->set_last_seq(seq);
  writer->commit();
  return ids;
}

Message decode(const std::optional<std::string>& frame) {
  REQUIRE(frame.has_value());
  auto message = decode_message(*frame);
  REQUIRE(message.ok());
  return std::move(message).value();
}

ProtocolError require_error(const std::optional<std::string>& frame) {
  const Message message = decode(frame);
  REQUIRE(std::holds_alternative<ProtocolError>(message));
  return std::get<ProtocolError>(message);
}

std::string hello_frame(const std::string& token, int protocol = kProtocolVersion) {
  Hello hello;
  hello.protocol = protocol;
  hello.schema = kCustomerBookSchemaVersion;
  hello.replica = new_replica_id();
  hello.token = token;
  return encode_message(hello);
}

}  // namespace

TEST_CASE("sync: offline edits of different fields of one customer both survive", "[e2e][sync]") {
  ServerFixture server;
  Device ana(server, server.create_token("ana"));
  Device ben(server, server.create_token("ben"));
  const std::string id = ana.add_customer("Ferretería Peña S.L.");
  ana.sync().start();
  REQUIRE(ana.sync().wait_until_synced(kDeadline));
  ben.sync().start();
  REQUIRE(ben.sync().wait_until_synced(kDeadline));
  REQUIRE(ben.app().customer(id).has_value());
  ana.sync().stop();
  ben.sync().stop();

  // Both on the road without coverage.
  ana.set(id, "phone", "+34 954 000 111");
  ben.set(id, "email", "compras@pena.es");
  ana.sync().start();
  ben.sync().start();
  require_converged(server, {&ana, &ben});

  for (Device* device : {&ana, &ben}) {
    CHECK(device->field(id, "phone") == Value("+34 954 000 111"));
    CHECK(device->field(id, "email") == Value("compras@pena.es"));
    CHECK(device->app().canonical_dump() == server.store().canonical_dump());
  }
  CHECK(server.store().conflicts().empty());
}

TEST_CASE("sync: concurrent edits of one field converge on the later one and reach the inbox",
          "[e2e][sync]") {
  ServerFixture server;
  // Ben's device clock is two seconds ahead: his edit is the later one.
  auto ana_clock = std::make_shared<FakeClock>(wall_ms());
  auto ben_clock = std::make_shared<FakeClock>(wall_ms() + 2000);
  Device ana(server, server.create_token("ana"), ana_clock);
  Device ben(server, server.create_token("ben"), ben_clock);
  const std::string id = ana.add_customer("Distribuciones Núñez");
  ana.sync().start();
  REQUIRE(ana.sync().wait_until_synced(kDeadline));
  ben.sync().start();
  REQUIRE(ben.sync().wait_until_synced(kDeadline));
  ana.sync().stop();
  ben.sync().stop();

  ana.set(id, "phone", "+34 111 111 111");
  ben.set(id, "phone", "+34 222 222 222");
  // Ana's push arrives first; Ben's, based on the version before Ana's, is the concurrent one.
  ana.sync().start();
  REQUIRE(ana.sync().wait_until_synced(kDeadline));
  ben.sync().start();
  require_converged(server, {&ana, &ben});

  for (Device* device : {&ana, &ben}) {
    CHECK(device->field(id, "phone") == Value("+34 222 222 222"));
    CHECK(device->app().canonical_dump() == server.store().canonical_dump());
  }
  const auto conflicts = server.store().conflicts();
  REQUIRE(conflicts.size() == 1);
  const auto& conflict = conflicts.front();
  CHECK(conflict.table == tables::customers);
  CHECK(conflict.row == id);
  CHECK(conflict.field == "phone");
  CHECK(conflict.kept_value == Value("+34 222 222 222"));
  CHECK(conflict.kept_user == "ben");
  CHECK(conflict.lost_value == Value("+34 111 111 111"));
  CHECK(conflict.lost_user == "ana");
  CHECK(conflict.kept_version.replica == ben.app().replica_id());
  CHECK(conflict.lost_version.replica == ana.app().replica_id());
  // Ben's session was told, and kept the notice in his replica.
  CHECK(ben.events().wait_for([](const EventLog& log) { return log.conflicts_reported() == 1; },
                              kDeadline));
  const auto reported = ben.app().reported_conflicts();
  REQUIRE(reported.size() == 1);
  CHECK(reported.front().lost == Value("+34 111 111 111"));
}

TEST_CASE("sync: the device whose edit lost a conflict learns of it, whoever pushed second",
          "[e2e][sync][conflict]") {
  ServerFixture server;
  Device ana(server, server.create_token("ana"));
  Device ben(server, server.create_token("ben"));
  ana.sync().start();
  ben.sync().start();
  const std::string id = ana.add_customer("Conflictos S.A.");
  require_converged(server, {&ana, &ben});
  ana.sync().stop();
  ben.sync().stop();

  ana.set(id, "phone", "+34 111 111 111");
  // Ben edits later, so his version is greater: his value wins wherever it arrives.
  const std::uint64_t after_ana = wall_ms();
  while (wall_ms() <= after_ana) std::this_thread::sleep_for(1ms);
  ben.set(id, "phone", "+34 222 222 222");

  SECTION("the loser pushed first") {
    ana.sync().start();
    REQUIRE(ana.sync().wait_until_synced(kDeadline));
    ben.sync().start();
    require_converged(server, {&ana, &ben});
  }
  SECTION("the loser pushed second") {
    ben.sync().start();
    REQUIRE(ben.sync().wait_until_synced(kDeadline));
    ana.sync().start();
    require_converged(server, {&ana, &ben});
  }
  REQUIRE(server.store().conflicts().size() == 1);
  for (Device* device : {&ana, &ben}) CHECK(device->field(id, "phone") == Value("+34 222 222 222"));

  // Ana's device lists the edit she lost, with who kept the other value; Ben's lists it only
  // among the ones he won.
  REQUIRE(ana.events().wait_for([](const EventLog& log) { return log.conflicts_reported() >= 1; },
                                kDeadline));
  const auto lost = ana.app().reported_conflicts(ConflictSide::lost);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].row == id);
  CHECK(lost[0].field == "phone");
  CHECK(lost[0].lost == Value("+34 111 111 111"));
  CHECK(lost[0].kept == Value("+34 222 222 222"));
  CHECK(lost[0].kept_user == "ben");
  CHECK(lost[0].kind == "concurrent_edit");
  CHECK(ana.app().reported_conflicts(ConflictSide::won).empty());
  CHECK(ben.app().reported_conflicts(ConflictSide::lost).empty());
  CHECK(ben.app().reported_conflicts(ConflictSide::won).size() <= 1);

  // Told once: a restart of her session does not bring it again.
  ana.sync().stop();
  ana.sync().start();
  require_converged(server, {&ana});
  CHECK(ana.app().reported_conflicts().size() == 1);
}

TEST_CASE("sync: a conflict recorded while the losing device is connected reaches it live",
          "[e2e][sync][conflict]") {
  ServerFixture server;
  Device ana(server, server.create_token("ana"));
  Device ben(server, server.create_token("ben"));
  ana.sync().start();
  const std::string id = ana.add_customer("En vivo S.L.");
  REQUIRE(ana.sync().wait_until_synced(kDeadline));
  ben.sync().start();
  require_converged(server, {&ana, &ben});
  ben.sync().stop();
  // Ben, offline, edits the notes on a version he saw; Ana then edits them online.
  ben.set(id, "notes", "de Ben");
  const std::uint64_t after_ben = wall_ms();
  while (wall_ms() <= after_ben) std::this_thread::sleep_for(1ms);
  ana.set(id, "notes", "de Ana");
  REQUIRE(ana.sync().wait_until_synced(kDeadline));
  // Ben pushes second and loses; Ana's device, connected all along, is not told (she won).
  // Ben's ack tells him; his own `conflicts` must not repeat it.
  ben.sync().start();
  require_converged(server, {&ana, &ben});
  REQUIRE(ben.events().wait_for([](const EventLog& log) { return log.conflicts_reported() >= 1; },
                                kDeadline));
  CHECK(ben.app().reported_conflicts(ConflictSide::lost).size() == 1);
  CHECK(ana.app().reported_conflicts(ConflictSide::lost).empty());

  // Now Ana, still connected, loses one: Ben edits offline after her, she edits online first.
  ben.sync().stop();
  ana.set(id, "city", "Burgos");
  REQUIRE(ana.sync().wait_until_synced(kDeadline));
  const std::uint64_t after_ana = wall_ms();
  while (wall_ms() <= after_ana) std::this_thread::sleep_for(1ms);
  ben.app().update(tables::customers, id, Record{{"city", Value("Soria")}});
  // Ben's base is Ana's Burgos only if he heard of it; he did not: concurrent.
  ben.sync().start();
  require_converged(server, {&ana, &ben});
  REQUIRE(ana.events().wait_for([](const EventLog& log) { return log.conflicts_reported() >= 1; },
                                kDeadline));
  const auto lost = ana.app().reported_conflicts(ConflictSide::lost);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].field == "city");
  CHECK(lost[0].kept == Value("Soria"));
  CHECK(lost[0].kept_user == "ben");
}

TEST_CASE("sync: a client reconnects by itself after a server restart and its changes arrive once",
          "[e2e][sync]") {
  ServerFixture server;
  Device ana(server, server.create_token("ana"));
  const std::string first = ana.add_customer("Cliente inicial");
  ana.sync().start();
  REQUIRE(ana.sync().wait_until_synced(kDeadline));

  // Writes right before the server goes away: their push may be in flight and its ack lost.
  for (int i = 0; i < 10; ++i) ana.add_customer("Antes del corte " + std::to_string(i));
  server.stop();
  REQUIRE(ana.sync().wait_until([](const SyncStatus& s) { return !s.connected; }, kDeadline));
  const std::uint64_t reconnects_before = ana.status().reconnects;

  // Offline: new customers and repeated edits of one field.
  for (int i = 0; i < 10; ++i) ana.add_customer("Durante el corte " + std::to_string(i));
  for (int i = 1; i <= 3; ++i) ana.set(first, "notes", "visita " + std::to_string(i));
  REQUIRE(
      ana.sync().wait_until([](const SyncStatus& s) { return s.pending_changes > 0; }, kDeadline));

  server.restart();
  REQUIRE(ana.sync().wait_until_synced(kDeadline));
  CHECK(ana.status().reconnects > reconnects_before);
  CHECK(ana.app().pending_count() == 0);

  CHECK(count_rows(server.store(), tables::customers) == 21);
  CHECK(server.store().conflicts().empty());
  const std::uint64_t last = server.service().stats().last_seq;
  REQUIRE(ana.sync().wait_until([&](const SyncStatus& s) { return s.cursor >= last; }, kDeadline));
  CHECK(ana.app().canonical_dump() == server.store().canonical_dump());
  CHECK(ana.field(first, "notes") == Value("visita 3"));
}

TEST_CASE("sync: a bootstrap cut in the middle resumes where it stopped", "[e2e][sync][slow]") {
  constexpr std::size_t kCustomers = 50'000;
  ServerFixture server;
  const std::string token = server.create_token("ana");
  server.stop();
  const auto ids = seed_customers(server.store(), kCustomers);
  server.restart();

  Device fresh(server, token);
  const auto started = SteadyClock::now();
  fresh.sync().start();
  REQUIRE(fresh.sync().wait_until(
      [&](const SyncStatus& s) { return s.rows_received >= kCustomers / 2; }, kBootstrapDeadline));
  server.close_all_connections();
  const SyncStatus at_cut = fresh.status();
  REQUIRE(at_cut.rows_received < kCustomers);
  CHECK(at_cut.rows_expected == kCustomers);

  REQUIRE(fresh.sync().wait_until_synced(kBootstrapDeadline));
  const auto elapsed = SteadyClock::now() - started;
  const SyncStatus done = fresh.status();
  CHECK(done.reconnects >= 1);
  CHECK(done.rows_received >= at_cut.rows_received);  // the same download went on
  const std::uint64_t pulled = fresh.events().pulled_rows_now();
  // Restarting from zero would send at least 1.5 times the rows.
  REQUIRE(pulled < kCustomers * 3 / 2);
  CHECK(pulled == kCustomers);
  CHECK(done.rows_received == kCustomers);
  CHECK(done.rows_expected == kCustomers);  // counted again from where the download resumed

  CustomerFilter all;
  all.limit = kCustomers * 2;
  CHECK(fresh.app().list_customers(all).size() == kCustomers);
  CHECK(fresh.app().customer(ids.front()).has_value());
  CHECK(fresh.app().customer(ids.back()).has_value());
  WARN("bootstrap of " << kCustomers << " customers, cut at " << at_cut.rows_received << " rows: "
                       << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                       << " ms");
}

TEST_CASE("sync: an edit on one connected device reaches another connected device live",
          "[e2e][sync]") {
  ServerFixture server;
  Device ana(server, server.create_token("ana"));
  Device ben(server, server.create_token("ben"));
  const std::string id = ana.add_customer("Talleres Ruiz");
  ana.sync().start();
  ben.sync().start();
  require_converged(server, {&ana, &ben});
  REQUIRE(ben.app().customer(id).has_value());

  for (int round = 1; round <= 3; ++round) {
    const std::string phone = "+34 600 000 00" + std::to_string(round);
    const auto before = ben.events().live_applied_now();
    const auto sent = SteadyClock::now();
    ana.set(id, "phone", phone);
    REQUIRE(ben.events().wait_for([&](const EventLog& log) { return log.live_applied() > before; },
                                  5s));
    const auto latency = SteadyClock::now() - sent;
    CHECK(ben.field(id, "phone") == Value(phone));
    CHECK(latency < 5s);
  }
  // The event names the rows it brought, for an app to refresh what it shows of them.
  const auto live_rows = ben.events().live_rows_now();
  CHECK(live_rows.size() >= 3);
  for (const auto& row : live_rows) CHECK(row == std::string(tables::customers) + "/" + id);
  // Both ways.
  const auto before = ana.events().live_applied_now();
  ben.set(id, "email", "taller@ruiz.es");
  REQUIRE(
      ana.events().wait_for([&](const EventLog& log) { return log.live_applied() > before; }, 5s));
  CHECK(ana.field(id, "email") == Value("taller@ruiz.es"));

  // A write the session is not told about is found at the next outbox check.
  const auto unannounced = ben.events().live_applied_now();
  ana.app().update(tables::customers, id, Record{{"notes", Value("sin aviso")}});
  REQUIRE(ben.events().wait_for(
      [&](const EventLog& log) { return log.live_applied() > unannounced; }, 5s));
  CHECK(ben.field(id, "notes") == Value("sin aviso"));

  const auto stopping = SteadyClock::now();
  ana.sync().stop();
  CHECK(SteadyClock::now() - stopping < 2s);
  CHECK_FALSE(ana.status().running);
}

TEST_CASE("sync: bad frames and bad tokens get clear errors and change nothing", "[e2e][sync]") {
  ServerFixture server;
  Device ana(server, server.create_token("ana"));
  Device ben(server, server.create_token("ben"));
  const std::string id = ana.add_customer("Papelería Gómez");
  ana.sync().start();
  ben.sync().start();
  require_converged(server, {&ana, &ben});
  const std::string dump_before = server.store().canonical_dump();
  const std::uint64_t seq_before = server.service().stats().last_seq;

  SECTION("a malformed frame and an unknown message type, after a good hello") {
    WsClient raw;
    raw.connect(server.url());
    REQUIRE(raw.send_text(hello_frame(server.create_token("mallory"))));
    REQUIRE(std::holds_alternative<Welcome>(decode(raw.receive())));

    REQUIRE(raw.send_text(R"({"type":"push","changes":[{"seq":1,)"));
    const ProtocolError malformed = require_error(raw.receive());
    CHECK(malformed.code == ErrorCode::malformed);
    CHECK_FALSE(malformed.message.empty());
    CHECK_FALSE(malformed.fatal);

    REQUIRE(raw.send_text(R"({"type":"teleport","to":"the office"})"));
    const ProtocolError unknown = require_error(raw.receive());
    CHECK(unknown.code == ErrorCode::unknown_message);
    CHECK(unknown.message.find("teleport") != std::string::npos);
    CHECK_FALSE(raw.closed());
  }

  SECTION("a hello with a bad token") {
    WsClient raw;
    raw.connect(server.url());
    REQUIRE(raw.send_text(hello_frame("lbt_not-a-real-token")));
    const ProtocolError refused = require_error(raw.receive());
    CHECK(refused.code == ErrorCode::bad_token);
    CHECK(refused.fatal);
    CHECK(refused.message.find("token") != std::string::npos);
    CHECK(raw.wait_closed());
  }

  SECTION("a sync session with a bad token reports it and gives up in sync_once") {
    Device intruder(server, "lbt_not-a-real-token");
    intruder.add_customer("Intrusa S.A.");
    intruder.sync().start();
    REQUIRE(intruder.sync().wait_until(
        [](const SyncStatus& s) {
          return s.last_error && s.last_error->code == ErrorCode::bad_token;
        },
        kDeadline));
    CHECK_FALSE(intruder.status().connected);
    CHECK(intruder.status().pending_changes == intruder.app().pending_count());
    CHECK(intruder.status().pending_changes > 0);
    intruder.sync().stop();

    SyncOptions options;
    options.server_url = server.url();
    options.token = "lbt_not-a-real-token";
    const auto started = SteadyClock::now();
    const SyncStatus status = sync_once(intruder.app().path(), options, kDeadline);
    CHECK(SteadyClock::now() - started < 5s);
    REQUIRE(status.last_error.has_value());
    CHECK(status.last_error->code == ErrorCode::bad_token);
    CHECK_FALSE(is_synced(status));
  }

  CHECK(server.store().canonical_dump() == dump_before);
  CHECK(server.service().stats().last_seq == seq_before);

  // The devices that behave keep syncing live.
  const auto before = ben.events().live_applied_now();
  ana.set(id, "city", "Cádiz");
  REQUIRE(
      ben.events().wait_for([&](const EventLog& log) { return log.live_applied() > before; }, 5s));
  CHECK(ben.field(id, "city") == Value("Cádiz"));
}

TEST_CASE("sync: a replica that cannot be written is reported and left intact, then recovers",
          "[e2e][sync][slow]") {
  ServerFixture server;
  Device ana(server, server.create_token("ana"));
  Device ben(server, server.create_token("ben"));
  const std::string id = ana.add_customer("Viveros Ortega");
  ana.sync().start();
  ben.sync().start();
  require_converged(server, {&ana, &ben});

  // Another program holds Ben's file's write lock longer than SQLite's busy timeout: the
  // session's transaction fails as a full disk would, after changing nothing.
  sqlite3* blocker = nullptr;
  REQUIRE(sqlite3_open(ben.app().path().c_str(), &blocker) == SQLITE_OK);
  REQUIRE(sqlite3_exec(blocker, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  const std::string dump_before = ben.app().canonical_dump();
  const SyncCursor cursor_before = ben.app().sync_cursor();

  ana.set(id, "phone", "+34 955 000 000");
  REQUIRE(ben.sync().wait_until(
      [](const SyncStatus& s) { return s.last_error && s.last_error->code == ErrorCode::storage; },
      kDeadline));
  CHECK(ben.app().canonical_dump() == dump_before);
  CHECK(ben.app().sync_cursor() == cursor_before);
  CHECK(ben.status().running);

  REQUIRE(sqlite3_exec(blocker, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(blocker);
  require_converged(server, {&ana, &ben});
  CHECK(ben.field(id, "phone") == Value("+34 955 000 000"));
  CHECK(ben.app().canonical_dump() == server.store().canonical_dump());
}

TEST_CASE("sync: changes the server refuses leave the outbox, are undone and reported",
          "[e2e][sync][refusals]") {
  ServerFixture server;
  // A device whose clock runs a day ahead writes versions the server will not take.
  auto clock = std::make_shared<FakeClock>(wall_ms() + 24 * 3600 * 1000);
  Device ahead(server, server.create_token("ana"), clock);
  const std::string id = ahead.add_customer("Reloj Adelantado S.L.");
  ahead.sync().start();
  REQUIRE(ahead.sync().wait_until_synced(kDeadline));

  REQUIRE(ahead.events().wait_for([](const EventLog& log) { return !log.refused().empty(); },
                                  kDeadline));
  const SyncStatus status = ahead.status();
  REQUIRE(status.last_error.has_value());
  CHECK(status.last_error->code == ErrorCode::clock_skew);
  CHECK(status.last_error->message.find(id) != std::string::npos);
  CHECK(ahead.app().pending_count() == 0);
  CHECK(count_rows(server.store(), tables::customers) == 0);
  // The server holds none of it, so neither does the device: a refused change converges.
  CHECK_FALSE(ahead.app().customer(id).has_value());
  CHECK(ahead.app().canonical_dump() == server.store().canonical_dump());
  const auto refusals = ahead.app().reported_refusals();
  REQUIRE_FALSE(refusals.empty());
  CHECK(refusals.front().code == ErrorCode::clock_skew);
}

TEST_CASE("sync: a server that never answers times out, and the session keeps trying",
          "[e2e][sync]") {
  // A socket that listens and never accepts: TCP connects, the WebSocket handshake hangs.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 16) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);

  TempDir dir;
  SyncOptions options;
  options.server_url = "ws://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/sync";
  options.token = "lbt_whatever";
  options.connect_timeout = 300ms;
  options.initial_backoff = 20ms;
  options.max_backoff = 100ms;
  SyncSession session(dir.file("book.db"), options);
  session.start();
  REQUIRE(session.wait_until(
      [](const SyncStatus& s) {
        return s.last_error && s.last_error->code == ErrorCode::timeout && s.reconnects >= 2;
      },
      kDeadline));
  CHECK_FALSE(session.status().connected);
  const auto stopping = SteadyClock::now();
  session.stop();
  CHECK(SteadyClock::now() - stopping < 2s);
  ::close(listener);
}

TEST_CASE("sync: sync_once pushes everything and pulls until caught up", "[e2e][sync]") {
  ServerFixture server;
  const std::string token = server.create_token("ana");
  Device ana(server, token);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(ana.add_customer("Cliente " + std::to_string(i)));

  SyncOptions options;
  options.server_url = server.url();
  options.token = token;
  const SyncStatus pushed = sync_once(ana.app().path(), options, kDeadline);
  CHECK(is_synced(pushed));
  CHECK(pushed.last_sync_ms.has_value());
  CHECK(count_rows(server.store(), tables::customers) == 5);

  TempDir other;
  const SyncStatus pulled = sync_once(other.file("book.db"), options, kDeadline);
  CHECK(is_synced(pulled));
  CHECK(pulled.rows_received == 5);
  CHECK(pulled.rows_expected == 5);  // the first page said how many the download brings
  auto replica = Replica::open(other.file("book.db"));
  for (const auto& id : ids) CHECK(replica->customer(id).has_value());
  // The welcome said who uses each device: the history's "who".
  CHECK(replica->device_user(ana.app().replica_id()) == "ana");
  CHECK(replica->device_user(replica->replica_id()) == "ana");
  // The last sync time is kept in the file.
  CHECK(replica->setting("last_sync_ms") == std::to_string(*pulled.last_sync_ms));

  options.server_url = "http://example.invalid/sync";
  const SyncStatus bad_url = sync_once(other.file("book.db"), options, kDeadline);
  REQUIRE(bad_url.last_error.has_value());
  CHECK(bad_url.last_error->code == ErrorCode::invalid_value);
}

TEST_CASE("sync: protocol 2 sends pages compressed, protocol 1 devices still sync with text",
          "[e2e][sync][compression]") {
  ServerFixture server;
  seed_customers(server.store(), 300);

  // On the wire: the same page as a zstd frame for protocol 2, as JSON text for protocol 1.
  WsClient modern;
  modern.connect(server.url());
  REQUIRE(modern.send_text(hello_frame(server.create_token("ana"))));
  CHECK(std::get<Welcome>(decode(modern.receive())).protocol == kProtocolVersion);
  REQUIRE(modern.send_text(encode_message(Pull{0, 0})));
  const auto compressed = modern.receive();
  REQUIRE(compressed.has_value());
  REQUIRE(compressed->size() > 4);
  CHECK(compressed->compare(0, 4, "\x28\xb5\x2f\xfd") == 0);  // the zstd magic number
  auto text = decompress_message(*compressed, 64 << 20);
  REQUIRE(text.ok());
  const Rows page = std::get<Rows>(decode(text.value()));
  CHECK(page.rows.size() == 300);
  CHECK(compressed->size() * 3 < text.value().size());

  WsClient old;
  old.connect(server.url());
  REQUIRE(old.send_text(hello_frame(server.create_token("ben"), 1)));
  CHECK(std::get<Welcome>(decode(old.receive())).protocol == 1);
  REQUIRE(old.send_text(encode_message(Pull{0, 0})));
  CHECK(std::get<Rows>(decode(old.receive())).rows.size() == 300);

  // Real sessions of both versions edit one book and converge, live updates included.
  Device current(server, server.create_token("eva"));
  Device legacy(server, server.create_token("luis"), nullptr,
                [](SyncOptions& options) { options.compress = false; });
  const std::string id = current.add_customer("Ferretería Ruiz");
  legacy.add_customer("Ultramarinos Pepe");
  current.sync().start();
  legacy.sync().start();
  require_converged(server, {&current, &legacy});
  const auto before = legacy.events().live_applied_now();
  current.set(id, "notes", Value(std::string(2000, 'n')));  // a live update worth compressing
  REQUIRE(legacy.events().wait_for([&](const EventLog& log) { return log.live_applied() > before; },
                                   kDeadline));
  CHECK(legacy.field(id, "notes") == Value(std::string(2000, 'n')));
  require_converged(server, {&current, &legacy});
}

// The server refuses a new row that arrives without its required fields, and a device's
// batches must hold each row's changes together to stay within it.
static_assert(client::kMaxPushChanges <= server::kMaxPushChanges);

TEST_CASE(
    "sync: a new customer edited again after a thousand other changes reaches the server "
    "whole",
    "[e2e][sync][required]") {
  ServerFixture server;
  Device ana(server, server.create_token("ana"));
  const std::string id = ana.add_customer("Bodegas Ruiz");
  // Over a thousand changes after it, then its name again: the name's entry in the change
  // log moves past the first batch, away from the customer's kind and status.
  for (int i = 0; i < 300; ++i) ana.add_customer("Cliente " + std::to_string(i));
  ana.set(id, "name", Value("Bodegas Ruiz e Hijos"));
  REQUIRE(ana.app().pending_count() > 1'000);
  ana.sync().start();
  require_converged(server, {&ana});
  CHECK(ana.events().refused().empty());
  CHECK(ana.field(id, "name") == Value("Bodegas Ruiz e Hijos"));
  CHECK(ana.app().canonical_dump() == server.store().canonical_dump());
  CHECK(count_rows(server.store(), tables::customers) == 301);
}
