// The SQLite Store: one write connection (the writer thread's) and a pool of readers.
//
// Tables:
//   rows(tbl, id, fields JSON, versions JSON, key_seqs, seq, customer, scope, scope_seq)
//       one row per synced row; versions holds each key's version and the server sequence
//       of its last change (encode_versions; key_seqs is empty, or a version 2 row's
//       sequences until the row is written again); seq is the greatest, indexed for pulls;
//       scope (the owning seller) with seq is indexed for a seller's pulls, customer for
//       finding a customer's rows when it is reassigned
//   evictions(seq, user, tbl, row_id, until)     rows that left a seller's scope
//   replicas(replica, user, acked, updated_ms, first_seq, sent_seq)
//       push idempotency and authorship: the user a replica id belongs to (the first to
//       use it), the server sequence when it was first seen, and how far the server has
//       sent it rows (for the reassignment rule, docs/security.md)
//   tokens(id, hash, user, role, created_ms, revoked_ms)
//   conflicts(..., lost_replica)                  the conflict inbox, with the replica whose
//       value lost, indexed so that each replica learns the conflicts it lost
//   meta(key, value)                              last_seq, file_version
#include "libreta/server/sqlite_store.hpp"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "libreta/protocol/canonical.hpp"
#include "libreta/protocol/json_text.hpp"
#include "libreta/protocol/value_json.hpp"
#include "libreta/sqlite/sqlite.hpp"

namespace libreta::server {
namespace {

using json = nlohmann::json;
// 1: rows without scope columns; 2: scope columns and evictions; 3: key sequences in the
// versions text (encode_versions), key_seqs left empty; 4: replicas bound to their first
// user with first_seq and sent_seq, conflicts with lost_replica. Each version reads the files of
// the earlier ones; a version 2 row is read as it is and written in the new form.
constexpr int kServerFileVersion = 4;
constexpr char kRowColumns[] =
    "tbl, id, fields, versions, key_seqs, seq, customer, scope, scope_seq";

// A row's stored parts are JSON text (readable with SQLite's json functions, as the
// version 1 to 2 migration does), written and read by json_text, not by a general JSON
// library: the writer loads and saves a row for every change it applies. Anything but what
// these encoders write is corrupt.

// {"field": value, ...}, in field order.
std::string encode_fields(const Record& fields) {
  std::string out = "{";
  for (const auto& [name, value] : fields) {
    if (out.size() > 1) out += ',';
    json_text::append_string(out, name);
    out += ':';
    json_text::append_value(out, value);
  }
  out += '}';
  return out;
}

Record decode_fields(std::string_view text) {
  Record fields;
  json_text::Reader reader(text);
  std::string name;
  Value value;
  bool ok = reader.take('{');
  while (ok && !reader.peek('}')) {
    ok = (fields.empty() || reader.take(',')) && reader.string(name) && reader.take(':') &&
         reader.value(value);
    if (ok) json_text::assign_in_order(fields, std::move(name), std::move(value));
  }
  if (!ok || !reader.take('}') || !reader.done()) {
    throw Error(ErrorCode::storage, "corrupt row fields in the server store");
  }
  return fields;
}

using KeySeqs = std::map<std::string, std::uint64_t, std::less<>>;

// The `versions` text since file version 3: each key's version with the server sequence of
// its last change, {"<version>":{"<seq>":["key",...],...},...}. A row written at once has
// one version and one sequence for all its keys, and an edit adds one of each, so each key
// is written once, where version 2 wrote every key twice (its versions, and key_seqs
// grouped by sequence); rows are about a fifth smaller. Sequence 0: none known (a key a
// version 2 row had no sequence for, which state_after sends in every page).
std::string encode_versions(const RowVersions& versions, const KeySeqs& seqs) {
  struct Group {
    const Version* version;
    std::uint64_t seq;
    std::vector<const std::string*> keys;
  };
  std::vector<Group> groups;
  auto seq = seqs.begin();
  for (const auto& [key, version] : versions.entries()) {
    // Both maps are in key order: walked together.
    while (seq != seqs.end() && seq->first < key) ++seq;
    const std::uint64_t key_seq = seq != seqs.end() && seq->first == key ? seq->second : 0;
    auto group = std::find_if(groups.begin(), groups.end(), [&, &v = version](const Group& g) {
      return g.seq == key_seq && *g.version == v;
    });
    if (group == groups.end()) group = groups.insert(groups.end(), Group{&version, key_seq, {}});
    group->keys.push_back(&key);
  }
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return *a.version == *b.version ? a.seq < b.seq : *a.version < *b.version;
  });
  std::string out = "{";
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (g == 0 || !(*groups[g].version == *groups[g - 1].version)) {
      if (g > 0) out += "},";
      json_text::append_string(out, groups[g].version->to_string());
      out += ":{";
    } else {
      out += ',';
    }
    out += '"';
    out += std::to_string(groups[g].seq);
    out += "\":";
    json_text::append_string_list(out, groups[g].keys);
  }
  if (!groups.empty()) out += '}';
  out += '}';
  return out;
}

