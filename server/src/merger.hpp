// The merge of one group commit. apply() takes each job's changes in turn and merges them
// into the rows they touch, field by field (RowVersions::merge: the greatest version wins),
// recording the conflicts it finds (ConflictInbox), and refusing what the seller's scope
// (ScopePolicy), a new row's required fields or the bounds of a row do not allow. finish()
// then brings scopes up to date (a reassigned customer takes its rows along), numbers the
// changed rows in (table, id) order, saves them and records the evictions.
//
// Ownership: works in the caller's transaction (StoreWriter) and group of rows (GroupRows),
// which outlive it; the group then holds the saved rows the live update reads.
// Threads: the writer thread only; one Merger per transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "conflict_inbox.hpp"
#include "group_rows.hpp"
#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/protocol/schema.hpp"
#include "libreta/server/store.hpp"
#include "libreta/server/sync_service.hpp"
#include "refusal_log.hpp"
#include "scope_policy.hpp"
#include "write_job.hpp"

namespace libreta::server {

class SellerCursors;

class Merger final : private ScopePolicy::Rows {
 public:
  // `options`: the bounds of a row. `server_clock` versions the server's own writes.
  Merger(StoreWriter& writer, GroupRows& rows, const Schema& schema, HybridClock& server_clock,
         std::uint64_t now_ms, const SyncServiceOptions& options, const RefusalLog& refusals);

  // Applies one job inside the open transaction; returns its answer. A direct write's
  // changes are versioned and numbered here first.
  JobOutcome apply(WriteJob& job);

  // After every job: brings scopes up to date, numbers the changed rows after `seq`, saves
  // them and records evictions. Returns the last sequence. Starts the cursor of each seller
  // the commit touches that `cursors` does not know yet where their scope last changed.
  std::uint64_t finish(std::uint64_t seq, SellerCursors& cursors);

  const std::vector<const GroupRow*>& saved() const { return saved_; }
  const std::set<std::string>& losers() const { return inbox_.losers(); }
  std::uint64_t conflicts_recorded() const { return inbox_.recorded(); }
  const std::vector<Eviction>& evictions() const { return evictions_; }
  // The sequences the rows written again had before this commit. Sorted.
  const std::vector<std::uint64_t>& moved_from() const { return moved_from_; }

 private:
  // ScopePolicy::Rows
  const ServerRow& row(const std::string& table, const std::string& id) override;
  std::optional<Eviction> last_eviction(const std::string& user, const std::string& table,
                                        const std::string& id) override;

  GroupRow& entry_of(const std::string& table, const std::string& id);
  Version server_version();
  // Checks that the job's replica id is its user's, claiming a new one, and records how far
  // it was sent rows; false (with the outcome's error) when it belongs to another user.
  bool check_replica(const WriteJob& job, JobOutcome& outcome);
  // Versions a direct write's changes after every version of the rows they write.
  void stamp_direct(WriteJob& job);
  // Whether a direct write's precondition holds: its row still has the entity tag it names.
  bool precondition_holds(const WriteJob& job);
  // Applies the changes of the job not applied before (past `already`) that may be.
  void apply_changes(const WriteJob& job, std::uint64_t already, Ack& ack);
  // Logs the refusals the writer added to the ack, and fits the ack to the job's protocol.
  void finish_ack(const WriteJob& job, Ack& ack);
  void apply_change(const WriteJob& job, const Change& change, Ack& ack);
  // Why applying the change would make the row bigger than every device may be asked to
  // hold, if it would.
  std::optional<std::string> over_row_bounds(const ServerRow& row, const Change& change) const;
  // The rows this job would create without a value for every required field of their
  // table, each with the reason.
  std::map<RowKey, std::string> incomplete_new_rows(const WriteJob& job, std::uint64_t already);
  // The server's state of a refused change's field, as its writer may see it.
  std::optional<RowState> current_state(const WriteJob& job, const RefusedChange& refused);
  // Brings the scope of every row of the group up to date, loading the rows a reassigned
  // customer takes along.
  void update_scopes();
  // Numbers and saves the changed rows after `seq`, recording evictions; the last sequence.
  std::uint64_t save_changed(std::uint64_t seq);

  StoreWriter& writer_;
  GroupRows& rows_;
  const Schema& schema_;
  HybridClock& server_clock_;
  const SyncServiceOptions& options_;
  const RefusalLog& refusals_;
  const std::uint64_t now_ms_;
  ScopePolicy scope_;
  ConflictInbox inbox_;
  ReplicaRecord replica_;  // of the job being applied
  std::vector<const GroupRow*> saved_;
  std::vector<Eviction> evictions_;
  std::vector<std::uint64_t> moved_from_;
};

}  // namespace libreta::server
