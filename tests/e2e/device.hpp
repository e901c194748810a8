// A seller's device for end-to-end tests: a real replica file written by the app, and a
// sync session keeping it in sync with a real server; with a log of the session's events to
// wait on. Every wait is on a condition with a deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"

namespace libreta::test {

using namespace std::chrono_literals;
using namespace libreta::client;

// Long enough for a loaded 2-core CI machine or a sanitizer build; a passing test never
// waits for them.
inline constexpr auto kDeadline = std::chrono::milliseconds(15s);
inline constexpr auto kBootstrapDeadline = std::chrono::milliseconds(180s);

inline std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// What a session reported through on_event, for a test to count and wait on.
class EventLog {
 public:
  std::function<void(const SyncEvent&)> callback() {
    return [this](const SyncEvent& event) { record(event); };
  }

  // Waits until `condition` holds (called under the log's lock) or the timeout passes.
  bool wait_for(const std::function<bool(const EventLog&)>& condition,
                std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return condition(*this); });
  }

  // Rows received in pages of pulls, and in live updates (read under wait_for or after).
  std::uint64_t pulled_rows() const { return pulled_rows_; }
  std::uint64_t live_applied() const { return live_applied_; }
  std::size_t conflicts_reported() const { return conflicts_; }
  const std::vector<RefusedChange>& refused() const { return refused_; }

  std::uint64_t pulled_rows_now() {
    std::lock_guard lock(mutex_);
    return pulled_rows_;
  }
  std::uint64_t live_applied_now() {
    std::lock_guard lock(mutex_);
    return live_applied_;
  }
  // The "table/id" of every row a live update brought, in arrival order.
  std::vector<std::string> live_rows_now() {
    std::lock_guard lock(mutex_);
    return live_rows_;
  }

 private:
  void record(const SyncEvent& event) {
    {
      std::lock_guard lock(mutex_);
      if (auto* arrived = std::get_if<ChangesArrived>(&event)) {
        if (arrived->live) {
          live_applied_ += arrived->applied;
          for (const RowState& row : arrived->received)
            live_rows_.push_back(row.table + "/" + row.id);
        } else {
          pulled_rows_ += arrived->rows;
        }
      } else if (auto* conflicts = std::get_if<ConflictsReported>(&event)) {
        conflicts_ += conflicts->conflicts.size();
      } else if (auto* refused = std::get_if<ChangesRefused>(&event)) {
        refused_.insert(refused_.end(), refused->refused.begin(), refused->refused.end());
      }
    }
    changed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t pulled_rows_ = 0;
  std::uint64_t live_applied_ = 0;
  std::vector<std::string> live_rows_;
  std::size_t conflicts_ = 0;
  std::vector<RefusedChange> refused_;
};

// A seller's device: a replica file the app writes through its own connection, and a sync
// session (not started) keeping that file in sync with the server.
class Device {
 public:
  Device(ServerFixture& server, const std::string& token,
         std::shared_ptr<ClockSource> clock = nullptr,
         const std::function<void(SyncOptions&)>& adjust = {}) {
    ReplicaOptions replica_options;
    replica_options.clock = std::move(clock);
    app_ = Replica::open(dir_.file("book.db"), replica_options);
    SyncOptions options;
    options.server_url = server.url();
    options.token = token;
    options.initial_backoff = 50ms;
    options.max_backoff = 500ms;
    options.connect_timeout = 5s;
    options.on_event = events_.callback();
    if (adjust) adjust(options);
    sync_ = std::make_unique<SyncSession>(app_->path(), std::move(options));
  }

  Replica& app() { return *app_; }
  SyncSession& sync() { return *sync_; }
  EventLog& events() { return events_; }
  SyncStatus status() const { return sync_->status(); }

  // Creates a customer through the app's connection and tells the session.
  std::string add_customer(const std::string& name, const std::string& city = "Sevilla") {
    Customer c;
    c.name = name;
    c.status = "active";
    c.city = city;
    const std::string id = app_->create(c);
    sync_->nudge();
    return id;
  }
  // Waits until the server acknowledged every local change, as the replica file says (the
  // session's status may not have seen the latest write yet); false at the deadline.
  bool wait_pushed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (app_->pending_count() > 0) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a file
    }
    return sync_->wait_until_synced(timeout);
  }
  void set(const std::string& id, const std::string& field, Value value) {
    app_->update(tables::customers, id, Record{{field, std::move(value)}});
    sync_->nudge();
  }
  std::optional<Value> field(const std::string& id, const std::string& name) {
    auto row = app_->get(tables::customers, id);
    if (!row) return std::nullopt;
    auto it = row->find(name);
    if (it == row->end()) return Value();
    return it->second;
  }

 private:
  TempDir dir_;
  EventLog events_;
  std::unique_ptr<Replica> app_;
  std::unique_ptr<SyncSession> sync_;
};

}  // namespace libreta::test