// Reads what encode_versions writes; false when the text is anything else.
bool decode_versions(std::string_view text, RowVersions& versions, KeySeqs& seqs) {
  std::map<std::string, Version, std::less<>> entries;
  json_text::Reader reader(text);
  std::string version_text, key;
  if (!reader.take('{')) return false;
  for (bool first = true; !reader.peek('}'); first = false) {
    if ((!first && !reader.take(',')) || !reader.string(version_text) || !reader.take(':') ||
        !reader.take('{')) {
      return false;
    }
    const auto version = Version::parse(version_text);
    if (!version || version->is_none() || reader.peek('}')) return false;  // none, or no keys
    for (bool first_seq = true; !reader.peek('}'); first_seq = false) {
      std::uint64_t seq = 0;
      if ((!first_seq && !reader.take(',')) || !reader.quoted_unsigned(seq) || !reader.take(':') ||
          !reader.take('[') || reader.peek(']')) {
        return false;
      }
      for (bool first_key = true; !reader.peek(']'); first_key = false) {
        if ((!first_key && !reader.take(',')) || !reader.string(key)) return false;
        if (seq != 0) json_text::assign_in_order(seqs, key, seq);
        // A key twice (with two versions, or two sequences) is not what the encoder wrote.
        if (!json_text::insert_in_order(entries, std::move(key), *version)) return false;
      }
      reader.take(']');
    }
    reader.take('}');
  }
  if (!reader.take('}') || !reader.done()) return false;
  versions = RowVersions::from_entries(std::move(entries));
  return true;
}

// Version 2's key_seqs: {"<seq>": ["key", ...], ...}, each sequence once with the keys it
// last changed (its versions were RowVersions::encode's text). Read, no longer written.
KeySeqs decode_key_seqs(std::string_view text) {
  KeySeqs seqs;
  json_text::Reader reader(text);
  std::string key;
  std::uint64_t seq = 0;
  bool ok = reader.take('{');
  for (bool first = true; ok && !reader.peek('}'); first = false) {
    ok = (first || reader.take(',')) && reader.quoted_unsigned(seq) && reader.take(':') &&
         reader.take('[');
    for (bool first_key = true; ok && !reader.peek(']'); first_key = false) {
      ok = (first_key || reader.take(',')) && reader.string(key);
      if (ok) json_text::assign_in_order(seqs, std::move(key), seq);
    }
    ok = ok && reader.take(']');
  }
  if (!ok || !reader.take('}') || !reader.done()) {
    throw Error(ErrorCode::storage, "corrupt key sequences in the server store");
  }
  return seqs;
}

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
      created_ms INTEGER NOT NULL, revoked_ms INTEGER);
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

void create_indexes(sqlite::Database& db) {
  db.exec(R"sql(
    CREATE INDEX IF NOT EXISTS rows_scope ON rows(scope, seq);
    CREATE INDEX IF NOT EXISTS rows_customer ON rows(customer);
    CREATE INDEX IF NOT EXISTS conflicts_lost ON conflicts(lost_replica, id);
  )sql");
}

std::uint64_t read_last_seq(const sqlite::Database& db) {
  auto stmt = db.prepare("SELECT value FROM meta WHERE key = 'last_seq'");
  return stmt.step() ? std::stoull(stmt.text(0)) : 0;
}

