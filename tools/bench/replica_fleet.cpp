#include "replica_fleet.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <utility>

#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/protocol/customer_book.hpp"

namespace libreta::bench {

namespace {

// Whether a change carries its edit's own version (see the header: a tag removal does not).
bool visible(const Change& change) {
  return change.element.empty() || change.value == Value(true);
}

}  // namespace

// One device: its file and session, and what its session reported. Everything but the
// atomics is used by the session's thread only while running (on_event), and by the
// benchmark's thread before start() and after stop().
struct ReplicaDevice {
  std::size_t index = 0;
  ReplicaDeviceSpec spec;
  std::unique_ptr<client::SyncSession> session;
  std::uint64_t changes = 0;  // in the outbox at start
  std::uint64_t tracked = 0;
  // What its StatusChanged events said: caught_up as of the last one; connected (ever
  // welcomed), acked (its outbox emptied once connected) and failed, once set, stay.
  bool connected = false, caught_up = false, acked = false, failed = false;
  std::vector<bool> seen;  // by global edit index: received already
  std::atomic<std::uint64_t> cursor{0}, pending{0}, rows{0}, receipts{0}, echoes{0};
  std::atomic<bool> caught_up_now{false};
};

struct ReplicaFleet::Impl {
  ReplicaFleetOptions options;
  std::vector<std::unique_ptr<ReplicaDevice>> devices;
  bool started = false;

  // Every tracked edit: its version -> a global index, and the device that made it.
  // Written before start(), read-only while running.
  std::map<Version, std::uint32_t> edit_index;
  std::vector<std::uint32_t> edit_device;

  std::atomic<std::size_t> connected{0}, caught_up{0}, acked{0}, failed{0};
  std::atomic<std::uint64_t> receipts{0}, echoes{0}, rows{0};
  AtomicTime last_acked, last_caught_up, last_receipt, last_echo, first_connected;
  mutable std::mutex error_mutex;
  std::string first_error;

  void on_event(ReplicaDevice& device, const client::SyncEvent& event);
  void on_status(ReplicaDevice& device, const client::SyncStatus& status);
  void on_rows(ReplicaDevice& device, const client::ChangesArrived& arrived);
  void record_error(ReplicaDevice& device, const std::string& what);
};

void ReplicaFleet::Impl::on_event(ReplicaDevice& device, const client::SyncEvent& event) {
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

void ReplicaFleet::Impl::on_status(ReplicaDevice& device, const client::SyncStatus& status) {
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
    first_connected.lower_to(now);
  }
  if (status.caught_up != device.caught_up) {
    device.caught_up = status.caught_up;
    if (status.caught_up) {
      caught_up.fetch_add(1, std::memory_order_release);
      last_caught_up.raise_to(now);
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
    if (device.changes > 0) last_acked.raise_to(now);
  }
}

void ReplicaFleet::Impl::on_rows(ReplicaDevice& device, const client::ChangesArrived& arrived) {
  const auto now = Clock::now();
  device.rows.fetch_add(arrived.rows, std::memory_order_relaxed);
  rows.fetch_add(arrived.rows, std::memory_order_relaxed);
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
    last_receipt.raise_to(now);
  }
  if (own > 0) {
    device.echoes.fetch_add(own, std::memory_order_relaxed);
    echoes.fetch_add(own, std::memory_order_release);
    last_echo.raise_to(now);
  }
}

void ReplicaFleet::Impl::record_error(ReplicaDevice& device, const std::string& what) {
  device.failed = true;
  failed.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(error_mutex);
  if (first_error.empty()) {
    first_error = "device " + std::to_string(device.index) + " (" +
                  DeviceFleet::replica_id(device.index) + "): " + what;
  }
}

ReplicaFleet::ReplicaFleet(ReplicaFleetOptions options, std::vector<ReplicaDeviceSpec> devices)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  for (std::size_t d = 0; d < devices.size(); ++d) {
    auto device = std::make_unique<ReplicaDevice>();
    device->index = d;
    device->spec = std::move(devices[d]);
    // Gives a new file its replica id (an existing one keeps its own).
    client::ReplicaOptions replica_options;
    replica_options.new_replica_id = DeviceFleet::replica_id(d);
    client::Replica::open(device->spec.file, replica_options);
    impl_->devices.push_back(std::move(device));
  }
}

ReplicaFleet::~ReplicaFleet() {
  stop();
}

void ReplicaFleet::make_offline_edits(
    std::size_t d, const std::vector<std::shared_ptr<const PlannedEdit>>& edits) {
  if (impl_->started) fail("offline edits after the fleet started");
  ReplicaDevice& device = *impl_->devices.at(d);
  auto replica = client::Replica::open(device.spec.file);
  for (const auto& planned : edits) {
    const workload::Edit& e = planned->edit;
    replica->update(tables::customers, e.customer_id, Record{{e.field, e.value}});
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
}

void ReplicaFleet::start() {
  if (impl_->started) return;
  impl_->started = true;
  for (auto& owned : impl_->devices) {
    ReplicaDevice& device = *owned;
    device.seen.assign(impl_->edit_device.size(), false);
    client::SyncOptions options;
    options.server_url = impl_->options.server_url;
    options.token = device.spec.token;
    options.compress = impl_->options.compress;
    options.idle_timeout = impl_->options.idle_timeout;
    options.connect_timeout = impl_->options.connect_timeout;
    options.push_batch = impl_->options.push_batch;
    options.on_event = [impl = impl_.get(), &device](const client::SyncEvent& event) {
      impl->on_event(device, event);
    };
    device.session = std::make_unique<client::SyncSession>(device.spec.file, std::move(options));
  }
  // Sessions built first, started together: each then connects at once, as at 9 a.m.
  for (auto& device : impl_->devices) device->session->start();
}

void ReplicaFleet::stop() {
  for (auto& device : impl_->devices) {
    if (device->session) device->session->stop();
  }
}

ReplicaFleetCounters ReplicaFleet::counters() const {
  const Impl& i = *impl_;
  ReplicaFleetCounters c;
  c.connected = i.connected.load();
  c.caught_up = i.caught_up.load();
  c.acked = i.acked.load();
  c.failed = i.failed.load();
  c.tracked = i.edit_device.size();
  c.receipts = i.receipts.load();
  c.echoes = i.echoes.load();
  c.rows = i.rows.load();
  return c;
}

std::string ReplicaFleet::first_error() const {
  std::lock_guard lock(impl_->error_mutex);
  return impl_->first_error;
}

Clock::time_point ReplicaFleet::last_acked() const {
  return impl_->last_acked.get();
}
Clock::time_point ReplicaFleet::last_caught_up() const {
  return impl_->last_caught_up.get();
}
Clock::time_point ReplicaFleet::last_receipt() const {
  return impl_->last_receipt.get();
}
Clock::time_point ReplicaFleet::last_echo() const {
  return impl_->last_echo.get();
}
Clock::time_point ReplicaFleet::first_connected() const {
  return impl_->first_connected.get();
}

ReplicaFleet::DeviceReport ReplicaFleet::report(std::size_t d) const {
  const ReplicaDevice& device = *impl_->devices.at(d);
  DeviceReport r;
  r.cursor = device.cursor.load();
  r.caught_up = device.caught_up_now.load();
  r.pending = device.pending.load();
  r.rows_received = device.rows.load();
  r.changes = device.changes;
  r.tracked = device.tracked;
  r.receipts = device.receipts.load();
  r.echoes = device.echoes.load();
  return r;
}

}  // namespace libreta::bench
