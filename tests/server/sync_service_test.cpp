// The sync service without sockets: a connection fed frames directly, answering through an
// in-memory transport whose posted work runs on the test's thread, like a strand.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/sync_service.hpp"
#include "libreta/server/tokens.hpp"
#include "support/temp_dir.hpp"

using namespace libreta;
using namespace libreta::server;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kNow = 1'700'000'000'000;

// Frames sent to one client, and the work posted to its executor.
class MemoryOutbound final : public Outbound {
 public:
  void send(std::shared_ptr<const std::string> frame) override {
    std::lock_guard lock(mutex_);
    frames_.push_back(*frame);
    changed_.notify_all();
  }
  void send_and_close(std::shared_ptr<const std::string> frame) override {
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
      while (!tasks_.empty()) {
        auto task = std::move(tasks_.front());
        tasks_.pop_front();
        lock.unlock();
        task();
        lock.lock();
      }
      if (!frames_.empty()) {
        std::string frame = std::move(frames_.front());
        frames_.pop_front();
        auto message = decode_message(frame);
        REQUIRE(message.ok());
        return std::move(message).value();
      }
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && tasks_.empty() &&
          frames_.empty()) {
        FAIL("no frame within the deadline");
      }
    }
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
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> frames_;
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
  Welcome hello(const std::string& token) {
    send(Hello{kProtocolVersion, kCustomerBookSchemaVersion, replica, token});
    return out->next_as<Welcome>();
  }
};

class ServiceCase {
 public:
  ServiceCase() {
    store_ = open_sqlite_store(dir_.file("server.db"));
    SyncServiceOptions options;
    options.clock = std::make_shared<FakeClock>(kNow);
    options.page_rows = 3;
    service_ = SyncService::create(*store_, options);
  }
  ~ServiceCase() { service_->stop(); }

  std::string token(const std::string& user, Role role = Role::seller) {
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

 private:
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<SyncService> service_;
};

PushedChange pushed(std::uint64_t seq, const std::string& replica, const std::string& row,
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

}  // namespace

TEST_CASE("service: a bad token gets a clear error and the connection is closed",
          "[service][auth]") {
  ServiceCase t;
  Client client = t.connect("dev1");
  client.send(Hello{kProtocolVersion, kCustomerBookSchemaVersion, "dev1", "lbt_not-a-token"});
  auto error = client.out->next_as<ProtocolError>();
  CHECK(error.code == ErrorCode::bad_token);
  CHECK(error.fatal);
  CHECK(client.out->closed());
}

TEST_CASE("service: messages before hello, and a newer schema, are refused", "[service][auth]") {
  ServiceCase t;
  Client early = t.connect("dev1");
  early.send(Pull{0, 0});
  CHECK(early.out->next_as<ProtocolError>().code == ErrorCode::out_of_order);
  CHECK(early.out->closed());

  Client newer = t.connect("dev2");
  newer.send(Hello{kProtocolVersion, kCustomerBookSchemaVersion + 1, "dev2", t.token("ana")});
  CHECK(newer.out->next_as<ProtocolError>().code == ErrorCode::unsupported_schema);
}

TEST_CASE("service: a push is stored, acknowledged, and sending it again changes nothing",
          "[service][push]") {
  ServiceCase t;
  Client client = t.connect("dev1");
  CHECK(client.hello(t.token("ana")).acked == 0);
  Push push{{pushed(1, "dev1", "c1", "name", Value("Bar Pepe"), kNow - 10),
             pushed(2, "dev1", "c1", "kind", Value("company"), kNow - 10)}};
  client.send(push);
  CHECK(client.out->next_as<Ack>().upto == 2);
  const std::string dump = t.store().canonical_dump();
  CHECK(dump.find("Bar Pepe") != std::string::npos);
  const auto seq = t.store().last_seq();

  client.send(push);
  CHECK(client.out->next_as<Ack>().upto == 2);
  CHECK(t.store().canonical_dump() == dump);
  CHECK(t.store().last_seq() == seq);

  // A reconnecting device learns what the server already holds.
  Client again = t.connect("dev1");
  CHECK(again.hello(t.token("ana")).acked == 2);
}

TEST_CASE("service: invalid changes are refused one by one, with reasons, and the rest stored",
          "[service][push][validation]") {
  ServiceCase t;
  Client client = t.connect("dev1");
  client.hello(t.token("ana"));
  client.send(Push{{pushed(1, "dev1", "c1", "name", Value("Bar Pepe"), kNow - 10),
                    pushed(2, "dev1", "c1", "status", Value("dormido"), kNow - 10),
                    pushed(3, "dev2", "c1", "city", Value("Vigo"), kNow - 10),
                    pushed(4, "dev1", "c1", "city", Value("Lugo"), kNow + 3'600'000)}});
  auto ack = client.out->next_as<Ack>();
  CHECK(ack.upto == 4);
  REQUIRE(ack.refused.size() == 3);
  CHECK(ack.refused[0].seq == 2);
  CHECK(ack.refused[0].code == ErrorCode::invalid_value);
  CHECK(ack.refused[1].code == ErrorCode::forbidden);
  CHECK(ack.refused[2].code == ErrorCode::clock_skew);
  const std::string dump = t.store().canonical_dump();
  CHECK(dump.find("Bar Pepe") != std::string::npos);
  CHECK(dump.find("dormido") == std::string::npos);
  CHECK(dump.find("Vigo") == std::string::npos);
}

TEST_CASE("service: malformed and unknown messages get a clear error and change nothing",
          "[service][validation]") {
  ServiceCase t;
  Client client = t.connect("dev1");
  client.hello(t.token("ana"));
  client.connection->on_message("{\"type\":\"push\",\"changes\":[{\"s\":1,");
  CHECK(client.out->next_as<ProtocolError>().code == ErrorCode::malformed);
  client.connection->on_message("{\"type\":\"teleport\"}");
  CHECK(client.out->next_as<ProtocolError>().code == ErrorCode::unknown_message);
  client.connection->on_message("{\"type\":\"pull\",\"since\":\"0\",\"after\":0}");
  CHECK(client.out->next_as<ProtocolError>().code == ErrorCode::wrong_type);
  client.connection->on_binary_message();
  CHECK(client.out->next_as<ProtocolError>().code == ErrorCode::malformed);
  CHECK_FALSE(client.out->closed());  // an authenticated client may recover
  CHECK(t.store().last_seq() == 0);
  // And it still works.
  client.send(Push{{pushed(1, "dev1", "c1", "name", Value("Bar Pepe"), kNow - 10)}});
  CHECK(client.out->next_as<Ack>().upto == 1);
}

TEST_CASE("service: concurrent edits of one field converge on the later one and fill the inbox",
          "[service][conflicts]") {
  ServiceCase t;
  Client ana = t.connect("dev-ana");
  Client luis = t.connect("dev-luis");
  ana.hello(t.token("ana"));
  luis.hello(t.token("luis"));
  ana.send(Push{{pushed(1, "dev-ana", "c1", "name", Value("Bar Pepe"), kNow - 100),
                 pushed(2, "dev-ana", "c1", "city", Value("Sevilla"), kNow - 100)}});
  CHECK(ana.out->next_as<Ack>().upto == 2);
  const Version base{Hlc::from_parts(kNow - 100, 0), "dev-ana"};
  // Both saw "Sevilla" and changed it; Luis's edit is later.
  ana.send(Push{{pushed(3, "dev-ana", "c1", "city", Value("Cádiz"), kNow - 50, base)}});
  CHECK(ana.out->next_as<Ack>().conflicts.empty());
  luis.send(Push{{pushed(1, "dev-luis", "c1", "city", Value("Huelva"), kNow - 40, base)}});
  auto ack = luis.out->next_as<Ack>();
  REQUIRE(ack.conflicts.size() == 1);
  CHECK(ack.conflicts[0].kept == Value("Huelva"));
  CHECK(ack.conflicts[0].lost == Value("Cádiz"));

  auto inbox = t.store().conflicts();
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0].field == "city");
  CHECK(inbox[0].kept_user == "luis");
  CHECK(inbox[0].lost_user == "ana");
  CHECK(inbox[0].lost_value == Value("Cádiz"));
  CHECK(inbox[0].lost_version.replica == "dev-ana");
  CHECK(inbox[0].detected_ms == kNow);

  // An older concurrent edit loses, and is recorded too.
  luis.send(Push{{pushed(2, "dev-luis", "c1", "name", Value("Bar Pepa"), kNow - 200,
                         Version{Hlc::from_parts(kNow - 300, 0), "dev-luis"})}});
  CHECK(luis.out->next_as<Ack>().conflicts.size() == 1);
  CHECK(t.store().conflicts().size() == 2);
  CHECK(t.store().canonical_dump().find("Bar Pepe") != std::string::npos);
}

