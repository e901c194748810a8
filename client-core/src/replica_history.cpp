// The history of each field as this replica saw it: when a change wins over a value the
// field had (a local edit, a merge from the server), the value it replaces is kept with its
// version, so that a seller can see what a field said before, when and on which device it
// was set, and by whom when the replica knows who uses that device (the server's welcome
// and the conflicts it reports say so). Rows first received in a download keep no history:
// there is nothing they replaced.
#include <string>
#include <string_view>
#include <vector>

#include "replica_query_support.hpp"

namespace libreta::client {

using namespace queries;

namespace {

// Values kept per field beyond the current one: the oldest go first.
constexpr std::int64_t kKeptPerField = 50;

}  // namespace

std::optional<Replica::Impl::Replaced> Replica::Impl::replaced_by(const TableSpec& table,
                                                                  const StoredRow& row,
                                                                  const Change& change) const {
  if (row.rowid == 0 || !change.element.empty()) return std::nullopt;  // a new row, or a tag
  const FieldSpec* spec = table.field(change.field);
  if (!spec || spec->automatic) return std::nullopt;
  const Version& before = row.versions.field(change.field);
  if (before.is_none()) return std::nullopt;
  const auto it = row.fields.find(change.field);
  return Replaced{it == row.fields.end() ? Value() : it->second, before};
}

void Replica::Impl::note_replaced(const TableSpec& table, std::string_view id, const Change& change,
                                  const Value& value, const Replaced& replaced) {
  if (replaced.value == value) return;
  auto& insert =
      statement("INSERT INTO _history(tbl, row_id, field, value, version) VALUES(?, ?, ?, ?, ?)");
  insert.bind(1, table.name).bind(2, id).bind(3, change.field);
  insert.bind(4, value_json(replaced.value)).bind(5, replaced.version.to_string()).run();
  auto& trim = statement(
      "DELETE FROM _history WHERE tbl = ?1 AND row_id = ?2 AND field = ?3 AND id <= "
      "(SELECT id FROM _history WHERE tbl = ?1 AND row_id = ?2 AND field = ?3"
      " ORDER BY id DESC LIMIT 1 OFFSET ?4)");
  trim.bind(1, table.name).bind(2, id).bind(3, change.field).bind(4, kKeptPerField).run();
}

void Replica::Impl::note_device_user(std::string_view replica, std::string_view user) {
  if (replica.empty() || user.empty()) return;
  auto& upsert = statement(
      "INSERT INTO _devices(replica, user) VALUES(?, ?)"
      " ON CONFLICT(replica) DO UPDATE SET user = excluded.user WHERE user <> excluded.user");
  upsert.bind(1, replica).bind(2, user).run();
}

void Replica::note_device_users(const std::vector<DeviceUser>& devices) {
  if (devices.empty()) return;
  sqlite::Transaction transaction(impl_->db);
  for (const auto& device : devices) impl_->note_device_user(device.replica, device.user);
  transaction.commit();
}

std::optional<std::string> Replica::device_user(std::string_view replica) const {
  auto& stmt = impl_->statement("SELECT user FROM _devices WHERE replica = ?");
  ResetOnExit reset(stmt);
  stmt.bind(1, replica);
  if (!stmt.step()) return std::nullopt;
  return stmt.text(0);
}

std::vector<FieldValue> Replica::field_history(std::string_view table_name, std::string_view id,
                                               std::string_view field, std::size_t limit) const {
  const TableSpec& table = impl_->table(table_name);
  const FieldSpec* spec = table.field(field);
  if (!spec) {
    throw Error(ErrorCode::unknown_field,
                table.name + " has no field '" + std::string(field) + "'");
  }
  std::vector<FieldValue> out;
  const auto row = impl_->load(table, id);
  if (!row || limit == 0) return out;
  const auto with_user = [&](FieldValue value) {
    value.user = device_user(value.version.replica).value_or("");
    out.push_back(std::move(value));
  };
  if (const Version& version = row->versions.field(field); !version.is_none()) {
    const auto it = row->fields.find(std::string(field));
    with_user({it == row->fields.end() ? Value() : it->second, version, {}, true});
  }
  auto& stmt = impl_->statement(
      "SELECT value, version FROM _history WHERE tbl = ? AND row_id = ? AND field = ?"
      " ORDER BY id DESC LIMIT ?");
  ResetOnExit reset(stmt);
  stmt.bind(1, table.name).bind(2, id).bind(3, field).bind(4, to_sql_limit(limit));
  std::vector<FieldValue> past;
  while (stmt.step() && out.size() + past.size() < limit) {
    auto version = Version::parse(stmt.text_view(1));
    if (!version) continue;
    past.push_back({value_from_json_text(stmt.text_view(0)), std::move(*version), {}, false});
  }
  stmt.reset();
  for (auto& value : past) with_user(std::move(value));
  return out;
}

std::vector<std::string> Replica::fields_with_history(std::string_view table_name,
                                                      std::string_view id) const {
  const TableSpec& table = impl_->table(table_name);
  auto& stmt = impl_->statement("SELECT DISTINCT field FROM _history WHERE tbl = ? AND row_id = ?");
  ResetOnExit reset(stmt);
  stmt.bind(1, table.name).bind(2, id);
  std::vector<std::string> out;
  while (stmt.step()) out.push_back(stmt.text(0));
  return out;
}

}  // namespace libreta::client
