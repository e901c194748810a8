// The sync service's writer: group commit of many connections' pushes, the per-field merge
// with conflict detection, acknowledgements and the fan-out of committed rows.
#include "libreta/server/sync_service.hpp"

#include <map>
#include <set>

#include "libreta/protocol/customer_book.hpp"
#include "sync_service_impl.hpp"

namespace libreta::server {
namespace {

std::shared_ptr<const std::string> frame_of(const Message& message) {
  return std::make_shared<const std::string>(encode_message(message));
}

// The rows one group commit touches, with the version keys each changed.
struct GroupState {
  std::map<std::pair<std::string, std::string>, ServerRow> rows;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> changed;
  std::map<std::string, std::string> users;  // replica -> user, cached for conflicts
};

class Merger {
 public:
  Merger(StoreWriter& writer, GroupState& group, std::uint64_t now_ms)
      : writer_(writer), group_(group), now_ms_(now_ms) {}

  // Applies one connection's job inside the open transaction; returns its Ack.
  Ack apply(const WriteJob& job, std::uint64_t& conflicts_recorded) {
    Ack ack;
    ack.upto = job.upto;
    ack.refused = job.refused;
    const std::uint64_t already = writer_.acked(job.replica);
    group_.users[job.replica] = job.user;
    for (const auto& pushed : job.changes) {
      if (pushed.seq <= already) continue;  // a batch sent again after a lost ack
      apply_change(job, pushed.change, ack, conflicts_recorded);
    }
    writer_.set_acked(job.replica, job.user, std::max(already, job.upto));
    return ack;
  }

 private:
  ServerRow& row_of(const Change& change) {
    auto key = std::make_pair(change.table, change.row);
    auto it = group_.rows.find(key);
    if (it == group_.rows.end()) {
      auto stored = writer_.load_row(change.table, change.row);
      ServerRow row =
          stored ? std::move(*stored) : ServerRow{change.table, change.row, {}, {}, {}, 0};
      it = group_.rows.emplace(std::move(key), std::move(row)).first;
    }
    return it->second;
  }

  std::string user_of(const std::string& replica) {
    auto it = group_.users.find(replica);
    if (it != group_.users.end()) return it->second;
    const std::string user = writer_.user_of_replica(replica).value_or("?");
    group_.users.emplace(replica, user);
    return user;
  }

  void apply_change(const WriteJob& job, const Change& change, Ack& ack,
                    std::uint64_t& conflicts_recorded) {
    ServerRow& row = row_of(change);
    auto& changed = group_.changed[{change.table, change.row}];
    if (!change.element.empty()) {
      // Tag sets merge per element: both sides' intent survives, nothing is lost to report.
      if (!row.versions.merge(change)) return;
      const char op = change.value.is_bool() && change.value.as_bool() ? '+' : '-';
      changed.insert(change.field + op + change.element);
      TagSet tags;
      const std::string prefix = change.field + '+';
      for (auto it = row.versions.entries().lower_bound(prefix);
           it != row.versions.entries().end() && it->first.compare(0, prefix.size(), prefix) == 0;
           ++it) {
        const std::string tag = it->first.substr(prefix.size());
        if (row.versions.tag_present(change.field, tag)) tags.push_back(tag);
      }
      if (tags.empty())
        row.fields.erase(change.field);
      else
        row.fields[change.field] = Value(std::move(tags));
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
      if (change.value.is_null())
        row.fields.erase(change.field);
      else
        row.fields[change.field] = change.value;
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
                             conflict.lost_value, conflict.kept_version, conflict.lost_version});
  }

  StoreWriter& writer_;
  GroupState& group_;
  std::uint64_t now_ms_;
};

}  // namespace

SyncService::Impl::Impl(Store& s, SyncServiceOptions o)
    : store(s),
      options(std::move(o)),
      clock(options.clock ? options.clock : std::make_shared<SystemClock>()),
      schema(&customer_book_schema()) {
  last_seq = store.last_seq();
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
      // Take what is waiting, up to a bound: one transaction, one fsync for all of it.
      std::size_t changes = 0;
      while (!queue.empty() && (group.empty() || changes + queue.front().changes.size() <=
                                                     options.max_group_changes)) {
        changes += queue.front().changes.size();
        group.push_back(std::move(queue.front()));
        queue.pop_front();
      }
    }
    auto commit = [&](std::vector<WriteJob*> jobs) {
      GroupState state;
      std::vector<Ack> acks;
      std::uint64_t conflicts_recorded = 0, applied = 0;
      auto writer = store.begin_write();
      Merger merger(*writer, state, clock->now_millis());
      for (WriteJob* job : jobs) {
        acks.push_back(merger.apply(*job, conflicts_recorded));
        applied += job->changes.size();
      }
      std::uint64_t seq = writer->last_seq();
      const std::uint64_t from = seq + 1;
      Rows live;
      live.live = true;
      live.since = seq;
      for (auto& [key, row] : state.rows) {
        const auto& keys = state.changed[key];
        if (keys.empty()) continue;
        row.seq = ++seq;
        for (const auto& k : keys) row.key_seqs[k] = row.seq;
        writer->save_row(row);
        live.rows.push_back(row.state_after(from - 1));
      }
      writer->set_last_seq(seq);
      writer->commit();
      last_seq = seq;
      changes_applied += applied;
      conflicts += conflicts_recorded;
      ++commits;
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        auto frame = frame_of(Message(std::move(acks[i])));
        jobs[i]->out->send(std::move(frame));
      }
      if (seq >= from) {
        live.after = seq;
        fan_out(CommitNotice{from, seq, frame_of(Message(std::move(live)))});
      }
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
          job->out->send(frame_of(Message(ProtocolError{
              e.code(), std::string("push not stored, send it again later: ") + e.what(), false})));
        }
      }
    } catch (const std::exception& e) {
      for (WriteJob* job : all) {
        job->out->send(frame_of(Message(ProtocolError{
            ErrorCode::internal, std::string("push not stored: ") + e.what(), false})));
      }
    }
  }
}

void SyncService::Impl::fan_out(const CommitNotice& notice) {
  std::vector<std::shared_ptr<SyncConnection>> targets;
  {
    std::lock_guard lock(connections_mutex);
    std::erase_if(connections, [](const auto& weak) { return weak.expired(); });
    for (const auto& weak : connections) {
      if (auto connection = weak.lock()) targets.push_back(std::move(connection));
    }
  }
  for (const auto& connection : targets) {
    connection->notify_commit(notice.from, notice.to, notice.frame);
  }
}

void SyncService::Impl::add_connection(const std::shared_ptr<SyncConnection>& connection) {
  std::lock_guard lock(connections_mutex);
  std::erase_if(connections, [](const auto& weak) { return weak.expired(); });
  connections.push_back(connection);
}

std::shared_ptr<SyncService> SyncService::create(Store& store, SyncServiceOptions options) {
  auto service = std::shared_ptr<SyncService>(
      new SyncService(std::make_unique<Impl>(store, std::move(options))));
  service->impl_->writer_thread =
      std::thread([impl = service->impl_.get()] { impl->run_writer(); });
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
  if (impl_->writer_thread.joinable()) impl_->writer_thread.join();
}

SyncServiceStats SyncService::stats() const {
  SyncServiceStats s;
  s.connections = impl_->open_connections;
  s.live_connections = impl_->live_connections;
  s.changes_applied = impl_->changes_applied;
  s.commits = impl_->commits;
  s.conflicts = impl_->conflicts;
  s.last_seq = impl_->last_seq;
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
  impl_->add_connection(connection);
  return connection;
}

}  // namespace libreta::server
