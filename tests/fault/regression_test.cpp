// Regression tests for bugs the fault run found, each on its own, small and deterministic.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "fault_check.hpp"
#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/row_versions.hpp"
#include "libreta/server/store.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "write_log.hpp"

using namespace std::chrono_literals;
using namespace libreta;
using namespace libreta::client;
using libreta::test::ServerFixture;
using libreta::test::TempDir;

namespace {

SyncOptions options_for(const ServerFixture& server, std::string token) {
  SyncOptions options;
  options.server_url = server.url();
  options.token = std::move(token);
  options.initial_backoff = 20ms;
  return options;
}

}  // namespace

// The device's change log keeps one entry per tag, so an add and a later remove of the same
// tag, both made offline, reach the server as the remove alone. The device still held the
// add's version, the server never got it: their states differed forever.
TEST_CASE("regression: a tag added and removed offline leaves device and server alike",
          "[fault][regression]") {
  ServerFixture server;
  const std::string token = server.create_token("ana", server::Role::manager);
  TempDir dir;
  auto replica = Replica::open(dir.file("device.db"));
  Customer c;
  c.name = "Ferretería Norte";
  c.tags = {"feria"};
  const std::string id = replica->create(c);
  REQUIRE(is_synced(sync_once(dir.file("device.db"), options_for(server, token), 30s)));

  SECTION("added, then removed") {
    REQUIRE(replica->add_tag(tables::customers, id, "tags", "vip"));
    REQUIRE(replica->remove_tag(tables::customers, id, "tags", "vip"));
  }
  SECTION("removed, then added again") {
    REQUIRE(replica->remove_tag(tables::customers, id, "tags", "feria"));
    REQUIRE(replica->add_tag(tables::customers, id, "tags", "feria"));
  }
  SECTION("added, removed and added again") {
    REQUIRE(replica->add_tag(tables::customers, id, "tags", "vip"));
    REQUIRE(replica->remove_tag(tables::customers, id, "tags", "vip"));
    REQUIRE(replica->add_tag(tables::customers, id, "tags", "vip"));
  }
  REQUIRE(is_synced(sync_once(dir.file("device.db"), options_for(server, token), 30s)));
  CHECK(server.store().canonical_dump() == replica->canonical_dump());

  // A second device downloading the row holds the same state too.
  const auto other = dir.file("other.db");
  REQUIRE(is_synced(sync_once(
      other, options_for(server, server.create_token("eva", server::Role::manager)), 30s)));
  CHECK(Replica::open(other)->canonical_dump() == replica->canonical_dump());
}

TEST_CASE("regression: a tag change's base carries the writer's other key of the tag",
          "[fault][regression]") {
  const Version added{Hlc::from_parts(1000, 0), "a"};
  const Version later{Hlc::from_parts(2000, 0), "a"};
  SECTION("a remove proves the add it saw") {
    RowVersions versions;
    REQUIRE(versions.merge(Change{"customers", "c1", "tags", "vip", Value(false), later, added}));
    CHECK(versions.tag_removed("tags", "vip") == added);
    CHECK(versions.tag_added("tags", "vip") == added);
    CHECK_FALSE(versions.tag_present("tags", "vip"));
  }
  SECTION("an add made while absent proves the remove at its base") {
    RowVersions versions;
    REQUIRE(versions.merge(Change{"customers", "c1", "tags", "vip", Value(true), later, added}));
    CHECK(versions.tag_added("tags", "vip") == later);
    CHECK(versions.tag_removed("tags", "vip") == added);
    CHECK(versions.tag_present("tags", "vip"));
  }
  SECTION("merging the same change again changes nothing") {
    RowVersions versions;
    const Change change{"customers", "c1", "tags", "vip", Value(false), later, added};
    REQUIRE(versions.merge(change));
    CHECK_FALSE(versions.merge(change));
  }
}

// A device killed between committing a write and logging it leaves a write nobody logged.
// A later write's base can name it, and whether it had seen the write before it cannot be
// known: the check counted that as a write lost without a conflict (seed 2, once).
TEST_CASE("regression: a write replaced through a write nobody logged is unverifiable, not lost",
          "[fault][regression]") {
  ServerFixture server;
  TempDir dir;
  struct Device {
    std::string token;
    std::filesystem::path file;
    std::filesystem::path log;
    std::unique_ptr<Replica> replica;
  };
  std::vector<Device> devices;
  for (const std::string name : {"a", "b", "c"}) {
    devices.push_back(Device{server.create_token("manager-" + name), dir.file(name + ".db"),
                             dir.file(name + ".writes"), nullptr});
    devices.back().replica = Replica::open(devices.back().file);
  }
  const auto sync = [&](Device& device) {
    REQUIRE(is_synced(sync_once(device.file, options_for(server, device.token), 30s)));
  };
  // Each device writes the name in turn, having synced the one before.
  Customer customer;
  customer.name = "Ferretería Norte";
  const std::string id = devices[0].replica->create(customer);
  Version before{devices[0].replica->clock().last(), devices[0].replica->replica_id()};
  std::vector<fault::LoggedWrite> writes;
  for (auto& device : devices) {
    sync(device);
    const std::string name = "name by " + device.replica->replica_id();
    REQUIRE(device.replica->update(tables::customers, id, Record{{"name", Value(name)}}) == 1);
    const Version version{device.replica->clock().last(), device.replica->replica_id()};
    writes.push_back(fault::LoggedWrite{tables::customers, id, "name", version, before, name});
    before = version;
    sync(device);
  }
  for (auto& device : devices) sync(device);
  // b's write was never logged: its device was killed right after committing it.
  fault::WriteLog(devices[0].log).append({writes[0]});
  fault::WriteLog(devices[2].log).append({writes[2]});
  { fault::WriteLog unused(devices[1].log); }

  std::vector<fault::DeviceFiles> files;
  for (auto& device : devices) {
    files.push_back({device.replica->replica_id(), device.file, device.log});
    device.replica.reset();
  }
  const fault::CheckReport report = fault::check_fault_run(server.db_path(), files);
  for (const auto& failure : report.failures) UNSCOPED_INFO(failure);
  CHECK(report.lost == 0);
  CHECK(report.unverifiable == 1);  // a's write, replaced through b's
  CHECK(report.present == 1);       // c's
}
