// The sync service's writer: group commit of many connections' pushes, the per-field merge
// with conflict detection, acknowledgements and the fan-out of committed rows.
#include "libreta/server/sync_service.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "sync_service_impl.hpp"

namespace libreta::server {

SharedFrame make_frame(const Message& message, bool compress) {
  std::string text = encode_message(message);
  if (compress) {
    if (auto compressed = compress_message(text, kServerCompressionLevel))
      return std::make_shared<const Frame>(Frame{std::move(*compressed), true});
  }
  return std::make_shared<const Frame>(Frame{std::move(text), false});
}

SharedMessage::SharedMessage(std::string encoded)
    : text(std::make_shared<const Frame>(Frame{std::move(encoded), false})) {
  if (auto bytes = compress_message(text->bytes, kServerCompressionLevel))
    compressed = std::make_shared<const Frame>(Frame{std::move(*bytes), true});
}

namespace {

// A row one group commit touches, as loaded and as changed so far.
struct GroupRow {
  ServerRow row;
  bool existed = false;         // stored before this commit
  std::string stored_customer;  // its customer and scope as stored
  std::string stored_scope;
  std::set<std::string> changed;  // version keys this commit changed
};

// A row's (table, id), and a view of one for looking it up without copying the strings.
using RowKey = std::pair<std::string, std::string>;
using RowKeyView = std::pair<std::string_view, std::string_view>;

struct RowKeyHash {
  using is_transparent = void;
  std::size_t operator()(const RowKeyView& key) const {
    const std::size_t table = std::hash<std::string_view>()(key.first);
    return table ^ (std::hash<std::string_view>()(key.second) + 0x9e3779b97f4a7c15ULL +
                    (table << 6) + (table >> 2));
  }
  std::size_t operator()(const RowKey& key) const { return (*this)(RowKeyView(key)); }
};

struct RowKeyEqual {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::string_view(a.first) == std::string_view(b.first) &&
           std::string_view(a.second) == std::string_view(b.second);
  }
};

// The rows one group commit touches, and what it learned along the way. Hashed: a change
// looks its row up two or three times, in a group of up to 10,000 rows; finish() orders
// them by (table, id) once, to number them.
struct GroupState {
  std::unordered_map<RowKey, GroupRow, RowKeyHash, RowKeyEqual> rows;
  std::map<std::string, std::string> users;  // replica -> user, cached for conflicts
};

// What the writer answers a job: its ack, or an error that closes the connection.
struct JobOutcome {
  Ack ack;
  std::optional<ProtocolError> error;
};

// The seller's scope (docs/security.md): a seller reads and writes the customers whose
// owner they are, and the rows of those customers. A customer taken from a seller may still
// be written by a device of theirs that existed while it was theirs and has not been sent
// the eviction yet (work done offline): decided by what the server knows, never by a
// version the device chose.
class Merger {
 public:
  Merger(StoreWriter& writer, GroupState& group, HybridClock& server_clock, std::uint64_t now_ms,
         const SyncService::Impl& service)
      : writer_(writer),
        group_(group),
        server_clock_(server_clock),
        now_ms_(now_ms),
        service_(service) {}

  // Applies one connection's job inside the open transaction; returns its answer.
  JobOutcome apply(const WriteJob& job, std::uint64_t& conflicts_recorded) {
    JobOutcome outcome;
    Ack& ack = outcome.ack;
    // A replica id belongs to the user who first used it (the hello checked; two users'
    // first hellos with one new id may race, and the first claim wins here).
    std::optional<ReplicaRecord> record = writer_.replica(job.replica);
    if (record && record->user != job.user) {
      service_.log("event=refused code=forbidden user=" + job.user + " replica=" + job.replica +
                   " peer=" + job.peer + " reason=\"the replica id belongs to another user\"");
      ++service_.refusals;
      if (job.out) {
        outcome.error = ProtocolError{ErrorCode::forbidden,
                                      "this device id is already used by another user's device; "
                                      "reinstall the app or give the device a new id",
                                      true};
      }
      return outcome;
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
    if (!job.out) return outcome;  // bookkeeping only
    const std::uint64_t already = record->acked;
    // An empty push learns what the server holds; a batch sent again after a lost ack, its
    // own end.
    ack.upto = job.changes.empty() && job.refused.empty() ? already : job.upto;
    ack.refused = job.refused;
    group_.users[job.replica] = job.user;
    const bool seller = job.role == Role::seller;
    // The customer each new child row of this batch names, for rows whose first change
    // comes before their customer_id.
    std::map<std::pair<std::string, std::string>, std::string> named_customers;
    if (seller) {
      for (const auto& pushed : job.changes) {
        const Change& c = pushed.change;
        const TableSpec* spec = schema().table(c.table);
        if (spec && !spec->owner_link.empty() && c.field == spec->owner_link && c.value.is_text())
          named_customers[{c.table, c.row}] = c.value.as_text();
      }
    }
    std::set<std::string> created_customers;
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
        if (auto why = refusal(job, change, named_customers, created_customers)) {
          ack.refused.push_back(refusal_of(pushed, ErrorCode::forbidden, std::move(*why)));
          continue;
        }
      }
      GroupRow& entry = entry_of(change.table, change.row);
      if (auto why = over_row_bounds(entry.row, change)) {
        ack.refused.push_back(refusal_of(pushed, ErrorCode::too_large, std::move(*why)));
        continue;
      }
      apply_change(job, change, ack, conflicts_recorded);
    }
    // A customer a seller creates is theirs: the server writes the owner when the device
    // did not, under its own version, so every replica learns it.
    for (const auto& id : created_customers) {
      GroupRow& entry = entry_of(kCustomersTable, id);
      if (entry.row.versions.empty() || !owner_of(entry.row).empty()) continue;
      entry.row.fields[kOwnerField] = Value(job.user);
      entry.row.versions.set_field(kOwnerField, server_version());
      entry.changed.insert(kOwnerField);
    }
    writer_.set_acked(job.replica, job.user, std::max(already, job.upto));
    for (std::size_t i = job.refused.size(); i < ack.refused.size(); ++i) {
      const RefusedChange& r = ack.refused[i];
      ++service_.refusals;
      service_.log("event=refused code=" + std::string(error_code_name(r.code)) +
                   " user=" + job.user + " replica=" + job.replica + " peer=" + job.peer +
                   " table=" + r.table + " row=" + r.row + " field=" + r.field + " reason=\"" +
                   r.message + "\"");
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
    return outcome;
  }