ServerRow read_row(const sqlite::Statement& stmt) {
  // Columns: kRowColumns
  ServerRow row;
  row.table = stmt.text(0);
  row.id = stmt.text(1);
  row.fields = decode_fields(stmt.text_view(2));
  if (const std::string_view key_seqs = stmt.text_view(4); key_seqs.empty()) {
    if (!decode_versions(stmt.text_view(3), row.versions, row.key_seqs))
      throw Error(ErrorCode::storage, "corrupt versions in the server store");
  } else {
    // A row last written by version 2, until it is written again.
    auto versions = RowVersions::decode(stmt.text_view(3));
    if (!versions) throw Error(ErrorCode::storage, "corrupt versions in the server store");
    row.versions = std::move(*versions);
    row.key_seqs = decode_key_seqs(key_seqs);
  }
  row.seq = static_cast<std::uint64_t>(stmt.integer(5));
  row.customer = stmt.text(6);
  row.scope = stmt.text(7);
  row.scope_seq = static_cast<std::uint64_t>(stmt.integer(8));
  return row;
}

Eviction read_eviction(const sqlite::Statement& stmt) {
  // Columns: seq, user, tbl, row_id, until
  Eviction eviction;
  eviction.seq = static_cast<std::uint64_t>(stmt.integer(0));
  eviction.user = stmt.text(1);
  eviction.table = stmt.text(2);
  eviction.row = stmt.text(3);
  eviction.until = Version::parse(stmt.text_view(4)).value_or(Version{});
  return eviction;
}

TokenRecord read_token(const sqlite::Statement& stmt) {
  TokenRecord token;
  token.id = stmt.text(0);
  token.hash = stmt.text(1);
  token.user = stmt.text(2);
  token.role = parse_role(stmt.text_view(3)).value_or(Role::seller);
  token.created_ms = static_cast<std::uint64_t>(stmt.integer(4));
  if (!stmt.is_null(5)) token.revoked_ms = static_cast<std::uint64_t>(stmt.integer(5));
  return token;
}

Value parse_value(std::string_view text) {
  auto decoded = value_from_json(json::parse(text, nullptr, false));
  return decoded ? std::move(decoded).value() : Value();
}

constexpr const char* kConflictColumns =
    "id, kind, tbl, row_id, field, kept_value, kept_version, kept_user, lost_value, "
    "lost_version, lost_user, detected_ms";

ConflictRecord read_conflict(const sqlite::Statement& stmt) {
  // Columns: kConflictColumns
  ConflictRecord c;
  c.id = static_cast<std::uint64_t>(stmt.integer(0));
  c.kind = stmt.text(1);
  c.table = stmt.text(2);
  c.row = stmt.text(3);
  c.field = stmt.text(4);
  c.kept_value = parse_value(stmt.text_view(5));
  c.kept_version = Version::parse(stmt.text_view(6)).value_or(Version{});
  c.kept_user = stmt.text(7);
  c.lost_value = parse_value(stmt.text_view(8));
  c.lost_version = Version::parse(stmt.text_view(9)).value_or(Version{});
  c.lost_user = stmt.text(10);
  c.detected_ms = static_cast<std::uint64_t>(stmt.integer(11));
  return c;
}

constexpr const char* kReplicaQuery =
    "SELECT user, acked, first_seq, sent_seq FROM replicas WHERE replica = ?";

ReplicaRecord read_replica(const sqlite::Statement& stmt) {
  ReplicaRecord record;
  record.user = stmt.text(0);
  record.acked = static_cast<std::uint64_t>(stmt.integer(1));
  record.first_seq = static_cast<std::uint64_t>(stmt.integer(2));
  record.sent_seq = static_cast<std::uint64_t>(stmt.integer(3));
  return record;
}

class SqliteStore;

// The write connection's prepared statements, by SQL text: prepared once, reused by every
// transaction (the writer runs the same few statements for every row).
class StatementCache {
 public:
  explicit StatementCache(sqlite::Database& db) : db_(db) {}
  sqlite::Statement& operator()(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) it = statements_.emplace(sql, db_.prepare(sql)).first;
    it->second.reset();
    return it->second;
  }

 private:
  sqlite::Database& db_;
  std::unordered_map<std::string, sqlite::Statement> statements_;
};

class SqliteWriter final : public StoreWriter {
 public:
  SqliteWriter(sqlite::Database& db, StatementCache& statements, std::unique_lock<std::mutex> lock)
      : lock_(std::move(lock)), db_(db), prepare_(statements), transaction_(db) {}

  std::optional<ServerRow> load_row(std::string_view table, std::string_view id) override {
    auto& stmt =
        prepare_(std::string("SELECT ") + kRowColumns + " FROM rows WHERE tbl = ? AND id = ?");
    stmt.bind(1, table).bind(2, id);
    if (!stmt.step()) return std::nullopt;
    ServerRow row = read_row(stmt);
    stmt.reset();  // a cached statement left on a row would hold a read snapshot open
    return row;
  }

