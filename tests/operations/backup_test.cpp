// Backups taken while devices push, and restoring one: the store holds everything
// acknowledged before the backup, and after a restore to an older backup the devices that
// synced since send their changes again, download the book again, and converge with it.
// A real server in the test process, real devices, real files.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "e2e/device.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/server/sqlite_backup.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace libreta;
using namespace libreta::test;
using namespace std::chrono_literals;

namespace {

// Every device has pushed everything and holds what the server holds of its scope (a
// seller's) or all of it (a manager's, `seller` empty), waiting with a deadline.
void require_converged(ServerFixture& server,
                       const std::vector<std::pair<Device*, std::string>>& devices) {
  for (auto& [device, seller] : devices) REQUIRE(device->wait_pushed(kDeadline));
  for (auto& [device, seller] : devices) {
    auto expected = [&, &seller = seller] {
      return seller.empty() ? server.store().canonical_dump()
                            : server.store().canonical_dump_of_scope(seller);
    };
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (device->app().canonical_dump() != expected() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);  // live updates arriving, with a deadline
    }
    INFO(seller);
    REQUIRE(device->app().canonical_dump() == expected());
  }
}

}  // namespace

TEST_CASE("backup: a copy taken while a device pushes holds every change acknowledged before it",
          "[operations][backup]") {
  ServerFixture server;
  TempDir dir;
  Device ana(server, server.create_token("ana", server::Role::seller));
  ana.sync().start();
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 50; ++i)
    acknowledged.push_back(ana.add_customer("Cliente " + std::to_string(i)));
  REQUIRE(ana.wait_pushed(kDeadline));

  // The backup runs while Ana keeps adding customers and her device keeps pushing them.
  const auto file = dir.file("backup.db");
  server::BackupSummary summary;
  std::thread backup([&] { summary = server::backup_sqlite_store(server.db_path(), file); });
  for (int i = 50; i < 250; ++i) ana.add_customer("Cliente " + std::to_string(i));
  backup.join();
  REQUIRE(ana.wait_pushed(kDeadline));

  CHECK(std::filesystem::exists(file));
  CHECK_FALSE(std::filesystem::exists(file.string() + ".partial"));
  const server::BackupSummary inspected = server::inspect_sqlite_backup(file);
  CHECK(inspected.last_seq == summary.last_seq);
  CHECK(inspected.rows >= acknowledged.size());
  CHECK(inspected.epoch != server.store().epoch());  // the copy is another store
  auto copy = server::open_sqlite_store(file);
  const std::string dump = copy->canonical_dump();
  for (const auto& id : acknowledged) CHECK(dump.find(id) != std::string::npos);
  CHECK(copy->tokens().size() == 1);

  // A backup never overwrites a file.
  CHECK_THROWS_WITH(server::backup_sqlite_store(server.db_path(), file),
                    Catch::Contains("exists already"));
}

TEST_CASE("restore: devices ahead of an older backup send their changes again and converge",
          "[operations][backup]") {
  ServerFixture server;
  TempDir dir;
  Device ana(server, server.create_token("ana", server::Role::seller));
  Device ben(server, server.create_token("ben", server::Role::manager));
  const std::string before_backup = ana.add_customer("Ferretería Peña S.L.");
  ana.sync().start();
  ben.sync().start();
  require_converged(server, {{&ana, "ana"}, {&ben, ""}});
  ben.set(before_backup, "notes", Value("llamar antes de ir"));
  require_converged(server, {{&ana, "ana"}, {&ben, ""}});

  const auto file = dir.file("monday.db");
  server::backup_sqlite_store(server.db_path(), file);
  const std::string old_epoch = server.store().epoch();

  // After the backup: Ana adds a customer and edits the old one; Ben (a manager) edits both
  // and adds one of his own. All of it reaches the server, which the restore will forget.
  const std::string after_backup = ana.add_customer("Talleres Ruiz");
  ana.set(before_backup, "phone", Value("+34 954 000 111"));
  ana.set(before_backup, "notes", Value("abre a las 9"));  // she saw Ben's note
  require_converged(server, {{&ana, "ana"}, {&ben, ""}});
  ben.set(before_backup, "email", Value("compras@pena.es"));
  ben.set(after_backup, "notes", Value("visitar en enero"));
  const std::string bens = ben.add_customer("Distribuciones Sur", "Huelva");
  require_converged(server, {{&ana, "ana"}, {&ben, ""}});
  const std::string full_before = server.store().canonical_dump();

  // The server goes back to Monday's backup. Ben's device reconnects first: his edit of
  // Ana's new customer comes before the customer itself does.
  ana.sync().stop();
  server.restart([&](const std::filesystem::path& db) {
    server::restore_sqlite_store(file, db, db.string() + ".replaced");
  });
  CHECK(server.store().epoch() != old_epoch);
  CHECK(server.store().canonical_dump().find(after_backup) == std::string::npos);  // lost
  // Ben's device holds Ana's lost writes too, but only their author sends them: until she
  // reconnects, the server and Ben's device differ.
  REQUIRE(ben.wait_pushed(kDeadline));
  REQUIRE(server.store().canonical_dump().find(after_backup) != std::string::npos);  // Ben's
  ana.sync().start();
  require_converged(server, {{&ana, "ana"}, {&ben, ""}});

  // Everything is back, and every replica holds the same book as the server.
  for (Device* device : {&ana, &ben}) {
    CHECK(device->field(before_backup, "phone") == Value("+34 954 000 111"));
    CHECK(device->field(before_backup, "email") == Value("compras@pena.es"));
    CHECK(device->field(after_backup, "notes") == Value("visitar en enero"));
    CHECK(device->field(after_backup, "name") == Value("Talleres Ruiz"));
  }
  CHECK(ben.field(bens, "name") == Value("Distribuciones Sur"));
  const std::string restored = server.store().canonical_dump();
  for (const auto& id : {before_backup, after_backup, bens}) {
    CHECK(restored.find(id) != std::string::npos);
  }
  // Ana's note replaced Ben's, which she had seen: resent, it is no conflict either.
  CHECK(ben.field(before_backup, "notes") == Value("abre a las 9"));
  CHECK(server.store().conflicts().empty());
  // Nobody was told of a refusal: the lost row was made again, not refused.
  CHECK(ana.app().reported_refusals().empty());
  CHECK(ben.app().reported_refusals().empty());
  CHECK(std::filesystem::exists(server.db_path().string() + ".replaced"));
}

TEST_CASE("restore: a damaged or newer backup is refused and the store stays as it was",
          "[operations][backup]") {
  TempDir dir;
  const auto db = dir.file("server.db");
  { auto store = server::open_sqlite_store(db); }
  const auto junk = dir.file("junk.db");
  std::ofstream(junk) << "not a database at all";
  CHECK_THROWS(server::restore_sqlite_store(junk, db, dir.file("replaced.db")));
  CHECK(std::filesystem::exists(db));
  CHECK_FALSE(std::filesystem::exists(dir.file("replaced.db")));
  CHECK_NOTHROW(server::open_sqlite_store(db));

  // A serving server's lock refuses a second one (and a restore).
  server::ServingLock lock(db);
  CHECK_THROWS_WITH(server::ServingLock(db), Catch::Contains("served by another libreta-server"));
}
