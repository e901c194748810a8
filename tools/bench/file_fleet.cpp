// Devices with their replicas in files: each a real client-core replica (a SQLite file)
// kept in sync by a real SyncSession (its own thread and connection), as on a seller's
// laptop. Heavier than MemoryFleet's devices (a thread, a database and its writes each), so
// for fleets of hundreds; what it adds is the devices' own cost: applying pages and live
// updates to SQLite, the change log, acknowledging.
//
// The tracked edits are the versions of the changes in each device's outbox when the fleet
// starts (scalar fields, and tags added; a tag removal carries the version of the add it
// removes). Threads: as Fleet.
#include "fleet.hpp"

#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/server/sqlite_store.hpp"

namespace libreta::bench {

class FileFleet final : public Fleet {
 public:
  // Each device's file gets the replica id replica_id(d) if it is new.
  FileFleet(FleetOptions options, std::vector<FleetDevice> devices);
  ~FileFleet() override;  // stop()

  std::size_t size() const override;
  std::vector<std::string> make_offline_edits(std::size_t d, const PlannedEdits& edits) override;
  // Starts every device's session at once: each connects, pushes its outbox and pulls.
  void start() override;
  void stop() override;
  FleetCounters counters() const override;
  DeviceReport report(std::size_t d) const override;
  void check_replicas(const std::filesystem::path& server_db,
                      const std::function<std::string(std::size_t)>& scope_of) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

namespace {

// Whether a change carries its edit's own version (see above: a tag removal does not).
bool visible(const Change& change) {
  return change.element.empty() || change.value == Value(true);
}

}  // namespace

// One device: its file and session, and what its session reported. Everything but the
// atomics is used by the session's thread only while running (on_event), and by the
// benchmark's thread before start() and after stop().
struct ReplicaDevice {
  std::size_t index = 0;
  FleetDevice spec;
  std::unique_ptr<client::SyncSession> session;
  std::uint64_t changes = 0;  // in the outbox at start
  std::uint64_t tracked = 0;
  // What its StatusChanged events said: caught_up as of the last one; connected (ever
  // welcomed), acked (its outbox emptied once connected) and failed, once set, stay.
  bool connected = false, caught_up = false, acked = false, failed = false;
  std::vector<bool> seen;  // by global edit index: received already
  std::atomic<std::uint64_t> cursor{0}, pending{0}, rows{0}, row_id_xor{0}, receipts{0}, echoes{0};
  std::atomic<bool> caught_up_now{false};
};

struct FileFleet::Impl {
  FleetOptions options;
  std::vector<std::unique_ptr<ReplicaDevice>> devices;
  bool started = false;

  // Every tracked edit: its version -> a global index, and the device that made it.
  // Written before start(), read-only while running.
  std::map<Version, std::uint32_t> edit_index;
  std::vector<std::uint32_t> edit_device;
  std::uint64_t edits_made = 0;  // offline edits, no-ops included

  FleetRecord& record;  // the fleet's
  std::atomic<std::size_t> connected{0}, caught_up{0}, acked{0};
  std::atomic<std::uint64_t> receipts{0}, echoes{0}, rows{0};

  explicit Impl(FleetRecord& fleet_record) : record(fleet_record) {}

