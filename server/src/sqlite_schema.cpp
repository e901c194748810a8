#include "sqlite_schema.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "libreta/protocol/error.hpp"

namespace libreta::server {
namespace {

// 1: rows without scope columns; 2: scope columns and evictions; 3: key sequences in the
// versions text (encode_versions), key_seqs left empty; 4: replicas bound to their first
// user with first_seq and sent_seq, conflicts with lost_replica; 5: tokens with expires_ms
// and last_used_ms. Each version reads the files of the earlier ones; a version 2 row is
// read as it is and written in the new form.
constexpr int kServerFileVersion = 6;

void configure(sqlite::Database& db) {
  db.exec("PRAGMA journal_mode = WAL");
  // FULL: a commit is on disk before it returns, so an acknowledged push survives a crash
  // of the machine, not only of the process.
  db.exec("PRAGMA synchronous = FULL");
}

void create_schema(sqlite::Database& db) {
  db.exec(R"sql(
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS rows (
      tbl TEXT NOT NULL, id TEXT NOT NULL, fields TEXT NOT NULL, versions TEXT NOT NULL,
      key_seqs TEXT NOT NULL, seq INTEGER NOT NULL, customer TEXT NOT NULL DEFAULT '',
      scope TEXT NOT NULL DEFAULT '', scope_seq INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (tbl, id));
    CREATE UNIQUE INDEX IF NOT EXISTS rows_seq ON rows(seq);
    CREATE TABLE IF NOT EXISTS evictions (
      seq INTEGER NOT NULL, user TEXT NOT NULL, tbl TEXT NOT NULL, row_id TEXT NOT NULL,
      until TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS evictions_user ON evictions(user, seq);
    CREATE INDEX IF NOT EXISTS evictions_row ON evictions(user, tbl, row_id, seq);
    CREATE TABLE IF NOT EXISTS replicas (
      replica TEXT PRIMARY KEY, user TEXT NOT NULL, acked INTEGER NOT NULL,
      updated_ms INTEGER NOT NULL, first_seq INTEGER NOT NULL DEFAULT 0,
      sent_seq INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS tokens (
      id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, user TEXT NOT NULL, role TEXT NOT NULL,
      created_ms INTEGER NOT NULL, revoked_ms INTEGER, expires_ms INTEGER,
      last_used_ms INTEGER);
    CREATE TABLE IF NOT EXISTS conflicts (
      id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
      tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
      kept_value TEXT NOT NULL, kept_version TEXT NOT NULL, kept_user TEXT NOT NULL,
      lost_value TEXT NOT NULL, lost_version TEXT NOT NULL, lost_user TEXT NOT NULL,
      detected_ms INTEGER NOT NULL, lost_replica TEXT NOT NULL DEFAULT '');
    CREATE INDEX IF NOT EXISTS conflicts_row ON conflicts(tbl, row_id);
    INSERT OR IGNORE INTO meta(key, value) VALUES ('last_seq', '0');
  )sql");
}

bool has_column(sqlite::Database& db, std::string_view table, std::string_view column) {
  auto stmt = db.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
  stmt.bind(1, table).bind(2, column);
  return stmt.step();
}

// Brings a file of version 1 to version 2: the scope columns, filled from the rows' own
// fields (a child's customer_id, a customer's owner).
void add_scope_columns(sqlite::Database& db) {
  if (has_column(db, "rows", "scope")) return;
  db.exec(R"sql(
    ALTER TABLE rows ADD COLUMN customer TEXT NOT NULL DEFAULT '';
    ALTER TABLE rows ADD COLUMN scope TEXT NOT NULL DEFAULT '';
    ALTER TABLE rows ADD COLUMN scope_seq INTEGER NOT NULL DEFAULT 0;
    UPDATE rows SET customer = CASE WHEN tbl = 'customers' THEN id
      ELSE coalesce(json_extract(fields, '$.customer_id'), '') END;
    UPDATE rows SET scope = coalesce((SELECT json_extract(c.fields, '$.owner') FROM rows c
      WHERE c.tbl = 'customers' AND c.id = rows.customer), '');
  )sql");
}

// Brings a file of version 3 to version 4: replicas remember when they were first seen and
// how far they were sent rows (0 for replicas known before: seen from the start, sent
// nothing yet), and each conflict names the replica whose value lost.
void add_replica_and_conflict_columns(sqlite::Database& db) {
  if (!has_column(db, "replicas", "first_seq")) {
    db.exec(R"sql(
      ALTER TABLE replicas ADD COLUMN first_seq INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE replicas ADD COLUMN sent_seq INTEGER NOT NULL DEFAULT 0;
    )sql");
  }
  if (!has_column(db, "conflicts", "lost_replica")) {
    db.exec(R"sql(
      ALTER TABLE conflicts ADD COLUMN lost_replica TEXT NOT NULL DEFAULT '';
      UPDATE conflicts SET lost_replica = substr(lost_version, instr(lost_version, ':') + 1);
    )sql");
  }
}

// Brings a file of version 4 to version 5: tokens may expire and remember their last use
// (none for tokens made before: they never expire).
void add_token_columns(sqlite::Database& db) {
  if (has_column(db, "tokens", "expires_ms")) return;
  db.exec(R"sql(
    ALTER TABLE tokens ADD COLUMN expires_ms INTEGER;
    ALTER TABLE tokens ADD COLUMN last_used_ms INTEGER;
  )sql");
}

// Brings a file of version 5 to version 6: a conflict may be resolved, by whom, when and how
// (none before: every conflict is open).
void add_conflict_resolution_columns(sqlite::Database& db) {
  if (has_column(db, "conflicts", "resolved_ms")) return;
  db.exec(R"sql(
    ALTER TABLE conflicts ADD COLUMN resolved_ms INTEGER;
    ALTER TABLE conflicts ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE conflicts ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
  )sql");
}

// The version of the file's format, 0 for a new file. Read before anything is changed: a
// newer server's file is refused as it is.
int file_version(sqlite::Database& db) {
  auto meta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
  if (!meta.step()) return 0;
  auto version = db.prepare("SELECT value FROM meta WHERE key = 'file_version'");
  // Version 1 files did not record their version.
  return version.step() ? std::stoi(version.text(0)) : 1;
}

void create_indexes(sqlite::Database& db) {
  db.exec(R"sql(
    CREATE INDEX IF NOT EXISTS rows_scope ON rows(scope, seq);
    CREATE INDEX IF NOT EXISTS rows_customer ON rows(customer);
    CREATE INDEX IF NOT EXISTS conflicts_lost ON conflicts(lost_replica, id);
    CREATE INDEX IF NOT EXISTS conflicts_open ON conflicts(id) WHERE resolved_ms IS NULL;
  )sql");
}

}  // namespace

int current_store_file_version() {
  return kServerFileVersion;
}

void prepare_store_file(sqlite::Database& writer, const std::string& name,
                        const SqliteStoreOptions& options) {
  configure(writer);
  // A group commit of 10,000 changes dirties more pages than SQLite's default 2 MiB cache
  // holds, which would spill them into the WAL mid-transaction and read them back: 32 MiB
  // holds a group's pages (docs/performance.md, "Server settings").
  writer.exec("PRAGMA cache_size = -32768");
  if (options.max_bytes > 0) {
    auto page_size = writer.prepare("PRAGMA page_size");
    page_size.step();
    const auto pages = options.max_bytes / static_cast<std::uint64_t>(page_size.integer(0));
    writer.exec("PRAGMA max_page_count = " + std::to_string(std::max<std::uint64_t>(pages, 16)));
  }
  sqlite::Transaction transaction(writer);
  const int version = file_version(writer);
  if (version > kServerFileVersion) {
    throw Error(ErrorCode::schema_too_new,
                name + " is in file format " + std::to_string(version) +
                    ", written by a newer libreta-server; this one reads formats up to " +
                    std::to_string(kServerFileVersion) + ". Run the newer server");
  }
  create_schema(writer);
  add_scope_columns(writer);
  add_replica_and_conflict_columns(writer);
  add_token_columns(writer);
  add_conflict_resolution_columns(writer);
  create_indexes(writer);
  // Stores made before epochs existed get theirs now: devices remember it from their next
  // welcome on.
  writer.prepare("INSERT OR IGNORE INTO meta(key, value) VALUES('epoch', ?)")
      .bind(1, new_store_epoch())
      .run();
  writer.exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('file_version', '" +
              std::to_string(kServerFileVersion) + "')");
  transaction.commit();
}

}  // namespace libreta::server