TEST_CASE("service: a pull pages through everything, resumes mid-way, and then goes live",
          "[service][pull]") {
  ServiceCase t;  // three rows per page
  Client writer = t.connect("dev1");
  writer.hello(t.token("ana"));
  Push push;
  for (int i = 0; i < 8; ++i) {
    push.changes.push_back(pushed(i + 1, "dev1", "c" + std::to_string(i), "name",
                                  Value("Cliente " + std::to_string(i)), kNow - 10));
  }
  writer.send(push);
  writer.out->next_as<Ack>();

  Client reader = t.connect("dev2");
  reader.hello(t.token("luis"));
  reader.send(Pull{0, 0});
  auto first = reader.out->next_as<Rows>();
  CHECK(first.rows.size() == 3);
  CHECK(first.more);
  // The connection drops here; a new one resumes from the saved position.
  Client resumed = t.connect("dev2");
  resumed.hello(t.token("luis"));
  std::size_t total = first.rows.size();
  Rows page;
  std::uint64_t after = first.after;
  do {
    resumed.send(Pull{0, after});
    page = resumed.out->next_as<Rows>();
    total += page.rows.size();
    after = page.after;
  } while (page.more);
  CHECK(total == 8);
  CHECK(page.after == t.store().last_seq());

  // Live: a new commit reaches the caught-up connection without asking.
  writer.send(Push{{pushed(9, "dev1", "c2", "city", Value("Vigo"), kNow - 5)}});
  writer.out->next_as<Ack>();
  auto live = resumed.out->next_as<Rows>();
  CHECK(live.live);
  CHECK(live.since == page.after);
  REQUIRE(live.rows.size() == 1);
  CHECK(live.rows[0].fields.at("city") == Value("Vigo"));
  CHECK(live.rows[0].fields.count("name") == 0);  // only what changed travels
  CHECK(t.service().stats().live_connections >= 1);
  CHECK(writer.out->idle());  // the writer never pulled, so it is not live

  // An incremental pull from an older cursor sends only the changed field.
  Client late = t.connect("dev3");
  late.hello(t.token("eva"));
  const std::uint64_t before_city = t.store().last_seq() - 1;
  late.send(Pull{before_city, before_city});
  auto incremental = late.out->next_as<Rows>();
  REQUIRE(incremental.rows.size() == 1);
  CHECK(incremental.rows[0].fields.size() == 1);
}