  std::vector<ServerRow> children_of(std::string_view customer) override {
    auto& stmt = prepare_(std::string("SELECT ") + kRowColumns +
                          " FROM rows WHERE customer = ? AND tbl <> 'customers'");
    stmt.bind(1, customer);
    std::vector<ServerRow> rows;
    while (stmt.step()) rows.push_back(read_row(stmt));
    return rows;
  }

  void add_eviction(const Eviction& e) override {
    auto& stmt =
        prepare_("INSERT INTO evictions(seq, user, tbl, row_id, until) VALUES(?, ?, ?, ?, ?)");
    stmt.bind(1, static_cast<std::int64_t>(e.seq)).bind(2, e.user).bind(3, e.table);
    stmt.bind(4, e.row).bind(5, e.until.to_string()).run();
  }

  std::uint64_t last_change_of_scope(std::string_view seller) override {
    // Both through their (scope, seq) and (user, seq) indexes: one lookup each.
    auto& stmt = prepare_(
        "SELECT max(coalesce((SELECT max(seq) FROM rows WHERE scope = ?1), 0), "
        "coalesce((SELECT max(seq) FROM evictions WHERE user = ?1), 0))");
    stmt.bind(1, seller);
    const std::uint64_t seq = stmt.step() ? static_cast<std::uint64_t>(stmt.integer(0)) : 0;
    stmt.reset();
    return seq;
  }

  std::optional<Eviction> last_eviction(std::string_view user, std::string_view table,
                                        std::string_view row) override {
    auto& stmt = prepare_(
        "SELECT seq, user, tbl, row_id, until FROM evictions WHERE user = ? AND tbl = ? AND "
        "row_id = ? ORDER BY seq DESC LIMIT 1");
    stmt.bind(1, user).bind(2, table).bind(3, row);
    if (!stmt.step()) return std::nullopt;
    Eviction eviction = read_eviction(stmt);
    stmt.reset();
    return eviction;
  }

  void save_row(const ServerRow& row) override {
    const std::string fields = encode_fields(row.fields);
    const std::string versions = encode_versions(row.versions, row.key_seqs);
    const std::string_view key_seqs = "";  // in `versions` since file version 3
    // Most saves rewrite a stored row of the same customer: an UPDATE that leaves the
    // customer column alone does not touch its index, nor try an INSERT first.
    auto& update = prepare_(
        "UPDATE rows SET fields = ?, versions = ?, key_seqs = ?, seq = ?, scope = ?, "
        "scope_seq = ? WHERE tbl = ? AND id = ? AND customer = ?");
    update.bind_static(1, fields).bind_static(2, versions).bind_static(3, key_seqs);
    update.bind(4, static_cast<std::int64_t>(row.seq)).bind(5, row.scope);
    update.bind(6, static_cast<std::int64_t>(row.scope_seq)).bind(7, row.table).bind(8, row.id);
    update.bind(9, row.customer).run();
    if (db_.changes() > 0) return;
    auto& stmt = prepare_(
        "INSERT INTO rows(tbl, id, fields, versions, key_seqs, seq, customer, scope, scope_seq) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(tbl, id) DO UPDATE SET fields = excluded.fields, "
        "versions = excluded.versions, key_seqs = excluded.key_seqs, seq = excluded.seq, "
        "customer = excluded.customer, scope = excluded.scope, scope_seq = excluded.scope_seq");
    stmt.bind(1, row.table).bind(2, row.id).bind_static(3, fields);
    stmt.bind_static(4, versions).bind_static(5, key_seqs);
    stmt.bind(6, static_cast<std::int64_t>(row.seq)).bind(7, row.customer).bind(8, row.scope);
    stmt.bind(9, static_cast<std::int64_t>(row.scope_seq)).run();
  }

  std::uint64_t acked(std::string_view replica) override {
    auto& stmt = prepare_("SELECT acked FROM replicas WHERE replica = ?");
    stmt.bind(1, replica);
    const std::uint64_t seq = stmt.step() ? static_cast<std::uint64_t>(stmt.integer(0)) : 0;
    stmt.reset();
    return seq;
  }

