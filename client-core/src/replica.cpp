// Replica: opening and migrating the file, local writes and the outbox.
// Remote merge and the canonical dump are in replica_apply.cpp, queries in
// replica_queries.cpp.
#include "libreta/client/replica.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/text.hpp"
#include "replica_impl.hpp"

namespace libreta::client {

std::string sql_name(std::string_view name) {
  return "\"" + std::string(name) + "\"";
}

namespace {

using json = nlohmann::json;

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

// The shortest run of digits of a phone that search finds from its start.
constexpr std::size_t kMinPhoneSearchDigits = 6;

std::string to_lower_ascii(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

std::string iso_now(std::uint64_t millis) {
  const auto days = static_cast<std::int64_t>(millis / 86'400'000);
  const auto ms_of_day = millis % 86'400'000;
  char time[16];
  std::snprintf(time, sizeof time, "T%02u:%02u:%02uZ", static_cast<unsigned>(ms_of_day / 3'600'000),
                static_cast<unsigned>(ms_of_day / 60'000 % 60),
                static_cast<unsigned>(ms_of_day / 1000 % 60));
  return civil_from_days(days) + time;
}

}  // namespace

std::string value_json(const Value& value) {
  switch (value.type()) {
    case Value::Type::null:
      return "null";
    case Value::Type::boolean:
      return value.as_bool() ? "true" : "false";
    case Value::Type::integer:
      return json(value.as_integer()).dump();
    case Value::Type::number:
      return json(value.as_number()).dump();
    case Value::Type::text:
      return json(value.as_text()).dump();
    case Value::Type::tags:
      return json(value.as_tags()).dump();
  }
  return "null";
}

Value value_from_json_text(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || j.is_null()) return Value();
  if (j.is_boolean()) return Value(j.get<bool>());
  if (j.is_number_integer()) return Value(j.get<std::int64_t>());
  if (j.is_number()) return Value(j.get<double>());
  if (j.is_string()) return Value(j.get<std::string>());
  if (j.is_array()) {
    TagSet tags;
    for (const auto& item : j) {
      if (item.is_string()) tags.push_back(item.get<std::string>());
    }
    return Value(std::move(tags));
  }
  return Value();
}

namespace {

void create_tables(sqlite::Database& db, const Schema& schema) {
  for (const auto& table : schema.tables()) {
    std::string sql =
        "CREATE TABLE IF NOT EXISTS " + sql_name(table.name) + " (id TEXT PRIMARY KEY";
    for (const auto& field : table.fields) {
      sql += ", " + sql_name(field.name) + " " + column_type(field.kind);
    }
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
    CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(
      customer_id UNINDEXED, tbl UNINDEXED, row_id UNINDEXED, body,
      tokenize = 'unicode61 remove_diacritics 2');
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
  )sql");
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

void append_search_text(std::string& body, const Value& value, FieldKind kind) {
  if (!value.is_text()) return;
  const std::string& text = value.as_text();
  body += text;
  body += '\n';
  // The tokenizer removes accents but does not fold every letter (ß, æ, ø, ł...): the
  // folded form is indexed too, so that "strasse" finds "Straße".
  if (std::string folded = fold_text(text); folded != text && folded != to_lower_ascii(text)) {
    body += folded;
    body += '\n';
  }
  if (kind == FieldKind::phone) {
    // Phones are also indexed as runs of digits: the whole number and each of its endings
    // of at least kMinPhoneSearchDigits digits, so that "912345678" and "345678" find
    // "+34 912 345 678" as a prefix search.
    const std::string digits = digits_only(text);
    for (std::size_t start = 0; start + kMinPhoneSearchDigits <= digits.size(); ++start) {
      body += digits.substr(start);
      body += ' ';
    }
    body += '\n';
  } else if (kind == FieldKind::text) {
    // A tax id is also indexed as one run of characters: "b12345678" finds "B-12.345.678".
    const std::string compact = normalize_tax_id(text);
    if (compact.size() >= 6 && compact.size() <= 16 &&
        compact.find_first_of("0123456789") != std::string::npos && compact != text) {
      body += compact;
      body += '\n';
    }
  }
}

}  // namespace

std::string search_document(const TableSpec& table, const Record& fields) {
  std::string body;
  for (const auto& field : table.fields) {
    if (!field.searchable) continue;
    auto it = fields.find(field.name);
    if (it != fields.end()) append_search_text(body, it->second, field.kind);
  }
  return body;
}

// ---- Column conversions ---------------------------------------------------------------------

Value read_column(const sqlite::Statement& stmt, int column, FieldKind kind) {
  if (stmt.is_null(column)) return Value();
  switch (kind) {
    case FieldKind::integer:
      return Value(stmt.integer(column));
    case FieldKind::decimal:
      return Value(stmt.number(column));
    case FieldKind::boolean:
      return Value(stmt.integer(column) != 0);
    case FieldKind::tag_set: {
      Value tags = value_from_json_text(stmt.text_view(column));
      return tags.is_tags() && !tags.as_tags().empty() ? tags : Value();
    }
    default:
      return Value(stmt.text(column));
  }
}

void bind_value(sqlite::Statement& stmt, int index, const Value& value, FieldKind kind) {
  if (value.is_null()) {
    stmt.bind_null(index);
    return;
  }
  switch (kind) {
    case FieldKind::integer:
      stmt.bind(index, value.as_integer());
      break;
    case FieldKind::decimal:
      stmt.bind(index, value.as_number());
      break;
    case FieldKind::boolean:
      stmt.bind(index, std::int64_t{value.as_bool() ? 1 : 0});
      break;
    case FieldKind::tag_set:
      if (value.as_tags().empty())
        stmt.bind_null(index);
      else
        stmt.bind(index, value_json(value));
      break;
    default:
      stmt.bind(index, value.as_text());
      break;
  }
}

// ---- Impl -----------------------------------------------------------------------------------

const TableSpec& Replica::Impl::table(std::string_view name) const {
  const TableSpec* spec = schema->table(name);
  if (!spec) throw Error(ErrorCode::unknown_table, "unknown table '" + std::string(name) + "'");
  return *spec;
}

namespace {

Replica::Impl::TableSql make_table_sql(const TableSpec& table) {
  Replica::Impl::TableSql sql;
  std::string columns;
  std::string placeholders;
  std::string assignments;
  for (const auto& field : table.fields) {
    columns += ", " + sql_name(field.name);
    placeholders += ", ?";
    assignments += ", " + sql_name(field.name) + " = ?";
    sql.searchable = sql.searchable || field.searchable;
  }
  const std::string name = sql_name(table.name);
  const std::string select =
      "SELECT rowid, id, deleted, _versions, _extra" + columns + " FROM " + name;
  sql.load_by_id = select + " WHERE id = ?";
  sql.load_by_rowid = select + " WHERE rowid = ?";
  sql.insert = "INSERT INTO " + name + " (deleted, _versions, _extra, id" + columns +
               ") VALUES (?, ?, ?, ?" + placeholders + ")";
  sql.update_all = "UPDATE " + name + " SET deleted = ?, _versions = ?, _extra = ?, id = ?" +
                   assignments + " WHERE rowid = ?";
  return sql;
}

// Reads a row selected with TableSql's load statements.
Replica::Impl::StoredRow read_stored_row(const TableSpec& table, sqlite::Statement& stmt,
                                         std::string* id) {
  Replica::Impl::StoredRow row;
  row.rowid = stmt.integer(0);
  if (id) *id = stmt.text(1);
  row.deleted = stmt.integer(2) != 0;
  auto versions = RowVersions::decode(stmt.text_view(3));
  if (!versions) {
    const std::string which = stmt.text(1);
    stmt.reset();
    throw Error(ErrorCode::storage, "corrupt versions of " + table.name + " " + which);
  }
  row.versions = std::move(*versions);
  if (!stmt.is_null(4)) row.extra = stmt.text(4);
  for (std::size_t i = 0; i < table.fields.size(); ++i) {
    Value value = read_column(stmt, static_cast<int>(i) + 5, table.fields[i].kind);
    if (!value.is_null()) row.fields.emplace(table.fields[i].name, std::move(value));
  }
  stmt.reset();
  return row;
}

void bind_field(sqlite::Statement& stmt, int index, const Replica::Impl::StoredRow& row,
                const FieldSpec& field) {
  auto it = row.fields.find(field.name);
  bind_value(stmt, index, it == row.fields.end() ? Value() : it->second, field.kind);
}

// Binds every field of a whole-row statement whose field parameters start at `first`. The
// statement comes reset with every parameter null, so only the row's set fields are bound;
// their text is bound without a copy (the row outlives the statement's step).
void bind_all_fields(sqlite::Statement& stmt, int first, const TableSpec& table,
                     const Replica::Impl::StoredRow& row) {
  for (const auto& [name, value] : row.fields) {
    auto position = table.field_positions.find(name);
    if (position == table.field_positions.end()) continue;
    const FieldSpec& field = table.fields[position->second];
    const int index = first + static_cast<int>(position->second);
    if (value.is_text() && field.kind != FieldKind::integer && field.kind != FieldKind::decimal &&
        field.kind != FieldKind::boolean && field.kind != FieldKind::tag_set) {
      stmt.bind_static(index, value.as_text());
    } else {
      bind_value(stmt, index, value, field.kind);
    }
  }
}

}  // namespace

std::optional<Replica::Impl::StoredRow> Replica::Impl::load(const TableSpec& table,
                                                            std::string_view id) const {
  auto& stmt = statement(table_sql[position(table)].load_by_id);
  stmt.bind(1, id);
  if (!stmt.step()) {
    stmt.reset();
    return std::nullopt;
  }
  return read_stored_row(table, stmt, nullptr);
}

std::optional<Replica::Impl::StoredRow> Replica::Impl::load_rowid(const TableSpec& table,
                                                                  std::int64_t rowid,
                                                                  std::string* id) const {
  auto& stmt = statement(table_sql[position(table)].load_by_rowid);
  stmt.bind(1, rowid);
  if (!stmt.step()) {
    stmt.reset();
    return std::nullopt;
  }
  return read_stored_row(table, stmt, id);
}

void Replica::Impl::store(const TableSpec& table, std::string_view id, StoredRow& row,
                          Search search, const std::vector<std::string>* changed) {
  const TableSql& sql = table_sql[position(table)];
  const bool is_new = row.rowid == 0;
  const std::string versions = row.versions.encode();
  auto bind_common = [&](sqlite::Statement& stmt) {
    stmt.bind(1, std::int64_t{row.deleted ? 1 : 0}).bind_static(2, versions);
    if (row.extra.empty())
      stmt.bind_null(3);
    else
      stmt.bind(3, row.extra);
    stmt.bind(4, id);
  };
  if (is_new) {
    auto& stmt = statement(sql.insert);
    bind_common(stmt);
    bind_all_fields(stmt, 5, table, row);
    stmt.run();
    row.rowid = sqlite3_last_insert_rowid(db.handle());
  } else if (changed) {
    // Only the columns that changed: an edit of one field writes one column and the versions.
    std::string text =
        "UPDATE " + sql_name(table.name) + " SET deleted = ?, _versions = ?, _extra = ?, id = ?";
    std::vector<const FieldSpec*> specs;
    for (const auto& name : *changed) {
      const FieldSpec* spec = table.field(name);
      if (!spec || std::find(specs.begin(), specs.end(), spec) != specs.end()) continue;
      specs.push_back(spec);
      text += ", " + sql_name(spec->name) + " = ?";
    }
    text += " WHERE rowid = ?";
    auto& stmt = statement(text);
    bind_common(stmt);
    int index = 5;
    for (const FieldSpec* spec : specs) bind_field(stmt, index++, row, *spec);
    stmt.bind(index, row.rowid).run();
  } else {
    auto& stmt = statement(sql.update_all);
    bind_common(stmt);
    bind_all_fields(stmt, 5, table, row);
    stmt.bind(static_cast<int>(table.fields.size()) + 5, row.rowid).run();
  }
  if (!sql.searchable || search == Search::untouched) return;
  if (search == Search::now) {
    refresh_search_document(table, id, row, is_new);
  } else {
    auto& pending = statement("INSERT OR IGNORE INTO _search_pending(doc) VALUES(?)");
    pending.bind(1, row.rowid * 8 + position(table)).run();
  }
}

void Replica::Impl::refresh_search_document(const TableSpec& table, std::string_view id,
                                            const StoredRow& row, bool is_new) {
  const std::int64_t doc = row.rowid * 8 + position(table);
  if (!is_new) {
    auto& remove = statement("DELETE FROM search_index WHERE rowid = ?");
    remove.bind(1, doc).run();
  }
  if (row.deleted) return;
  const std::string body = search_document(table, row.fields);
  if (body.empty()) return;
  std::string customer_id(id);
  if (!table.owner_link.empty()) {
    auto it = row.fields.find(table.owner_link);
    customer_id = it != row.fields.end() && it->second.is_text() ? it->second.as_text() : "";
  }
  auto& insert = statement(
      "INSERT INTO search_index(rowid, customer_id, tbl, row_id, body) VALUES(?, ?, ?, ?, ?)");
  insert.bind(1, doc).bind(2, customer_id).bind(3, table.name).bind(4, id).bind(5, body).run();
}

std::size_t Replica::Impl::index_pending_search() {
  std::vector<std::int64_t> docs;
  {
    auto& stmt = statement("SELECT doc FROM _search_pending ORDER BY doc");
    while (stmt.step()) docs.push_back(stmt.integer(0));
    stmt.reset();
  }
  if (docs.empty()) return 0;
  sqlite::Transaction transaction(db);
  for (const std::int64_t doc : docs) {
    const auto& tables = schema->tables();
    const std::size_t position = static_cast<std::size_t>(doc % 8);
    if (position >= tables.size()) continue;
    std::string id;
    auto row = load_rowid(tables[position], doc / 8, &id);
    if (row) {
      refresh_search_document(tables[position], id, *row, false);
    } else {
      auto& remove = statement("DELETE FROM search_index WHERE rowid = ?");
      remove.bind(1, doc).run();
    }
  }
  db.exec("DELETE FROM _search_pending");
  transaction.commit();
  return docs.size();
}

void Replica::Impl::append_outbox(const Change& change) {
  // Coalesce with a pending change of the same field: the server needs only the latest
  // value, judged against the version the seller saw before the first of these edits.
  auto& previous = statement(
      "DELETE FROM _outbox WHERE tbl = ? AND row_id = ? AND field = ? AND element = ? "
      "RETURNING base");
  previous.bind(1, change.table).bind(2, change.row).bind(3, change.field).bind(4, change.element);
  std::string base = change.base.to_string();
  if (previous.step() && change.element.empty()) base = previous.text(0);
  previous.reset();
  auto& insert = statement(
      "INSERT INTO _outbox(tbl, row_id, field, element, value, version, base) "
      "VALUES(?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, change.table).bind(2, change.row).bind(3, change.field).bind(4, change.element);
  insert.bind(5, value_json(change.value)).bind(6, change.version.to_string()).bind(7, base).run();
}

void Replica::Impl::save_clock() {
  // Another connection to this file (the sync session, another process) may have saved a
  // later clock: keep the greater. Fixed-width hex compares like the numbers.
  auto& stmt = statement("UPDATE _meta SET value = max(value, ?) WHERE key = 'clock'");
  stmt.bind(1, clock->last().to_string()).run();
}

Hlc Replica::Impl::next_version_clock(const RowVersions* row) {
  // A write must be newer than every version the row already has, whichever connection to
  // this file (the app, the sync session, another process) or earlier run issued them, and
  // even if the device clock went back: catch up with the row before taking a new clock.
  // Other rows need no such order, so nothing is read or written elsewhere for it.
  if (row) clock->restore(row->latest().hlc);
  return clock->now();
}

TagSet present_tags(const RowVersions& versions, std::string_view field) {
  TagSet tags;
  const std::string prefix = std::string(field) + '+';
  for (auto it = versions.entries().lower_bound(prefix);
       it != versions.entries().end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    const std::string_view tag = std::string_view(it->first).substr(prefix.size());
    if (versions.tag_present(field, tag)) tags.emplace_back(tag);
  }
  return tags;
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
  add_missing_columns(db, *impl->schema);
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

// ---- Local writes ---------------------------------------------------------------------------

namespace {

// Validates a value a seller writes: the field must exist and the value suit its kind.
Value validated(const TableSpec& table, std::string_view field_name, const Value& value,
                const FieldSpec** spec_out) {
  const FieldSpec* spec = table.field(field_name);
  if (!spec) {
    throw Error(ErrorCode::unknown_field,
                "'" + std::string(field_name) + "' is not a field of " + table.name);
  }
  *spec_out = spec;
  return spec->validate(value).take();
}

void check_reference(const Replica::Impl& impl, const FieldSpec& spec, const Value& value) {
  if (spec.kind != FieldKind::reference || value.is_null()) return;
  auto& stmt = impl.statement("SELECT 1 FROM " + sql_name(spec.references) +
                              " WHERE id = ? AND deleted = 0");
  stmt.bind(1, value.as_text());
  const bool found = stmt.step();
  stmt.reset();
  if (!found) {
    throw Error(ErrorCode::not_found, "field '" + spec.name + "': no " + spec.references +
                                          " with id '" + value.as_text() + "'");
  }
}

}  // namespace

std::string Replica::create(std::string_view table_name, const Record& fields, std::string id) {
  auto& impl = *impl_;
  const TableSpec& table = impl.table(table_name);
  Impl::StoredRow row;
  for (const auto& [name, raw] : fields) {
    const FieldSpec* spec = nullptr;
    Value value = validated(table, name, raw, &spec);
    if (!value.is_null() && !(value.is_tags() && value.as_tags().empty())) {
      row.fields.emplace(name, std::move(value));
    }
  }
  for (const auto& field : table.fields) {
    if (field.required && !row.fields.count(field.name)) {
      throw Error(ErrorCode::missing_field,
                  "a new row of " + table.name + " needs '" + field.name + "'");
    }
  }
  for (const auto& [name, value] : row.fields) check_reference(impl, *table.field(name), value);

  sqlite::Transaction transaction(impl.db);
  const Hlc now = impl.next_version_clock(nullptr);
  if (id.empty()) {
    id = new_row_id(now.millis());
  } else if (!is_valid_row_id(id)) {
    throw Error(ErrorCode::invalid_value, "'" + id + "' is not a valid id");
  }
  if (impl.load(table, id)) {
    throw Error(ErrorCode::already_exists, table.name + " '" + id + "' already exists");
  }
  if (table.name == tables::customers && !row.fields.count("created_at")) {
    row.fields.emplace("created_at", Value(iso_now(now.millis())));
  }
  const Version version{now, impl.replica_id};
  for (const auto& [name, value] : row.fields) {
    if (value.is_tags()) {
      for (const auto& tag : value.as_tags()) {
        Change change{table.name, id, name, tag, Value(true), version, Version{}};
        row.versions.merge(change);
        impl.append_outbox(change);
      }
    } else {
      Change change{table.name, id, name, {}, value, version, Version{}};
      row.versions.merge(change);
      impl.append_outbox(change);
    }
  }
  impl.store(table, id, row, Impl::Search::now);
  transaction.commit();
  return id;
}

std::optional<Record> Replica::get(std::string_view table_name, std::string_view id) const {
  auto row = impl_->load(impl_->table(table_name), id);
  if (!row || row->deleted) return std::nullopt;
  return std::move(row->fields);
}

std::optional<Record> Replica::get_with_deleted(std::string_view table_name,
                                                std::string_view id) const {
  auto row = impl_->load(impl_->table(table_name), id);
  if (!row) return std::nullopt;
  return std::move(row->fields);
}

std::size_t Replica::update(std::string_view table_name, std::string_view id,
                            const Record& fields) {
  auto& impl = *impl_;
  const TableSpec& table = impl.table(table_name);
  // Validate everything before touching anything.
  std::vector<std::pair<const FieldSpec*, Value>> wanted;
  for (const auto& [name, raw] : fields) {
    const FieldSpec* spec = nullptr;
    Value value = validated(table, name, raw, &spec);
    if (spec->required && value.is_null()) {
      throw Error(ErrorCode::invalid_value, "field '" + spec->name + "' cannot be cleared");
    }
    wanted.emplace_back(spec, std::move(value));
  }

  sqlite::Transaction transaction(impl.db);
  auto row = impl.load(table, id);
  if (!row || row->deleted) {
    throw Error(ErrorCode::not_found, "no " + table.name + " with id '" + std::string(id) + "'");
  }
  std::vector<Change> changes;
  std::optional<Version> version;
  auto next_version = [&] {
    if (!version) version = Version{impl.next_version_clock(&row->versions), impl.replica_id};
    return *version;
  };
  for (auto& [spec, value] : wanted) {
    auto current = row->fields.find(spec->name);
    const Value& before = current == row->fields.end() ? Value() : current->second;
    if (spec->kind == FieldKind::tag_set) {
      const TagSet old_tags = before.is_tags() ? before.as_tags() : TagSet{};
      const TagSet new_tags = value.is_tags() ? value.as_tags() : TagSet{};
      for (const auto& tag : new_tags) {
        if (!std::binary_search(old_tags.begin(), old_tags.end(), tag)) {
          changes.push_back({table.name, std::string(id), spec->name, tag, Value(true),
                             next_version(), row->versions.tag_added(spec->name, tag)});
        }
      }
      for (const auto& tag : old_tags) {
        if (!std::binary_search(new_tags.begin(), new_tags.end(), tag)) {
          changes.push_back({table.name, std::string(id), spec->name, tag, Value(false),
                             next_version(), row->versions.tag_added(spec->name, tag)});
        }
      }
      continue;
    }
    if (before == value) continue;
    check_reference(impl, *spec, value);
    changes.push_back({table.name,
                       std::string(id),
                       spec->name,
                       {},
                       value,
                       next_version(),
                       row->versions.field(spec->name)});
  }
  if (changes.empty()) return 0;  // a no-op update writes nothing

  std::vector<std::string> changed_columns;
  bool searchable_changed = false;
  for (const auto& change : changes) {
    row->versions.merge(change);
    if (!change.element.empty()) {
      TagSet tags = present_tags(row->versions, change.field);
      if (tags.empty())
        row->fields.erase(change.field);
      else
        row->fields[change.field] = Value(std::move(tags));
    } else if (change.value.is_null()) {
      row->fields.erase(change.field);
    } else {
      row->fields[change.field] = change.value;
    }
    impl.append_outbox(change);
    if (changed_columns.empty() || changed_columns.back() != change.field) {
      changed_columns.push_back(change.field);
      searchable_changed = searchable_changed || table.field(change.field)->searchable;
    }
  }
  impl.store(table, id, *row, searchable_changed ? Impl::Search::now : Impl::Search::untouched,
             &changed_columns);
  transaction.commit();
  return changed_columns.size();
}

std::size_t Replica::update_entity(std::string_view table_name, std::string_view id,
                                   const Record& fields) {
  // A typed struct holds every field: the ones it leaves unset are cleared.
  const TableSpec& table = impl_->table(table_name);
  Record complete = fields;
  for (const auto& field : table.fields) {
    if (!complete.count(field.name)) {
      complete.emplace(field.name, field.kind == FieldKind::tag_set ? Value(TagSet{}) : Value());
    }
  }
  // Required fields left empty in the struct keep their stored value.
  for (const auto& field : table.fields) {
    if (field.required && complete[field.name].is_null()) complete.erase(field.name);
  }
  return update(table_name, id, complete);
}

void Replica::remove(std::string_view table_name, std::string_view id) {
  auto& impl = *impl_;
  const TableSpec& table = impl.table(table_name);
  sqlite::Transaction transaction(impl.db);
  auto row = impl.load(table, id);
  if (!row || row->deleted) {
    throw Error(ErrorCode::not_found, "no " + table.name + " with id '" + std::string(id) + "'");
  }
  Change change{table.name,
                std::string(id),
                kDeletedField,
                {},
                Value(true),
                Version{impl.next_version_clock(&row->versions), impl.replica_id},
                row->versions.field(kDeletedField)};
  row->versions.merge(change);
  row->deleted = true;
  impl.append_outbox(change);
  const std::vector<std::string> no_columns;
  impl.store(table, id, *row, Impl::Search::now, &no_columns);
  transaction.commit();
}

namespace {

// The tags a live row's tag-set field holds now; not_found for a missing or deleted row.
TagSet current_tags(const Replica& replica, std::string_view table, std::string_view id,
                    std::string_view field) {
  auto row = replica.get(table, id);
  if (!row) {
    throw Error(ErrorCode::not_found,
                "no " + std::string(table) + " with id '" + std::string(id) + "'");
  }
  auto it = row->find(field);
  return it != row->end() && it->second.is_tags() ? it->second.as_tags() : TagSet{};
}

}  // namespace

bool Replica::add_tag(std::string_view table_name, std::string_view id, std::string_view field,
                      std::string_view tag) {
  TagSet tags = current_tags(*this, table_name, id, field);
  if (std::find(tags.begin(), tags.end(), tag) != tags.end()) return false;
  tags.emplace_back(tag);
  return update(table_name, id, Record{{std::string(field), Value(std::move(tags))}}) > 0;
}

bool Replica::remove_tag(std::string_view table_name, std::string_view id, std::string_view field,
                         std::string_view tag) {
  TagSet tags = current_tags(*this, table_name, id, field);
  auto it = std::find(tags.begin(), tags.end(), tag);
  if (it == tags.end()) return false;
  tags.erase(it);
  return update(table_name, id, Record{{std::string(field), Value(std::move(tags))}}) > 0;
}

// ---- Outbox ---------------------------------------------------------------------------------

namespace {

// Up to `limit` outbox entries after `after`, oldest first.
void read_outbox(const Replica::Impl& impl, std::uint64_t after, std::size_t limit,
                 std::vector<OutboxEntry>& entries) {
  auto& stmt = impl.statement(
      "SELECT seq, tbl, row_id, field, element, value, version, base FROM _outbox "
      "WHERE seq > ? ORDER BY seq LIMIT ?");
  stmt.bind(1, static_cast<std::int64_t>(after));
  stmt.bind(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  while (stmt.step()) {
    OutboxEntry entry;
    entry.seq = static_cast<std::uint64_t>(stmt.integer(0));
    entry.change.table = stmt.text(1);
    entry.change.row = stmt.text(2);
    entry.change.field = stmt.text(3);
    entry.change.element = stmt.text(4);
    entry.change.value = value_from_json_text(stmt.text_view(5));
    entry.change.version = Version::parse(stmt.text_view(6)).value_or(Version{});
    entry.change.base = Version::parse(stmt.text_view(7)).value_or(Version{});
    entries.push_back(std::move(entry));
  }
  stmt.reset();
}

}  // namespace

std::vector<OutboxEntry> Replica::pending_changes(std::size_t limit) const {
  auto& impl = *impl_;
  std::vector<OutboxEntry> entries;
  read_outbox(impl, 0, limit, entries);
  // The whole log, or nothing: every row is whole.
  if (entries.size() < limit || entries.empty()) return entries;
  // A row's entries need not be together: an edit of a pending field moves its entry to
  // the end (append_outbox). A prefix keeps every row whole when it reaches the last entry
  // of each row it holds.
  std::map<std::pair<std::string, std::string>, std::uint64_t> last_of_row;
  auto& last = impl.statement("SELECT max(seq) FROM _outbox WHERE tbl = ? AND row_id = ?");
  auto last_entry = [&](const Change& change) {
    auto [it, added] = last_of_row.try_emplace({change.table, change.row}, 0);
    if (added) {
      last.bind(1, change.table).bind(2, change.row);
      last.step();
      it->second = static_cast<std::uint64_t>(last.integer(0));
      last.reset();
    }
    return it->second;
  };
  std::uint64_t reach = 0;  // the last entry of every row seen so far
  std::size_t whole = 0;    // the longest prefix of whole rows so far
  for (std::size_t i = 0; i < entries.size(); ++i) {
    reach = std::max(reach, last_entry(entries[i].change));
    if (reach == entries[i].seq) whole = i + 1;
  }
  if (whole > 0) {
    entries.resize(whole);
    return entries;
  }
  // Not even the first row fits in `limit`: the shortest prefix of whole rows past it.
  // Read in steps, because each row the prefix takes in may have entries further on.
  const std::size_t first_part = entries.size();
  while (entries.size() < kMaxPushChanges) {
    const std::size_t from = entries.size();
    read_outbox(impl, entries.back().seq, std::min(limit, kMaxPushChanges - from), entries);
    for (std::size_t i = from; i < entries.size(); ++i) {
      reach = std::max(reach, last_entry(entries[i].change));
      if (reach == entries[i].seq) {
        entries.resize(i + 1);
        return entries;
      }
    }
    if (entries.size() == from) break;
  }
  // Rows so intertwined that no prefix within the push limit holds them whole.
  entries.resize(first_part);
  return entries;
}

std::size_t Replica::pending_count() const {
  auto& stmt = impl_->statement("SELECT count(*) FROM _outbox");
  stmt.step();
  const auto count = static_cast<std::size_t>(stmt.integer(0));
  stmt.reset();
  return count;
}

void Replica::acknowledge(std::uint64_t seq) {
  auto& stmt = impl_->statement("DELETE FROM _outbox WHERE seq <= ?");
  stmt.bind(1, static_cast<std::int64_t>(seq)).run();
}

}  // namespace libreta::client
