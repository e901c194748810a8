// The real client and the real server in one test process, with no sockets: each device is a
// SQLite Replica in a temporary directory (or a light device's own storage, such as
// support/memory_replica.hpp) running the client's SyncProtocol, and its
// connection to the server's SyncService is a loopback that hands frames both ways. The
// server and every device run on fake clocks.
//
// Threads: the devices' protocols and their server connections run on the test's thread,
// which delivers frames and the connections' posted work (the loopback is their strand). The
// server's writer and publisher threads are real: a test waits for what they post, on a
// condition with a deadline, never by sleeping.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "libreta/client/replica.hpp"
#include "libreta/client/sqlite_sync_replica.hpp"
#include "libreta/client/sync_protocol.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/sync_connection.hpp"
#include "libreta/server/sync_service.hpp"
#include "libreta/server/tokens.hpp"
#include "support/temp_dir.hpp"

namespace libreta::test {

using namespace std::chrono_literals;

// Where every fake clock starts, in Unix epoch milliseconds.
inline constexpr std::uint64_t kLoopbackStart = 1'700'000'000'000;
// Long enough for the server's writer on a loaded machine; a passing test never waits for it.
inline constexpr std::chrono::milliseconds kLoopbackDeadline = 15s;

// One connection between a device's protocol and the server's SyncConnection. What the server
// sends or posts may come from its threads and waits here until the test's thread delivers
// it; what the device sends waits until the connection is fed it, so that neither side is
// entered while it is calling the other.
class Loopback final : public server::Outbound {
 public:
  // ---- server::Outbound: any thread ----
  void send(server::SharedFrame frame) override { queue(Item{std::move(frame)}); }
  void send_and_close(server::SharedFrame frame) override {
    queue(Item{std::move(frame)});
    queue(Item{Closed{}});
  }
  void post(std::function<void()> task) override { queue(Item{std::move(task)}); }

  // ---- The test's thread ----
  void attach(std::shared_ptr<server::SyncConnection> connection) {
    connection_ = std::move(connection);
  }
  // A frame from the device, for the server.
  void send_to_server(std::string bytes, bool compressed) {
    to_server_.push_back(server::Frame{std::move(bytes), compressed});
  }
  // Delivers what waits on either side: the server's frames and posted work to `to_device`
  // (false when the server closed the connection), the device's frames to the server.
  // Returns whether anything was delivered.
  bool deliver(const std::function<void(const server::Frame&)>& to_device,
               const std::function<void()>& closed_by_server) {
    bool delivered = false;
    while (auto item = take()) {
      delivered = true;
      if (auto* task = std::get_if<std::function<void()>>(&*item)) {
        (*task)();
      } else if (auto* frame = std::get_if<server::SharedFrame>(&*item)) {
        to_device(**frame);
      } else {
        closed_by_server();
        return true;
      }
    }
    while (!to_server_.empty() && connection_) {
      delivered = true;
      server::Frame frame = std::move(to_server_.front());
      to_server_.pop_front();
      if (frame.compressed)
        connection_->on_binary_message(frame.bytes);
      else
        connection_->on_message(frame.bytes);
    }
    return delivered;
  }
  // Waits until the server sends or posts something, or the deadline passes.
  void wait(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, deadline, [&] { return !items_.empty(); });
  }
  // Ends the connection on both sides; what the server posts for it afterwards is dropped.
  void close() {
    if (connection_) connection_->on_closed();
    connection_.reset();
    std::deque<Item> dropped;
    std::lock_guard lock(mutex_);
    closed_ = true;
    dropped.swap(items_);
    to_server_.clear();
  }

 private:
  struct Closed {};
  using Item = std::variant<server::SharedFrame, std::function<void()>, Closed>;

