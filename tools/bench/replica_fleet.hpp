// Devices with their replicas in files: each a real client-core replica (a SQLite file) kept
// in sync by a real SyncSession (its own thread and connection), as on a seller's laptop.
// Heavier than DeviceFleet's in-memory replicas (a thread, a database and its writes per
// device), so for fleets of hundreds; what it adds is the devices' own cost: applying pages
// and live updates to SQLite, the change log, acknowledging.
//
// An edit is recognized in what a device receives by its version: the versions of the
// changes in each device's outbox when the fleet starts (scalar fields, and tags added; a
// tag removal carries the version of the add it removes) are the edits others must receive.
//
// Threads: construct, make offline edits, start() and stop() from one thread (the
// benchmark's); the counters may be read from any thread while running.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "device_fleet.hpp"
#include "report.hpp"

namespace libreta::bench {

struct ReplicaFleetOptions {
  std::string server_url;  // ws://127.0.0.1:PORT/sync
  bool compress = true;    // protocol 2, as client-core by default
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds connect_timeout{30'000};
  std::size_t push_batch = 1000;
};

struct ReplicaDeviceSpec {
  std::filesystem::path file;  // created if missing, with the replica id DeviceFleet::replica_id(d)
  std::string token;
};

struct ReplicaFleetCounters {
  std::size_t connected = 0;   // devices whose session the server welcomed
  std::size_t caught_up = 0;   // devices caught up (live updates follow)
  std::size_t acked = 0;       // devices whose outbox is empty
  std::size_t failed = 0;      // devices whose session met an error (the run fails)
  std::uint64_t tracked = 0;   // edits in the outboxes at start, recognizable by their version
  std::uint64_t receipts = 0;  // (tracked edit, other device) first receipts
  std::uint64_t echoes = 0;    // (tracked edit, its own device) first receipts
  std::uint64_t rows = 0;      // rows received by all devices, in pages and live updates
};

class ReplicaFleet {
 public:
  ReplicaFleet(ReplicaFleetOptions options, std::vector<ReplicaDeviceSpec> devices);
  ~ReplicaFleet();  // stop()
  ReplicaFleet(const ReplicaFleet&) = delete;
  ReplicaFleet& operator=(const ReplicaFleet&) = delete;

  // Before start(): device `d` makes these edits in its replica file, as the app would,
  // offline (an edit that sets the value the field has changes nothing).
  void make_offline_edits(std::size_t d,
                          const std::vector<std::shared_ptr<const PlannedEdit>>& edits);

  // Starts every device's session at once (each connects, pushes its outbox, pulls).
  void start();
  // Stops every session (closing its connection and replica).
  void stop();

  ReplicaFleetCounters counters() const;
  // The first error a device met, for the failure message.
  std::string first_error() const;
  // The latest time a device's outbox emptied / a device caught up / a device received an
  // edit of another / a device received one of its own edits back; the first welcome.
  Clock::time_point last_acked() const;
  Clock::time_point last_caught_up() const;
  Clock::time_point last_receipt() const;
  Clock::time_point last_echo() const;
  Clock::time_point first_connected() const;

  struct DeviceReport {
    std::uint64_t cursor = 0;
    bool caught_up = false;
    std::size_t pending = 0;          // changes in the outbox
    std::uint64_t rows_received = 0;  // rows in pages and live updates
    std::uint64_t changes = 0;        // changes in the outbox at start
    std::uint64_t tracked = 0;        // of its edits, those others can recognize
    std::uint64_t receipts = 0;       // distinct tracked edits of other devices received
    std::uint64_t echoes = 0;         // distinct tracked edits of its own received back
  };
  DeviceReport report(std::size_t d) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace libreta::bench
