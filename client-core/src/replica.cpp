// Replica: opening the file, creating and migrating its tables, its meta values and the
// clock kept in them. The rest of the class: rows on disk (replica_rows.cpp), local writes
// (replica_write.cpp), the outbox (replica_outbox.cpp), remote merge (replica_apply.cpp),
// queries (replica_queries.cpp, replica_reports.cpp).
#include "libreta/client/replica.hpp"

#include <algorithm>

#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/text.hpp"
#include "replica_impl.hpp"

namespace libreta::client {

namespace {

const char* column_type(FieldKind kind) {
  switch (kind) {
    case FieldKind::integer:
    case FieldKind::boolean:
      return "INTEGER";
    case FieldKind::decimal:
      return "REAL";
    default:
      return "TEXT";
  }
}

void create_tables(sqlite::Database& db, const Schema& schema) {
  for (const auto& table : schema.tables()) {
    std::string sql =
        "CREATE TABLE IF NOT EXISTS " + sql_name(table.name) + " (id TEXT PRIMARY KEY";
    for (const auto& field : table.fields) {
      sql += ", " + sql_name(field.name) + " " + column_type(field.kind);
    }
    // _name_key: the name folded (fold_text), for listing rows by name.
    if (table.field("name")) sql += ", _name_key TEXT";
    sql += ", deleted INTEGER NOT NULL DEFAULT 0, _versions TEXT NOT NULL, _extra TEXT)";
    db.exec(sql);
  }
  db.exec(R"sql(
    CREATE INDEX IF NOT EXISTS customers_owner ON customers(owner);
    CREATE INDEX IF NOT EXISTS customers_status ON customers(status);
    CREATE INDEX IF NOT EXISTS customers_city ON customers(city);
    CREATE INDEX IF NOT EXISTS contacts_customer ON contacts(customer_id);
    CREATE INDEX IF NOT EXISTS interactions_customer ON interactions(customer_id, date);
    CREATE INDEX IF NOT EXISTS interactions_revisit ON interactions(revisit_on)
      WHERE outcome = 'lost';
    CREATE INDEX IF NOT EXISTS purchases_customer ON purchases(customer_id, date);
    CREATE INDEX IF NOT EXISTS followups_due ON followups(due) WHERE done IS NOT 1;
    CREATE TABLE IF NOT EXISTS _outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
      element TEXT NOT NULL DEFAULT '', value TEXT NOT NULL,
      version TEXT NOT NULL, base TEXT NOT NULL);
    CREATE UNIQUE INDEX IF NOT EXISTS _outbox_field ON _outbox(tbl, row_id, field, element);
    CREATE TABLE IF NOT EXISTS _search_pending (doc INTEGER PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS _refusals (
      id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER NOT NULL,
      tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
      code TEXT NOT NULL, message TEXT NOT NULL, element TEXT NOT NULL DEFAULT '');
    CREATE TABLE IF NOT EXISTS _conflicts (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
      kept TEXT NOT NULL, kept_version TEXT NOT NULL,
      lost TEXT NOT NULL, lost_version TEXT NOT NULL,
      server_id INTEGER NOT NULL DEFAULT 0, kind TEXT NOT NULL DEFAULT '',
      kept_user TEXT NOT NULL DEFAULT '', lost_user TEXT NOT NULL DEFAULT '');
    CREATE UNIQUE INDEX IF NOT EXISTS _conflicts_once
      ON _conflicts(tbl, row_id, field, lost_version, kept_version);
    CREATE TABLE IF NOT EXISTS _history (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
      value TEXT NOT NULL, version TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS _history_field ON _history(tbl, row_id, field, id);
    CREATE TABLE IF NOT EXISTS _devices (replica TEXT PRIMARY KEY, user TEXT NOT NULL);
  )sql");
}

// The search index: a document per searchable row (replica_rows.cpp). Its prefix index of
// three characters lets the first letters typed into a search box match through one list
// rather than through every word that starts with them. A file from before the prefix index
// gets its documents copied into a new one, once.
void create_search_index(sqlite::Database& db) {
  const std::string create =
      "CREATE VIRTUAL TABLE search_index USING fts5("
      "customer_id UNINDEXED, tbl UNINDEXED, row_id UNINDEXED, body,"
      " tokenize = 'unicode61 remove_diacritics 2', prefix = '3')";
  std::string existing;
  {
    auto stmt = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'search_index'");
    if (!stmt.step()) {
      db.exec(create);
      return;
    }
    existing = stmt.text(0);
  }
  if (existing.find("prefix") != std::string::npos) return;
  db.exec("ALTER TABLE search_index RENAME TO _search_index_old");
  db.exec(create);
  db.exec(
      "INSERT INTO search_index(rowid, customer_id, tbl, row_id, body)"
      " SELECT rowid, customer_id, tbl, row_id, body FROM _search_index_old");
  db.exec("DROP TABLE _search_index_old");
}

bool has_column(sqlite::Database& db, std::string_view table, std::string_view column) {
  auto info = db.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
  info.bind(1, table).bind(2, column);
  return info.step();
}

bool has_table(sqlite::Database& db, std::string_view table) {
  auto info = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  info.bind(1, table);
  return info.step();
}

// File version 1 to 2: conflicts keep the server's inbox id, their kind and both users, and
// are kept once each (the same conflict may now come in an ack and in `conflicts`); refusals
// keep the refused tag. Runs before create_tables, which then adds the unique index.
void migrate_to_version_2(sqlite::Database& db) {
  if (has_table(db, "_conflicts")) {
    for (const char* column :
         {"server_id INTEGER NOT NULL DEFAULT 0", "kind TEXT NOT NULL DEFAULT ''",
          "kept_user TEXT NOT NULL DEFAULT ''", "lost_user TEXT NOT NULL DEFAULT ''"}) {
      const std::string_view name =
          std::string_view(column).substr(0, std::string_view(column).find(' '));
      if (!has_column(db, "_conflicts", name))
        db.exec(std::string("ALTER TABLE _conflicts ADD COLUMN ") + column);
    }
    db.exec(
        "DELETE FROM _conflicts WHERE id NOT IN (SELECT min(id) FROM _conflicts "
        "GROUP BY tbl, row_id, field, lost_version, kept_version)");
  }
  if (has_table(db, "_refusals") && !has_column(db, "_refusals", "element")) {
    db.exec("ALTER TABLE _refusals ADD COLUMN element TEXT NOT NULL DEFAULT ''");
  }
}

// Brings the columns of every table up to the customer book schema: a field added by a
// newer schema gets its column, and values a newer peer sent before this replica knew the
// field (kept in _extra) move into it.
void add_missing_columns(sqlite::Database& db, const Schema& schema) {
  for (const auto& table : schema.tables()) {
    std::vector<std::string> columns;
    auto info = db.prepare("SELECT name FROM pragma_table_info(?)");
    info.bind(1, table.name);
    while (info.step()) columns.push_back(info.text(0));
    // A file from before _name_key: the column, filled from the names it holds.
    if (table.field("name") &&
        std::find(columns.begin(), columns.end(), "_name_key") == columns.end()) {
      const std::string t = sql_name(table.name);
      db.exec("ALTER TABLE " + t + " ADD COLUMN _name_key TEXT");
      auto read = db.prepare("SELECT rowid, name FROM " + t + " WHERE name IS NOT NULL");
      auto write = db.prepare("UPDATE " + t + " SET _name_key = ? WHERE rowid = ?");
      while (read.step()) {
        write.bind(1, fold_text(read.text(1))).bind(2, read.integer(0)).run();
        write.reset();
      }
    }
    for (const auto& field : table.fields) {
      if (std::find(columns.begin(), columns.end(), field.name) != columns.end()) continue;
      const std::string t = sql_name(table.name);
      const std::string path = "'$." + field.name + "'";
      db.exec("ALTER TABLE " + t + " ADD COLUMN " + sql_name(field.name) + " " +
              column_type(field.kind));
      db.exec("UPDATE " + t + " SET " + sql_name(field.name) + " = json_extract(_extra, " + path +
              "), _extra = nullif(json_remove(_extra, " + path +
              "), '{}') WHERE _extra IS NOT NULL AND json_type(_extra, " + path + ") IS NOT NULL");
    }
  }
}

std::optional<std::string> read_meta(sqlite::Database& db, std::string_view key) {
  auto stmt = db.prepare("SELECT value FROM _meta WHERE key = ?");
  stmt.bind(1, key);
  if (!stmt.step()) return std::nullopt;
  return stmt.text(0);
}

void write_meta(sqlite::Database& db, std::string_view key, std::string_view value) {
  auto stmt = db.prepare(
      "INSERT INTO _meta(key, value) VALUES(?, ?) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  stmt.bind(1, key).bind(2, value).run();
}

}  // namespace

void Replica::Impl::save_clock() {
  // Another connection to this file (the sync session, another process) may have saved a
  // later clock: keep the greater. Fixed-width hex compares like the numbers.
  auto& stmt = statement("UPDATE _meta SET value = max(value, ?) WHERE key = 'clock'");
  stmt.bind(1, clock->last().to_string()).run();
}

// ---- Opening --------------------------------------------------------------------------------

Replica::Replica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Replica::~Replica() {
  // Keep the clock for the next run (writes catch up with each row's versions anyway, so a
  // crash that skips this loses nothing but the clock's lead).
  try {
    impl_->save_clock();
  } catch (...) {
  }
}

std::unique_ptr<Replica> Replica::open(const std::filesystem::path& file, ReplicaOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->path = file;
  impl->schema = &customer_book_schema();
  impl->db = sqlite::Database(file.string());
  auto& db = impl->db;
  db.exec("PRAGMA journal_mode = WAL");
  // NORMAL in WAL mode: a commit survives the process being killed; only a power loss can
  // take back the last commits, and the file stays consistent either way.
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = OFF");  // children may arrive before their customer
  // 16 MiB of page cache: a download of a whole book touches the indexes all over; the
  // default 2 MiB makes each page slower than the one before.
  db.exec("PRAGMA cache_size = -16384");
  for (const auto& table : impl->schema->tables()) impl->table_sql.push_back(make_table_sql(table));

  sqlite::Transaction transaction(db);
  db.exec("CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const auto file_version = read_meta(db, "file_version");
  if (file_version && std::stoi(*file_version) > kReplicaFileVersion) {
    throw Error(ErrorCode::schema_too_new,
                file.string() + " was written by a newer libreta (replica file version " +
                    *file_version + ")");
  }
  const auto book_version = read_meta(db, "schema_version");
  if (book_version && std::stoi(*book_version) > impl->schema->version()) {
    throw Error(ErrorCode::schema_too_new, file.string() + " holds customer book schema " +
                                               *book_version + ", newer than this libreta's " +
                                               std::to_string(impl->schema->version()));
  }
  // Migrations by file version, each guarded by the version it upgrades from; then
  // create_tables makes what a new file lacks.
  if (file_version && std::stoi(*file_version) < 2) migrate_to_version_2(db);
  create_tables(db, *impl->schema);
  create_search_index(db);
  add_missing_columns(db, *impl->schema);
  db.exec(
      "CREATE INDEX IF NOT EXISTS customers_name_key ON customers(_name_key, name, id)"
      " WHERE deleted = 0");
  create_day_indexes(db);
  write_meta(db, "file_version", std::to_string(kReplicaFileVersion));
  write_meta(db, "schema_version", std::to_string(impl->schema->version()));

  auto replica_id = read_meta(db, "replica_id");
  if (!replica_id) {
    replica_id = options.new_replica_id.empty() ? new_replica_id() : options.new_replica_id;
    if (!is_valid_replica_id(*replica_id)) {
      throw Error(ErrorCode::invalid_value, "'" + *replica_id + "' is not a valid replica id");
    }
    write_meta(db, "replica_id", *replica_id);
  }
  impl->replica_id = *replica_id;
  impl->clock = std::make_unique<HybridClock>(options.clock, options.max_clock_skew);
  // Never issue a version below one already issued, even if the device clock went back.
  if (auto saved = read_meta(db, "clock"); saved) {
    if (auto hlc = Hlc::parse(*saved)) impl->clock->restore(*hlc);
  } else {
    write_meta(db, "clock", Hlc().to_string());
  }
  transaction.commit();
  return std::unique_ptr<Replica>(new Replica(std::move(impl)));
}

const std::string& Replica::replica_id() const {
  return impl_->replica_id;
}
int Replica::schema_version() const {
  return impl_->schema->version();
}
const std::filesystem::path& Replica::path() const {
  return impl_->path;
}
HybridClock& Replica::clock() {
  return *impl_->clock;
}

}  // namespace libreta::client
