// The write side of the SQLite Store: one transaction (StoreWriter) on the file's write
// connection, with that connection's prepared statements.
//
// Threads: one writer at a time, holding the store's write lock for as long as it lives.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "libreta/server/store.hpp"
#include "libreta/sqlite/sqlite.hpp"

namespace libreta::server {

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

// A write transaction on `db`, holding `lock` (the store's write lock) until it ends.
std::unique_ptr<StoreWriter> begin_sqlite_write(sqlite::Database& db, StatementCache& statements,
                                                std::unique_lock<std::mutex> lock);

}  // namespace libreta::server
