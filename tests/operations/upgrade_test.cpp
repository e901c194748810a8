// Upgrades of the server's file: a store written by each earlier version of libreta-server
// (its tables as that version made them, a token, a device's replica, a conflict and a
// customer in that version's row format) opens in this one, and a device syncs from it; a
// file of a newer version is refused untouched.

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/device.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/value_json.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/tokens.hpp"
#include "libreta/sqlite/sqlite.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace libreta;
using namespace libreta::test;

namespace {

// The tables of file version 1, as the first server made them.
constexpr const char* kVersion1Tables = R"sql(
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE rows (
    tbl TEXT NOT NULL, id TEXT NOT NULL, fields TEXT NOT NULL, versions TEXT NOT NULL,
    key_seqs TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (tbl, id));
  CREATE UNIQUE INDEX rows_seq ON rows(seq);
  CREATE TABLE replicas (
    replica TEXT PRIMARY KEY, user TEXT NOT NULL, acked INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL);
  CREATE TABLE tokens (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, user TEXT NOT NULL, role TEXT NOT NULL,
    created_ms INTEGER NOT NULL, revoked_ms INTEGER);
  CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
    tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
    kept_value TEXT NOT NULL, kept_version TEXT NOT NULL, kept_user TEXT NOT NULL,
    lost_value TEXT NOT NULL, lost_version TEXT NOT NULL, lost_user TEXT NOT NULL,
    detected_ms INTEGER NOT NULL);
  CREATE INDEX conflicts_row ON conflicts(tbl, row_id);
)sql";

// What versions 2 and 3 added (scope columns and evictions; 3 changed only the row format).
constexpr const char* kVersion2Additions = R"sql(
  ALTER TABLE rows ADD COLUMN customer TEXT NOT NULL DEFAULT '';
  ALTER TABLE rows ADD COLUMN scope TEXT NOT NULL DEFAULT '';
  ALTER TABLE rows ADD COLUMN scope_seq INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE evictions (
    seq INTEGER NOT NULL, user TEXT NOT NULL, tbl TEXT NOT NULL, row_id TEXT NOT NULL,
    until TEXT NOT NULL);
  CREATE INDEX evictions_user ON evictions(user, seq);
  CREATE INDEX evictions_row ON evictions(user, tbl, row_id, seq);
)sql";

// What version 4 added (replicas' first and sent sequences, the conflict's losing replica).
constexpr const char* kVersion4Additions = R"sql(
  ALTER TABLE replicas ADD COLUMN first_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE replicas ADD COLUMN sent_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE conflicts ADD COLUMN lost_replica TEXT NOT NULL DEFAULT '';
)sql";
// What version 5 added (tokens may expire and remember their last use).
constexpr const char* kVersion5Additions = R"sql(
  ALTER TABLE tokens ADD COLUMN expires_ms INTEGER;
  ALTER TABLE tokens ADD COLUMN last_used_ms INTEGER;
)sql";

struct OldStore {
  std::string customer_id;
  std::string token;  // its secret
};

