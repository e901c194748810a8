// The SQLite Store: one write connection (the writer thread's, sqlite_writer.hpp) and a pool
// of read connections for everything else. The file's tables: sqlite_schema.hpp.
#include "libreta/server/sqlite_store.hpp"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <type_traits>

#include "libreta/protocol/canonical.hpp"
#include "libreta/sqlite/sqlite.hpp"
#include "sqlite_records.hpp"
#include "sqlite_schema.hpp"
#include "sqlite_writer.hpp"

namespace libreta::server {
namespace {

class SqliteStore final : public Store {
 public:
  SqliteStore(std::filesystem::path file, SqliteStoreOptions options)
      : file_(std::move(file)), writer_(file_.string()) {
    prepare_store_file(writer_, file_.string(), options);
  }

  std::unique_ptr<StoreWriter> begin_write() override {
    std::unique_lock lock(write_mutex_);
    return begin_sqlite_write(writer_, writer_statements_, std::move(lock));
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

  std::optional<ServerRow> find_row(std::string_view table, std::string_view id) override {
    return with_reader([&](sqlite::Database& reader) -> std::optional<ServerRow> {
      auto stmt = reader.prepare(std::string("SELECT ") + kRowColumns +
                                 " FROM rows WHERE tbl = ? AND id = ?");
      stmt.bind(1, table).bind(2, id);
      if (!stmt.step()) return std::nullopt;
      return read_row(stmt);
    });
  }

  std::vector<ServerRow> list_rows(const RowQuery& query) override {
    return with_reader([&](sqlite::Database& reader) {
      std::vector<ServerRow> rows;
      auto stmt = reader.prepare(list_rows_sql(query));
      bind_list_rows(stmt, query);
      while (stmt.step()) rows.push_back(read_row(stmt));
      return rows;
    });
  }

  void add_token(const TokenRecord& token) override {
    std::lock_guard lock(write_mutex_);
    auto stmt = writer_.prepare(
        "INSERT INTO tokens(id, hash, user, role, created_ms, revoked_ms, expires_ms) "
        "VALUES(?,?,?,?,?,NULL,?)");
    stmt.bind(1, token.id).bind(2, token.hash).bind(3, token.user).bind(4, role_name(token.role));
    stmt.bind(5, static_cast<std::int64_t>(token.created_ms));
    if (token.expires_ms)
      stmt.bind(6, static_cast<std::int64_t>(*token.expires_ms));
    else
      stmt.bind_null(6);
    stmt.run();
  }

  std::optional<TokenRecord> find_token_by_hash(std::string_view hash) override {
    auto reader = borrow_reader();
    auto stmt =
        reader->prepare(std::string("SELECT ") + kTokenColumns + " FROM tokens WHERE hash = ?");
    stmt.bind(1, hash);
    std::optional<TokenRecord> token;
    if (stmt.step()) token = read_token(stmt);
    stmt = {};
    give_back(std::move(reader));
    return token;
  }

  std::vector<TokenRecord> tokens() override {
    auto reader = borrow_reader();
    auto stmt = reader->prepare(std::string("SELECT ") + kTokenColumns +
                                " FROM tokens ORDER BY created_ms, id");
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

  std::vector<std::string> revoked_token_ids(std::uint64_t now_ms) override {
    auto reader = borrow_reader();
    auto stmt =
        reader->prepare("SELECT id FROM tokens WHERE revoked_ms IS NOT NULL OR expires_ms <= ?");
    stmt.bind(1, static_cast<std::int64_t>(now_ms));
    std::vector<std::string> ids;
    while (stmt.step()) ids.push_back(stmt.text(0));
    stmt = {};
    give_back(std::move(reader));
    return ids;
  }

  void record_token_uses(const std::map<std::string, std::uint64_t>& last_used_ms) override {
    if (last_used_ms.empty()) return;
    std::lock_guard lock(write_mutex_);
    sqlite::Transaction transaction(writer_);
    auto stmt = writer_.prepare(
        "UPDATE tokens SET last_used_ms = max(coalesce(last_used_ms, 0), ?) WHERE id = ?");
    for (const auto& [id, ms] : last_used_ms) {
      stmt.bind(1, static_cast<std::int64_t>(ms)).bind(2, id).run();
      stmt.reset();
    }
    stmt = {};
    transaction.commit();
  }

  std::string epoch() override {
    auto reader = borrow_reader();
    auto stmt = reader->prepare("SELECT value FROM meta WHERE key = 'epoch'");
    std::string epoch = stmt.step() ? stmt.text(0) : std::string();
    stmt = {};
    give_back(std::move(reader));
    return epoch;
  }

  std::uint64_t size_bytes() override {
    std::uint64_t total = 0;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(file_.string() + suffix, ec);
      if (!ec) total += size;
    }
    return total;
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

  std::vector<ConflictRecord> list_conflicts(const ConflictQuery& query) override {
    return with_reader([&](sqlite::Database& reader) {
      std::vector<ConflictRecord> out;
      auto stmt = reader.prepare(list_conflicts_sql(query));
      bind_list_conflicts(stmt, query);
      while (stmt.step()) out.push_back(read_conflict(stmt));
      return out;
    });
  }

  std::optional<ConflictRecord> find_conflict(std::uint64_t id) override {
    return with_reader([&](sqlite::Database& reader) -> std::optional<ConflictRecord> {
      auto stmt = reader.prepare(std::string("SELECT ") + kConflictColumns +
                                 " FROM conflicts WHERE id = ?");
      stmt.bind(1, static_cast<std::int64_t>(id));
      if (!stmt.step()) return std::nullopt;
      return read_conflict(stmt);
    });
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

  std::vector<DeviceRecord> devices(std::size_t limit) override {
    return with_reader([&](sqlite::Database& reader) {
      std::vector<DeviceRecord> out;
      auto stmt = reader.prepare(
          "SELECT replica, user, acked, first_seq, sent_seq, updated_ms FROM replicas "
          "ORDER BY updated_ms DESC, replica LIMIT ?");
      stmt.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
      while (stmt.step()) {
        DeviceRecord device;
        device.replica = stmt.text(0);
        device.record.user = stmt.text(1);
        device.record.acked = static_cast<std::uint64_t>(stmt.integer(2));
        device.record.first_seq = static_cast<std::uint64_t>(stmt.integer(3));
        device.record.sent_seq = static_cast<std::uint64_t>(stmt.integer(4));
        device.updated_ms = static_cast<std::uint64_t>(stmt.integer(5));
        out.push_back(std::move(device));
      }
      return out;
    });
  }

  std::vector<DeviceUser> device_users(std::size_t limit) override {
    auto reader = borrow_reader();
    auto stmt =
        reader->prepare("SELECT replica, user FROM replicas ORDER BY updated_ms DESC LIMIT ?");
    stmt.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    std::vector<DeviceUser> out;
    while (stmt.step()) out.push_back({stmt.text(0), stmt.text(1)});
    stmt = {};
    give_back(std::move(reader));
    return out;
  }

  std::uint64_t count_rows_after(std::uint64_t after, const std::string* seller) override {
    auto reader = borrow_reader();
    auto stmt = reader->prepare(seller ? "SELECT count(*) FROM rows WHERE scope = ? AND seq > ?"
                                       : "SELECT count(*) FROM rows WHERE ? IS NULL AND seq > ?");
    if (seller)
      stmt.bind(1, *seller);
    else
      stmt.bind_null(1);
    stmt.bind(2, static_cast<std::int64_t>(after));
    const std::uint64_t count = stmt.step() ? static_cast<std::uint64_t>(stmt.integer(0)) : 0;
    stmt = {};
    give_back(std::move(reader));
    return count;
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

  // Runs `read` on a pooled read connection, then gives the connection back (a `read` that
  // throws drops it instead).
  template <class Read>
  std::invoke_result_t<Read, sqlite::Database&> with_reader(Read read) {
    auto reader = borrow_reader();
    auto result = read(*reader);
    give_back(std::move(reader));
    return result;
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
