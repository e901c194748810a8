// Storage faults: the server's database reaches its size limit, a device's disk fills up.
// Either way the error is said plainly, nothing is acknowledged or lost that was not stored,
// and syncing resumes by itself once there is space again. Real SQLite files, a real
// server on an ephemeral port, real sync sessions.
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "fault/fault_check.hpp"
#include "fault/full_disk.hpp"
#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/server/server.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/sync_service.hpp"
#include "libreta/server/tokens.hpp"
#include "libreta/sqlite/sqlite.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace libreta;
using namespace libreta::client;
using libreta::test::ServerFixture;
using libreta::test::TempDir;

namespace {

constexpr auto kDeadline = std::chrono::milliseconds(60s);

// A server whose database may be given a size limit, restarted on the same port and file.
class LimitedServer {
 public:
  explicit LimitedServer(std::filesystem::path db) : db_(std::move(db)) {}
  ~LimitedServer() { stop(); }

  void start(std::uint64_t max_bytes) {
    server::SqliteStoreOptions store_options;
    store_options.max_bytes = max_bytes;
    store_ = server::open_sqlite_store(db_, store_options);
    service_ = server::SyncService::create(*store_);
    auto options = ServerFixture::quiet_options();
    options.port = port_;
    server_ = std::make_unique<server::Server>(options, service_);
    server_->start();
    port_ = server_->port();
  }

  void stop() {
    if (server_) server_->stop();
    if (service_) service_->stop();
    server_.reset();
    service_.reset();
    store_.reset();
  }

  server::Store& store() { return *store_; }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/sync"; }

 private:
  std::filesystem::path db_;
  std::uint16_t port_ = 0;
  std::unique_ptr<server::Store> store_;
  std::shared_ptr<server::SyncService> service_;
  std::unique_ptr<server::Server> server_;
};

SyncOptions quick_options(std::string url, std::string token) {
  SyncOptions options;
  options.server_url = std::move(url);
  options.token = std::move(token);
  options.initial_backoff = 20ms;
  options.max_backoff = 300ms;
  options.outbox_check = 50ms;
  return options;
}

Customer customer_with_notes(int n, std::size_t note_bytes) {
  Customer c;
  c.name = "Cliente " + std::to_string(n);
  c.city = "Rosario";
  c.notes = std::string(note_bytes, static_cast<char>('a' + n % 26));
  return c;
}

bool has_error(const SyncStatus& s, ErrorCode code) {
  return s.last_error && s.last_error->code == code;
}

}  // namespace

TEST_CASE(
    "storage: a full server database refuses pushes as storage_full, acknowledges only "
    "what it stored, and syncing resumes when there is space",
    "[fault][storage]") {
  TempDir dir;
  LimitedServer server(dir.file("server.db"));
  std::string token;
  {
    auto store = server::open_sqlite_store(dir.file("server.db"));
    auto made = server::make_token("office", server::Role::manager, 1'700'000'000'000);
    store->add_token(made.record);
    token = made.secret;
  }
  server.start(256 * 1024);

  auto replica = Replica::open(dir.file("device.db"));
  std::vector<std::string> ids;
  for (int n = 0; n < 300; ++n) ids.push_back(replica->create(customer_with_notes(n, 2000)));
  const std::string replica_id = replica->replica_id();

  SyncOptions options = quick_options(server.url(), token);
  options.push_batch = 20;  // several batches fit before the limit, later ones do not
  auto session = std::make_unique<SyncSession>(dir.file("device.db"), options);
  session->start();
  REQUIRE(session->wait_until(
      [](const SyncStatus& s) { return has_error(s, ErrorCode::storage_full); }, kDeadline));
  const SyncStatus full = session->status();
  INFO(full.last_error->message);
  CHECK(full.last_error->message.find("full") != std::string::npos);
  CHECK(full.pending_changes > 0);
  session->stop();
  server.stop();

  // Nothing acknowledged that is not stored: every customer whose changes left the device's
  // change log is on the server, whole.
  {
    auto store = server::open_sqlite_store(dir.file("server.db"));
    const std::uint64_t acked = store->acked(replica_id);
    CHECK(acked > 0);  // some batches fitted
    std::set<std::string> pending_rows;
    for (const auto& entry : replica->pending_changes()) {
      CHECK(entry.seq > acked);
      pending_rows.insert(entry.change.row);
    }
    std::set<std::string> stored;
    sqlite::Database db(dir.file("server.db").string(), false);
    auto rows = db.prepare("SELECT id FROM rows WHERE tbl = 'customers'");
    while (rows.step()) stored.insert(rows.text(0));
    for (const auto& id : ids) {
      if (!pending_rows.count(id)) CHECK(stored.count(id) == 1);
    }
    CHECK(stored.size() < ids.size());
  }
  CHECK(fault::integrity_of(dir.file("server.db")) == "ok");

  // Space is back: the same device, the same file, a server without a limit.
  server.start(0);
  session = std::make_unique<SyncSession>(dir.file("device.db"), options);
  session->start();
  REQUIRE(session->wait_until_synced(kDeadline));
  session->stop();
  CHECK(replica->pending_count() == 0);
  CHECK(server.store().acked(replica_id) > 0);
  CHECK(server.store().canonical_dump() == replica->canonical_dump());
}

