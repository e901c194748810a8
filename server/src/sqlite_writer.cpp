#include "sqlite_writer.hpp"

#include <cstdint>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "libreta/protocol/value_json.hpp"
#include "sqlite_records.hpp"
#include "sqlite_row_text.hpp"

namespace libreta::server {
namespace {

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

  bool resolve_conflict(std::uint64_t id, std::string_view user, std::string_view resolution,
                        std::uint64_t now_ms) override {
    auto& stmt = prepare_(
        "UPDATE conflicts SET resolved_ms = ?, resolved_by = ?, resolution = ? "
        "WHERE id = ? AND resolved_ms IS NULL");
    stmt.bind(1, static_cast<std::int64_t>(now_ms)).bind(2, user).bind(3, resolution);
    stmt.bind(4, static_cast<std::int64_t>(id)).run();
    return db_.changes() > 0;
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

}  // namespace

std::unique_ptr<StoreWriter> begin_sqlite_write(sqlite::Database& db, StatementCache& statements,
                                                std::unique_lock<std::mutex> lock) {
  return std::make_unique<SqliteWriter>(db, statements, std::move(lock));
}

}  // namespace libreta::server