  void queue(Item item) {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    items_.push_back(std::move(item));
    changed_.notify_all();
  }
  std::optional<Item> take() {
    std::lock_guard lock(mutex_);
    if (items_.empty()) return std::nullopt;
    Item item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> items_;
  bool closed_ = false;
  std::deque<server::Frame> to_server_;
  std::shared_ptr<server::SyncConnection> connection_;
};

// A seller's device: its storage (a replica file, or any SyncReplica), the protocol that
// syncs it, and what the protocol reported (its status, the conflicts and refusals it was
// told of, its failures).
class LoopbackDevice final : public client::SyncProtocol::Delegate {
 public:
  // A device with a replica file on its own fake clock.
  LoopbackDevice(server::SyncService& service, std::string token, std::shared_ptr<FakeClock> clock)
      : service_(service), clock_(std::move(clock)) {
    client::ReplicaOptions options;
    options.clock = clock_;
    replica_ = client::Replica::open(dir_.file("book.db"), options);
    storage_ = std::make_unique<client::SqliteSyncReplica>(*replica_);
    start_protocol(std::move(token));
  }
  // A device whose storage is `storage` (a light device's), on `clock`.
  LoopbackDevice(server::SyncService& service, std::string token,
                 std::unique_ptr<client::SyncReplica> storage, std::shared_ptr<FakeClock> clock)
      : service_(service), clock_(std::move(clock)), storage_(std::move(storage)) {
    start_protocol(std::move(token));
  }
  ~LoopbackDevice() override { disconnect(); }

  // The replica file (devices made with one).
  client::Replica& replica() {
    REQUIRE(replica_);
    return *replica_;
  }
  client::SyncReplica& storage() { return *storage_; }
  FakeClock& clock() { return *clock_; }
  const client::SyncStatus& status() const { return status_; }
  bool connected() const { return loopback_ != nullptr; }
  // Conflicts and refusals the protocol reported, and the errors that ended a connection.
  const std::vector<ConflictNotice>& conflicts_reported() const { return conflicts_; }
  const std::vector<RefusedChange>& refusals_reported() const { return refusals_; }
  const std::vector<client::SyncError>& failures() const { return failures_; }

  // Opens a connection to the server and says hello.
  void connect() {
    if (loopback_) return;
    loopback_ = std::make_shared<Loopback>();
    loopback_->attach(service_.open_connection(loopback_, "loopback"));
    protocol_->on_open();
  }
  void disconnect() {
    if (!loopback_) return;
    loopback_->close();
    loopback_.reset();
    protocol_->on_closed();
  }

  // Delivers what waits on this device's connection, after telling the protocol of local
  // writes (as the session's outbox check does); returns whether anything was delivered.
  bool step() {
    if (!loopback_) return false;
    protocol_->check_outbox();
    auto link = loopback_;  // a failure may disconnect while the loopback delivers
    return link->deliver(
        [&](const server::Frame& frame) { protocol_->on_frame(frame.bytes, frame.compressed); },
        [&] { disconnect(); });
  }
  // Runs the connection until `done` holds; fails the test at the deadline.
  void run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds timeout = kLoopbackDeadline) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      REQUIRE(connected());
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      if (!step()) loopback_->wait(deadline);
    }
  }
  // Connects if needed and runs until everything is pushed and everything pulled.
  void sync() {
    connect();
    run_until([&] { return client::is_synced(status_) && storage_->pending_count() == 0; });
  }
  // Syncs and reads the server's stream up to its last sequence (a manager's device).
  void catch_up() {
    sync();
    const std::uint64_t last = service_.stats().last_seq;
    run_until([&] { return status_.cursor >= last; });
  }

  // ---- The app's writes and reads, on the replica file ----
  std::string add_customer(const std::string& name, const std::string& owner = {}) {
    Customer customer;
    customer.name = name;
    customer.status = "active";
    customer.city = "Sevilla";
    customer.owner = owner;
    return replica().create(customer);
  }
  void set(const std::string& id, const std::string& field, Value value) {
    replica().update(tables::customers, id, Record{{field, std::move(value)}});
  }
  std::optional<Value> field(const std::string& id, const std::string& name) {
    auto row = replica().get(tables::customers, id);
    if (!row) return std::nullopt;
    auto it = row->find(name);
    return it == row->end() ? Value() : it->second;
  }

 private:
  void start_protocol(std::string token) {
    client::SyncProtocol::Options options;
    options.token = std::move(token);
    options.clock = clock_;
    protocol_ = std::make_unique<client::SyncProtocol>(*storage_, std::move(options), *this);
    protocol_->load_status();
  }

  // ---- client::SyncProtocol::Delegate ----
  void send(std::string bytes, bool compressed) override {
    if (loopback_) loopback_->send_to_server(std::move(bytes), compressed);
  }
  void fail(const client::SyncError& error) override {
    failures_.push_back(error);
    disconnect();
  }
  void retry_later(const client::SyncError& error) override {
    failures_.push_back(error);
    disconnect();
  }
  void made_progress() override {}
  void welcomed() override {}
  void update_status(const std::function<void(client::SyncStatus&)>& change) override {
    change(status_);
  }
  void emit(client::SyncEvent event) override {
    if (auto* conflicts = std::get_if<client::ConflictsReported>(&event)) {
      conflicts_.insert(conflicts_.end(), conflicts->conflicts.begin(), conflicts->conflicts.end());
    } else if (auto* refused = std::get_if<client::ChangesRefused>(&event)) {
      refusals_.insert(refusals_.end(), refused->refused.begin(), refused->refused.end());
    }
  }

  server::SyncService& service_;
  TempDir dir_;
  std::shared_ptr<FakeClock> clock_;
  std::unique_ptr<client::Replica> replica_;  // null for a device with storage of its own
  std::unique_ptr<client::SyncReplica> storage_;
  std::unique_ptr<client::SyncProtocol> protocol_;
  std::shared_ptr<Loopback> loopback_;
  client::SyncStatus status_;
  std::vector<ConflictNotice> conflicts_;
  std::vector<RefusedChange> refusals_;
  std::vector<client::SyncError> failures_;
};