  void on_event(ReplicaDevice& device, const client::SyncEvent& event);
  void on_status(ReplicaDevice& device, const client::SyncStatus& status);
  void on_rows(ReplicaDevice& device, const client::ChangesArrived& arrived);
  void record_error(ReplicaDevice& device, const std::string& what);
};

void FileFleet::Impl::on_event(ReplicaDevice& device, const client::SyncEvent& event) {
  if (const auto* status = std::get_if<client::StatusChanged>(&event)) {
    on_status(device, status->status);
  } else if (const auto* arrived = std::get_if<client::ChangesArrived>(&event)) {
    on_rows(device, *arrived);
  } else if (const auto* refused = std::get_if<client::ChangesRefused>(&event);
             refused && !device.failed) {
    const RefusedChange& r = refused->refused.front();
    record_error(device, "the server refused a change: " + r.table + "/" + r.row + "/" + r.field +
                             ": " + r.message);
  }
}

void FileFleet::Impl::on_status(ReplicaDevice& device, const client::SyncStatus& status) {
  const auto now = Clock::now();
  // The fleet's counters below are updated with release, read with acquire: a thread that
  // sees a device counted as caught up or acked also sees what the device stored first.
  device.cursor.store(status.cursor, std::memory_order_relaxed);
  device.pending.store(status.pending_changes, std::memory_order_relaxed);
  device.caught_up_now.store(status.caught_up, std::memory_order_relaxed);
  if (status.last_error && !device.failed) {
    // On loopback against a healthy server nothing goes wrong: any error fails the run.
    record_error(device, std::string(error_code_name(status.last_error->code)) + ": " +
                             status.last_error->message);
  }
  if (status.connected && !device.connected) {
    device.connected = true;
    connected.fetch_add(1, std::memory_order_release);
    record.first_push.lower_to(now);
  }
  if (status.caught_up != device.caught_up) {
    device.caught_up = status.caught_up;
    if (status.caught_up) {
      caught_up.fetch_add(1, std::memory_order_release);
      record.last_caught_up.raise_to(now);
    } else {
      caught_up.fetch_sub(1, std::memory_order_release);
    }
  }
  // The status a session publishes as it starts comes before it has opened its file and
  // counted its outbox: only a connected session's empty outbox is one the server
  // acknowledged.
  if (status.connected && status.pending_changes == 0 && !device.acked) {
    device.acked = true;
    acked.fetch_add(1, std::memory_order_release);
    if (device.changes > 0) record.last_ack.raise_to(now);
  }
}

void FileFleet::Impl::on_rows(ReplicaDevice& device, const client::ChangesArrived& arrived) {
  const auto now = Clock::now();
  device.rows.fetch_add(arrived.rows, std::memory_order_relaxed);
  rows.fetch_add(arrived.rows, std::memory_order_relaxed);
  std::uint64_t id_xor = 0;
  for (const RowState& row : arrived.received) id_xor ^= Fleet::row_id_hash(row.id);
  device.row_id_xor.fetch_xor(id_xor, std::memory_order_relaxed);
  if (edit_index.empty()) return;
  std::uint64_t fresh = 0, own = 0;
  for (const RowState& row : arrived.received) {
    const Version* previous = nullptr;
    for (const auto& [key, version] : row.versions.entries()) {
      if (previous && *previous == version) continue;  // one edit's tags share a version
      previous = &version;
      const auto found = edit_index.find(version);
      if (found == edit_index.end() || device.seen[found->second]) continue;
      device.seen[found->second] = true;
      ++(edit_device[found->second] == device.index ? own : fresh);
    }
  }
  if (fresh > 0) {
    device.receipts.fetch_add(fresh, std::memory_order_relaxed);
    receipts.fetch_add(fresh, std::memory_order_release);
    record.last_receipt.raise_to(now);
  }
  if (own > 0) {
    device.echoes.fetch_add(own, std::memory_order_relaxed);
    echoes.fetch_add(own, std::memory_order_release);
    record.last_echo.raise_to(now);
  }
}

void FileFleet::Impl::record_error(ReplicaDevice& device, const std::string& what) {
  device.failed = true;
  record.record_error("device " + std::to_string(device.index) + " (" +
                      Fleet::replica_id(device.index) + "): " + what);
}

FileFleet::FileFleet(FleetOptions options, std::vector<FleetDevice> devices)
    : impl_(std::make_unique<Impl>(record_)) {
  impl_->options = std::move(options);
  for (std::size_t d = 0; d < devices.size(); ++d) {
    auto device = std::make_unique<ReplicaDevice>();
    device->index = d;
    device->spec = std::move(devices[d]);
    // Gives a new file its replica id (an existing one keeps its own).
    client::ReplicaOptions replica_options;
    replica_options.new_replica_id = Fleet::replica_id(d);
    client::Replica::open(device->spec.file, replica_options);
    impl_->devices.push_back(std::move(device));
  }
}

FileFleet::~FileFleet() {
  stop();
}

std::size_t FileFleet::size() const {
  return impl_->devices.size();
}

std::vector<std::string> FileFleet::make_offline_edits(std::size_t d, const PlannedEdits& edits) {
  if (impl_->started) fail("offline edits after the fleet started");
  ReplicaDevice& device = *impl_->devices.at(d);
  auto replica = client::Replica::open(device.spec.file);
  std::vector<std::string> changed;
  impl_->edits_made += edits.size();
  for (const auto& planned : edits) {
    const workload::Edit& e = planned->edit;
    if (replica->update(tables::customers, e.customer_id, Record{{e.field, e.value}}) > 0) {
      changed.push_back(e.customer_id);
    }
  }
  // What will go out, as the change log coalesced it; each distinct visible version is an
  // edit others can recognize.
  device.changes = 0;
  for (const client::OutboxEntry& entry : replica->pending_changes()) {
    ++device.changes;
    if (!visible(entry.change)) continue;
    const auto index = static_cast<std::uint32_t>(impl_->edit_device.size());
    if (impl_->edit_index.emplace(entry.change.version, index).second) {
      impl_->edit_device.push_back(static_cast<std::uint32_t>(d));
      ++device.tracked;
    }
  }
  device.pending = device.changes;
  return changed;
}

void FileFleet::start() {
  if (impl_->started) return;
  impl_->started = true;
  const FleetOptions& o = impl_->options;
  for (auto& owned : impl_->devices) {
    ReplicaDevice& device = *owned;
    device.seen.assign(impl_->edit_device.size(), false);
    client::SyncOptions options;
    options.server_url = "ws://" + o.host + ":" + std::to_string(o.port) + "/sync";
    options.token = device.spec.token;
    options.compress = o.compress;
    options.idle_timeout = o.idle_timeout;
    options.connect_timeout = o.connect_timeout;
    options.push_batch = o.push_batch;
    options.on_event = [impl = impl_.get(), &device](const client::SyncEvent& event) {
      impl->on_event(device, event);
    };
    device.session = std::make_unique<client::SyncSession>(device.spec.file, std::move(options));
  }
  // Sessions built first, started together: each then connects at once, as at 9 a.m.
  for (auto& device : impl_->devices) device->session->start();
}

void FileFleet::stop() {
  for (auto& device : impl_->devices) {
    if (device->session) device->session->stop();
  }
}

FleetCounters FileFleet::counters() const {
  const Impl& i = *impl_;
  FleetCounters c;
  c.welcomed = i.connected.load(std::memory_order_acquire);
  c.caught_up = i.caught_up.load(std::memory_order_acquire);
  c.outboxes_empty = i.acked.load(std::memory_order_acquire);
  c.failed = record_.failed.load();
  c.edits_made = i.edits_made;
  c.edits = c.tracked = i.edit_device.size();
  for (const auto& device : i.devices) c.changes_acked += device->changes - device->pending.load();
  c.receipts = i.receipts.load(std::memory_order_acquire);
  c.echoes = i.echoes.load(std::memory_order_acquire);
  c.rows = i.rows.load();
  return c;
}

DeviceReport FileFleet::report(std::size_t d) const {
  const ReplicaDevice& device = *impl_->devices.at(d);
  DeviceReport r;
  r.cursor = device.cursor.load();
  r.caught_up = device.caught_up_now.load();
  r.pending = device.pending.load();
  r.rows_received = device.rows.load();
  r.row_id_xor = device.row_id_xor.load();
  r.tracked = device.tracked;
  r.receipts = device.receipts.load();
  r.echoes = device.echoes.load();
  return r;
}

void FileFleet::check_replicas(const std::filesystem::path& server_db,
                               const std::function<std::string(std::size_t)>& scope_of) {
  auto store = server::open_sqlite_store(server_db);
  const std::string whole = store->canonical_dump();
  // On every core: each check reads a file and the server's rows of a scope.
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::exception_ptr failure;
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < std::max(1u, std::thread::hardware_concurrency()); ++t) {
    threads.emplace_back([&] {
      for (std::size_t d; (d = next.fetch_add(1)) < impl_->devices.size();) {
        try {
          const std::string scope = scope_of(d);
          const auto& file = impl_->devices[d]->spec.file;
          const std::string dump = client::Replica::open(file)->canonical_dump();
          if (dump != (scope.empty() ? whole : store->canonical_dump_of_scope(scope))) {
            fail("replica " + file.filename().string() + " does not hold what the server holds " +
                 "for " + (scope.empty() ? std::string("a manager") : scope));
          }
        } catch (...) {
          std::lock_guard lock(mutex);
          if (!failure) failure = std::current_exception();
          next = impl_->devices.size();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);
}

std::unique_ptr<Fleet> make_file_fleet(FleetOptions options, std::vector<FleetDevice> devices) {
  return std::make_unique<FileFleet>(std::move(options), std::move(devices));
}

}  // namespace libreta::bench
