// The client's sync protocol over real replica files against the real sync service, in one
// process with no sockets and fake clocks (support/loopback_fixture.hpp): what a device
// pushes, pulls, converges on and undoes, step by step.
#include <catch2/catch.hpp>

#include "libreta/protocol/ids.hpp"
#include "support/loopback_fixture.hpp"
#include "support/memory_replica.hpp"

using namespace libreta;
using namespace libreta::test;
using client::ConflictSide;
using server::Role;

TEST_CASE("loopback: a push is acknowledged and the outbox empties", "[loopback]") {
  LoopbackFixture server;
  LoopbackDevice& ana = server.device(server.token("ana", Role::manager));
  const std::string id = ana.add_customer("Ferretería Gil");
  ana.set(id, "phone", Value("+34 954 000 111"));
  REQUIRE(ana.replica().pending_count() > 0);

  ana.sync();
  CHECK(ana.replica().pending_count() == 0);
  CHECK(ana.status().pending_changes == 0);
  CHECK(ana.failures().empty());
  CHECK(server.store().canonical_dump() == ana.replica().canonical_dump());
  // In sync at the device's own (fake) time, kept in its file.
  CHECK(ana.status().last_sync_ms == ana.clock().now_millis());
  CHECK(ana.replica().setting("last_sync_ms") == std::to_string(ana.clock().now_millis()));
}

TEST_CASE(
    "loopback: two devices editing one field converge on the later edit, and the loser "
    "records the conflict",
    "[loopback][conflict]") {
  LoopbackFixture server;
  LoopbackDevice& ana = server.device(server.token("ana", Role::manager));
  // Ben's clock is two seconds ahead: his edit is the later one.
  LoopbackDevice& ben = server.device(server.token("ben", Role::manager), 2s);
  const std::string id = ana.add_customer("Distribuciones Núñez");
  ana.sync();
  ben.sync();
  REQUIRE(ben.field(id, "name") == Value("Distribuciones Núñez"));

  // Both edit the phone offline; Ana's push arrives first, Ben's is the concurrent one.
  ana.disconnect();
  ben.disconnect();
  ana.set(id, "phone", Value("+34 111 111 111"));
  ben.set(id, "phone", Value("+34 222 222 222"));
  ana.sync();
  ben.sync();
  ana.run_until([&] { return !ana.replica().reported_conflicts(ConflictSide::lost).empty(); });
  ana.catch_up();

  for (LoopbackDevice* device : {&ana, &ben}) {
    CHECK(device->field(id, "phone") == Value("+34 222 222 222"));
    CHECK(device->replica().canonical_dump() == server.store().canonical_dump());
  }
  const auto lost = ana.replica().reported_conflicts(ConflictSide::lost);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].row == id);
  CHECK(lost[0].field == "phone");
  CHECK(lost[0].lost == Value("+34 111 111 111"));
  CHECK(lost[0].kept == Value("+34 222 222 222"));
  CHECK(lost[0].lost_version.replica == ana.replica().replica_id());
  CHECK(ana.conflicts_reported().size() == 1);
  // Ben's push met the conflict and won it: his ack said so.
  const auto won = ben.replica().reported_conflicts(ConflictSide::won);
  REQUIRE(won.size() == 1);
  CHECK(won[0].kept_version.replica == ben.replica().replica_id());
  CHECK(server.store().conflicts().size() == 1);
}

TEST_CASE("loopback: a seller's write outside her scope is refused and undone on her device",
          "[loopback][scope]") {
  LoopbackFixture server;
  LoopbackDevice& office = server.device(server.token("marta", Role::manager));
  const std::string id = office.add_customer("Talleres Ana", "ana");
  office.sync();
  LoopbackDevice& ana = server.device(server.token("ana", Role::seller));
  ana.sync();
  REQUIRE(ana.field(id, "owner") == Value("ana"));

  // Only a manager gives customers away: her change of owner is refused and undone; her
  // change of city, in the same push, is taken.
  ana.set(id, "owner", Value("bob"));
  ana.set(id, "city", Value("Zamora"));
  ana.sync();
  CHECK(ana.field(id, "owner") == Value("ana"));
  CHECK(ana.field(id, "city") == Value("Zamora"));
  CHECK(ana.replica().pending_count() == 0);
  CHECK(ana.replica().canonical_dump() == server.store().canonical_dump_of_scope("ana"));
  REQUIRE(ana.refusals_reported().size() == 1);
  CHECK(ana.refusals_reported()[0].field == "owner");
  CHECK(ana.refusals_reported()[0].code == ErrorCode::forbidden);
  REQUIRE(ana.replica().reported_refusals().size() == 1);
  REQUIRE(ana.status().last_error);
  CHECK(ana.status().last_error->code == ErrorCode::forbidden);
  CHECK(ana.status().last_error->at_ms == ana.clock().now_millis());
}

TEST_CASE("loopback: a download cut between two pages resumes where it stopped",
          "[loopback][pull]") {
  LoopbackFixture server;  // three rows a page
  LoopbackDevice& office = server.device(server.token("marta", Role::manager));
  for (int i = 0; i < 10; ++i) office.add_customer("Cliente " + std::to_string(i));
  office.sync();

  LoopbackDevice& laptop = server.device(server.token("luis", Role::manager));
  laptop.connect();
  laptop.run_until([&] { return laptop.status().rows_received >= 3; });
  REQUIRE(laptop.status().downloading);
  const client::SyncCursor cut = laptop.replica().sync_cursor();
  CHECK(cut.after > cut.since);  // half-way: a page applied, more to come
  laptop.disconnect();

  laptop.catch_up();
  CHECK(laptop.status().rows_received == 10);  // counted across the cut, none twice
  CHECK(laptop.replica().canonical_dump() == server.store().canonical_dump());
}

TEST_CASE("loopback: a device that keeps its rows in memory syncs through the same protocol",
          "[loopback][memory]") {
  LoopbackFixture server;
  LoopbackDevice& office = server.device(server.token("marta", Role::manager));
  const std::string id = office.add_customer("Hermanos Ruiz");
  office.sync();

  auto clock = std::make_shared<FakeClock>(kLoopbackStart);
  auto storage = std::make_unique<MemoryReplica>(new_replica_id(), clock);
  MemoryReplica& memory = *storage;
  LoopbackDevice& light =
      server.device(server.token("luis", Role::manager), std::move(storage), clock);
  light.sync();
  CHECK(memory.field(tables::customers, id, "name") == Value("Hermanos Ruiz"));

  memory.set(tables::customers, id, "phone", Value("+34 600 000 000"));
  light.sync();
  CHECK(memory.pending_count() == 0);
  office.catch_up();
  CHECK(office.field(id, "phone") == Value("+34 600 000 000"));
  CHECK(office.replica().canonical_dump() == server.store().canonical_dump());
  CHECK(light.failures().empty());
}