  void set_acked(std::string_view replica, std::string_view user, std::uint64_t seq) override {
    // The user stays the one who first used the replica id (claim_replica).
    auto& stmt = prepare_(
        "INSERT INTO replicas(replica, user, acked, updated_ms) "
        "VALUES(?, ?, ?, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) "
        "ON CONFLICT(replica) DO UPDATE SET "
        "acked = max(acked, excluded.acked), updated_ms = excluded.updated_ms");
    stmt.bind(1, replica).bind(2, user).bind(3, static_cast<std::int64_t>(seq)).run();
  }

  std::optional<ReplicaRecord> replica(std::string_view replica) override {
    auto& stmt = prepare_(kReplicaQuery);
    stmt.bind(1, replica);
    std::optional<ReplicaRecord> record;
    if (stmt.step()) record = read_replica(stmt);
    stmt.reset();
    return record;
  }

  void claim_replica(std::string_view replica, std::string_view user,
                     std::uint64_t first_seq) override {
    auto& stmt = prepare_(
        "INSERT OR IGNORE INTO replicas(replica, user, acked, updated_ms, first_seq) "
        "VALUES(?, ?, 0, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), ?)");
    stmt.bind(1, replica).bind(2, user).bind(3, static_cast<std::int64_t>(first_seq)).run();
  }

  void set_sent(std::string_view replica, std::uint64_t seq) override {
    auto& stmt = prepare_("UPDATE replicas SET sent_seq = max(sent_seq, ?) WHERE replica = ?");
    stmt.bind(1, static_cast<std::int64_t>(seq)).bind(2, replica).run();
  }

  std::optional<std::string> user_of_replica(std::string_view replica) override {
    auto& stmt = prepare_("SELECT user FROM replicas WHERE replica = ?");
    stmt.bind(1, replica);
    if (!stmt.step()) return std::nullopt;
    std::string user = stmt.text(0);
    stmt.reset();
    return user;
  }

  void add_conflict(const ConflictRecord& c) override {
    auto& stmt = prepare_(
        "INSERT INTO conflicts(kind, tbl, row_id, field, kept_value, kept_version, kept_user, "
        "lost_value, lost_version, lost_user, detected_ms, lost_replica) "
        "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    stmt.bind(1, c.kind).bind(2, c.table).bind(3, c.row).bind(4, c.field);
    stmt.bind(5, value_to_json(c.kept_value).dump()).bind(6, c.kept_version.to_string());
    stmt.bind(7, c.kept_user).bind(8, value_to_json(c.lost_value).dump());
    stmt.bind(9, c.lost_version.to_string()).bind(10, c.lost_user);
    stmt.bind(11, static_cast<std::int64_t>(c.detected_ms)).bind(12, c.lost_version.replica);
    stmt.run();
  }

  std::uint64_t last_seq() override { return read_last_seq(db_); }

  void set_last_seq(std::uint64_t seq) override {
    auto& stmt = prepare_("UPDATE meta SET value = ? WHERE key = 'last_seq'");
    stmt.bind(1, std::to_string(seq)).run();
  }

  void commit() override { transaction_.commit(); }

 private:
  std::unique_lock<std::mutex> lock_;  // one writer at a time
  sqlite::Database& db_;
  StatementCache& prepare_;
  sqlite::Transaction transaction_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::filesystem::path file, SqliteStoreOptions options)
      : file_(std::move(file)), writer_(file_.string()) {
    configure(writer_);
    // A group commit of 10,000 changes dirties more pages than SQLite's default 2 MiB cache
    // holds: it spilled them into the WAL mid-transaction and read them back. 32 MiB holds a
    // group's pages (docs/performance.md, "Server settings").
    writer_.exec("PRAGMA cache_size = -32768");
    if (options.max_bytes > 0) {
      auto page_size = writer_.prepare("PRAGMA page_size");
      page_size.step();
      const auto pages = options.max_bytes / static_cast<std::uint64_t>(page_size.integer(0));
      writer_.exec("PRAGMA max_page_count = " + std::to_string(std::max<std::uint64_t>(pages, 16)));
    }
    sqlite::Transaction transaction(writer_);
    create_schema(writer_);
    add_scope_columns(writer_);
    add_replica_and_conflict_columns(writer_);
    create_indexes(writer_);
    auto version = writer_.prepare("SELECT value FROM meta WHERE key = 'file_version'");
    if (version.step() && std::stoi(version.text(0)) > kServerFileVersion) {
      throw Error(ErrorCode::schema_too_new,
                  file_.string() + " was written by a newer libreta-server");
    }
    writer_.exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('file_version', '" +
                 std::to_string(kServerFileVersion) + "')");
    transaction.commit();
  }

