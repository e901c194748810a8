#include "storage_floor.hpp"

#include <set>
#include <stdexcept>
#include <string_view>

#include "libreta/sqlite/sqlite.hpp"
#include "support.hpp"

namespace libreta::bench {
namespace {

// The statements and settings below are those of the server's writer
// (server/src/sqlite_store.cpp: SqliteStore's constructor, SqliteWriter::load_row,
// save_row, set_acked and set_last_seq); a change there belongs here too.
void configure_as_the_server_writer(sqlite::Database& db) {
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA cache_size = -32768");
}

class FloorWriter {
 public:
  explicit FloorWriter(sqlite::Database& db)
      : db_(db),
        load_(db.prepare("SELECT tbl, id, fields, versions, key_seqs, seq, customer, scope, "
                         "scope_seq FROM rows WHERE tbl = ? AND id = ?")),
        save_(db.prepare("UPDATE rows SET fields = ?, versions = ?, key_seqs = ?, seq = ?, "
                         "scope = ?, scope_seq = ? WHERE tbl = ? AND id = ? AND customer = ?")),
        ack_(db.prepare("INSERT INTO replicas(replica, user, acked, updated_ms) "
                        "VALUES(?, ?, ?, CAST((julianday('now') - 2440587.5) * 86400000 AS "
                        "INTEGER)) ON CONFLICT(replica) DO UPDATE SET user = excluded.user, "
                        "acked = max(acked, excluded.acked), updated_ms = excluded.updated_ms")),
        last_seq_(db.prepare("UPDATE meta SET value = ? WHERE key = 'last_seq'")) {
    auto stmt = db.prepare("SELECT value FROM meta WHERE key = 'last_seq'");
    if (!stmt.step()) throw std::runtime_error("not a server database: no last_seq");
    seq_ = std::stoull(stmt.text(0));
  }

  // Reads the row whole (as the writer must, to merge into it) and writes it back with a
  // new sequence: the same page writes and index updates as a one-field edit.
  void rewrite_customer(const std::string& id) {
    load_.reset();
    load_.bind(1, std::string_view("customers")).bind(2, id);
    if (!load_.step()) throw std::runtime_error("no customer " + id + " in the server database");
    fields_ = load_.text_view(2);
    versions_ = load_.text_view(3);  // with the key sequences, since file version 3
    key_seqs_ = load_.text_view(4);  // empty, but for rows last written by version 2
    customer_ = load_.text_view(6);
    scope_ = load_.text_view(7);
    const std::int64_t scope_seq = load_.integer(8);
    load_.reset();
    save_.reset();
    save_.bind_static(1, fields_).bind_static(2, versions_).bind_static(3, key_seqs_);
    save_.bind(4, static_cast<std::int64_t>(++seq_)).bind_static(5, scope_).bind(6, scope_seq);
    save_.bind(7, std::string_view("customers")).bind(8, id).bind_static(9, customer_);
    save_.run();
    if (db_.changes() != 1) throw std::runtime_error("customer " + id + " was not rewritten");
  }

  void acknowledge(const std::string& replica) {
    ack_.reset();
    ack_.bind(1, replica).bind(2, replica).bind(3, static_cast<std::int64_t>(seq_)).run();
  }

  void save_last_seq() {
    last_seq_.reset();
    last_seq_.bind(1, std::to_string(seq_)).run();
  }

 private:
  sqlite::Database& db_;
  sqlite::Statement load_, save_, ack_, last_seq_;
  std::uint64_t seq_ = 0;
  std::string fields_, versions_, key_seqs_, customer_, scope_;
};

}  // namespace

StorageFloor measure_storage_floor(const std::filesystem::path& server_db,
                                   const std::vector<FloorPush>& pushes,
                                   std::size_t max_group_changes) {
  sqlite::Database db(server_db.string(), false);
  configure_as_the_server_writer(db);
  FloorWriter writer(db);
  StorageFloor floor;
  const auto start = Clock::now();
  for (std::size_t next = 0; next < pushes.size();) {
    // Whole pushes, up to the bound (at least one), as the server's writer takes them.
    std::size_t end = next, changes = 0;
    while (end < pushes.size() &&
           (end == next || changes + pushes[end].changes <= max_group_changes)) {
      changes += pushes[end++].changes;
    }
    std::set<std::string_view> written;
    sqlite::Transaction transaction(db);
    for (std::size_t p = next; p < end; ++p) {
      for (const std::string& id : pushes[p].customer_ids) {
        if (written.insert(id).second) writer.rewrite_customer(id);
      }
      writer.acknowledge(pushes[p].replica);
    }
    writer.save_last_seq();
    const auto commit_start = Clock::now();
    transaction.commit();
    floor.commit_seconds += seconds_between(commit_start, Clock::now());
    floor.rows += written.size();
    floor.changes += changes;
    ++floor.groups;
    next = end;
  }
  floor.seconds = seconds_between(start, Clock::now());
  return floor;
}

}  // namespace libreta::bench