// The server (its SyncService on a SQLite store in a temporary directory, on a fake clock)
// and the devices connected to it by loopbacks.
class LoopbackFixture {
 public:
  explicit LoopbackFixture(const std::function<void(server::SyncServiceOptions&)>& adjust = {}) {
    server::SyncServiceOptions options;
    options.clock = server_clock_;
    options.page_rows = 3;  // so that a pull takes several pages
    if (adjust) adjust(options);
    store_ = server::open_sqlite_store(dir_.file("server.db"));
    service_ = server::SyncService::create(*store_, options);
  }
  ~LoopbackFixture() {
    devices_.clear();  // their connections close before the service stops
    service_->stop();
  }
  LoopbackFixture(const LoopbackFixture&) = delete;
  LoopbackFixture& operator=(const LoopbackFixture&) = delete;

  std::string token(const std::string& user, server::Role role) {
    auto made = server::make_token(user, role, kLoopbackStart);
    store_->add_token(made.record);
    return made.secret;
  }
  // A new device holding `token`, its clock `clock_ahead` ahead of the server's.
  LoopbackDevice& device(const std::string& token,
                         std::chrono::milliseconds clock_ahead = std::chrono::milliseconds(0)) {
    auto clock = std::make_shared<FakeClock>(kLoopbackStart +
                                             static_cast<std::uint64_t>(clock_ahead.count()));
    devices_.push_back(std::make_unique<LoopbackDevice>(*service_, token, std::move(clock)));
    return *devices_.back();
  }
  // A new device holding `token` whose storage is `storage`, on `clock`.
  LoopbackDevice& device(const std::string& token, std::unique_ptr<client::SyncReplica> storage,
                         std::shared_ptr<FakeClock> clock) {
    devices_.push_back(
        std::make_unique<LoopbackDevice>(*service_, token, std::move(storage), std::move(clock)));
    return *devices_.back();
  }

  server::Store& store() { return *store_; }
  server::SyncService& service() { return *service_; }
  FakeClock& server_clock() { return *server_clock_; }

 private:
  TempDir dir_;
  std::shared_ptr<FakeClock> server_clock_ = std::make_shared<FakeClock>(kLoopbackStart);
  std::unique_ptr<server::Store> store_;
  std::shared_ptr<server::SyncService> service_;
  std::vector<std::unique_ptr<LoopbackDevice>> devices_;
};

}  // namespace libreta::test
