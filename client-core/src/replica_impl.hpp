// Private state of a Replica, shared by the files that implement it: replica.cpp (opening,
// migrations, meta), replica_rows.cpp (rows on disk, search documents), replica_write.cpp
// (local writes), replica_outbox.cpp, replica_apply.cpp (remote merge, conflicts, refusals,
// dump), replica_queries.cpp and replica_reports.cpp (the seller's lists and reports).
//
// Storage layout (docs/storage.md has the full description):
//   <table>        one SQLite table per schema table: id TEXT PRIMARY KEY, one column per
//                  field (tag sets as a JSON array text, booleans 0/1), deleted INTEGER,
//                  _versions TEXT (RowVersions::encode), _extra TEXT (JSON object of fields
//                  from a newer schema, kept verbatim)
//   search_index   FTS5 (customer_id, tbl, row_id UNINDEXED; body), tokenizer unicode61
//                  with remove_diacritics 2; one document per live customer/contact/
//                  interaction row, rowid = the row's rowid * 8 + its table's position
//   _search_pending  documents to refresh (rows merged from the server): indexed in one
//                  go before the next search, not row by row during a download
//   _outbox        local changes not yet acknowledged (seq, tbl, row_id, field, element,
//                  value JSON, version, base)
//   _refusals      pushed changes the server refused (seq, tbl, row_id, field, element,
//                  code, message)
//   _conflicts     conflicts the server reported (both values and versions, server_id,
//                  kind, users), once each by (tbl, row_id, field, lost_version,
//                  kept_version)
//   _meta          key/value: replica_id, file_version, schema_version, clock, cursor,
//                  conflicts_cursor, setting.*
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "libreta/client/replica.hpp"
#include "libreta/protocol/row_versions.hpp"
#include "libreta/protocol/schema.hpp"
#include "libreta/sqlite/sqlite.hpp"

namespace libreta::client {

// The storage schema version of the replica file (tables, indexes, meta), distinct from the
// customer book schema version. Migrations in replica.cpp bring older files up to it.
inline constexpr int kReplicaFileVersion = 2;

struct Replica::Impl {
  std::filesystem::path path;
  sqlite::Database db;
  const Schema* schema = nullptr;
  std::unique_ptr<HybridClock> clock;
  std::string replica_id;

  // Prepared statements by SQL text, prepared once and reused.
  mutable std::unordered_map<std::string, sqlite::Statement> statements;
  sqlite::Statement& statement(const std::string& sql) const {
    auto it = statements.find(sql);
    if (it == statements.end()) it = statements.emplace(sql, db.prepare(sql)).first;
    it->second.reset();
    return it->second;
  }

  const TableSpec& table(std::string_view name) const;

  // SQL of each table, made once at open: rows are loaded and stored for every write.
  struct TableSql {
    std::string load_by_id, load_by_rowid, insert, update_all;
    bool searchable = false;  // has fields in the search index
    // Has a "name" field, kept folded in the hidden column _name_key too: the index that
    // lists rows by name as a seller reads them ("Álamo" before "Zurita").
    bool name_key = false;
  };
  std::vector<TableSql> table_sql;  // by table position in the schema
  int position(const TableSpec& table) const {
    return static_cast<int>(&table - schema->tables().data());
  }

  // The stored row (deleted or not) with its versions; nullopt when the id is unknown.
  struct StoredRow {
    std::int64_t rowid = 0;  // 0 for a row not stored yet
    Record fields;           // set fields only; tag sets as Value(TagSet)
    bool deleted = false;
    RowVersions versions;
    std::string extra;  // JSON object text or empty
  };
  std::optional<StoredRow> load(const TableSpec& table, std::string_view id) const;
  std::optional<StoredRow> load_rowid(const TableSpec& table, std::int64_t rowid,
                                      std::string* id) const;
  // How a write keeps the search index up to date.
  enum class Search { now, later, untouched };
  // Writes the row: an insert for a new one (its rowid is set), else an update of the given
  // fields (all of them when `changed` is null; "deleted" among them for a delete or restore).
  void store(const TableSpec& table, std::string_view id, StoredRow& row, Search search,
             const std::vector<std::string>* changed = nullptr);
  // Replaces the row's search document with its current text.
  void refresh_search_document(const TableSpec& table, std::string_view id, const StoredRow& row,
                               bool is_new);
  // Indexes the documents waiting in _search_pending; returns how many.
  std::size_t index_pending_search();

  // A value a change would replace, for the field's history: what the field holds and its
  // version. None for a new row, a tag of a set, an automatic field or a field never set.
  struct Replaced {
    Value value;
    Version version;
  };
  std::optional<Replaced> replaced_by(const TableSpec& table, const StoredRow& row,
                                      const Change& change) const;
  // Keeps the value `change` replaced (when it differs from `value`, the change's value in
  // canonical form), and no more than the newest ones of the field.
  void note_replaced(const TableSpec& table, std::string_view id, const Change& change,
                     const Value& value, const Replaced& replaced);
  void note_device_user(std::string_view replica, std::string_view user);
  // A customer row was inserted: its last contact from children that came before it
  // (replica_day.cpp).
  void customer_inserted(std::int64_t rowid);

  // Removes a row that left this seller's scope, and a customer's rows in other tables;
  // returns how many rows were removed.
  std::size_t evict(const RowRef& ref);

  // Undoes a refused change, if no later local edit superseded it (Replica::record_refusals).
  void undo_refused(const RefusedChange& refused);
  // Whether the outbox entry `seq` was put back by the last new server epoch.
  bool was_resent(std::uint64_t seq);
  // A row the server lost and refused to create from this replica's resent changes (they
  // lack its required fields): writes the required fields again as this replica's and puts
  // the row's keys back into the outbox (replica_resend.cpp).
  void recreate_row(const std::string& table, const std::string& id);

  // Appends a local change to the outbox, coalescing with a pending change of the same
  // field (or tag) that was not sent yet.
  void append_outbox(const Change& change);
  // Keeps the greatest clock seen from elsewhere in the file, so that after a restart the
  // clock is not behind what was received (saved once per merged batch).
  void save_clock();
  // A new clock value for a local write to a row, above every version the row has.
  Hlc next_version_clock(const RowVersions* row);
};

// The SQL that loads and stores rows of `table` (replica_rows.cpp).
Replica::Impl::TableSql make_table_sql(const TableSpec& table);

// The customers' _last_contact column, the triggers that keep it and the indexes of the
// seller's day (replica_day.cpp); fills the column when a file lacks it.
void create_day_indexes(sqlite::Database& db);

// A table or column name quoted for SQL.
std::string sql_name(std::string_view name);
// A value as JSON text (outbox, _extra) and back.
std::string value_json(const Value& value);
Value value_from_json_text(std::string_view text);

// Reads a column value of the given kind from a statement (NULL gives a null Value).
Value read_column(const sqlite::Statement& stmt, int column, FieldKind kind);
// Binds a value for a field of the given kind.
void bind_value(sqlite::Statement& stmt, int index, const Value& value, FieldKind kind);

}  // namespace libreta::client
