// Replica: merging changes from elsewhere, and the canonical dump used to compare replicas.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "libreta/protocol/canonical.hpp"
#include "libreta/protocol/codec.hpp"
#include "replica_impl.hpp"

namespace libreta::client {
namespace {

using json = nlohmann::json;

// Sets (or, for null, removes) a field a newer schema has and this one does not know.
void set_extra(Replica::Impl::StoredRow& row, const std::string& field, const Value& value) {
  json extra = row.extra.empty() ? json::object() : json::parse(row.extra, nullptr, false);
  if (!extra.is_object()) extra = json::object();
  if (value.is_null())
    extra.erase(field);
  else
    extra[field] = json::parse(value_json(value));
  row.extra = extra.empty() ? std::string() : extra.dump();
}

}  // namespace

ApplyResult Replica::apply_remote(const std::vector<Change>& incoming) {
  sqlite::Transaction transaction(impl_->db);
  ApplyResult result = apply_remote_in_transaction(incoming);
  transaction.commit();
  return result;
}

std::size_t Replica::Impl::evict(const RowRef& ref) {
  const TableSpec* spec = schema->table(ref.table);
  if (!spec) return 0;
  std::size_t removed = 0;
  auto remove_where = [&](const TableSpec& table, const std::string& column,
                          const std::string& value) {
    const int pos = position(table);
    std::vector<std::pair<std::int64_t, std::string>> rowids;
    {
      auto& rows = statement("SELECT rowid, id FROM " + sql_name(table.name) + " WHERE " +
                             sql_name(column) + " = ?");
      rows.bind(1, value);
      while (rows.step()) rowids.emplace_back(rows.integer(0), rows.text(1));
      rows.reset();
    }
    for (const auto& [rowid, id] : rowids) {
      statement("DELETE FROM _history WHERE tbl = ? AND row_id = ?")
          .bind(1, table.name)
          .bind(2, id)
          .run();
      const std::int64_t doc = rowid * 8 + pos;
      statement("DELETE FROM search_index WHERE rowid = ?").bind(1, doc).run();
      statement("DELETE FROM _search_pending WHERE doc = ?").bind(1, doc).run();
      statement("DELETE FROM " + sql_name(table.name) + " WHERE rowid = ?").bind(1, rowid).run();
    }
    removed += rowids.size();
  };
  remove_where(*spec, "id", ref.id);
  if (spec->owner_link.empty()) {
    // A customer: its rows in the other tables go with it.
    for (const auto& table : schema->tables()) {
      if (table.owner_link.empty()) continue;
      remove_where(table, table.owner_link, ref.id);
    }
  }
  return removed;
}

ApplyResult Replica::apply_page(const std::vector<RowState>& rows, SyncCursor next,
                                const std::vector<RowRef>& evicted) {
  std::vector<Change> changes;
  for (const auto& row : rows) {
    auto row_changes = to_changes(row);
    changes.insert(changes.end(), std::make_move_iterator(row_changes.begin()),
                   std::make_move_iterator(row_changes.end()));
  }
  sqlite::Transaction transaction(impl_->db);
  std::size_t removed = 0;
  for (const auto& ref : evicted) removed += impl_->evict(ref);
  ApplyResult result = apply_remote_in_transaction(changes);
  result.evicted = removed;
  auto& stmt = impl_->statement(
      "INSERT INTO _meta(key, value) VALUES('cursor', ?) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  stmt.bind(1, std::to_string(next.since) + ":" + std::to_string(next.after)).run();
  transaction.commit();
  return result;
}

SyncCursor Replica::sync_cursor() const {
  auto& stmt = impl_->statement("SELECT value FROM _meta WHERE key = 'cursor'");
  std::optional<std::string> text;
  if (stmt.step()) text = stmt.text(0);
  stmt.reset();
  SyncCursor cursor;
  if (!text) return cursor;
  const auto colon = text->find(':');
  if (colon == std::string::npos) return cursor;
  cursor.since = std::stoull(text->substr(0, colon));
  cursor.after = std::stoull(text->substr(colon + 1));
  return cursor;
}

std::optional<std::string> Replica::setting(std::string_view key) const {
  auto& stmt = impl_->statement("SELECT value FROM _meta WHERE key = ?");
  stmt.bind(1, "setting." + std::string(key));
  std::optional<std::string> value;
  if (stmt.step()) value = stmt.text(0);
  stmt.reset();
  return value;
}

void Replica::set_setting(std::string_view key, std::string_view value) {
  auto& stmt = impl_->statement(
      "INSERT INTO _meta(key, value) VALUES(?, ?) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  stmt.bind(1, "setting." + std::string(key)).bind(2, value).run();
}

namespace {

// Stores each conflict once (inside the caller's transaction); returns the new ones.
std::vector<ConflictNotice> store_conflicts(Replica::Impl& impl,
                                            const std::vector<ConflictNotice>& conflicts) {
  std::vector<ConflictNotice> added;
  for (const auto& c : conflicts) {
    impl.note_device_user(c.kept_version.replica, c.kept_user);
    impl.note_device_user(c.lost_version.replica, c.lost_user);
    const std::string kept_version = c.kept_version.to_string();
    const std::string lost_version = c.lost_version.to_string();
    auto& find = impl.statement(
        "SELECT id FROM _conflicts WHERE tbl = ? AND row_id = ? AND field = ? AND "
        "lost_version = ? AND kept_version = ?");
    find.bind(1, c.table).bind(2, c.row).bind(3, c.field).bind(4, lost_version);
    find.bind(5, kept_version);
    const std::optional<std::int64_t> id =
        find.step() ? std::optional<std::int64_t>(find.integer(0)) : std::nullopt;
    find.reset();
    if (id) {
      auto& fill = impl.statement(
          "UPDATE _conflicts SET server_id = max(server_id, ?), "
          "kind = CASE kind WHEN '' THEN ? ELSE kind END, "
          "kept_user = CASE kept_user WHEN '' THEN ? ELSE kept_user END, "
          "lost_user = CASE lost_user WHEN '' THEN ? ELSE lost_user END WHERE id = ?");
      fill.bind(1, static_cast<std::int64_t>(c.id)).bind(2, c.kind).bind(3, c.kept_user);
      fill.bind(4, c.lost_user).bind(5, *id).run();
      continue;
    }
    auto& insert = impl.statement(
        "INSERT INTO _conflicts(tbl, row_id, field, kept, kept_version, lost, lost_version, "
        "server_id, kind, kept_user, lost_user) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, c.table).bind(2, c.row).bind(3, c.field).bind(4, value_json(c.kept));
    insert.bind(5, kept_version).bind(6, value_json(c.lost)).bind(7, lost_version);
    insert.bind(8, static_cast<std::int64_t>(c.id)).bind(9, c.kind).bind(10, c.kept_user);
    insert.bind(11, c.lost_user).run();
    added.push_back(c);
  }
  return added;
}

}  // namespace

std::vector<ConflictNotice> Replica::record_conflicts(
    const std::vector<ConflictNotice>& conflicts) {
  if (conflicts.empty()) return {};
  sqlite::Transaction transaction(impl_->db);
  auto added = store_conflicts(*impl_, conflicts);
  transaction.commit();
  return added;
}

std::vector<ConflictNotice> Replica::record_conflicts(const std::vector<ConflictNotice>& conflicts,
                                                      std::uint64_t cursor) {
  sqlite::Transaction transaction(impl_->db);
  auto added = store_conflicts(*impl_, conflicts);
  auto& stmt = impl_->statement(
      "INSERT INTO _meta(key, value) VALUES('conflicts_cursor', ?) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  stmt.bind(1, std::to_string(cursor)).run();
  transaction.commit();
  return added;
}

std::uint64_t Replica::conflicts_cursor() const {
  auto& stmt = impl_->statement("SELECT value FROM _meta WHERE key = 'conflicts_cursor'");
  std::uint64_t cursor = 0;
  if (stmt.step()) cursor = std::strtoull(stmt.text(0).c_str(), nullptr, 10);
  stmt.reset();
  return cursor;
}

void Replica::record_refusals(const std::vector<RefusedChange>& refused, bool undo) {
  if (refused.empty()) return;
  sqlite::Transaction transaction(impl_->db);
  auto& stmt = impl_->statement(
      "INSERT INTO _refusals(seq, tbl, row_id, field, element, code, message) "
      "VALUES(?, ?, ?, ?, ?, ?, ?)");
  for (const auto& r : refused) {
    // A resent change refused because the server lost its row is handled below, not shown.
    if (r.code == ErrorCode::missing_field && impl_->was_resent(r.seq)) continue;
    stmt.bind(1, static_cast<std::int64_t>(r.seq)).bind(2, r.table).bind(3, r.row);
    stmt.bind(4, r.field).bind(5, r.element).bind(6, error_code_name(r.code));
    stmt.bind(7, r.message).run();
  }
  // Undone in the same transaction as the refusal is recorded, and before the change log
  // drops the refused changes: after a crash in between, the push is sent again, the server
  // (which has it) says nothing more, and the device already holds the server's value.
  std::set<std::pair<std::string, std::string>> recreate;
  for (const auto& r : refused) {
    if (r.code == ErrorCode::missing_field && impl_->was_resent(r.seq)) {
      recreate.emplace(r.table, r.row);
    } else if (undo) {
      impl_->undo_refused(r);
    }
  }
  for (const auto& [table, id] : recreate) impl_->recreate_row(table, id);
  transaction.commit();
}

std::vector<RefusedChange> Replica::reported_refusals() const {
  auto& stmt = impl_->statement(
      "SELECT seq, tbl, row_id, field, element, code, message FROM _refusals ORDER BY id");
  std::vector<RefusedChange> out;
  while (stmt.step()) {
    RefusedChange r;
    r.seq = static_cast<std::uint64_t>(stmt.integer(0));
    r.table = stmt.text(1);
    r.row = stmt.text(2);
    r.field = stmt.text(3);
    r.element = stmt.text(4);
    r.code = error_code_from_name(stmt.text_view(5));
    r.message = stmt.text(6);
    out.push_back(std::move(r));
  }
  stmt.reset();
  return out;
}

void Replica::Impl::undo_refused(const RefusedChange& refused) {
  // The refused change as this device made it: still in the change log unless a later
  // local edit of the same field (or tag) replaced it, and that edit is judged on its own.
  auto& find = statement(
      "SELECT tbl, row_id, field, element, value, version, base FROM _outbox WHERE seq = ?");
  find.bind(1, static_cast<std::int64_t>(refused.seq));
  if (!find.step()) {
    find.reset();
    return;
  }
  Change change;
  change.table = find.text(0);
  change.row = find.text(1);
  change.field = find.text(2);
  change.element = find.text(3);
  change.value = value_from_json_text(find.text_view(4));
  change.version = Version::parse(find.text_view(5)).value_or(Version{});
  change.base = Version::parse(find.text_view(6)).value_or(Version{});
  find.reset();
  if (change.table != refused.table || change.row != refused.row || change.field != refused.field ||
      change.version.is_none())
    return;
  const TableSpec* spec = schema->table(change.table);
  if (!spec) return;
  auto row = load(*spec, change.row);
  if (!row) return;  // evicted meanwhile: nothing of it is left here

  // The keys the change wrote, with the version it gave each (RowVersions::merge): the field;
  // for a tag, the add it made (its version) or the add its remove saw (its base), and the
  // other side of the tag, set to its base.
  std::vector<std::pair<std::string, Version>> written;
  if (change.element.empty()) {
    written.emplace_back(change.field, change.version);
  } else {
    const bool adding = change.value.is_bool() && change.value.as_bool();
    const std::string added = change.field + '+' + change.element;
    const std::string removed = change.field + '-' + change.element;
    if (adding) {
      written.emplace_back(added, change.version);
      if (!change.base.is_none()) written.emplace_back(removed, change.base);
    } else if (!change.base.is_none()) {
      written.emplace_back(removed, change.base);
      written.emplace_back(added, change.base);
    }
  }
  const RowState empty_state;
  const RowState& server = refused.current ? *refused.current : empty_state;
  bool reverted = false;
  for (const auto& [key, version] : written) {
    if (row->versions.field(key) != version) continue;  // a later write holds the key
    row->versions.set_field(key, server.versions.field(key));
    reverted = true;
  }
  if (!reverted) return;

  if (row->versions.empty()) {
    // Nothing of the row is the server's: a row made here and refused whole.
    evict(RowRef{change.table, change.row});
    return;
  }
  auto value = server.fields.find(change.field);
  const Value server_value = value == server.fields.end() ? Value() : value->second;
  if (change.element.empty() && change.field == kDeletedField) {
    row->deleted = server_value.is_bool() && server_value.as_bool();
  } else if (change.element.empty() && !spec->field(change.field)) {
    set_extra(*row, change.field, server_value);
  } else {
    write_merged_value(row->fields, row->versions, change, server_value);
  }
  const std::vector<std::string> changed{change.field};
  store(*spec, change.row, *row, Search::later, &changed);
}

std::int64_t Replica::data_version() const {
  auto& stmt = impl_->statement("PRAGMA data_version");
  stmt.step();
  const std::int64_t version = stmt.integer(0);
  stmt.reset();
  return version;
}

std::vector<ConflictNotice> Replica::reported_conflicts(ConflictSide side) const {
  auto& impl = *impl_;
  // Which side this replica was on is its lost version's replica id.
  std::string sql =
      "SELECT tbl, row_id, field, kept, kept_version, lost, lost_version, server_id, kind, "
      "kept_user, lost_user FROM _conflicts";
  if (side == ConflictSide::lost) sql += " WHERE substr(lost_version, 18) = ?";
  if (side == ConflictSide::won) sql += " WHERE substr(lost_version, 18) <> ?";
  sql += " ORDER BY id";
  auto& stmt = impl.statement(sql);
  if (side != ConflictSide::any) stmt.bind(1, impl.replica_id);
  std::vector<ConflictNotice> out;
  while (stmt.step()) {
    ConflictNotice c;
    c.table = stmt.text(0);
    c.row = stmt.text(1);
    c.field = stmt.text(2);
    c.kept = value_from_json_text(stmt.text_view(3));
    c.kept_version = Version::parse(stmt.text_view(4)).value_or(Version{});
    c.lost = value_from_json_text(stmt.text_view(5));
    c.lost_version = Version::parse(stmt.text_view(6)).value_or(Version{});
    c.id = static_cast<std::uint64_t>(stmt.integer(7));
    c.kind = stmt.text(8);
    c.kept_user = stmt.text(9);
    c.lost_user = stmt.text(10);
    if (c.kind.empty()) {
      // Told before conflicts had a kind: a delete kept over an edit has `true` as its kept
      // value, which no field but a boolean one could hold.
      const TableSpec* table = impl.schema->table(c.table);
      const FieldSpec* field = table ? table->field(c.field) : nullptr;
      const bool boolean_field = field && field->kind == FieldKind::boolean;
      c.kind = c.kept == Value(true) && !boolean_field ? "edit_of_deleted" : "concurrent_edit";
    }
    out.push_back(std::move(c));
  }
  stmt.reset();
  return out;
}

ApplyResult Replica::apply_remote_in_transaction(const std::vector<Change>& incoming) {
  auto& impl = *impl_;
  // Validate the whole batch first: one bad change refuses all of it. Only the canonical
  // values are kept aside; the changes themselves are not copied.
  std::vector<Value> values;
  values.reserve(incoming.size());
  Hlc newest;
  for (std::size_t i = 0; i < incoming.size(); ++i) {
    const Change& change = incoming[i];
    if (change.version.is_none()) {
      throw Error(ErrorCode::invalid_value, "change " + std::to_string(i) + " has no version");
    }
    auto value = validated_value(*impl.schema, change);
    if (!value) {
      throw Error(value.error().code(),
                  "change " + std::to_string(i) + ": " + value.error().what());
    }
    if (!impl.clock->within_skew(change.version.hlc)) {
      throw Error(ErrorCode::clock_skew, "change " + std::to_string(i) +
                                             " is dated too far in the future (" +
                                             change.version.to_string() + ")");
    }
    values.push_back(std::move(value).value());
    newest = std::max(newest, change.version.hlc);
  }

  struct Pending {
    const TableSpec* table;
    std::string id;
    Impl::StoredRow row;
    std::vector<std::string> changed;  // columns to write, for a row already stored
    bool dirty = false;
  };
  std::vector<Pending> rows;
  std::unordered_map<std::string, std::size_t> index;  // "table\0id" -> rows position
  ApplyResult result;

  std::size_t current = SIZE_MAX;  // the row of the previous change: pages come row by row
  for (std::size_t i = 0; i < incoming.size(); ++i) {
    const Change& change = incoming[i];
    if (current == SIZE_MAX || rows[current].id != change.row ||
        rows[current].table->name != change.table) {
      std::string key = change.table;
      key += '\0';
      key += change.row;
      auto [it, inserted] = index.try_emplace(std::move(key), rows.size());
      if (inserted) {
        const TableSpec& table = impl.table(change.table);
        auto stored = impl.load(table, change.row);
        rows.push_back({&table, change.row, stored ? std::move(*stored) : Impl::StoredRow{}, {}});
      }
      current = it->second;
    }
    Pending& pending = rows[current];
    const auto replaced = impl.replaced_by(*pending.table, pending.row, change);
    if (!pending.row.versions.merge(change)) {
      ++result.ignored;
      continue;
    }
    if (replaced) impl.note_replaced(*pending.table, pending.id, change, values[i], *replaced);
    ++result.applied;
    pending.dirty = true;
    if (change.element.empty() && change.field == kDeletedField) {
      pending.row.deleted = values[i].as_bool();
    } else if (change.element.empty() && !pending.table->field(change.field)) {
      set_extra(pending.row, change.field, values[i]);
    } else {
      write_merged_value(pending.row.fields, pending.row.versions, change, std::move(values[i]));
    }
    if (pending.row.rowid != 0) pending.changed.push_back(change.field);
  }
  for (auto& pending : rows) {
    if (!pending.dirty) continue;
    impl.store(*pending.table, pending.id, pending.row, Impl::Search::later,
               pending.row.rowid != 0 ? &pending.changed : nullptr);
  }
  impl.clock->receive(newest);
  impl.save_clock();
  return result;
}

std::string Replica::canonical_dump() const {
  auto& impl = *impl_;
  std::vector<std::string> lines;
  for (const auto& table : impl.schema->tables()) {
    std::string sql = "SELECT id, deleted, _versions, _extra";
    for (const auto& field : table.fields) sql += ", \"" + field.name + "\"";
    sql += " FROM \"" + table.name + "\"";
    auto stmt = impl.db.prepare(sql);
    while (stmt.step()) {
      auto versions = RowVersions::decode(stmt.text_view(2)).value_or(RowVersions{});
      Record values;
      for (std::size_t i = 0; i < table.fields.size(); ++i) {
        Value value = read_column(stmt, static_cast<int>(i) + 4, table.fields[i].kind);
        if (!value.is_null()) values.emplace(table.fields[i].name, std::move(value));
      }
      if (!stmt.is_null(3)) {
        const json extra = json::parse(stmt.text_view(3), nullptr, false);
        if (extra.is_object()) {
          for (const auto& [name, value] : extra.items()) {
            values.emplace(name, value_from_json_text(value.dump()));
          }
        }
      }
      if (!versions.field(kDeletedField).is_none()) {
        values.emplace(kDeletedField, Value(stmt.integer(1) != 0));
      }
      lines.push_back(canonical_row(table.name, stmt.text_view(0), values, versions));
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& line : lines) out += line;
  return out;
}

}  // namespace libreta::client