TEST_CASE(
    "storage: a full device disk refuses local writes as storage_full, keeps the replica "
    "intact, and syncing resumes when there is space",
    "[fault][storage]") {
  fault::FullDisk::install();
  ServerFixture server;
  const std::string token = server.create_token("seller", server::Role::manager);
  TempDir device_dir;
  TempDir office_dir;
  fault::FullDisk::set_directory(device_dir.path());
  const auto file = device_dir.file("device.db");

  auto replica = Replica::open(file);
  std::vector<std::string> written;
  for (int n = 0; n < 20; ++n) written.push_back(replica->create(customer_with_notes(n, 100)));
  SyncSession session(file, quick_options(server.url(), token));
  session.start();
  REQUIRE(session.wait_until_synced(kDeadline));

  // The disk fills up: a local write fails as storage_full and changes nothing.
  fault::FullDisk::set_full(true);
  std::optional<Error> refusal;
  for (int n = 20; n < 5000 && !refusal; ++n) {
    try {
      written.push_back(replica->create(customer_with_notes(n, 4000)));
    } catch (const Error& e) {
      refusal = e;
    }
  }
  REQUIRE(refusal);
  INFO(refusal->what());
  CHECK(refusal->code() == ErrorCode::storage_full);
  CHECK(std::string(refusal->what()).find("full") != std::string::npos);
  CHECK(fault::FullDisk::refused_writes() > 0);
  for (const auto& id : written) CHECK(replica->customer(id).has_value());

  // Changes from elsewhere arrive while it is full: the session says so and goes on trying.
  {
    auto office = Replica::open(office_dir.file("office.db"));
    for (int n = 0; n < 200; ++n) office->create(customer_with_notes(1000 + n, 4000));
    const auto status =
        sync_once(office_dir.file("office.db"),
                  quick_options(server.url(), server.create_token("office", server::Role::manager)),
                  kDeadline);
    REQUIRE(is_synced(status));
  }
  REQUIRE(session.wait_until(
      [](const SyncStatus& s) { return has_error(s, ErrorCode::storage_full); }, kDeadline));
  CHECK(fault::integrity_of(file) == "ok");

  // Space is back: the download resumes, the writes made before the disk filled are pushed.
  fault::FullDisk::set_full(false);
  REQUIRE(session.wait_until(
      [&](const SyncStatus& s) { return is_synced(s) && s.cursor >= server.store().last_seq(); },
      kDeadline));
  session.stop();
  CHECK(replica->pending_count() == 0);
  for (const auto& id : written) CHECK(replica->customer(id).has_value());
  CHECK(server.store().canonical_dump() == replica->canonical_dump());
  CHECK(fault::integrity_of(file) == "ok");
}
