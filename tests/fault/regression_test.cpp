// Regression tests for bugs the fault run found, each on its own, small and deterministic.
#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/row_versions.hpp"
#include "libreta/server/store.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"

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