  // After every job: brings scopes up to date (a reassigned customer takes its rows along),
  // numbers the changed rows, saves them and records evictions. Returns the last sequence.
  // Adds to `last_update_of_seller` where the scope of each seller the commit touches last
  // changed, for sellers it does not know yet (live_update's `since`).
  std::uint64_t finish(std::uint64_t seq,
                       std::map<std::string, std::uint64_t>& last_update_of_seller) {
    // A customer whose owner changed takes every row it has with it.
    std::vector<std::string> moved;
    for (auto& [key, entry] : group_.rows) {
      if (key.first != kCustomersTable) continue;
      entry.row.customer = entry.row.id;
      entry.row.scope = owner_of(entry.row);
      if (entry.existed && entry.row.scope != entry.stored_scope) moved.push_back(key.second);
    }
    for (const auto& customer : moved) {
      for (auto& child : writer_.children_of(customer)) {
        auto key = std::make_pair(child.table, child.id);
        if (group_.rows.count(key)) continue;
        GroupRow entry;
        entry.existed = true;
        entry.stored_customer = child.customer;
        entry.stored_scope = child.scope;
        entry.row = std::move(child);
        group_.rows.emplace(std::move(key), std::move(entry));
      }
    }
    // scope_of_customer() may load a customer into group_.rows, which would invalidate an
    // iteration over it: the children are listed first (pointers to elements stay valid).
    std::vector<std::pair<const RowKey*, GroupRow*>> children;
    for (auto& [key, entry] : group_.rows) {
      if (key.first != kCustomersTable) children.emplace_back(&key, &entry);
    }
    for (auto [key, entry] : children) {
      const TableSpec* spec = schema().table(key->first);
      if (!spec || spec->owner_link.empty()) continue;
      auto link = entry->row.fields.find(spec->owner_link);
      entry->row.customer =
          link != entry->row.fields.end() && link->second.is_text() ? link->second.as_text() : "";
      entry->row.scope = entry->row.customer.empty() ? "" : scope_of_customer(entry->row.customer);
    }
    // Read before the saves below move it. Without it, a seller's first update after the
    // server starts would claim a change of their scope at every earlier sequence, and each
    // of their live connections would read a page from the store instead of applying it.
    for (const auto& [key, entry] : group_.rows) {
      for (const std::string* seller : {&entry.row.scope, &entry.stored_scope}) {
        if (!seller->empty() && !last_update_of_seller.count(*seller))
          last_update_of_seller.emplace(*seller, writer_.last_change_of_scope(*seller));
      }
    }
    // Numbered in (table, id) order, whatever order the changes came in.
    std::vector<std::pair<const RowKey*, GroupRow*>> in_order;
    in_order.reserve(group_.rows.size());
    for (auto& [key, entry] : group_.rows) in_order.emplace_back(&key, &entry);
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
        const bool own = key.first == kCustomersTable || row.customer != entry.stored_customer;
        if (own) {
          const std::string field =
              key.first == kCustomersTable ? kOwnerField : schema().table(key.first)->owner_link;
          Eviction eviction{row.seq, entry.stored_scope, row.table, row.id,
                            row.versions.field(field)};
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

  const std::vector<const GroupRow*>& saved() const { return saved_; }
  const std::set<std::string>& losers() const { return losers_; }
  const std::vector<Eviction>& evictions() const { return evictions_; }
  // The sequences the rows written again had before this commit.
  // Sorted.
  const std::vector<std::uint64_t>& moved_from() const { return moved_from_; }

 private:
  static constexpr const char* kCustomersTable = tables::customers;
  static constexpr const char* kOwnerField = "owner";

  static const Schema& schema() { return customer_book_schema(); }

  static std::string owner_of(const ServerRow& customer) {
    auto owner = customer.fields.find(kOwnerField);
    return owner != customer.fields.end() && owner->second.is_text() ? owner->second.as_text() : "";
  }

  Version server_version() { return Version{server_clock_.now(), std::string(kServerReplica)}; }

  GroupRow& entry_of(const std::string& table, const std::string& id) {
    auto it = group_.rows.find(RowKeyView(table, id));
    if (it == group_.rows.end()) {
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
      it = group_.rows.emplace(RowKey(table, id), std::move(entry)).first;
    }
    return it->second;
  }

  // Why applying the change would make the row bigger than every device may be asked to
  // hold, if it would.
  std::optional<std::string> over_row_bounds(const ServerRow& row, const Change& change) const {
    const auto& options = service_.options;
    const bool new_key =
        change.element.empty()
            ? row.versions.field(change.field).is_none()
            : row.versions.field(change.field + '+' + change.element).is_none() &&
                  row.versions.field(change.field + '-' + change.element).is_none();
    if (new_key && row.versions.entries().size() >= options.max_keys_per_row) {
      return "the row already has " + std::to_string(options.max_keys_per_row) +
             " fields and tags, the most a row may have";
    }
    const TableSpec* spec = schema().table(change.table);
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
    if (count + 1 > options.max_unknown_fields_per_row) {
      return "the row already has " + std::to_string(count) +
             " fields this server does not know, the most it keeps";
    }
    if (bytes + size_of(change.field, change.value) > options.max_unknown_bytes_per_row) {
      return "the fields this server does not know would take more than " +
             std::to_string(options.max_unknown_bytes_per_row) + " bytes in the row";
    }
    return std::nullopt;
  }

  // The server's state of a refused change's field, as its writer may see it; nothing when
  // the row is not on the server or not theirs to read.
  std::optional<RowState> current_state(const WriteJob& job, const RefusedChange& refused) {
    const TableSpec* spec = schema().table(refused.table);
    if (!spec) return std::nullopt;
    GroupRow& entry = entry_of(refused.table, refused.row);
    const ServerRow& row = entry.row;
    if (row.versions.empty()) return std::nullopt;
    if (job.role == Role::seller) {
      std::string customer;
      if (spec->owner_link.empty()) {
        customer = row.id;
      } else if (auto link = row.fields.find(spec->owner_link);
                 link != row.fields.end() && link->second.is_text()) {
        customer = link->second.as_text();
      }
      if (customer.empty() || scope_of_customer(customer) != job.user) return std::nullopt;
    }
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

  // The seller a customer belongs to now (its owner as merged so far); empty if unknown.
  std::string scope_of_customer(const std::string& customer) {
    const GroupRow& entry = entry_of(kCustomersTable, customer);
    if (entry.row.versions.empty()) return "";
    return owner_of(entry.row);
  }

  // Whether `user`'s replica (replica_) may write to `customer`: it is theirs, or it was
  // taken from them and this device cannot have known yet: the device existed before the
  // reassignment and the server has not sent it the eviction. Its versions, which the
  // device chose, decide nothing.
  bool may_write(const std::string& user, const std::string& customer, std::string& why) {
    if (scope_of_customer(customer) == user) return true;
    if (auto lost = writer_.last_eviction(user, kCustomersTable, customer)) {
      if (replica_.first_seq < lost->seq && replica_.sent_seq < lost->seq) return true;
      why = "customer " + customer +
            " was given to another seller, and this device had been told; ask the office";
      return false;
    }
    why = "customer " + customer + " is not in your customer book";
    return false;
  }

  // The rows this job would create without a value for every required field of their
  // table, each with the reason: all of their changes are refused, whoever writes them, so
  // that no device ever receives a row it could not have made itself. A row exists once
  // its versions do: stored, or created by an earlier job of this group. A field counts as
  // set by its change of greatest version in the job, as the merge would leave it; the
  // schema requires no tag set, so tag changes set nothing here.
  std::map<RowKey, std::string> incomplete_new_rows(const WriteJob& job, std::uint64_t already) {
    // For each new row, its required fields' latest change in this job.
    std::map<RowKey, std::map<std::string_view, const Change*>> new_rows;
    for (const auto& pushed : job.changes) {
      if (pushed.seq <= already) continue;
      const Change& change = pushed.change;
      const TableSpec* spec = schema().table(change.table);
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
      for (const FieldSpec& field : schema().table(key.first)->fields) {
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

  // Why a seller's change is refused, or nothing if it may be applied.
  std::optional<std::string> refusal(
      const WriteJob& job, const Change& change,
      const std::map<std::pair<std::string, std::string>, std::string>& named_customers,
      std::set<std::string>& created_customers) {
    std::string why;
    const TableSpec* spec = schema().table(change.table);
    if (change.table == kCustomersTable) {
      GroupRow& entry = entry_of(change.table, change.row);
      const bool is_new = entry.row.versions.empty() || created_customers.count(change.row);
      if (is_new) created_customers.insert(change.row);
      // A seller may name themselves owner, or leave a new customer's owner empty (the
      // server then makes it theirs); giving a customer to someone else is the office's.
      if (change.field == kOwnerField && !(change.value == Value(job.user)) &&
          !(is_new && change.value.is_null())) {
        return std::string("only a manager can give a customer to another seller");
      }
      if (is_new) return std::nullopt;
      if (!may_write(job.user, change.row, why)) return why;
      return std::nullopt;
    }
    if (!spec || spec->owner_link.empty()) return std::nullopt;
    GroupRow& entry = entry_of(change.table, change.row);
    // Its customer as stored, or for a row this batch creates, the one the batch names.
    std::string customer;
    auto link = entry.row.fields.find(spec->owner_link);
    if (link != entry.row.fields.end() && link->second.is_text()) {
      customer = link->second.as_text();
    } else if (auto named = named_customers.find({change.table, change.row});
               named != named_customers.end()) {
      customer = named->second;
    }
    if (customer.empty()) {
      return "a new " + change.table + " row must name its customer (" + spec->owner_link + ")";
    }
    if (!created_customers.count(customer) && !may_write(job.user, customer, why)) return why;
    // Moving a row to another customer needs that customer to be the seller's too.
    if (change.field == spec->owner_link && change.value.is_text() &&
        change.value.as_text() != customer && !created_customers.count(change.value.as_text()) &&
        !may_write(job.user, change.value.as_text(), why)) {
      return why;
    }
    return std::nullopt;
  }

  std::string user_of(const std::string& replica) {
    if (replica == kServerReplica) return "server";
    auto it = group_.users.find(replica);
    if (it != group_.users.end()) return it->second;
    const std::string user = writer_.user_of_replica(replica).value_or("?");
    group_.users.emplace(replica, user);
    return user;
  }

  void apply_change(const WriteJob& job, const Change& change, Ack& ack,
                    std::uint64_t& conflicts_recorded) {
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
    // from another device (a device's own later edit supersedes its earlier one).
    const bool concurrent =
        !current.is_none() && change.base != current && current.replica != change.version.replica;
    const bool won = row.versions.merge(change);
    if (won) {
      write_merged_value(row.fields, row.versions, change, change.value);
      changed.insert(change.field);
    }
    if (concurrent && !(old_value == change.value)) {
      ConflictRecord conflict;
      conflict.table = change.table;
      conflict.row = change.row;
      conflict.field = change.field;
      conflict.detected_ms = now_ms_;
      if (won) {
        conflict.kept_value = change.value;
        conflict.kept_version = change.version;
        conflict.kept_user = job.user;
        conflict.lost_value = old_value;
        conflict.lost_version = current;
        conflict.lost_user = user_of(current.replica);
      } else {
        conflict.kept_value = old_value;
        conflict.kept_version = current;
        conflict.kept_user = user_of(current.replica);
        conflict.lost_value = change.value;
        conflict.lost_version = change.version;
        conflict.lost_user = job.user;
      }
      record(conflict, ack, conflicts_recorded);
    }
    // An edit that reaches a row another device deleted: kept under the tombstone, and put
    // in the inbox so the office can restore the row with it.
    auto deleted = row.fields.find(kDeletedField);
    if (change.field != kDeletedField && deleted != row.fields.end() &&
        deleted->second == Value(true) &&
        row.versions.field(kDeletedField).replica != change.version.replica) {
      ConflictRecord conflict;
      conflict.kind = "edit_of_deleted";
      conflict.table = change.table;
      conflict.row = change.row;
      conflict.field = change.field;
      conflict.detected_ms = now_ms_;
      conflict.kept_value = Value(true);
      conflict.kept_version = row.versions.field(kDeletedField);
      conflict.kept_user = user_of(conflict.kept_version.replica);
      conflict.lost_value = change.value;
      conflict.lost_version = change.version;
      conflict.lost_user = job.user;
      record(conflict, ack, conflicts_recorded);
    }
  }

  void record(const ConflictRecord& conflict, Ack& ack, std::uint64_t& conflicts_recorded) {
    writer_.add_conflict(conflict);
    ++conflicts_recorded;
    ack.conflicts.push_back({conflict.table, conflict.row, conflict.field, conflict.kept_value,
                             conflict.lost_value, conflict.kept_version, conflict.lost_version, 0,
                             conflict.kind, conflict.kept_user, conflict.lost_user});
    // The device whose value lost learns of it too, whoever pushed second.
    if (conflict.lost_version.replica != kServerReplica)
      losers_.insert(conflict.lost_version.replica);
  }

  StoreWriter& writer_;
  GroupState& group_;
  HybridClock& server_clock_;
  std::uint64_t now_ms_;
  const SyncService::Impl& service_;
  ReplicaRecord replica_;  // of the job being applied
  std::vector<const GroupRow*> saved_;
  std::vector<Eviction> evictions_;
  std::vector<std::uint64_t> moved_from_;
  std::set<std::string> losers_;
};

// Where each seller's part of the live update of commit (from, to] starts: the end of their
// previous update (docs/protocol.md, "Live updates"). Runs on the writer, in commit order,
// and moves `last_update_of_seller` to `to` for every seller the commit touched: every
// seller whose scope a saved row is in, and every seller who lost a row.
std::map<std::string, std::uint64_t> sellers_since(
    std::uint64_t from, std::uint64_t to, const std::vector<const GroupRow*>& saved,
    const std::vector<Eviction>& evictions,
    std::map<std::string, std::uint64_t>& last_update_of_seller) {
  std::map<std::string, std::uint64_t> since;
  auto touch = [&](const std::string& seller) {
    if (seller.empty() || since.count(seller)) return;
    auto& last = last_update_of_seller.try_emplace(seller, from - 1).first->second;
    since.emplace(seller, last);
    last = to;
  };
  for (const GroupRow* entry : saved) touch(entry->row.scope);
  for (const Eviction& eviction : evictions) touch(eviction.user);
  return since;
}

// The live update of one commit of sequences (from, to]: one frame for the readers of
// everything, and one per seller whose scope the commit touched, starting where
// sellers_since says. Each row state is encoded once: a row that did not just enter its
// seller's scope goes into the managers' update and its seller's with the same state.
std::shared_ptr<const CommitNotice> live_update(std::uint64_t from, std::uint64_t to,
                                                const std::vector<const GroupRow*>& saved,
                                                const std::vector<Eviction>& evictions,
                                                const std::map<std::string, std::uint64_t>& since,
                                                std::set<std::string> losers) {
  std::deque<std::string> encoded;  // every row state's text; a deque keeps their addresses
  auto encode = [&](const RowState& state) {
    return &encoded.emplace_back(encode_row_state(state));
  };
  // Everything, for managers: the keys this commit changed.
  Rows everything;
  everything.live = true;
  everything.since = from - 1;
  everything.after = to;
  std::vector<const std::string*> everything_rows;
  // Each seller's part: their rows (all of a row that just entered their scope) and the
  // rows they lost.
  struct SellerPart {
    Rows rows;
    std::vector<const std::string*> encoded;
  };
  std::map<std::string, SellerPart> by_seller;
  auto seller_part = [&](const std::string& seller) -> SellerPart& {
    auto it = by_seller.find(seller);
    if (it == by_seller.end()) {
      SellerPart part;
      part.rows.live = true;
      part.rows.after = to;
      // Nothing of this seller's changed since: a connection that has it may apply this
      // one.
      part.rows.since = since.at(seller);
      it = by_seller.emplace(seller, std::move(part)).first;
    }
    return it->second;
  };
  for (const GroupRow* entry : saved) {
    const ServerRow& row = entry->row;
    const std::string* changed = nullptr;
    if (!entry->changed.empty()) {
      changed = encode(row.state_after(from - 1));
      everything_rows.push_back(changed);
    }
    if (row.scope.empty()) continue;
    const std::string* for_seller = row.scope_seq < from ? changed : nullptr;
    if (!for_seller) {
      RowState state = row.state_after(row.scope_seq >= from ? 0 : from - 1);
      if (!state.versions.empty()) for_seller = encode(state);
    }
    if (for_seller) seller_part(row.scope).encoded.push_back(for_seller);
  }
  for (const Eviction& eviction : evictions) {
    seller_part(eviction.user).rows.evicted.push_back({eviction.table, eviction.row});
  }
  auto notice = std::make_shared<CommitNotice>(
      CommitNotice{from,
                   to,
                   SharedMessage(encode_rows_message(everything, everything_rows)),
                   {},
                   std::move(losers)});
  for (auto& [seller, part] : by_seller) {
    notice->by_seller.emplace(
        seller,
        SellerUpdate{part.rows.since, SharedMessage(encode_rows_message(part.rows, part.encoded))});
  }
  return notice;
}

}  // namespace

// A durable commit whose acks and live update are still to be made and sent: the publisher
// thread does it, in commit order, while the writer goes on with the next group.
struct CommittedGroup {
  std::uint64_t from = 0, to = 0;  // (from - 1, to]; empty when to < from
  GroupState state;                // owns the rows `saved` points to
  std::vector<const GroupRow*> saved;
  std::vector<Eviction> evictions;
  std::map<std::string, std::uint64_t> sellers_since;
  std::set<std::string> losers;  // replicas whose value lost a conflict
  struct PendingAck {
    std::shared_ptr<Outbound> out;
    bool compressed_frames = false;
    JobOutcome outcome;
  };
  std::vector<PendingAck> acks;
};

SyncService::Impl::Impl(Store& s, SyncServiceOptions o)
    : store(s),
      options(std::move(o)),
      clock(options.clock ? options.clock : std::make_shared<SystemClock>()),
      schema(&customer_book_schema()),
      server_clock(clock, options.max_clock_skew) {
  last_seq = store.last_seq();
  if (options.page_cache_bytes > 0)
    page_cache = std::make_unique<PageCache>(options.page_cache_bytes);
}

SyncService::Impl::~Impl() = default;

void SyncService::Impl::log(const std::string& line) const {
  if (options.log) options.log(line);
}

std::optional<std::string> SyncService::Impl::admit(const std::string& token_id, std::size_t bytes,
                                                    std::size_t changes) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(usage_mutex);
  TokenUsage& used = usage[token_id];
  const double change_burst = static_cast<double>(options.change_burst_per_token);
  const double byte_burst = static_cast<double>(options.byte_burst_per_token);
  if (!used.started) {
    used.started = true;
    used.change_allowance = change_burst;
    used.byte_allowance = byte_burst;
  } else {
    const double elapsed = std::chrono::duration<double>(now - used.refilled).count();
    used.change_allowance = std::min(
        change_burst, used.change_allowance +
                          elapsed * static_cast<double>(options.max_changes_per_second_per_token));
    used.byte_allowance = std::min(
        byte_burst, used.byte_allowance +
                        elapsed * static_cast<double>(options.max_bytes_per_second_per_token));
  }
  used.refilled = now;
  if (static_cast<double>(bytes) > used.byte_allowance) {
    return "this user's devices sent more than " +
           std::to_string(options.max_bytes_per_second_per_token) + " bytes a second";
  }
  if (changes > 0) {
    if (used.queued_changes + changes > options.max_queued_changes_per_token) {
      return "this user's devices have " + std::to_string(used.queued_changes) +
             " changes waiting to be stored";
    }
    if (static_cast<double>(changes) > used.change_allowance) {
      return "this user's devices sent more than " +
             std::to_string(options.max_changes_per_second_per_token) + " changes a second";
    }
    used.change_allowance -= static_cast<double>(changes);
    used.queued_changes += changes;
  }
  used.byte_allowance -= static_cast<double>(bytes);
  return std::nullopt;
}

void SyncService::Impl::done_queued(const std::string& token_id, std::size_t changes) {
  if (changes == 0) return;
  std::lock_guard lock(usage_mutex);
  auto it = usage.find(token_id);
  if (it != usage.end()) it->second.queued_changes -= std::min(changes, it->second.queued_changes);
}

std::uint64_t SyncService::Impl::note_sent(const std::string& replica, std::uint64_t seq) {
  std::lock_guard lock(sent_mutex);
  auto& sent = sent_by_replica[replica];
  sent = std::max(sent, seq);
  return sent;
}

bool SyncService::Impl::enqueue(WriteJob job) {
  {
    std::lock_guard lock(queue_mutex);
    if (stopping) return false;
    queue.push_back(std::move(job));
  }
  queue_changed.notify_one();
  return true;
}

void SyncService::Impl::run_writer() {
  for (;;) {
    std::vector<WriteJob> group;
    {
      std::unique_lock lock(queue_mutex);
      queue_changed.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping, and everything queued is done
      // Take what is waiting, up to a bound: one transaction, one fsync for all of it. In
      // rounds, each taking the oldest waiting job of every token, the tokens served least
      // recently first: one token's many pushes cannot fill groups ahead of other tokens'
      // (and a token's jobs keep their order).
      ++groups_formed;
      std::size_t changes = 0;
      bool full = false;
      while (!queue.empty() && !full) {
        std::vector<std::size_t> round;  // positions in the queue
        std::set<std::string_view> seen;
        for (std::size_t i = 0; i < queue.size(); ++i) {
          if (seen.insert(queue[i].token_id).second) round.push_back(i);
        }
        std::stable_sort(round.begin(), round.end(), [&](std::size_t a, std::size_t b) {
          return last_served[queue[a].token_id] < last_served[queue[b].token_id];
        });
        std::vector<std::size_t> taken;
        for (std::size_t i : round) {
          if (!group.empty() && changes + queue[i].changes.size() > options.max_group_changes) {
            full = true;
            break;
          }
          changes += queue[i].changes.size();
          // Bookkeeping costs the writer nothing: it does not count as serving the token.
          if (queue[i].out) last_served[queue[i].token_id] = groups_formed;
          group.push_back(std::move(queue[i]));
          taken.push_back(i);
        }
        if (taken.empty()) break;
        std::sort(taken.rbegin(), taken.rend());
        for (std::size_t i : taken) queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    auto commit = [&](std::vector<WriteJob*> jobs) {
      auto committed = std::make_unique<CommittedGroup>();
      std::uint64_t conflicts_recorded = 0, applied = 0;
      auto writer = store.begin_write();
      Merger merger(*writer, committed->state, server_clock, clock->now_millis(), *this);
      for (WriteJob* job : jobs) {
        JobOutcome outcome = merger.apply(*job, conflicts_recorded);
        if (job->out)
          committed->acks.push_back({job->out, job->compressed_frames, std::move(outcome)});
        applied += job->changes.size();
      }
      const std::uint64_t from = writer->last_seq() + 1;
      const std::uint64_t seq = merger.finish(from - 1, last_update_of_seller);
      writer->set_last_seq(seq);
      writer->commit();
      writer.reset();
      last_seq = seq;
      changes_applied += applied;
      conflicts += conflicts_recorded;
      ++commits;
      // Here, on the writer, and not later: a pull after this commit must not be served a
      // cached page it made stale.
      if (page_cache) page_cache->committed(seq, merger.moved_from());
      committed->from = from;
      committed->to = seq;
      committed->saved = merger.saved();
      committed->evictions = merger.evictions();
      committed->losers = merger.losers();
      // Stored: the token may queue more, even before the ack reaches its device.
      for (WriteJob* job : jobs) done_queued(job->token_id, std::exchange(job->admitted, 0));
      committed->sellers_since =
          sellers_since(from, seq, committed->saved, committed->evictions, last_update_of_seller);
      publish(std::move(committed));
    };
    std::vector<WriteJob*> all;
    for (auto& job : group) all.push_back(&job);
    try {
      commit(all);
    } catch (const Error& group_error) {
      // Try each job alone, so that one that cannot be stored does not hold back the others.
      for (WriteJob* job : all) {
        try {
          commit({job});
        } catch (const Error& e) {
          if (!job->out) continue;  // bookkeeping: recorded with the replica's next job
          job->out->send(make_frame(
              Message(ProtocolError{
                  e.code(), std::string("push not stored, send it again later: ") + e.what(),
                  false}),
              /*compress=*/false));
        }
      }
    } catch (const std::exception& e) {
      for (WriteJob* job : all) {
        if (!job->out) continue;
        job->out->send(
            make_frame(Message(ProtocolError{ErrorCode::internal,
                                             std::string("push not stored: ") + e.what(), false}),
                       /*compress=*/false));
      }
    }
    for (WriteJob* job : all) done_queued(job->token_id, job->admitted);
  }
}

void SyncService::Impl::publish(std::unique_ptr<CommittedGroup> group) {
  std::unique_lock lock(publish_mutex);
  // A bound on the commits waiting, each holding its rows: past it the writer waits.
  publish_changed.wait(lock, [&] { return to_publish.size() < kMaxCommitsToPublish; });
  to_publish.push_back(std::move(group));
  publish_changed.notify_all();
}

void SyncService::Impl::run_publisher() {
  for (;;) {
    std::unique_ptr<CommittedGroup> group;
    {
      std::unique_lock lock(publish_mutex);
      publish_changed.wait(lock, [&] { return writer_done || !to_publish.empty(); });
      if (to_publish.empty()) return;  // the writer has stopped and everything is sent
      group = std::move(to_publish.front());
      to_publish.pop_front();
      publish_changed.notify_all();
    }
    // Failures here (out of memory, say) cannot undo the commit, which is durable.
    for (auto& pending : group->acks) {
      try {
        if (auto& error = pending.outcome.error) {
          pending.out->send_and_close(make_frame(Message(std::move(*error)), false));
          continue;
        }
        pending.out->send(
            make_frame(Message(std::move(pending.outcome.ack)), pending.compressed_frames));
      } catch (const std::exception&) {
        // Without its ack the device would wait: close the connection, and on reconnecting
        // it learns from the welcome's `acked` what was stored.
        try {
          pending.out->send_and_close(make_frame(
              Message(ProtocolError{ErrorCode::internal, "the ack could not be sent", true}),
              /*compress=*/false));
        } catch (const std::exception&) {
        }
      }
    }
    try {
      if (group->to >= group->from || !group->losers.empty()) {
        fan_out(live_update(group->from, group->to, group->saved, group->evictions,
                            group->sellers_since, std::move(group->losers)));
      }
    } catch (const std::exception&) {
      // A connection that missed this update finds a gap at the next one and reads what it
      // missed from the store.
    }
    // The group's rows are freed here too, off the writer.
  }
}

void SyncService::Impl::fan_out(const std::shared_ptr<const CommitNotice>& notice) {
  std::vector<std::shared_ptr<SyncConnection>> targets;
  {
    std::lock_guard lock(connections_mutex);
    auto collect = [&](std::vector<std::weak_ptr<SyncConnection>>& list) {
      std::erase_if(list, [&](const auto& weak) {
        auto connection = weak.lock();
        if (!connection) return true;
        targets.push_back(std::move(connection));
        return false;
      });
    };
    collect(everything_readers);
    for (const auto& [seller, update] : notice->by_seller) {
      auto it = seller_readers.find(seller);
      if (it == seller_readers.end()) continue;
      collect(it->second);
      if (it->second.empty()) seller_readers.erase(it);
    }
    // The devices whose value lost a conflict hear of it even when nothing of their scope
    // changed (their own value was refused by the merge).
    if (!notice->losers.empty()) {
      for (const auto& [token, sessions] : sessions_by_token) {
        for (const auto& weak : sessions) {
          auto connection = weak.lock();
          if (connection && notice->losers.count(connection->replica()) &&
              !connection->sees_everything() && !notice->by_seller.count(connection->user()))
            targets.push_back(std::move(connection));
        }
      }
    }
  }
  for (const auto& connection : targets) connection->notify_commit(notice);
}

void SyncService::Impl::add_reader(const std::shared_ptr<SyncConnection>& connection,
                                   const std::string* seller) {
  std::lock_guard lock(connections_mutex);
  auto& list = seller ? seller_readers[*seller] : everything_readers;
  std::erase_if(list, [](const auto& weak) { return weak.expired(); });
  list.push_back(connection);
}

bool SyncService::Impl::add_session(const std::shared_ptr<SyncConnection>& connection,
                                    const std::string& user) {
  std::vector<std::shared_ptr<SyncConnection>> replaced;
  {
    std::lock_guard lock(connections_mutex);
    auto& sessions = sessions_by_token[connection->token_id()];
    std::size_t others = 0;
    for (const auto& weak : sessions) {
      auto session = weak.lock();
      if (!session) continue;
      if (session->replica() == connection->replica())
        replaced.push_back(std::move(session));
      else
        ++others;
    }
    if (others >= options.max_connections_per_token) return false;
    std::erase_if(sessions, [](const auto& weak) { return weak.expired(); });
    sessions.push_back(connection);
  }
  // The device reconnected while its old connection lingers (a network that dropped it
  // silently): the new one takes over.
  for (const auto& old : replaced) {
    old->close_with(ErrorCode::forbidden, "replaced by a newer connection of the same device");
  }
  add_reader(connection, connection->sees_everything() ? nullptr : &user);
  return true;
}

void SyncService::Impl::remove_session(const SyncConnection& connection) {
  std::lock_guard lock(connections_mutex);
  auto it = sessions_by_token.find(connection.token_id());
  if (it == sessions_by_token.end()) return;
  std::erase_if(it->second, [&](const auto& weak) {
    auto session = weak.lock();
    return !session || session.get() == &connection;
  });
  if (it->second.empty()) sessions_by_token.erase(it);
}

void SyncService::close_sessions_of_token(const std::string& token_id) {
  std::vector<std::shared_ptr<SyncConnection>> sessions;
  {
    std::lock_guard lock(impl_->connections_mutex);
    auto it = impl_->sessions_by_token.find(token_id);
    if (it == impl_->sessions_by_token.end()) return;
    for (const auto& weak : it->second) {
      if (auto session = weak.lock()) sessions.push_back(std::move(session));
    }
  }
  for (const auto& session : sessions) {
    session->close_with(ErrorCode::bad_token, "the token was revoked");
  }
}

void SyncService::Impl::watch_revocations() {
  std::unique_lock lock(queue_mutex);
  for (;;) {
    try {
      lock.unlock();
      std::vector<std::string> newly_revoked;
      for (auto& id : store.revoked_token_ids()) {
        if (revoked_tokens.insert(id).second) newly_revoked.push_back(std::move(id));
      }
      for (const auto& id : newly_revoked) owner->close_sessions_of_token(id);
      lock.lock();
    } catch (const std::exception&) {
      lock.lock();  // the store is unavailable for now: look again next time
    }
    if (stop_requested.wait_for(lock, options.revocation_check, [&] { return stopping; })) return;
  }
}

std::shared_ptr<SyncService> SyncService::create(Store& store, SyncServiceOptions options) {
  auto service = std::shared_ptr<SyncService>(
      new SyncService(std::make_unique<Impl>(store, std::move(options))));
  service->impl_->owner = service.get();
  service->impl_->writer_thread =
      std::thread([impl = service->impl_.get()] { impl->run_writer(); });
  service->impl_->publisher_thread =
      std::thread([impl = service->impl_.get()] { impl->run_publisher(); });
  service->impl_->revocation_thread =
      std::thread([impl = service->impl_.get()] { impl->watch_revocations(); });
  return service;
}

SyncService::SyncService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SyncService::~SyncService() {
  stop();
}

void SyncService::stop() {
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->stopping = true;
  }
  impl_->queue_changed.notify_all();
  impl_->stop_requested.notify_all();
  if (impl_->writer_thread.joinable()) impl_->writer_thread.join();
  {
    // What the writer committed is acknowledged and announced before the service stops.
    std::lock_guard lock(impl_->publish_mutex);
    impl_->writer_done = true;
  }
  impl_->publish_changed.notify_all();
  if (impl_->publisher_thread.joinable()) impl_->publisher_thread.join();
  if (impl_->revocation_thread.joinable()) impl_->revocation_thread.join();
}

SyncServiceStats SyncService::stats() const {
  SyncServiceStats s;
  s.connections = impl_->open_connections;
  s.live_connections = impl_->live_connections;
  s.changes_applied = impl_->changes_applied;
  s.commits = impl_->commits;
  s.conflicts = impl_->conflicts;
  s.last_seq = impl_->last_seq;
  s.pages_read = impl_->pages_read;
  s.pages_shared = impl_->pages_shared;
  s.refusals = impl_->refusals;
  return s;
}

Store& SyncService::store() {
  return impl_->store;
}

std::shared_ptr<SyncConnection> SyncService::open_connection(std::shared_ptr<Outbound> out,
                                                             std::string peer) {
  auto connection =
      std::make_shared<SyncConnection>(shared_from_this(), std::move(out), std::move(peer));
  ++impl_->open_connections;
  return connection;
}

}  // namespace libreta::server
