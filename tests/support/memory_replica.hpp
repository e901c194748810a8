// A device's storage kept in memory: rows in a map with their versions, the outbox in a
// deque. It implements SyncReplica, so the client's real SyncProtocol syncs it, as a light
// device in a test or a benchmark. It merges by the protocol's rule and nothing more: no
// schema checks, no search, no children evicted with their customer, tag sets not written.
// Not thread-safe: used on the thread that drives its protocol.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libreta/client/sync_replica.hpp"
#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/row_state.hpp"
#include "libreta/protocol/row_versions.hpp"

namespace libreta::test {

class MemoryReplica final : public client::SyncReplica {
 public:
  MemoryReplica(std::string replica_id, std::shared_ptr<ClockSource> clock)
      : replica_id_(std::move(replica_id)), clock_(std::move(clock)) {}

  // ---- The app ----
  // Sets one field of a row, as a local write: versioned above the row's versions, applied
  // here and put in the outbox.
  void set(const std::string& table, const std::string& id, const std::string& field, Value value) {
    Row& row = rows_[{table, id}];
    if (!row.versions.empty()) clock_.restore(row.versions.latest().hlc);
    Change change{
        table, id, field, {}, value, Version{clock_.now(), replica_id_}, row.versions.field(field)};
    if (row.versions.merge(change)) write_merged_value(row.fields, row.versions, change, value);
    outbox_.push_back(client::OutboxEntry{next_seq_++, std::move(change)});
  }
  std::optional<Value> field(const std::string& table, const std::string& id,
                             const std::string& field) const {
    auto row = rows_.find({table, id});
    if (row == rows_.end()) return std::nullopt;
    auto value = row->second.fields.find(field);
    return value == row->second.fields.end() ? Value() : value->second;
  }
  const std::vector<ConflictNotice>& conflicts() const { return conflicts_; }
  const std::vector<RefusedChange>& refusals() const { return refusals_; }

  // ---- client::SyncReplica ----
  const std::string& replica_id() const override { return replica_id_; }
  client::SyncCursor sync_cursor() const override { return cursor_; }
  std::uint64_t conflicts_cursor() const override { return conflicts_cursor_; }
  std::optional<std::uint64_t> last_sync_ms() const override { return last_sync_ms_; }
  void set_last_sync_ms(std::uint64_t at_ms) override { last_sync_ms_ = at_ms; }

  std::string server_epoch() const override { return server_epoch_; }
  std::size_t adopt_server_epoch(const std::string& epoch) override {
    const std::string known = std::exchange(server_epoch_, epoch);
    if (known.empty() || known == epoch) return 0;
    cursor_ = {};
    conflicts_cursor_ = 0;
    const Version fresh{clock_.now(), replica_id_};
    std::size_t resent = 0;
    for (const auto& [key, row] : rows_) {
      for (Change& change :
           changes_to_resend(key.first, key.second, row.fields, row.versions, replica_id_, fresh)) {
        const bool pending = std::any_of(outbox_.begin(), outbox_.end(), [&](const auto& entry) {
          return entry.change.table == change.table && entry.change.row == change.row &&
                 entry.change.field == change.field && entry.change.element == change.element;
        });
        if (pending) continue;
        outbox_.push_back(client::OutboxEntry{next_seq_++, std::move(change)});
        ++resent;
      }
    }
    return resent;
  }

  std::size_t pending_count() const override { return outbox_.size(); }
  // The oldest `limit` changes (a row's changes may be split between two pushes when they
  // are more than `limit`: a light device writes few at a time).
  std::vector<client::OutboxEntry> pending_changes(std::size_t limit) const override {
    const std::size_t count = std::min(limit, outbox_.size());
    return {outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(count)};
  }
  void acknowledge(std::uint64_t seq) override {
    while (!outbox_.empty() && outbox_.front().seq <= seq) outbox_.pop_front();
  }

  client::ApplyResult apply_page(const std::vector<RowState>& rows, client::SyncCursor next,
                                 const std::vector<RowRef>& evicted) override {
    client::ApplyResult result;
    for (const RowRef& ref : evicted) result.evicted += rows_.erase({ref.table, ref.id});
    for (const RowState& state : rows) {
      for (Change& change : to_changes(state)) {
        Row& row = rows_[{change.table, change.row}];
        if (row.versions.merge(change)) {
          write_merged_value(row.fields, row.versions, change, std::move(change.value));
          ++result.applied;
        } else {
          ++result.ignored;
        }
      }
    }
    cursor_ = next;
    return result;
  }
  void record_conflicts(const std::vector<ConflictNotice>& conflicts) override {
    add_conflicts(conflicts);
  }
  std::vector<ConflictNotice> record_conflicts(const std::vector<ConflictNotice>& conflicts,
                                               std::uint64_t cursor) override {
    conflicts_cursor_ = cursor;
    return add_conflicts(conflicts);
  }
  // With `undo`, a refused field goes back to the server's value and version.
  void record_refusals(const std::vector<RefusedChange>& refused, bool undo) override {
    for (const RefusedChange& refusal : refused) {
      refusals_.push_back(refusal);
      if (!undo || !refusal.current || !refusal.element.empty()) continue;
      Row& row = rows_[{refusal.table, refusal.row}];
      row.versions.set_field(refusal.field, refusal.current->versions.field(refusal.field));
      auto value = refusal.current->fields.find(refusal.field);
      if (value == refusal.current->fields.end())
        row.fields.erase(refusal.field);
      else
        row.fields[refusal.field] = value->second;
    }
  }

 private:
  struct Row {
    Record fields;
    RowVersions versions;
  };

  // Keeps each conflict once (by row, field and both versions); returns those not known.
  std::vector<ConflictNotice> add_conflicts(const std::vector<ConflictNotice>& conflicts) {
    std::vector<ConflictNotice> added;
    for (const ConflictNotice& conflict : conflicts) {
      const bool known = std::any_of(conflicts_.begin(), conflicts_.end(), [&](const auto& c) {
        return c.table == conflict.table && c.row == conflict.row && c.field == conflict.field &&
               c.lost_version == conflict.lost_version && c.kept_version == conflict.kept_version;
      });
      if (known) continue;
      conflicts_.push_back(conflict);
      added.push_back(conflict);
    }
    return added;
  }

  const std::string replica_id_;
  HybridClock clock_;
  std::map<std::pair<std::string, std::string>, Row> rows_;
  std::deque<client::OutboxEntry> outbox_;
  std::uint64_t next_seq_ = 1;
  client::SyncCursor cursor_;
  std::uint64_t conflicts_cursor_ = 0;
  std::string server_epoch_;
  std::optional<std::uint64_t> last_sync_ms_;
  std::vector<ConflictNotice> conflicts_;
  std::vector<RefusedChange> refusals_;
};

}  // namespace libreta::test