// Writes at `file` a store of file version `version` holding Ana's token and device, one
// customer of hers and one conflict on it.
OldStore write_store_of_version(const std::filesystem::path& file, int version) {
  OldStore old;
  old.customer_id = "01a2516f-0000-7000-8000-000000000001";
  const auto token = server::make_token("ana", server::Role::seller, wall_ms());
  old.token = token.secret;
  const Version written{Hlc::from_parts(wall_ms() - 60'000, 0), "ana-laptop"};
  RowVersions versions;
  Record fields{{"kind", Value("company")},
                {"name", Value("Ferretería Peña S.L.")},
                {"status", Value("active")},
                {"owner", Value("ana")},
                {"city", Value("Sevilla")}};
  for (const auto& [name, value] : fields) versions.set_field(name, written);

  sqlite::Database db(file.string(), true);
  db.exec(kVersion1Tables);
  if (version >= 2) db.exec(kVersion2Additions);
  if (version >= 4) db.exec(kVersion4Additions);
  if (version >= 5) db.exec(kVersion5Additions);
  db.exec("INSERT INTO meta(key, value) VALUES ('last_seq', '1'), ('file_version', '" +
          std::to_string(version) + "')");

  nlohmann::json fields_json = nlohmann::json::object();
  for (const auto& [name, value] : fields) fields_json[name] = value_to_json(value);
  std::string versions_text, key_seqs_text;
  if (version <= 2) {
    // Versions as RowVersions::encode wrote them, sequences grouped by sequence.
    versions_text = versions.encode();
    nlohmann::json key_seqs = nlohmann::json::object();
    for (const auto& [name, value] : fields) key_seqs["1"].push_back(name);
    key_seqs_text = key_seqs.dump();
  } else {
    // From version 3: each version with the sequence of its keys, key_seqs left empty.
    nlohmann::json grouped = nlohmann::json::object();
    for (const auto& [name, value] : fields) grouped[written.to_string()]["1"].push_back(name);
    versions_text = grouped.dump();
  }
  auto row =
      db.prepare(version >= 2 ? "INSERT INTO rows(tbl, id, fields, versions, key_seqs, seq, "
                                "customer, scope, scope_seq) VALUES(?, ?, ?, ?, ?, 1, ?, 'ana', 1)"
                              : "INSERT INTO rows(tbl, id, fields, versions, key_seqs, seq) "
                                "VALUES(?, ?, ?, ?, ?, 1)");
  row.bind(1, tables::customers).bind(2, old.customer_id).bind(3, fields_json.dump());
  row.bind(4, versions_text).bind(5, key_seqs_text);
  if (version >= 2) row.bind(6, old.customer_id);
  row.run();
  auto tokens = db.prepare(
      "INSERT INTO tokens(id, hash, user, role, created_ms) VALUES(?, ?, 'ana', 'seller', ?)");
  tokens.bind(1, token.record.id).bind(2, token.record.hash);
  tokens.bind(3, static_cast<std::int64_t>(token.record.created_ms)).run();
  db.exec(
      "INSERT INTO replicas(replica, user, acked, updated_ms) VALUES ('ana-laptop', 'ana', 7, 0)");
  auto conflict = db.prepare(
      "INSERT INTO conflicts(kind, tbl, row_id, field, kept_value, kept_version, kept_user, "
      "lost_value, lost_version, lost_user, detected_ms) VALUES('concurrent_edit', ?, ?, "
      "'city', '\"Sevilla\"', ?, 'ana', '\"Huelva\"', ?, 'ben', 0)");
  conflict.bind(1, tables::customers).bind(2, old.customer_id).bind(3, written.to_string());
  conflict.bind(4, Version{written.hlc, "ben-phone"}.to_string()).run();
  return old;
}

std::string file_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("upgrade: a store of every earlier file version opens, and a device syncs from it",
          "[operations][upgrade]") {
  const int version = GENERATE(1, 2, 3, 4, 5);
  INFO("file version " << version);
  ServerFixture server;
  OldStore old;
  server.restart([&](const std::filesystem::path& db) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix);
    old = write_store_of_version(db, version);
  });
  {
    sqlite::Database db(server.db_path().string(), false);
    auto stmt = db.prepare("SELECT value FROM meta WHERE key = 'file_version'");
    REQUIRE(stmt.step());
    CHECK(stmt.text(0) == "6");
  }
  CHECK_FALSE(server.store().epoch().empty());
  const auto conflicts = server.store().conflicts();
  REQUIRE(conflicts.size() == 1);
  CHECK(conflicts[0].lost_user == "ben");
  CHECK_FALSE(conflicts[0].resolved_ms);  // open, as every conflict of an older file
  const auto replica = server.store().replica("ana-laptop");
  REQUIRE(replica.has_value());
  CHECK(replica->acked == 7);

  // Ana's token from the old file still works, and her new device receives her customer.
  Device ana(server, old.token);
  ana.sync().start();
  REQUIRE(ana.sync().wait_until_synced(kDeadline));
  CHECK(ana.field(old.customer_id, "name") == Value("Ferretería Peña S.L."));
  CHECK(ana.app().canonical_dump() == server.store().canonical_dump_of_scope("ana"));
  // And the store goes on from there.
  ana.set(old.customer_id, "phone", Value("+34 954 000 111"));
  REQUIRE(ana.wait_pushed(kDeadline));
  CHECK(server.store().canonical_dump().find("+34 954 000 111") != std::string::npos);
}

TEST_CASE("upgrade: a file of a newer server is refused with both versions, and left untouched",
          "[operations][upgrade]") {
  TempDir dir;
  const auto file = dir.file("server.db");
  { auto store = server::open_sqlite_store(file); }
  {
    sqlite::Database db(file.string(), false);
    db.exec("UPDATE meta SET value = '99' WHERE key = 'file_version'");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const std::string before = file_bytes(file);
  try {
    server::open_sqlite_store(file);
    FAIL("a newer file opened");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::schema_too_new);
    CHECK(std::string(e.what()).find("file format 99") != std::string::npos);
    CHECK(std::string(e.what()).find("up to 6") != std::string::npos);
  }
  CHECK(file_bytes(file) == before);
}
