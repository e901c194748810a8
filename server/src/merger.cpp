#include "merger.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "libreta/protocol/row_versions.hpp"
#include "live_update.hpp"

namespace libreta::server {

Merger::Merger(StoreWriter& writer, GroupRows& rows, const Schema& schema,
               HybridClock& server_clock, std::uint64_t now_ms, const SyncServiceOptions& options,
               const RefusalLog& refusals)
    : writer_(writer),
      rows_(rows),
      schema_(schema),
      server_clock_(server_clock),
      options_(options),
      refusals_(refusals),
      now_ms_(now_ms),
      scope_(schema, *this),
      inbox_(writer, now_ms) {}

JobOutcome Merger::apply(WriteJob& job) {
  JobOutcome outcome;
  if (job.direct) stamp_direct(job);
  if (!check_replica(job, outcome)) return outcome;
  if (!job.out && !job.done) return outcome;  // bookkeeping only
  if (job.direct && !precondition_holds(job)) {
    outcome.stale = true;
    return outcome;
  }
  if (job.resolves &&
      !writer_.resolve_conflict(job.resolves->id, job.user, job.resolves->resolution, now_ms_)) {
    outcome.stale = true;
    return outcome;
  }
  Ack& ack = outcome.ack;
  const std::uint64_t already = replica_.acked;
  // An empty push learns what the server holds; a batch sent again after a lost ack, its
  // own end.
  ack.upto = job.changes.empty() && job.refused.empty() ? already : job.upto;
  ack.refused = job.refused;
  inbox_.note_user(job.replica, job.user);
  apply_changes(job, already, ack);
  writer_.set_acked(job.replica, job.user, std::max(already, job.upto));
  finish_ack(job, ack);
  return outcome;
}

bool Merger::check_replica(const WriteJob& job, JobOutcome& outcome) {
  // A replica id belongs to the user who first used it (the hello checked; two users'
  // first hellos with one new id may race, and the first claim wins here).
  std::optional<ReplicaRecord> record = writer_.replica(job.replica);
  if (record && record->user != job.user) {
    refusals_.refused("forbidden", {{"user", job.user},
                                    {"replica", job.replica},
                                    {"peer", job.peer},
                                    {"reason", "the replica id belongs to another user"}});
    if (job.out || job.done) {
      outcome.error = ProtocolError{ErrorCode::forbidden,
                                    "this device id is already used by another user's device; "
                                    "reinstall the app or give the device a new id",
                                    true};
    }
    return false;
  }
  if (!record) {
    writer_.claim_replica(job.replica, job.user, job.first_seq);
    record = ReplicaRecord{job.user, 0, job.first_seq, 0};
  }
  if (job.sent_seq > record->sent_seq) {
    writer_.set_sent(job.replica, job.sent_seq);
    record->sent_seq = job.sent_seq;
  }
  replica_ = *record;
  return true;
}

void Merger::stamp_direct(WriteJob& job) {
  // The office writes after what it saw: later than every version of the rows it writes,
  // even one a device dated ahead of the server's clock.
  for (const auto& pushed : job.changes) {
    const Change& change = pushed.change;
    server_clock_.receive(entry_of(change.table, change.row).row.versions.latest().hlc);
  }
  stamp_direct_write(job, server_clock_, writer_.acked(job.replica));
}

bool Merger::precondition_holds(const WriteJob& job) {
  if (!job.precondition) return true;
  const RowPrecondition& expected = *job.precondition;
  return row_etag(entry_of(expected.table, expected.row).row.versions) == expected.etag;
}

void Merger::apply_changes(const WriteJob& job, std::uint64_t already, Ack& ack) {
  std::optional<ScopePolicy::SellerPush> seller;
  if (job.role == Role::seller) seller.emplace(scope_, job.user, replica_, job.changes);
  const auto incomplete = incomplete_new_rows(job, already);
  for (const auto& pushed : job.changes) {
    if (pushed.seq <= already) continue;  // a batch sent again after a lost ack
    const Change& change = pushed.change;
    // The server's own writes must come after everything the device wrote, refused or not.
    server_clock_.receive(change.version.hlc);
    if (!incomplete.empty()) {
      if (auto it = incomplete.find(RowKey(change.table, change.row)); it != incomplete.end()) {
        ack.refused.push_back(refusal_of(pushed, ErrorCode::missing_field, it->second));
        continue;
      }
    }
    if (seller) {
      if (auto why = seller->refusal(change)) {
        ack.refused.push_back(refusal_of(pushed, ErrorCode::forbidden, std::move(*why)));
        continue;
      }
    }
    GroupRow& entry = entry_of(change.table, change.row);
    if (auto why = over_row_bounds(entry.row, change)) {
      ack.refused.push_back(refusal_of(pushed, ErrorCode::too_large, std::move(*why)));
      continue;
    }
    apply_change(job, change, ack);
  }
  if (!seller) return;
  // A customer a seller creates is theirs: the server writes the owner when the device did
  // not, under its own version, so every replica learns it.
  const std::string& owner = scope_.owner_field();
  for (const auto& id : seller->created()) {
    GroupRow& entry = entry_of(scope_.scope_table(), id);
    if (entry.row.versions.empty() || !scope_.owner_of(entry.row).empty()) continue;
    entry.row.fields[owner] = Value(job.user);
    entry.row.versions.set_field(owner, server_version());
    entry.changed.insert(owner);
  }
}

void Merger::finish_ack(const WriteJob& job, Ack& ack) {
  for (std::size_t i = job.refused.size(); i < ack.refused.size(); ++i) {
    const RefusedChange& r = ack.refused[i];
    refusals_.refused(error_code_name(r.code), {{"user", job.user},
                                                {"replica", job.replica},
                                                {"peer", job.peer},
                                                {"table", r.table},
                                                {"row", r.row},
                                                {"field", r.field},
                                                {"reason", r.message}});
  }
  if (job.protocol >= kRefusalStateProtocol) {
    // The device puts each refused change back to the server's state of its field.
    for (auto& refused : ack.refused) refused.current = current_state(job, refused);
  } else {
    for (auto& refused : ack.refused) refused.element.clear();
    for (auto& conflict : ack.conflicts) {
      conflict.kind.clear();
      conflict.kept_user.clear();
      conflict.lost_user.clear();
    }
  }
}

std::uint64_t Merger::finish(std::uint64_t seq, SellerCursors& cursors) {
  update_scopes();
  // Read before the saves below move it. Without it, a seller's first update after the
  // server starts would claim a change of their scope at every earlier sequence, and each
  // of their live connections would read a page from the store instead of applying it.
  for (const auto& [key, entry] : rows_) {
    for (const std::string* seller : {&entry.row.scope, &entry.stored_scope}) {
      if (!seller->empty() && !cursors.knows(*seller))
        cursors.start(*seller, writer_.last_change_of_scope(*seller));
    }
  }
  return save_changed(seq);
}

void Merger::update_scopes() {
  // A customer whose owner changed takes every row it has with it.
  std::vector<std::string> moved;
  for (auto& [key, entry] : rows_) {
    if (!scope_.is_scope_table(key.first)) continue;
    entry.row.customer = entry.row.id;
    entry.row.scope = scope_.owner_of(entry.row);
    if (entry.existed && entry.row.scope != entry.stored_scope) moved.push_back(key.second);
  }
  for (const auto& customer : moved) {
    for (auto& child : writer_.children_of(customer)) {
      auto key = std::make_pair(child.table, child.id);
      if (rows_.count(key)) continue;
      GroupRow entry;
      entry.existed = true;
      entry.stored_customer = child.customer;
      entry.stored_scope = child.scope;
      entry.row = std::move(child);
      rows_.emplace(std::move(key), std::move(entry));
    }
  }
  // seller_of() may load a customer into rows_, which would invalidate an iteration over
  // it: the children are listed first (pointers to elements stay valid).
  std::vector<std::pair<const RowKey*, GroupRow*>> children;
  for (auto& [key, entry] : rows_) {
    if (!scope_.is_scope_table(key.first)) children.emplace_back(&key, &entry);
  }
  for (auto [key, entry] : children) {
    const std::string* link = scope_.link_of(key->first);
    if (!link) continue;
    entry->row.customer = scope_.linked_scope_row(entry->row, *link);
    entry->row.scope = entry->row.customer.empty() ? "" : scope_.seller_of(entry->row.customer);
  }
}

std::uint64_t Merger::save_changed(std::uint64_t seq) {
  // Numbered in (table, id) order, whatever order the changes came in.
  std::vector<std::pair<const RowKey*, GroupRow*>> in_order;
  in_order.reserve(rows_.size());
  for (auto& [key, entry] : rows_) in_order.emplace_back(&key, &entry);
  std::sort(in_order.begin(), in_order.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  for (auto [key_ptr, entry_ptr] : in_order) {
    const RowKey& key = *key_ptr;
    GroupRow& entry = *entry_ptr;
    ServerRow& row = entry.row;
    const bool scope_moved = entry.existed && row.scope != entry.stored_scope;
    if (entry.changed.empty() && !scope_moved) continue;
    if (entry.existed) moved_from_.push_back(row.seq);
    row.seq = ++seq;
    for (const auto& k : entry.changed) row.key_seqs[k] = row.seq;
    if (!entry.existed || scope_moved) row.scope_seq = row.seq;
    if (scope_moved && !entry.stored_scope.empty()) {
      // The old owner's device removes the row; a customer takes its rows along, so a
      // child needs its own eviction only when it moved to another customer.
      const bool own = scope_.is_scope_table(key.first) || row.customer != entry.stored_customer;
      if (own) {
        Eviction eviction{row.seq, entry.stored_scope, row.table, row.id,
                          row.versions.field(scope_.scope_field(key.first))};
        writer_.add_eviction(eviction);
        evictions_.push_back(std::move(eviction));
      }
    }
    writer_.save_row(row);
    saved_.push_back(&entry);
  }
  std::sort(moved_from_.begin(), moved_from_.end());
  return seq;
}

const ServerRow& Merger::row(const std::string& table, const std::string& id) {
  return entry_of(table, id).row;
}

std::optional<Eviction> Merger::last_eviction(const std::string& user, const std::string& table,
                                              const std::string& id) {
  return writer_.last_eviction(user, table, id);
}

Version Merger::server_version() {
  return Version{server_clock_.now(), std::string(kServerReplica)};
}

GroupRow& Merger::entry_of(const std::string& table, const std::string& id) {
  auto it = rows_.find(RowKeyView(table, id));
  if (it == rows_.end()) {
    GroupRow entry;
    if (auto stored = writer_.load_row(table, id)) {
      entry.existed = true;
      entry.stored_customer = stored->customer;
      entry.stored_scope = stored->scope;
      entry.row = std::move(*stored);
    } else {
      entry.row.table = table;
      entry.row.id = id;
    }
    it = rows_.emplace(RowKey(table, id), std::move(entry)).first;
  }
  return it->second;
}

std::optional<std::string> Merger::over_row_bounds(const ServerRow& row,
                                                   const Change& change) const {
  const bool new_key = change.element.empty()
                           ? row.versions.field(change.field).is_none()
                           : row.versions.field(change.field + '+' + change.element).is_none() &&
                                 row.versions.field(change.field + '-' + change.element).is_none();
  if (new_key && row.versions.entries().size() >= options_.max_keys_per_row) {
    return "the row already has " + std::to_string(options_.max_keys_per_row) +
           " fields and tags, the most a row may have";
  }
  const TableSpec* spec = schema_.table(change.table);
  if (!spec || spec->field(change.field) || change.field == kDeletedField) return std::nullopt;
  // A field this server does not know: kept for newer devices, within bounds.
  std::size_t count = 0, bytes = 0;
  auto size_of = [](const std::string& name, const Value& value) {
    return name.size() + (value.is_text() ? value.as_text().size() : 8);
  };
  for (const auto& [name, value] : row.fields) {
    if (name == change.field || name == kDeletedField || spec->field(name)) continue;
    ++count;
    bytes += size_of(name, value);
  }
  if (change.value.is_null()) return std::nullopt;
  if (count + 1 > options_.max_unknown_fields_per_row) {
    return "the row already has " + std::to_string(count) +
           " fields this server does not know, the most it keeps";
  }
  if (bytes + size_of(change.field, change.value) > options_.max_unknown_bytes_per_row) {
    return "the fields this server does not know would take more than " +
           std::to_string(options_.max_unknown_bytes_per_row) + " bytes in the row";
  }
  return std::nullopt;
}

// The server's state of a refused change's field, as its writer may see it; nothing when the
// row is not on the server or not theirs to read.
std::optional<RowState> Merger::current_state(const WriteJob& job, const RefusedChange& refused) {
  if (!schema_.table(refused.table)) return std::nullopt;
  const ServerRow& row = entry_of(refused.table, refused.row).row;
  if (row.versions.empty()) return std::nullopt;
  if (job.role == Role::seller && !scope_.may_read(job.user, row)) return std::nullopt;
  RowState state;
  state.table = row.table;
  state.id = row.id;
  for (const auto& [key, version] : row.versions.entries()) {
    if (key == refused.field ||
        (key.size() > refused.field.size() &&
         key.compare(0, refused.field.size(), refused.field) == 0 &&
         (key[refused.field.size()] == '+' || key[refused.field.size()] == '-'))) {
      state.versions.set_field(key, version);
    }
  }
  if (auto value = row.fields.find(refused.field); value != row.fields.end())
    state.fields.emplace(refused.field, value->second);
  return state;
}

// The rows this job would create without a value for every required field of their
// table, each with the reason: all of their changes are refused, whoever writes them, so
// that no device ever receives a row it could not have made itself. A row exists once
// its versions do: stored, or created by an earlier job of this group. A field counts as
// set by its change of greatest version in the job, as the merge would leave it; the
// schema requires no tag set, so tag changes set nothing here.
std::map<RowKey, std::string> Merger::incomplete_new_rows(const WriteJob& job,
                                                          std::uint64_t already) {
  // For each new row, its required fields' latest change in this job.
  std::map<RowKey, std::map<std::string_view, const Change*>> new_rows;
  for (const auto& pushed : job.changes) {
    if (pushed.seq <= already) continue;
    const Change& change = pushed.change;
    const TableSpec* spec = schema_.table(change.table);
    if (!spec || !entry_of(change.table, change.row).row.versions.empty()) continue;
    auto& latest = new_rows[RowKey(change.table, change.row)];
    const FieldSpec* field = spec->field(change.field);
    if (!field || !field->required || !change.element.empty()) continue;
    const Change*& last = latest[field->name];
    if (!last || last->version < change.version) last = &change;
  }
  std::map<RowKey, std::string> incomplete;
  for (const auto& [key, latest] : new_rows) {
    std::string missing;
    for (const FieldSpec& field : schema_.table(key.first)->fields) {
      if (!field.required) continue;
      auto it = latest.find(field.name);
      if (it != latest.end() && !it->second->value.is_null()) continue;
      missing += (missing.empty() ? "\"" : ", \"") + field.name + "\"";
    }
    if (!missing.empty()) {
      incomplete.emplace(
          key, "a new " + key.first + " row needs " + missing + "; nothing of it was stored");
    }
  }
  return incomplete;
}

void Merger::apply_change(const WriteJob& job, const Change& change, Ack& ack) {
  GroupRow& entry = entry_of(change.table, change.row);
  ServerRow& row = entry.row;
  auto& changed = entry.changed;
  if (!change.element.empty()) {
    // Tag sets merge per element: both sides' intent survives, nothing is lost to report.
    // A change may move both of the tag's keys (RowVersions::merge): send whichever moved.
    const std::string added_key = change.field + '+' + change.element;
    const std::string removed_key = change.field + '-' + change.element;
    const Version added_before = row.versions.field(added_key);
    const Version removed_before = row.versions.field(removed_key);
    if (!row.versions.merge(change)) return;
    if (row.versions.field(added_key) != added_before) changed.insert(added_key);
    if (row.versions.field(removed_key) != removed_before) changed.insert(removed_key);
    write_merged_value(row.fields, row.versions, change, Value());
    return;
  }

  const Version current = row.versions.field(change.field);
  auto old = row.fields.find(change.field);
  const Value old_value = old == row.fields.end() ? Value() : old->second;
  // Concurrent: the writer did not see the version it is replacing, and that version came
  // from another device (a device's own later edit supersedes its earlier one). A change
  // whose base is its own version is resent after the store went back in time (its base is
  // lost with it): merged, never reported.
  const bool resent = change.base == change.version;
  const bool concurrent = !resent && !current.is_none() && change.base != current &&
                          current.replica != change.version.replica;
  const bool won = row.versions.merge(change);
  if (won) {
    write_merged_value(row.fields, row.versions, change, change.value);
    changed.insert(change.field);
  }
  // Fields the software sets on every write (updated_at) lose nobody's work: no entry.
  const TableSpec* table = schema_.table(change.table);
  const FieldSpec* spec = table ? table->field(change.field) : nullptr;
  if (spec && spec->automatic) return;
  if (concurrent && !(old_value == change.value))
    inbox_.concurrent_edit(change, job.user, won, old_value, current, ack);
  // An edit that reaches a row another device deleted: kept under the tombstone, and put
  // in the inbox so the office can restore the row with it.
  auto deleted = row.fields.find(kDeletedField);
  if (change.field != kDeletedField && deleted != row.fields.end() &&
      deleted->second == Value(true) &&
      row.versions.field(kDeletedField).replica != change.version.replica) {
    inbox_.edit_of_deleted(change, job.user, row.versions.field(kDeletedField), ack);
  }
}

}  // namespace libreta::server
