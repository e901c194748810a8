// The SQLite Replica as the sync protocol's storage (sync_replica.hpp): each call goes to the
// replica file, in the replica's own transactions. The last sync time is the file's setting
// "last_sync_ms". Borrows the Replica, which must outlive it; used on the replica's thread.
#pragma once

#include "libreta/client/replica.hpp"
#include "libreta/client/sync_replica.hpp"

namespace libreta::client {

class SqliteSyncReplica final : public SyncReplica {
 public:
  explicit SqliteSyncReplica(Replica& replica) : replica_(replica) {}

  const std::string& replica_id() const override { return replica_.replica_id(); }
  SyncCursor sync_cursor() const override { return replica_.sync_cursor(); }
  std::uint64_t conflicts_cursor() const override { return replica_.conflicts_cursor(); }
  std::optional<std::uint64_t> last_sync_ms() const override;
  void set_last_sync_ms(std::uint64_t at_ms) override;

  std::string server_epoch() const override { return replica_.server_epoch(); }
  std::size_t adopt_server_epoch(const std::string& epoch) override {
    return replica_.adopt_server_epoch(epoch);
  }

  std::size_t pending_count() const override { return replica_.pending_count(); }
  std::vector<OutboxEntry> pending_changes(std::size_t limit) const override {
    return replica_.pending_changes(limit);
  }
  void acknowledge(std::uint64_t seq) override { replica_.acknowledge(seq); }

  ApplyResult apply_page(const std::vector<RowState>& rows, SyncCursor next,
                         const std::vector<RowRef>& evicted) override {
    return replica_.apply_page(rows, next, evicted);
  }
  void record_conflicts(const std::vector<ConflictNotice>& conflicts) override {
    replica_.record_conflicts(conflicts);
  }
  std::vector<ConflictNotice> record_conflicts(const std::vector<ConflictNotice>& conflicts,
                                               std::uint64_t cursor) override {
    return replica_.record_conflicts(conflicts, cursor);
  }
  void note_device_users(const std::vector<DeviceUser>& devices) override {
    replica_.note_device_users(devices);
  }
  void record_refusals(const std::vector<RefusedChange>& refused, bool undo) override {
    replica_.record_refusals(refused, undo);
  }

 private:
  Replica& replica_;
};

}  // namespace libreta::client
