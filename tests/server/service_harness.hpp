// A harness for the sync service without sockets: a connection fed frames directly,
// answering through an in-memory transport whose posted work runs on the test's thread,
// like a strand; a service on a real SQLite store in a temporary directory.
#pragma once

#include <catch2/catch.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/sync_service.hpp"
#include "libreta/server/tokens.hpp"
#include "support/temp_dir.hpp"

namespace libreta::server::testing {

using namespace std::chrono_literals;

inline constexpr std::uint64_t kNow = 1'700'000'000'000;

// Frames sent to one client, and the work posted to its executor.
class MemoryOutbound final : public Outbound {
 public:
  void send(SharedFrame frame) override {
    std::lock_guard lock(mutex_);
    frames_.push_back(*frame);
    changed_.notify_all();
  }
  void send_and_close(SharedFrame frame) override {
    std::lock_guard lock(mutex_);
    frames_.push_back(*frame);
    closed_ = true;
    changed_.notify_all();
  }
  void post(std::function<void()> task) override {
    std::lock_guard lock(mutex_);
    if (closed_for_work_) return;  // like a transport: work for a closed connection is dropped
    tasks_.push_back(std::move(task));
    changed_.notify_all();
  }
  // The next frame, running posted work meanwhile; fails the test after the deadline.
  Message next(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    for (;;) {
      if (auto message = run_work_and_take_frame(lock)) return std::move(*message);
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && tasks_.empty() &&
          frames_.empty()) {
        FAIL("no frame within the deadline");
      }
    }
  }
  // The next frame if one is there (after running the posted work), without waiting.
  std::optional<Message> poll() {
    std::unique_lock lock(mutex_);
    return run_work_and_take_frame(lock);
  }
  template <class T>
  T next_as() {
    Message message = next();
    INFO("got " << message_type(message));
    REQUIRE(std::holds_alternative<T>(message));
    return std::get<T>(std::move(message));
  }
  bool closed() {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  // Frames received compressed so far.
  int compressed_frames() {
    std::lock_guard lock(mutex_);
    return compressed_frames_;
  }
  bool idle() {
    std::lock_guard lock(mutex_);
    return frames_.empty();
  }
  // Work posted to the client's executor holds its connection, which holds this outbound;
  // a transport drops that work when the connection closes, and so does the test.
  void drop_posted_work() {
    std::deque<std::function<void()>> dropped;
    std::lock_guard lock(mutex_);
    closed_for_work_ = true;
    dropped.swap(tasks_);
  }

 private:
  std::optional<Message> run_work_and_take_frame(std::unique_lock<std::mutex>& lock) {
    while (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
    if (frames_.empty()) return std::nullopt;
    Frame frame = std::move(frames_.front());
    frames_.pop_front();
    std::string text = std::move(frame.bytes);
    if (frame.compressed) {
      ++compressed_frames_;
      auto decompressed = decompress_message(text, 64 << 20);
      REQUIRE(decompressed.ok());
      text = std::move(decompressed).value();
    }
    auto message = decode_message(text);
    REQUIRE(message.ok());
    return std::move(message).value();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Frame> frames_;
  int compressed_frames_ = 0;
  std::deque<std::function<void()>> tasks_;
  bool closed_ = false;
  bool closed_for_work_ = false;
};

struct Client {
  std::shared_ptr<MemoryOutbound> out = std::make_shared<MemoryOutbound>();
  std::shared_ptr<SyncConnection> connection;
  std::string replica;

  Client() = default;
  Client(Client&&) = default;
  Client& operator=(Client&&) = default;
  ~Client() {
    if (connection) connection->on_closed();
    if (out) out->drop_posted_work();
  }

  void send(const Message& message) { connection->on_message(encode_message(message)); }
  // Sends the message as a compressed binary frame (it must be large enough to compress).
  void send_compressed(const Message& message) {
    auto compressed = compress_message(encode_message(message), kDeviceCompressionLevel);
    REQUIRE(compressed);
    connection->on_binary_message(*compressed);
  }
  Welcome hello(const std::string& token, int protocol = kProtocolVersion) {
    send(Hello{protocol, kCustomerBookSchemaVersion, replica, token});
    return out->next_as<Welcome>();
  }
};

class ServiceCase {
 public:
  explicit ServiceCase(const std::function<void(SyncServiceOptions&)>& adjust = {}) {
    options_.clock = std::make_shared<FakeClock>(kNow);
    options_.page_rows = 3;
    if (adjust) adjust(options_);
    start();
  }
  ~ServiceCase() { service_->stop(); }

  // A server restart: the service and the store are closed and opened again on the same
  // file. Clients of the old service must be gone.
  void restart() {
    service_->stop();
    service_.reset();
    store_.reset();
    start();
  }

  std::string token(const std::string& user, Role role = Role::manager) {
    auto made = make_token(user, role, kNow);
    store_->add_token(made.record);
    return made.secret;
  }
  Client connect(const std::string& replica) {
    Client client;
    client.replica = replica;
    client.connection = service_->open_connection(client.out, "test");
    return client;
  }
  Store& store() { return *store_; }
  SyncService& service() { return *service_; }
  std::filesystem::path db_file() const { return dir_.file("server.db"); }

 private:
  void start() {
    store_ = open_sqlite_store(dir_.file("server.db"));
    service_ = SyncService::create(*store_, options_);
  }

  test::TempDir dir_;
  SyncServiceOptions options_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<SyncService> service_;
};

// Pulls from `since` to the end; returns every page's rows and evictions together, and in
// `after` where the scan ended.
inline Rows pull_all(Client& client, std::uint64_t since = 0) {
  Rows all;
  std::uint64_t after = since;
  Rows page;
  do {
    client.send(Pull{since, after});
    page = client.out->next_as<Rows>();
    for (auto& row : page.rows) all.rows.push_back(std::move(row));
    for (auto& ref : page.evicted) all.evicted.push_back(std::move(ref));
    after = page.after;
  } while (page.more);
  all.after = after;
  return all;
}

// A change to a row of any table, as a device pushes it.
inline PushedChange pushed_to(std::uint64_t seq, const std::string& replica,
                              const std::string& table, const std::string& row,
                              const std::string& field, Value value, std::uint64_t millis,
                              Version base = {}) {
  return {seq, Change{table,
                      row,
                      field,
                      {},
                      std::move(value),
                      Version{Hlc::from_parts(millis, 0), replica},
                      std::move(base)}};
}

// A change to a customer.
inline PushedChange pushed(std::uint64_t seq, const std::string& replica, const std::string& row,
                           const std::string& field, Value value, std::uint64_t millis,
                           Version base = {}) {
  return {seq, Change{tables::customers,
                      row,
                      field,
                      {},
                      std::move(value),
                      Version{Hlc::from_parts(millis, 0), replica},
                      std::move(base)}};
}

// The changes a device pushes to create a customer: every field the schema requires of a
// new one (name, kind, status), under one version, numbered after `seq`, which ends at the
// last of them.
inline std::vector<PushedChange> new_customer(std::uint64_t& seq, const std::string& replica,
                                              const std::string& row, const std::string& name,
                                              std::uint64_t millis) {
  std::vector<PushedChange> changes;
  changes.push_back(pushed(++seq, replica, row, "name", Value(name), millis));
  changes.push_back(pushed(++seq, replica, row, "kind", Value("company"), millis));
  changes.push_back(pushed(++seq, replica, row, "status", Value("active"), millis));
  return changes;
}

// The changes a device pushes to create a contact of `customer` (customer_id and name, the
// fields it requires), numbered after `seq` as new_customer's.
inline std::vector<PushedChange> new_contact(std::uint64_t& seq, const std::string& replica,
                                             const std::string& row, const std::string& customer,
                                             const std::string& name, std::uint64_t millis) {
  std::vector<PushedChange> changes;
  changes.push_back(
      pushed_to(++seq, replica, tables::contacts, row, "customer_id", Value(customer), millis));
  changes.push_back(pushed_to(++seq, replica, tables::contacts, row, "name", Value(name), millis));
  return changes;
}

// Appends `more` to `push`.
inline void append(Push& push, std::vector<PushedChange> more) {
  for (auto& change : more) push.changes.push_back(std::move(change));
}

}  // namespace libreta::server::testing
