// Replica: after the server's store went back in time (restored from a backup, a new epoch
// in the welcome): starting the download over and putting this replica's writes back into
// the outbox, and creating again a row the server lost that this replica did not create.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libreta/client/replica.hpp"
#include "replica_impl.hpp"

namespace libreta::client {

namespace {

constexpr const char* kEpochKey = "server_epoch";
// The outbox sequences "first:last" of the changes put back by the last new epoch.
constexpr const char* kResentKey = "resent_seqs";

std::string meta_value(Replica::Impl& impl, const char* key) {
  auto& stmt = impl.statement("SELECT value FROM _meta WHERE key = ?");
  stmt.bind(1, key);
  std::string value = stmt.step() ? stmt.text(0) : std::string();
  stmt.reset();
  return value;
}

void set_meta_value(Replica::Impl& impl, const char* key, const std::string& value) {
  auto& stmt = impl.statement(
      "INSERT INTO _meta(key, value) VALUES(?, ?) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  stmt.bind(1, key).bind(2, value).run();
}

std::int64_t last_outbox_seq(Replica::Impl& impl) {
  auto& stmt = impl.statement("SELECT coalesce(max(seq), 0) FROM _outbox");
  stmt.step();
  const std::int64_t seq = stmt.integer(0);
  stmt.reset();
  return seq;
}

// Puts the row's keys this replica wrote last into the outbox, skipping those with a pending
// change (it carries the same version, and the base the seller saw); returns how many.
std::size_t resend_row(Replica::Impl& impl, const TableSpec& table, const std::string& id,
                       const Replica::Impl::StoredRow& row, const Version& fresh) {
  Record fields = row.fields;
  fields["deleted"] = Value(row.deleted);
  std::size_t added = 0;
  for (const Change& change :
       changes_to_resend(table.name, id, fields, row.versions, impl.replica_id, fresh)) {
    auto& insert = impl.statement(
        "INSERT OR IGNORE INTO _outbox(tbl, row_id, field, element, value, version, base) "
        "VALUES(?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, change.table).bind(2, change.row).bind(3, change.field);
    insert.bind(4, change.element).bind(5, value_json(change.value));
    insert.bind(6, change.version.to_string()).bind(7, change.base.to_string()).run();
    added += static_cast<std::size_t>(impl.db.changes());
  }
  return added;
}

}  // namespace

std::string Replica::server_epoch() const {
  return meta_value(*impl_, kEpochKey);
}

std::size_t Replica::adopt_server_epoch(const std::string& epoch) {
  auto& impl = *impl_;
  const std::string known = meta_value(impl, kEpochKey);
  if (known == epoch) return 0;
  sqlite::Transaction transaction(impl.db);
  set_meta_value(impl, kEpochKey, epoch);
  std::size_t resent = 0;
  if (!known.empty()) {
    // The store went back in time: what it sent since the backup is gone, and so is what
    // this replica pushed since. Download everything again, and put back every key this
    // replica wrote last: the server takes what it lacks and ignores what it has.
    set_meta_value(impl, "cursor", "0:0");
    set_meta_value(impl, "conflicts_cursor", "0");
    const std::int64_t first = last_outbox_seq(impl) + 1;
    const Version fresh{impl.next_version_clock(nullptr), impl.replica_id};
    for (const TableSpec& table : impl.schema->tables()) {
      std::vector<std::string> ids;
      auto list = impl.db.prepare("SELECT id FROM " + sql_name(table.name));
      while (list.step()) ids.push_back(list.text(0));
      list = {};
      for (const std::string& id : ids) {
        if (auto row = impl.load(table, id)) resent += resend_row(impl, table, id, *row, fresh);
      }
    }
    set_meta_value(impl, kResentKey,
                   std::to_string(first) + ":" + std::to_string(last_outbox_seq(impl)));
  }
  transaction.commit();
  return resent;
}

namespace {

// The outbox sequences of the changes the last new epoch put back, [first, last].
std::optional<std::pair<std::uint64_t, std::uint64_t>> resent_range(Replica::Impl& impl) {
  const std::string range = meta_value(impl, kResentKey);
  const auto colon = range.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(std::stoull(range.substr(0, colon)), std::stoull(range.substr(colon + 1)));
}

}  // namespace

bool Replica::Impl::was_resent(std::uint64_t seq) {
  const auto range = resent_range(*this);
  return range && seq >= range->first && seq <= range->second;
}

void Replica::Impl::recreate_row(const std::string& table_name, const std::string& id) {
  const TableSpec* table = schema->table(table_name);
  if (!table) return;
  auto row = load(*table, id);
  if (!row) return;
  // The row's required fields, and the seller whose scope it is in, written again by this
  // replica with the values it holds: a new write, so that the server can create the row
  // from this replica's changes alone, in the scope it had.
  const Version version{next_version_clock(&row->versions), replica_id};
  std::vector<std::string> written;
  for (const FieldSpec& field : table->fields) {
    const bool owner = !table->owner_field.empty() && field.name == table->owner_field;
    if (!field.required && !owner) continue;
    auto value = row->fields.find(field.name);
    if (value == row->fields.end() || value->second.is_null()) {
      if (owner) continue;
      return;  // a required field it does not hold: it cannot create the row, leave it
    }
    Change change{
        table->name, id, field.name, {}, value->second, version, row->versions.field(field.name)};
    row->versions.merge(change);
    append_outbox(change);
    written.push_back(field.name);
  }
  // The row's other keys of this replica, put back again: their first resent changes were
  // refused with the row, and would leave the outbox with this push's acknowledgement.
  if (const auto range = resent_range(*this)) {
    auto& drop =
        statement("DELETE FROM _outbox WHERE tbl = ? AND row_id = ? AND seq BETWEEN ? AND ?");
    drop.bind(1, table->name).bind(2, id).bind(3, static_cast<std::int64_t>(range->first));
    drop.bind(4, static_cast<std::int64_t>(range->second)).run();
  }
  store(*table, id, *row, Search::untouched, &written);
  resend_row(*this, *table, id, *row, version);
}

}  // namespace libreta::client
