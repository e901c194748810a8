// A fleet of devices connected to one server, whatever keeps their replicas: in memory
// (memory_fleet.cpp: thousands of light devices in one process) or in
// client-core replica files synced by real sync sessions (file_fleet.cpp). The
// scenarios that both can run (the Monday morning, the bootstrap storm) are written once
// against this interface.
//
// An edit is recognized in what a device receives by its version: the edits each device
// pushes are "tracked"; a receipt is a tracked edit of another device arriving, an echo one
// of the device's own coming back in its scope's updates.
//
// Threads: construct, make offline edits, start(), stop() and check_replicas() from one
// thread (the benchmark's); counters(), report() and record() from any thread, while
// running too.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "support.hpp"
#include "workload.hpp"

namespace libreta::bench {

// An edit a device will make, with the value the edited field had in the book before any
// device edited it (the device's replica starts from the server's book).
struct PlannedEdit {
  workload::Edit edit;
  Value original;
};
using PlannedEdits = std::vector<std::shared_ptr<const PlannedEdit>>;

struct FleetCounters {
  std::size_t welcomed = 0;            // devices whose hello the server accepted
  std::size_t caught_up = 0;           // devices caught up now (live updates follow)
  std::size_t outboxes_empty = 0;      // welcomed devices whose outbox is empty now
  std::size_t failed = 0;              // devices that met an error (the run fails)
  std::uint64_t edits_made = 0;        // edits the devices made, no-ops included
  std::uint64_t edits = 0;             // edits that went or go out (not no-ops, not coalesced)
  std::uint64_t tracked = 0;           // of those, recognizable by others (see above)
  std::uint64_t changes_acked = 0;     // change records the server acknowledged
  std::uint64_t receipts = 0;          // (tracked edit, other device) first receipts
  std::uint64_t echoes = 0;            // (tracked edit, its own device) first receipts
  std::uint64_t rows = 0;              // rows received by all devices, pages and live updates
  std::uint64_t unknown_versions = 0;  // versions no device of the fleet made (a bug)
  std::uint64_t bytes_in = 0;          // in memory: message bytes received, after inflate
};

struct DeviceReport {
  std::uint64_t cursor = 0;
  bool caught_up = false;
  std::size_t pending = 0;          // changes in the outbox
  std::uint64_t rows_received = 0;  // rows in pages and live updates
  std::uint64_t row_id_xor = 0;     // xor of row_id_hash() of every row received
  std::uint64_t tracked = 0;        // of its edits, those others can recognize
  std::uint64_t receipts = 0;       // distinct tracked edits of other devices received
  std::uint64_t echoes = 0;         // distinct tracked edits of its own received back
};

struct FleetDevice {
  std::string token;
  std::uint64_t cursor = 0;    // in memory: the sequence it already has (0: fresh)
  std::filesystem::path file;  // in files: its replica, created if missing
};

// The settings every kind of fleet takes.
struct FleetOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool compress = true;  // protocol 2, large messages compressed; false: protocol 1
  std::chrono::milliseconds idle_timeout{30'000};  // as client-core: pings at half
  std::chrono::milliseconds connect_timeout{30'000};
  std::size_t push_batch = 1000;  // changes a push, one push in flight
  // In memory only.
  int threads = 1;                       // threads running the devices
  std::size_t max_connecting = 256;      // handshakes in progress at once
  std::size_t max_edits_per_device = 0;  // capacity of each device's edit log
  bool record_latency = false;           // keep every (edit, receiver) latency
  std::uint64_t seed = workload::kDefaultSeed;
};

// What a fleet records as its devices go: the times of events, and the first error.
// Written by the devices' threads, read by any.
struct FleetRecord {
  // The first push sent (in files: the first session welcomed, which pushes at once); the
  // latest outbox emptied, device caught up, receipt of another's edit, echo of its own.
  AtomicTime first_push, last_ack, last_caught_up, last_receipt, last_echo;
  std::atomic<std::size_t> failed{0};  // devices that met an error

  // Counts a failed device and keeps the first message.
  void record_error(const std::string& what) {
    failed.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mutex);
    if (first_error.empty()) first_error = what;
  }
  std::string error() const {
    std::lock_guard lock(mutex);
    return first_error;
  }

 private:
  mutable std::mutex mutex;
  std::string first_error;
};

class Fleet {
 public:
  virtual ~Fleet() = default;

  // The replica id of device `d`: "dev-NNNNN".
  static std::string replica_id(std::size_t d);
  // A hash of a row id: the expected row_id_xor of a book is the xor of it over its ids.
  static std::uint64_t row_id_hash(std::string_view id);

  virtual std::size_t size() const = 0;
  // Before start(): device `d` makes these edits offline, as the app would (an edit that
  // sets the value the field has changes nothing). Returns the customers of the edits that
  // changed something, in order.
  virtual std::vector<std::string> make_offline_edits(std::size_t d, const PlannedEdits& edits) = 0;
  // Connects every device and runs; stop() closes every connection.
  virtual void start() = 0;
  virtual void stop() = 0;

  virtual FleetCounters counters() const = 0;
  virtual DeviceReport report(std::size_t d) const = 0;
  const FleetRecord& record() const { return record_; }
  // For a failure message: what the first devices lack.
  virtual void print_missing(std::FILE*) const {}
  // After stop(), with the server stopped: each device's replica holds exactly what the
  // server's database holds for its user (scope_of(d): a seller, or "" for a manager).
  // Nothing to check for replicas in memory.
  virtual void check_replicas(const std::filesystem::path& /*server_db*/,
                              const std::function<std::string(std::size_t)>& /*scope_of*/) {}

  // Devices in memory only. While running: device `d` edits now and pushes (at once if no
  // push is in flight).
  virtual void make_live_edit(std::size_t d, std::shared_ptr<const PlannedEdit> edit);
  // With record_latency: every (edit, receiver) latency in ms from the edit to its first
  // receipt at device `d`.
  virtual std::vector<float> latencies(std::size_t /*d*/) const { return {}; }

 protected:
  FleetRecord record_;
};

// A fleet in memory (memory_fleet.cpp) or in files (file_fleet.cpp).
std::unique_ptr<Fleet> make_memory_fleet(FleetOptions options, std::vector<FleetDevice> devices);
std::unique_ptr<Fleet> make_file_fleet(FleetOptions options, std::vector<FleetDevice> devices);
inline std::unique_ptr<Fleet> make_fleet(bool files, FleetOptions options,
                                         std::vector<FleetDevice> devices) {
  return files ? make_file_fleet(std::move(options), std::move(devices))
               : make_memory_fleet(std::move(options), std::move(devices));
}

}  // namespace libreta::bench
