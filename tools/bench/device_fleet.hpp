// Many simulated devices in one process, each a real WebSocket connection speaking the real
// sync protocol (protocol/messages.hpp) with its own replica id and token, on one Asio
// io_context run by a few threads (a strand per device). A device's replica lives in memory:
// its cursor, its outbox (the changes its edits made, coalesced as the replica's change log
// coalesces them) and what it has received, nothing more, so that thousands fit in one
// process.
//
// What the load generator measures through it: when every edit was made, acknowledged and
// received by every other device. An edit is recognized in what a device receives by its
// version, "(clock, replica id)": the replica id names the device and the clock's
// milliseconds, counted from the fleet's epoch, number the device's edits.
//
// Threads: construct, make offline edits, start() and stop() from one thread (the
// benchmark's); make_live_edit() and the counters may be used from any thread while running.
// Frames are decoded once per distinct text (the fan-out sends one commit's bytes to every
// device): see FrameDigests in the .cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "report.hpp"
#include "workload.hpp"

namespace libreta::bench {

struct FleetOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string target = "/sync";
  // Speak protocol 2 as client-core does: large messages compressed both ways. false: protocol
  // 1, every frame text.
  bool compress = true;
  int threads = 1;  // threads running the devices' io_context
  // As client-core's SyncOptions: a connection silent this long is dead; pings at half.
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds connect_timeout{30'000};
  std::size_t push_batch = 1000;         // changes per push, one push in flight
  std::size_t max_connecting = 256;      // handshakes in progress at once
  std::size_t max_edits_per_device = 0;  // capacity of each device's edit log
  bool record_latency = false;           // keep every (edit, receiver) latency
  std::uint64_t seed = workload::kDefaultSeed;
};

// An edit a device will make, with the value the edited field had in the book before any
// device edited it (the device's replica starts from the server's book).
struct PlannedEdit {
  workload::Edit edit;
  Value original;
};

struct DeviceSpec {
  std::string token;
  std::uint64_t cursor = 0;  // the server sequence the device already has (0: fresh)
};

// Counters of the whole fleet, readable at any time.
struct FleetCounters {
  std::size_t welcomed = 0;           // devices whose hello was accepted
  std::size_t caught_up = 0;          // devices live at the end of a pull
  std::size_t failed = 0;             // devices that met an error (the run fails)
  std::uint64_t edits_made = 0;       // edits the devices made
  std::uint64_t edits_noop = 0;       // of those, setting the value the field had
  std::uint64_t edits_coalesced = 0;  // replaced in the outbox by a later edit before a push
  std::uint64_t changes_pushed = 0;   // change records sent in pushes
  std::uint64_t edits_sent = 0;       // edits that went out in a push (not coalesced away)
  // Of those, edits recognizable by their version in what others receive: all but those
  // that only remove tags (a removal carries the version of the add it removes).
  std::uint64_t edits_tracked = 0;
  std::uint64_t edits_acked = 0;       // of the sent edits, acknowledged
  std::uint64_t receipts = 0;          // (tracked edit, other device) first receipts
  std::uint64_t echoes = 0;            // (tracked edit, its own device) first receipts
  std::uint64_t frames = 0;            // frames read by all devices
  std::uint64_t frames_decoded = 0;    // of those, decoded (the rest from the digest cache)
  std::uint64_t bytes_in = 0;          // message payload, after inflate
  std::uint64_t unknown_versions = 0;  // versions of a device that it never made (a bug)
};

class DeviceFleet {
 public:
  DeviceFleet(FleetOptions options, std::vector<DeviceSpec> devices);
  ~DeviceFleet();  // stop()
  DeviceFleet(const DeviceFleet&) = delete;
  DeviceFleet& operator=(const DeviceFleet&) = delete;

  std::size_t size() const;
  // The replica id of device `d` ("dev-NNNNN").
  static std::string replica_id(std::size_t d);

  // Before start(): device `d` edits while offline. Returns false for a no-op (the value
  // it already has). The edit's time is now.
  bool make_offline_edit(std::size_t d, const PlannedEdit& edit);
  // While running: device `d` edits now and pushes (at once if no push is in flight).
  void make_live_edit(std::size_t d, std::shared_ptr<const PlannedEdit> edit);

  // Connects every device (at most max_connecting handshakes at once) and runs.
  void start();
  // Closes every connection and joins the threads.
  void stop();

  FleetCounters counters() const;
  // The first error a device met, for the failure message.
  std::string first_error() const;
  // The latest time an edit was acknowledged / a device received an edit of another / a
  // device caught up / a device received one of its own edits back.
  Clock::time_point last_ack() const;
  Clock::time_point last_receipt() const;
  Clock::time_point last_caught_up() const;
  Clock::time_point last_echo() const;
  Clock::time_point first_push() const;

  // Per device, once stopped (or between events, approximately).
  struct DeviceReport {
    std::uint64_t cursor = 0;
    bool caught_up = false;
    std::uint64_t rows_received = 0;  // rows in pages and live updates
    std::uint64_t row_id_xor = 0;     // xor of a hash of every row id received in pages
    std::uint64_t edits_made = 0, edits_sent = 0, edits_acked = 0;
    std::uint64_t edits_tracked = 0;  // of the sent edits, those others can recognize
    std::uint64_t receipts = 0;       // distinct edits of other devices received
    std::uint64_t echoes = 0;         // distinct tracked edits of its own received back
    std::size_t pending = 0;          // changes in the outbox
  };
  DeviceReport report(std::size_t d) const;
  // Every (edit, receiver) latency in ms from the edit to its first receipt, per receiver.
  std::vector<float> latencies(std::size_t d) const;
  // Edits made by a device that went out (were not coalesced or no-ops); only after stop().
  std::uint64_t edits_sent_by(std::size_t d) const;
  // For a failure message: the first edits of others each of the first devices lacks.
  void print_missing(std::FILE* out) const;

  // A hash of a row id, as row_id_xor sums them: the expected xor of a book is the xor of
  // row_id_hash(id) over its ids.
  static std::uint64_t row_id_hash(std::string_view id);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace libreta::bench