  std::unique_ptr<StoreWriter> begin_write() override {
    std::unique_lock lock(write_mutex_);
    return std::make_unique<SqliteWriter>(writer_, writer_statements_, std::move(lock));
  }

  RowsPage read_page(std::uint64_t after, std::size_t limit, const std::string* seller) override {
    auto reader = borrow_reader();
    RowsPage page;
    {
      // One read transaction: the rows, the evictions and the end of the page must come
      // from the same snapshot, or a commit in between could be skipped.
      sqlite::ReadSnapshot snapshot(*reader);
      auto rows = reader->prepare(std::string("SELECT ") + kRowColumns + " FROM rows WHERE " +
                                  (seller ? "scope = ? AND seq > ?" : "? IS NULL AND seq > ?") +
                                  " ORDER BY seq LIMIT ?");
      if (seller)
        rows.bind(1, *seller);
      else
        rows.bind_null(1);
      rows.bind(2, static_cast<std::int64_t>(after)).bind(3, static_cast<std::int64_t>(limit));
      while (rows.step()) page.rows.push_back(read_row(rows));
      page.more = page.rows.size() == limit && limit > 0;
      page.snapshot_seq = read_last_seq(*reader);
      page.end = page.more ? page.rows.back().seq : std::max(after, page.snapshot_seq);
      if (seller) {
        auto evictions = reader->prepare(
            "SELECT seq, user, tbl, row_id, until FROM evictions WHERE user = ? AND seq > ? AND "
            "seq <= ? ORDER BY seq");
        evictions.bind(1, *seller).bind(2, static_cast<std::int64_t>(after));
        evictions.bind(3, static_cast<std::int64_t>(page.end));
        while (evictions.step()) page.evictions.push_back(read_eviction(evictions));
      }
    }
    give_back(std::move(reader));
    return page;
  }

  std::uint64_t last_seq() override {
    auto reader = borrow_reader();
    const auto seq = read_last_seq(*reader);
    give_back(std::move(reader));
    return seq;
  }

  std::uint64_t acked(std::string_view replica) override {
    auto reader = borrow_reader();
    auto stmt = reader->prepare("SELECT acked FROM replicas WHERE replica = ?");
    stmt.bind(1, replica);
    const std::uint64_t seq = stmt.step() ? static_cast<std::uint64_t>(stmt.integer(0)) : 0;
    stmt = {};
    give_back(std::move(reader));
    return seq;
  }

  void add_token(const TokenRecord& token) override {
    std::lock_guard lock(write_mutex_);
    auto stmt = writer_.prepare(
        "INSERT INTO tokens(id, hash, user, role, created_ms, revoked_ms) VALUES(?,?,?,?,?,NULL)");
    stmt.bind(1, token.id).bind(2, token.hash).bind(3, token.user).bind(4, role_name(token.role));
    stmt.bind(5, static_cast<std::int64_t>(token.created_ms)).run();
  }

  std::optional<TokenRecord> find_token_by_hash(std::string_view hash) override {
    auto reader = borrow_reader();
    auto stmt = reader->prepare(
        "SELECT id, hash, user, role, created_ms, revoked_ms FROM tokens WHERE hash = ?");
    stmt.bind(1, hash);
    std::optional<TokenRecord> token;
    if (stmt.step()) token = read_token(stmt);
    stmt = {};
    give_back(std::move(reader));
    return token;
  }

  std::vector<TokenRecord> tokens() override {
    auto reader = borrow_reader();
    auto stmt = reader->prepare(
        "SELECT id, hash, user, role, created_ms, revoked_ms FROM tokens ORDER BY created_ms, id");
    std::vector<TokenRecord> tokens;
    while (stmt.step()) tokens.push_back(read_token(stmt));
    stmt = {};
    give_back(std::move(reader));
    return tokens;
  }

  bool revoke_token(std::string_view id, std::uint64_t now_ms) override {
    std::lock_guard lock(write_mutex_);
    auto stmt =
        writer_.prepare("UPDATE tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL");
    stmt.bind(1, static_cast<std::int64_t>(now_ms)).bind(2, id).run();
    return writer_.changes() > 0;
  }

