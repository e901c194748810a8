#include "fault/fault_check.hpp"

#include <map>
#include <set>
#include <tuple>

#include "fault/write_log.hpp"
#include "libreta/client/replica.hpp"
#include "libreta/protocol/canonical.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/row_versions.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/sqlite/sqlite.hpp"

namespace libreta::fault {

namespace {

bool is_automatic(const std::string& table, const std::string& key) {
  const TableSpec* spec = customer_book_schema().table(table);
  const FieldSpec* field = spec ? spec->field(key) : nullptr;
  return field && field->automatic;
}

struct ServerRowState {
  Record fields;
  RowVersions versions;
};

using RowKey = std::pair<std::string, std::string>;  // table, id

// Every row the server holds, read through its store (which knows the file's formats).
std::map<RowKey, ServerRowState> read_server_rows(const std::filesystem::path& server_db) {
  std::map<RowKey, ServerRowState> rows;
  auto store = server::open_sqlite_store(server_db);
  std::uint64_t after = 0;
  for (bool more = true; more;) {
    server::RowsPage page = store->read_page(after, 1000, nullptr);
    for (auto& row : page.rows) {
      rows.emplace(RowKey{row.table, row.id},
                   ServerRowState{std::move(row.fields), std::move(row.versions)});
    }
    after = page.end;
    more = page.more;
  }
  return rows;
}

// The first line where two dumps differ, for a readable failure.
std::string first_difference(const std::string& a, const std::string& b) {
  std::size_t at = 0;
  while (at < a.size() && at < b.size() && a[at] == b[at]) ++at;
  const auto line_start = [](const std::string& s, std::size_t pos) {
    const auto nl = s.rfind('\n', pos == 0 ? 0 : pos - 1);
    return nl == std::string::npos ? 0 : nl + 1;
  };
  const auto line = [&](const std::string& s) {
    const auto start = line_start(s, std::min(at, s.size()));
    return s.substr(start, std::min<std::size_t>(s.find('\n', start) - start, 400));
  };
  return "server: " + line(a) + "\n  device: " + line(b);
}

}  // namespace

BoundsReport check_server_bounds(const std::filesystem::path& server_db,
                                 const ServerBounds& bounds) {
  BoundsReport report;
  auto fail = [&](std::string what) {
    if (report.failures.size() < 20) report.failures.push_back(std::move(what));
  };
  auto store = server::open_sqlite_store(server_db);
  std::uint64_t after = 0;
  for (bool more = true; more;) {
    server::RowsPage page = store->read_page(after, 1000, nullptr);
    for (const auto& row : page.rows) {
      ++report.rows;
      const std::string where = row.table + "/" + row.id;
      const std::size_t bytes = canonical_row(row.table, row.id, row.fields, row.versions).size();
      report.largest_row_bytes = std::max(report.largest_row_bytes, bytes);
      if (bytes > bounds.max_row_bytes) {
        fail("a row of " + std::to_string(bytes) + " bytes, over the bound of " +
             std::to_string(bounds.max_row_bytes) + ": " + where);
      }
      if (row.scope == bounds.seller_user) ++report.seller_rows;
      // Every version key: fields, and each tag element's add and remove (a base is stored
      // as a tag's other key).
      for (const auto& [key, version] : row.versions.entries()) {
        const std::uint64_t millis = version.hlc.millis();
        report.latest_version_millis = std::max(report.latest_version_millis, millis);
        if (millis > bounds.latest_millis) {
          fail("a version dated " + std::to_string(millis - bounds.latest_millis) +
               " ms beyond the skew limit: " + where + " " + key + " @" + version.to_string());
        }
        if (!bounds.seller_replica_prefix.empty() &&
            version.replica.rfind(bounds.seller_replica_prefix, 0) == 0 &&
            row.scope != bounds.seller_user) {
          fail("a version of the seller's device on a row outside the seller's scope (" +
               (row.scope.empty() ? std::string("nobody's") : row.scope + "'s") + "): " + where +
               " " + key + " @" + version.to_string());
        }
      }
    }
    after = page.end;
    more = page.more;
  }
  return report;
}

std::string integrity_of(const std::filesystem::path& file) {
  sqlite::Database db(file.string(), false);
  auto stmt = db.prepare("PRAGMA integrity_check");
  return stmt.step() ? stmt.text(0) : "no answer";
}

CheckReport check_fault_run(const std::filesystem::path& server_db,
                            const std::vector<DeviceFiles>& devices) {
  CheckReport report;
  auto fail = [&](std::string what) { report.failures.push_back(std::move(what)); };

  // ---- Intact files, no duplicate rows ----
  if (auto result = integrity_of(server_db); result != "ok") {
    fail("server database integrity_check: " + result);
  }
  for (const auto& device : devices) {
    if (auto result = integrity_of(device.replica_file); result != "ok") {
      fail(device.replica_id + " replica integrity_check: " + result);
    }
    sqlite::Database db(device.replica_file.string(), false);
    for (const auto& table : customer_book_schema().tables()) {
      auto stmt = db.prepare("SELECT count(*) - count(DISTINCT id) FROM \"" + table.name + "\"");
      if (stmt.step() && stmt.integer(0) != 0) {
        fail(device.replica_id + ": duplicate ids in " + table.name);
      }
    }
  }

  sqlite::Database server(server_db.string(), false);
  {
    auto stmt = server.prepare("SELECT count(*), count(DISTINCT tbl || '/' || id) FROM rows");
    stmt.step();
    report.server_rows = static_cast<std::uint64_t>(stmt.integer(0));
    if (stmt.integer(0) != stmt.integer(1)) fail("server: duplicate rows");
  }

  // ---- Convergence: every replica's dump is the server's ----
  {
    std::string server_dump;
    {
      auto store = server::open_sqlite_store(server_db);
      server_dump = store->canonical_dump();
    }
    for (const auto& device : devices) {
      auto replica = client::Replica::open(device.replica_file);
      const std::string dump = replica->canonical_dump();
      if (dump != server_dump) {
        fail(device.replica_id + " did not converge with the server; first difference:\n  " +
             first_difference(server_dump, dump));
      }
    }
  }

  // ---- Exactly once: the server stored each device's log up to its last sequence ----
  std::map<std::string, std::uint64_t> acked;
  {
    auto stmt = server.prepare("SELECT replica, acked FROM replicas");
    while (stmt.step()) {
      acked[stmt.text(0)] = static_cast<std::uint64_t>(stmt.integer(1));
    }
  }
  // The devices' own: other replicas (a hostile client's) may have pushed any sequence.
  for (const auto& device : devices) report.changes_acknowledged += acked[device.replica_id];
  for (const auto& device : devices) {
    sqlite::Database db(device.replica_file.string(), false);
    auto last = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = '_outbox'");
    const std::uint64_t last_seq = last.step() ? static_cast<std::uint64_t>(last.integer(0)) : 0;
    auto pending = db.prepare("SELECT count(*) FROM _outbox");
    pending.step();
    if (pending.integer(0) != 0) {
      fail(device.replica_id + ": " + std::to_string(pending.integer(0)) +
           " changes still in the change log after convergence");
    }
    if (acked[device.replica_id] != last_seq) {
      fail(device.replica_id + ": the server acknowledged up to " +
           std::to_string(acked[device.replica_id]) + " but the device's last change is " +
           std::to_string(last_seq));
    }
  }

  // A change applied twice records its conflict twice.
  std::set<std::tuple<std::string, std::string, std::string>> lost_versions;  // row key, version
  {
    auto stmt = server.prepare(
        "SELECT kind, tbl, row_id, field, kept_version, lost_version, count(*) FROM conflicts "
        "GROUP BY kind, tbl, row_id, field, kept_version, lost_version");
    while (stmt.step()) {
      report.conflicts += static_cast<std::uint64_t>(stmt.integer(6));
      if (stmt.integer(6) > 1) {
        fail("conflict recorded " + std::to_string(stmt.integer(6)) + " times (a change applied " +
             "more than once): " + stmt.text(1) + "/" + stmt.text(2) + "/" + stmt.text(3) +
             " lost " + stmt.text(5));
      }
      lost_versions.emplace(stmt.text(1) + "/" + stmt.text(2), stmt.text(3), stmt.text(5));
    }
  }

  // ---- Nothing acknowledged lost: each logged write is there or superseded, knowingly ----
  const auto rows = read_server_rows(server_db);
  std::vector<LoggedWrite> all;
  for (const auto& device : devices) {
    auto writes = read_write_log(device.write_log);
    all.insert(all.end(), std::make_move_iterator(writes.begin()),
               std::make_move_iterator(writes.end()));
  }
  // Per field: the writes logged, to explain why one was replaced.
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<const LoggedWrite*>>
      by_field;
  for (const auto& write : all) by_field[{write.table, write.row, write.key}].push_back(&write);

  for (const auto& write : all) {
    ++report.writes_logged;
    const std::string where =
        write.table + "/" + write.row + "/" + write.key + " @" + write.version.to_string();
    auto row = rows.find({write.table, write.row});
    if (row == rows.end()) {
      ++report.lost;
      fail("lost: the server has no row for " + where);
      continue;
    }
    const auto plus = write.key.find('+');
    const auto minus = write.key.find('-');
    if (plus != std::string::npos || minus != std::string::npos) {
      if (plus == std::string::npos) {
        ++report.tag_removes;  // the add-wins rule may keep the tag; nothing to lose
        continue;
      }
      const std::string field = write.key.substr(0, plus);
      const std::string tag = write.key.substr(plus + 1);
      if (row->second.versions.tag_added(field, tag) >= write.version) {
        ++report.present;
      } else {
        ++report.lost;
        fail("lost tag add: " + where);
      }
      continue;
    }
    const Version& stored = row->second.versions.field(write.key);
    auto value_it = row->second.fields.find(write.key);
    const Value stored_value = value_it == row->second.fields.end() ? Value() : value_it->second;
    if (stored == write.version) {
      if (stored_value == write.value) {
        ++report.present;
      } else {
        ++report.lost;
        fail("the server holds the version of " + where + " with another value");
      }
      continue;
    }
    if (stored_value == write.value) {
      ++report.present;  // an equal value written by someone else: nothing was lost
      continue;
    }
    if (stored < write.version) {
      ++report.lost;
      fail("lost: " + where + " never reached the server (it holds " + stored.to_string() + ")");
      continue;
    }
    // Replaced by a greater version: by the same device later, by a writer who had seen it,
    // or concurrently with the loss recorded in the inbox. A write of the same value (a
    // choice such as status) stands for this one: seeing or losing it is the same.
    const auto& writes_of_field = by_field[{write.table, write.row, write.key}];
    std::set<Version> same_value;
    for (const LoggedWrite* other : writes_of_field) {
      if (other->value == write.value) same_value.insert(other->version);
    }
    // A device killed between committing a write and logging it leaves a write nobody
    // logged; a later write's base may name it. Whether it had seen this one is unknown.
    std::set<Version> logged;
    for (const LoggedWrite* other : writes_of_field) logged.insert(other->version);
    bool own = false, seen = false, unknown_base = false, in_inbox = false;
    for (const LoggedWrite* other : writes_of_field) {
      if (other->version <= write.version) continue;
      if (other->version.replica == write.version.replica) own = true;
      if (other->base && same_value.count(*other->base)) seen = true;
      if (!other->base) unknown_base = true;
      if (other->base && !logged.count(*other->base) && write.version < *other->base)
        unknown_base = true;
    }
    for (const Version& version : same_value) {
      if (lost_versions.count({write.table + "/" + write.row, write.key, version.to_string()})) {
        in_inbox = true;
      }
    }
    if (own) {
      ++report.superseded_own;
    } else if (seen) {
      ++report.superseded_seen;
    } else if (in_inbox) {
      ++report.superseded_conflict;
    } else if (is_automatic(write.table, write.key)) {
      // The software sets it on every write: a replaced value is nobody's work lost.
      ++report.superseded_automatic;
    } else if (unknown_base) {
      ++report.unverifiable;
    } else {
      ++report.lost;
      fail("lost without a conflict: " + where + " replaced by " + stored.to_string());
    }
  }
  if (report.failures.size() > 50) report.failures.resize(50);
  return report;
}

}  // namespace libreta::fault
