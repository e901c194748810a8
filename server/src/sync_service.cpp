// The sync service: its shared context, and the threads that work for its connections (the
// writer, the publisher, the token watcher), made and stopped together; and what it reports
// of itself (stats, metrics, readiness).
#include "libreta/server/sync_service.hpp"

#include <atomic>
#include <exception>
#include <future>
#include <utility>

#include "commit_writer.hpp"
#include "libreta/protocol/codec.hpp"
#include "metrics.hpp"
#include "publisher.hpp"
#include "sync_context.hpp"
#include "token_watcher.hpp"

namespace libreta::server {

// The context, then the threads, each started once what it uses is made.
struct SyncService::Impl {
  Impl(Store& store, SyncServiceOptions options)
      : context(store, std::move(options)),
        publisher(context.sessions),
        writer(context, publisher),
        tokens(store, context.sessions, context.token_uses, context.clock,
               context.options.revocation_check) {}

  SyncContext context;
  Publisher publisher;
  CommitWriter writer;
  TokenWatcher tokens;
  std::atomic<bool> stopping{false};
};

std::shared_ptr<SyncService> SyncService::create(Store& store, SyncServiceOptions options) {
  return std::shared_ptr<SyncService>(
      new SyncService(std::make_unique<Impl>(store, std::move(options))));
}

SyncService::SyncService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SyncService::~SyncService() {
  stop();
}

void SyncService::stop() {
  impl_->stopping = true;
  impl_->tokens.stop();
  impl_->context.writes.stop();
  impl_->writer.join();
  // What the writer committed is acknowledged and announced before the service stops.
  impl_->publisher.finish();
}

SyncServiceStats SyncService::stats() const {
  return impl_->context.counters.snapshot();
}

std::string SyncService::metrics_text() const {
  const SyncContext& context = impl_->context;
  const SyncCounters& c = context.counters;
  MetricsText m;
  m.labeled("libreta_connections", "gauge",
            "Devices connected now, past hello, by role and sync protocol version",
            {"role", "protocol"}, c.authenticated);
  m.gauge("libreta_connections_live", "Connections caught up and receiving live updates",
          static_cast<double>(c.live_connections.load()));
  m.counter("libreta_connections_opened_total", "WebSocket connections opened since start",
            static_cast<double>(c.connections_opened.load()));
  m.labeled("libreta_hellos_refused_total", "counter",
            "Hellos refused since start, by reason (bad_token is a failed authentication)",
            {"reason"}, c.hellos_refused);
  m.counter("libreta_pushes_total", "Pushes taken to the writer since start",
            static_cast<double>(c.pushes.load()));
  m.counter("libreta_changes_applied_total", "Pushed changes stored since start",
            static_cast<double>(c.changes_applied.load()));
  m.counter("libreta_conflicts_total", "Conflicts recorded in the inbox since start",
            static_cast<double>(c.conflicts.load()));
  m.labeled("libreta_refusals_total", "counter",
            "Changes, pushes and messages refused since start, by error code", {"code"},
            c.changes_refused);
  m.counter("libreta_commits_total", "Group commits since start",
            static_cast<double>(c.commits.load()));
  m.histogram("libreta_commit_duration_seconds",
              "Group commit time, from the first read to durable", c.commit_seconds);
  m.histogram("libreta_commit_fsync_seconds",
              "Time of a group commit's COMMIT: the writes reaching the disk", c.fsync_seconds);
  m.histogram("libreta_commit_changes", "Changes in a group commit", c.commit_changes);
  m.counter("libreta_commits_slow_total", "Group commits slower than log.slow_commit_ms",
            static_cast<double>(c.slow_commits.load()));
  m.counter("libreta_pull_pages_read_total", "Pages of pulls read from the store",
            static_cast<double>(c.pages_read.load()));
  m.counter("libreta_pull_pages_shared_total",
            "Pages of pulls served from the shared page cache instead",
            static_cast<double>(c.pages_shared.load()));
  m.counter("libreta_live_updates_total", "Live updates queued to connections",
            static_cast<double>(c.live_deliveries.load()));
  m.counter("libreta_live_update_bytes_total", "Bytes of live updates queued to connections",
            static_cast<double>(c.live_delivery_bytes.load()));
  const WriteQueue::Depth depth = context.writes.depth();
  m.gauge("libreta_write_queue_jobs", "Pushes and bookkeeping jobs waiting for the writer",
          static_cast<double>(depth.jobs));
  m.gauge("libreta_write_queue_changes", "Changes waiting for the writer",
          static_cast<double>(depth.changes));
  m.gauge("libreta_last_seq", "The store's last sequence", static_cast<double>(c.last_seq.load()));
  double store_bytes = 0;
  try {
    store_bytes = static_cast<double>(context.store.size_bytes());
  } catch (const std::exception&) {
  }
  m.gauge("libreta_store_bytes", "What the store takes on disk", store_bytes);
  return m.take();
}

SyncServiceReadiness SyncService::readiness() const {
  const SyncContext& context = impl_->context;
  if (impl_->stopping) return {false, "shutting down"};
  const std::uint64_t busy_since = context.counters.writer_busy_since_ms;
  const std::uint64_t now = context.clock->now_millis();
  const auto stall = static_cast<std::uint64_t>(context.options.writer_stall.count());
  if (busy_since != 0 && now > busy_since && now - busy_since > stall) {
    return {false, "the writer has been committing one group for " +
                       std::to_string((now - busy_since) / 1000) + " s"};
  }
  try {
    context.store.last_seq();
  } catch (const std::exception& e) {
    return {false, std::string("the store cannot be read: ") + e.what()};
  }
  return {true, ""};
}

Store& SyncService::store() {
  return impl_->context.store;
}

std::optional<DirectWriteResult> SyncService::write_and_wait(DirectWrite write,
                                                             const std::string& token_id,
                                                             std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<DirectWriteResult>>();
  auto answer = promise->get_future();
  this->write(std::move(write), token_id,
              [promise](DirectWriteResult result) { promise->set_value(std::move(result)); });
  if (answer.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  return answer.get();
}

std::set<std::string> SyncService::connected_replicas() {
  return impl_->context.sessions.connected_replicas();
}

const Schema& SyncService::schema() const {
  return impl_->context.schema;
}

void SyncService::close_sessions_of_token(const std::string& token_id) {
  impl_->context.sessions.close_sessions_of_token(token_id);
}

void SyncService::write(DirectWrite write, const std::string& token_id,
                        std::function<void(DirectWriteResult)> done) {
  SyncContext& context = impl_->context;
  WriteJob job;
  job.direct = true;
  job.replica = direct_replica_id(write.origin, write.user);
  job.user = std::move(write.user);
  job.token_id = token_id;
  job.peer = origin_name(write.origin);
  job.role = write.role;
  job.first_seq = context.counters.last_seq;
  job.precondition = std::move(write.precondition);
  job.resolves = std::move(write.resolves);
  // Checked as a device's push is; the versions and sequences are the writer's.
  for (auto& change : write.changes) {
    PushedChange pushed{0, std::move(change)};
    if (auto status = validate_change(context.schema, pushed.change); !status) {
      job.refused.push_back(refusal_of(pushed, status.error().code(), status.error().what()));
    } else {
      job.changes.push_back(std::move(pushed));
    }
  }
  job.done = [done](JobOutcome outcome) {
    DirectWriteResult result;
    result.stale = outcome.stale;
    if (outcome.error) {
      result.error = outcome.error->code;
      result.message = std::move(outcome.error->message);
    }
    result.stored = !outcome.error && !outcome.stale;
    result.refused = std::move(outcome.ack.refused);
    result.conflicts = std::move(outcome.ack.conflicts);
    done(std::move(result));
  };
  auto answer = job.done;
  if (impl_->stopping || !context.writes.push(std::move(job))) {
    JobOutcome outcome;
    outcome.error = ProtocolError{ErrorCode::shutting_down, "the server is stopping", false};
    answer(std::move(outcome));
  }
}

std::shared_ptr<SyncConnection> SyncService::open_connection(std::shared_ptr<Outbound> out,
                                                             std::string peer) {
  // Shares the service's ownership: its threads run while a connection may use them.
  std::shared_ptr<SyncContext> context(shared_from_this(), &impl_->context);
  auto connection =
      std::make_shared<SyncConnection>(std::move(context), std::move(out), std::move(peer));
  ++impl_->context.counters.connections;
  ++impl_->context.counters.connections_opened;
  return connection;
}

}  // namespace libreta::server
