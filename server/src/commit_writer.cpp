#include "commit_writer.hpp"

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "merger.hpp"
#include "publisher.hpp"
#include "sync_context.hpp"

namespace libreta::server {

CommitWriter::CommitWriter(SyncContext& context, Publisher& publisher)
    : context_(context),
      publisher_(publisher),
      server_clock_(context.clock, context.options.max_clock_skew),
      thread_([this] { run(); }) {}

CommitWriter::~CommitWriter() {
  join();
}

void CommitWriter::join() {
  if (thread_.joinable()) thread_.join();
}

void CommitWriter::run() {
  for (;;) {
    std::vector<WriteJob> group = context_.writes.take_group();
    if (group.empty()) return;  // stopped, and everything queued is done
    commit_group(group);
  }
}

void CommitWriter::commit(const std::vector<WriteJob*>& jobs) {
  const auto started = std::chrono::steady_clock::now();
  auto committed = std::make_unique<CommittedGroup>();
  std::uint64_t applied = 0;
  auto writer = context_.store.begin_write();
  Merger merger(*writer, committed->rows, context_.schema, server_clock_,
                context_.clock->now_millis(), context_.options, context_.refusals);
  for (WriteJob* job : jobs) {
    JobOutcome outcome = merger.apply(*job);
    if (job->out || job->done) {
      committed->acks.push_back({job->out, job->done, job->compressed_frames, std::move(outcome)});
    }
    applied += job->changes.size();
  }
  const std::uint64_t from = writer->last_seq() + 1;
  const std::uint64_t seq = merger.finish(from - 1, seller_cursors_);
  writer->set_last_seq(seq);
  const auto durable_from = std::chrono::steady_clock::now();
  writer->commit();
  writer.reset();
  const auto durable = std::chrono::steady_clock::now();
  record_commit(jobs.size(), applied, durable - started, durable - durable_from);
  SyncCounters& counters = context_.counters;
  counters.last_seq = seq;
  counters.changes_applied += applied;
  counters.conflicts += merger.conflicts_recorded();
  ++counters.commits;
  // Here, on the writer, and not later: a pull after this commit must not be served a
  // cached page it made stale.
  if (context_.page_cache) context_.page_cache->committed(seq, merger.moved_from());
  committed->from = from;
  committed->to = seq;
  committed->saved = merger.saved();
  committed->evictions = merger.evictions();
  committed->losers = merger.losers();
  // Stored: the token may queue more, even before the ack reaches its device.
  for (WriteJob* job : jobs)
    context_.admission.done_queued(job->token_id, std::exchange(job->admitted, 0));
  committed->sellers_since =
      seller_cursors_.since(from, seq, committed->saved, committed->evictions);
  publisher_.publish(std::move(committed));
}

void CommitWriter::record_commit(std::size_t jobs, std::uint64_t changes,
                                 std::chrono::steady_clock::duration took,
                                 std::chrono::steady_clock::duration fsync) {
  using Seconds = std::chrono::duration<double>;
  SyncCounters& counters = context_.counters;
  counters.commit_seconds.observe(Seconds(took).count());
  counters.fsync_seconds.observe(Seconds(fsync).count());
  counters.commit_changes.observe(static_cast<double>(changes));
  if (took < context_.options.slow_commit) return;
  ++counters.slow_commits;
  if (context_.options.log) {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    context_.options.log->warn("slow_commit",
                               {{"ms", duration_cast<milliseconds>(took).count()},
                                {"fsync_ms", duration_cast<milliseconds>(fsync).count()},
                                {"jobs", jobs},
                                {"changes", changes},
                                {"limit_ms", context_.options.slow_commit.count()}});
  }
}

void CommitWriter::not_stored(WriteJob& job, ErrorCode code, std::string why) {
  if (job.done) {
    JobOutcome outcome;
    outcome.error = ProtocolError{code, std::move(why), false};
    job.done(std::move(outcome));
    return;
  }
  if (!job.out) return;  // bookkeeping: recorded with the replica's next job
  job.out->send(
      make_frame(Message(ProtocolError{code, std::move(why), false}), /*compress=*/false));
}

void CommitWriter::commit_group(std::vector<WriteJob>& group) {
  context_.counters.writer_busy_since_ms = context_.clock->now_millis();
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
        not_stored(*job, e.code(),
                   std::string("push not stored, send it again later: ") + e.what());
      }
    }
  } catch (const std::exception& e) {
    for (WriteJob* job : all)
      not_stored(*job, ErrorCode::internal, std::string("push not stored: ") + e.what());
  }
  for (WriteJob* job : all) context_.admission.done_queued(job->token_id, job->admitted);
  context_.counters.writer_busy_since_ms = 0;
}

}  // namespace libreta::server
