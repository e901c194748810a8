#include "conflict_inbox.hpp"

#include "write_job.hpp"

namespace libreta::server {

void ConflictInbox::concurrent_edit(const Change& change, const std::string& user, bool won,
                                    const Value& old_value, const Version& current, Ack& ack) {
  const Side pushed{change.value, change.version, user};
  const Side met{old_value, current, user_of(current.replica)};
  record(change, "concurrent_edit", won ? pushed : met, won ? met : pushed, ack);
}

void ConflictInbox::edit_of_deleted(const Change& change, const std::string& user,
                                    const Version& deleted, Ack& ack) {
  record(change, "edit_of_deleted", Side{Value(true), deleted, user_of(deleted.replica)},
         Side{change.value, change.version, user}, ack);
}

std::string ConflictInbox::user_of(const std::string& replica) {
  if (replica == kServerReplica) return "server";
  auto it = users_.find(replica);
  if (it != users_.end()) return it->second;
  const std::string user = writer_.user_of_replica(replica).value_or("?");
  users_.emplace(replica, user);
  return user;
}

void ConflictInbox::record(const Change& change, const char* kind, const Side& kept,
                           const Side& lost, Ack& ack) {
  ConflictRecord conflict;
  conflict.kind = kind;
  conflict.table = change.table;
  conflict.row = change.row;
  conflict.field = change.field;
  conflict.detected_ms = now_ms_;
  conflict.kept_value = kept.value;
  conflict.kept_version = kept.version;
  conflict.kept_user = kept.user;
  conflict.lost_value = lost.value;
  conflict.lost_version = lost.version;
  conflict.lost_user = lost.user;
  writer_.add_conflict(conflict);
  ++recorded_;
  ack.conflicts.push_back({conflict.table, conflict.row, conflict.field, conflict.kept_value,
                           conflict.lost_value, conflict.kept_version, conflict.lost_version, 0,
                           conflict.kind, conflict.kept_user, conflict.lost_user});
  // The device whose value lost learns of it too, whoever pushed second.
  if (conflict.lost_version.replica != kServerReplica)
    losers_.insert(conflict.lost_version.replica);
}

}  // namespace libreta::server
