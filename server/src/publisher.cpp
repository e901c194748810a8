#include "publisher.hpp"

#include <exception>
#include <utility>

#include "live_update.hpp"
#include "session_registry.hpp"

namespace libreta::server {

Publisher::Publisher(SessionRegistry& sessions) : sessions_(sessions), thread_([this] { run(); }) {}

Publisher::~Publisher() {
  finish();
}

void Publisher::publish(std::unique_ptr<CommittedGroup> group) {
  std::unique_lock lock(mutex_);
  // A bound on the commits waiting, each holding its rows: past it the writer waits.
  changed_.wait(lock, [&] { return queue_.size() < kMaxCommitsToPublish; });
  queue_.push_back(std::move(group));
  changed_.notify_all();
}

void Publisher::finish() {
  {
    std::lock_guard lock(mutex_);
    finishing_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Publisher::run() {
  for (;;) {
    std::unique_ptr<CommittedGroup> group;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return finishing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // the writer has stopped and everything is sent
      group = std::move(queue_.front());
      queue_.pop_front();
      changed_.notify_all();
    }
    // Failures here (out of memory, say) cannot undo the commit, which is durable.
    send_acks(*group);
    try {
      if (group->to >= group->from || !group->losers.empty()) {
        sessions_.fan_out(live_update(group->from, group->to, group->saved, group->evictions,
                                      group->sellers_since, std::move(group->losers)));
      }
    } catch (const std::exception&) {
      // A connection that missed this update finds a gap at the next one and reads what it
      // missed from the store.
    }
    // The group's rows are freed here too, off the writer.
  }
}

void Publisher::send_acks(CommittedGroup& group) {
  for (auto& pending : group.acks) {
    if (pending.done) {
      try {
        pending.done(std::move(pending.outcome));
      } catch (const std::exception&) {
        // The write is durable; the office or API caller that waited learns nothing more.
      }
      continue;
    }
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
}

}  // namespace libreta::server
