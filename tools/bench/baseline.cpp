#include "baseline.hpp"

#include <algorithm>
#include <map>

#include "libreta/client/replica.hpp"
#include "libreta/protocol/row_versions.hpp"
#include "libreta/sqlite/sqlite.hpp"
#include "support.hpp"

namespace libreta::bench {

namespace {

const TableSpec& customers_table() {
  return *customer_book_schema().table(tables::customers);
}

void configure(sqlite::Database& db, const char* synchronous) {
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(std::string("PRAGMA synchronous = ") + synchronous);
}

std::int64_t count_rows(sqlite::Database& db) {
  auto count = db.prepare("SELECT count(*) FROM customers");
  count.step();
  return count.integer(0);
}

}  // namespace

std::vector<BaselineRow> baseline_rows(const std::vector<Customer>& customers, bool replica_like) {
  const TableSpec& table = customers_table();
  std::vector<BaselineRow> rows;
  rows.reserve(customers.size());
  for (std::size_t i = 0; i < customers.size(); ++i) {
    const Record record = to_record(customers[i]);
    BaselineRow row;
    row.id = customers[i].id;
    for (const auto& field : table.fields) {
      auto it = record.find(field.name);
      row.columns.push_back(it == record.end() ? Value() : it->second);
    }
    if (replica_like) {
      RowVersions versions;
      for (const auto& change : workload::customer_changes(customers[i], i)) versions.merge(change);
      row.versions = versions.encode();
      row.search_body = client::search_document(table, record);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {

struct KindNames {
  const char* key;
  const char* name;
};
// By BaselineKind.
constexpr KindNames kKindNames[] = {{"plain", "plain"},
                                    {"indexed", "+versions+indexes"},
                                    {"search", "+versions+indexes+fts"},
                                    {"returning", "same, upsert..returning"},
                                    {"deferred", "same, indexes built after"}};

}  // namespace

const char* baseline_key(BaselineKind kind) {
  return kKindNames[static_cast<int>(kind)].key;
}

const char* baseline_name(BaselineKind kind) {
  return kKindNames[static_cast<int>(kind)].name;
}

double bulk_insert(const std::filesystem::path& file, const std::vector<BaselineRow>& rows,
                   BaselineKind kind) {
  const bool versions = kind != BaselineKind::plain;
  const bool search = versions && kind != BaselineKind::indexed;
  remove_database(file);
  sqlite::Database db(file.string());
  configure(db, kReplicaSynchronous);
  std::string create = "CREATE TABLE customers (id TEXT PRIMARY KEY";
  std::string insert = "INSERT INTO customers (id";
  std::string values = "?";
  std::string updates;
  for (const auto& field : customers_table().fields) {
    const char* type = field.kind == FieldKind::decimal   ? "REAL"
                       : field.kind == FieldKind::integer ? "INTEGER"
                                                          : "TEXT";
    const std::string column = "\"" + field.name + "\"";
    create += ", " + column + " " + type;
    insert += ", " + column;
    values += ", ?";
    updates += (updates.empty() ? "" : ", ") + column + " = excluded." + column;
  }
  if (versions) {
    create += ", _versions TEXT NOT NULL";
    insert += ", _versions";
    values += ", ?";
    updates += ", _versions = excluded._versions";
  }
  insert += ") VALUES (" + values + ")";
  if (kind == BaselineKind::returning) {
    insert += " ON CONFLICT(id) DO UPDATE SET " + updates + " RETURNING rowid";
  }
  db.exec(create + ")");
  const char* indexes =
      "CREATE INDEX customers_owner ON customers(owner);"
      "CREATE INDEX customers_status ON customers(status);"
      "CREATE INDEX customers_city ON customers(city);";
  if (versions && kind != BaselineKind::deferred) db.exec(indexes);
  if (search) {
    db.exec(
        "CREATE VIRTUAL TABLE search_index USING fts5(customer_id UNINDEXED, tbl UNINDEXED, "
        "row_id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2')");
  }

  const auto start = Clock::now();
  sqlite::Transaction transaction(db);
  auto statement = db.prepare(insert);
  sqlite::Statement fts;
  if (search) {
    fts = db.prepare(
        "INSERT INTO search_index(rowid, customer_id, tbl, row_id, body) VALUES (?, ?, ?, ?, ?)");
  }
  std::int64_t rowid = 0;
  for (const auto& row : rows) {
    int index = 1;
    statement.bind(index++, row.id);
    for (const auto& value : row.columns) bind_value(statement, index++, value);
    if (versions) statement.bind(index++, row.versions);
    while (statement.step()) {
    }
    statement.reset();
    ++rowid;
    if (search) {
      fts.bind(1, rowid * 8).bind(2, row.id).bind(3, "customers").bind(4, row.id);
      fts.bind(5, row.search_body).run();
    }
  }
  if (kind == BaselineKind::deferred) db.exec(indexes);
  transaction.commit();
  const double elapsed = seconds_since(start);
  if (count_rows(db) != static_cast<std::int64_t>(rows.size())) {
    fail(std::string("the ") + baseline_name(kind) + " baseline does not hold every row");
  }
  return elapsed;
}

double plain_updates(const std::filesystem::path& file, const std::vector<workload::Edit>& edits,
                     std::size_t batch) {
  sqlite::Database db(file.string(), false);
  db.exec(std::string("PRAGMA synchronous = ") + kServerSynchronous);
  std::map<std::string, sqlite::Statement> statements;
  const auto start = Clock::now();
  for (std::size_t first = 0; first < edits.size(); first += batch) {
    sqlite::Transaction transaction(db);
    for (std::size_t j = first; j < std::min(edits.size(), first + batch); ++j) {
      auto [it, added] = statements.try_emplace(edits[j].field);
      if (added) {
        it->second = db.prepare("UPDATE customers SET \"" + edits[j].field + "\" = ? WHERE id = ?");
      }
      bind_value(it->second, 1, edits[j].value);
      it->second.bind(2, edits[j].customer_id).run();
    }
    transaction.commit();
  }
  return seconds_since(start);
}

double durable_commit_latency(const std::filesystem::path& file, std::size_t count) {
  remove_database(file);
  sqlite::Database db(file.string());
  configure(db, kServerSynchronous);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  db.exec("INSERT INTO t VALUES (1, '')");
  auto update = db.prepare("UPDATE t SET v = ? WHERE id = 1");
  std::vector<double> seconds;
  for (std::size_t i = 0; i < count; ++i) {
    const auto start = Clock::now();
    sqlite::Transaction transaction(db);
    update.bind(1, "value " + std::to_string(i)).run();
    transaction.commit();
    seconds.push_back(seconds_since(start));
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

}  // namespace libreta::bench