  std::vector<std::string> revoked_token_ids() override {
    auto reader = borrow_reader();
    auto stmt = reader->prepare("SELECT id FROM tokens WHERE revoked_ms IS NOT NULL");
    std::vector<std::string> ids;
    while (stmt.step()) ids.push_back(stmt.text(0));
    stmt = {};
    give_back(std::move(reader));
    return ids;
  }

  std::vector<ConflictRecord> conflicts(std::size_t limit) override {
    auto reader = borrow_reader();
    auto stmt = reader->prepare(std::string("SELECT ") + kConflictColumns +
                                " FROM conflicts ORDER BY id LIMIT ?");
    stmt.bind(1, static_cast<std::int64_t>(limit));
    std::vector<ConflictRecord> out;
    while (stmt.step()) out.push_back(read_conflict(stmt));
    stmt = {};
    give_back(std::move(reader));
    return out;
  }

  std::vector<ConflictRecord> conflicts_lost_by(std::string_view replica, std::uint64_t after,
                                                std::size_t limit) override {
    auto reader = borrow_reader();
    auto stmt = reader->prepare(std::string("SELECT ") + kConflictColumns +
                                " FROM conflicts WHERE lost_replica = ? AND id > ? "
                                "ORDER BY id LIMIT ?");
    stmt.bind(1, replica).bind(2, static_cast<std::int64_t>(after));
    stmt.bind(3, static_cast<std::int64_t>(limit));
    std::vector<ConflictRecord> out;
    while (stmt.step()) out.push_back(read_conflict(stmt));
    stmt = {};
    give_back(std::move(reader));
    return out;
  }

  std::optional<ReplicaRecord> replica(std::string_view replica) override {
    auto reader = borrow_reader();
    auto stmt = reader->prepare(kReplicaQuery);
    stmt.bind(1, replica);
    std::optional<ReplicaRecord> record;
    if (stmt.step()) record = read_replica(stmt);
    stmt = {};
    give_back(std::move(reader));
    return record;
  }

  std::string canonical_dump() override { return dump_where(nullptr); }

  std::string canonical_dump_of_scope(std::string_view seller) override {
    const std::string user(seller);
    return dump_where(&user);
  }

 private:
  std::string dump_where(const std::string* seller) {
    auto reader = borrow_reader();
    auto stmt = reader->prepare(std::string("SELECT ") + kRowColumns + " FROM rows" +
                                (seller ? " WHERE scope = ?" : ""));
    if (seller) stmt.bind(1, *seller);
    std::vector<std::string> lines;
    while (stmt.step()) {
      const ServerRow row = read_row(stmt);
      lines.push_back(canonical_row(row.table, row.id, row.fields, row.versions));
    }
    stmt = {};
    give_back(std::move(reader));
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& line : lines) out += line;
    return out;
  }

  std::unique_ptr<sqlite::Database> borrow_reader() {
    {
      std::lock_guard lock(readers_mutex_);
      if (!readers_.empty()) {
        auto reader = std::move(readers_.back());
        readers_.pop_back();
        return reader;
      }
    }
    auto reader = std::make_unique<sqlite::Database>(file_.string(), false);
    reader->exec("PRAGMA query_only = ON");
    return reader;
  }

  void give_back(std::unique_ptr<sqlite::Database> reader) {
    std::lock_guard lock(readers_mutex_);
    if (readers_.size() < kMaxIdleReaders) readers_.push_back(std::move(reader));
  }

  static constexpr std::size_t kMaxIdleReaders = 8;
  std::filesystem::path file_;
  std::mutex write_mutex_;
  sqlite::Database writer_;
  StatementCache writer_statements_{writer_};  // under write_mutex_
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<sqlite::Database>> readers_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& file,
                                         SqliteStoreOptions options) {
  return std::make_unique<SqliteStore>(file, options);
}

RowState ServerRow::state_after(std::uint64_t since) const {
  RowState state;
  state.table = table;
  state.id = id;
  for (const auto& [key, version] : versions.entries()) {
    if (since > 0) {
      auto key_seq = key_seqs.find(key);
      if (key_seq != key_seqs.end() && key_seq->second <= since) continue;
    }
    state.versions.set_field(key, version);
    if (key.find_first_of("+-") != std::string::npos) continue;  // a tag's state
    if (auto value = fields.find(key); value != fields.end())
      state.fields.emplace(key, value->second);
  }
  return state;
}

}  // namespace libreta::server
