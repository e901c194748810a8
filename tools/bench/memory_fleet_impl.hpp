// Many light devices in one process, each a real WebSocket connection speaking the sync
// protocol (protocol/messages.hpp) with its own replica id and token, on one Asio io_context
// run by a few threads (a strand per device). A device's replica lives in memory: its
// cursor, its outbox (its edits' changes, coalesced as the replica's change log coalesces
// them) and what it has received, nothing more, so that thousands fit in one process.
//
// Each device runs its own small copy of the client side of the protocol (memory_device.cpp),
// kept behind the Fleet interface so that client-core's protocol over an in-memory replica
// can take its place without touching a scenario.
//
// An edit's version is "(clock, replica id)": the replica id names the device and the
// clock's milliseconds, counted from the fleet's epoch, number the device's edits. Frames
// are decoded once per distinct text (the fan-out sends one commit's bytes to every device).
// Threads: as Fleet; make_live_edit() from any thread while running. Private to
// tools/bench: the scenarios make one with make_memory_fleet().
#pragma once

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "fleet.hpp"

namespace libreta::bench {

class MemoryFleet final : public Fleet {
 public:
  MemoryFleet(FleetOptions options, std::vector<FleetDevice> devices);
  ~MemoryFleet() override;  // stop()

  void make_live_edit(std::size_t d, std::shared_ptr<const PlannedEdit> edit) override;
  std::vector<float> latencies(std::size_t d) const override;

  std::size_t size() const override;
  std::vector<std::string> make_offline_edits(std::size_t d, const PlannedEdits& edits) override;
  void start() override;
  void stop() override;
  FleetCounters counters() const override;
  DeviceReport report(std::size_t d) const override;
  void print_missing(std::FILE* out) const override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// An edit of device `device`, the `index`-th it made.
struct EditRef {
  std::uint32_t device = 0;
  std::uint32_t index = 0;
  friend auto operator<=>(const EditRef&, const EditRef&) = default;
};

// What a frame from the server says, as far as a light device cares.
struct Digest {
  enum class Kind { welcome, ack, rows, error, other };
  Kind kind = Kind::other;
  std::string type;  // message type
  // rows
  std::uint64_t since = 0, after = 0;
  bool more = false, live = false;
  std::uint64_t rows = 0;
  std::uint64_t id_xor = 0;
  std::vector<EditRef> edits;  // distinct edits of the fleet's devices in the rows
  std::uint64_t unknown_versions = 0;
  // ack
  std::uint64_t upto = 0;
  std::string refused;  // the first refusal, if any
  // welcome
  std::uint64_t acked = 0;
  int protocol = 1;
  // error (a decoding failure included)
  std::string error;
};

class Device;

struct MemoryFleet::Impl {
  FleetOptions options;
  std::uint64_t epoch_ms = 0;  // clock of the fleet's edit versions
  std::size_t edit_capacity = 0;

  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::vector<std::shared_ptr<Device>> devices;
  bool started = false, stopped = false;

  // Connecting at most max_connecting at once: the next device to start, and how many are
  // between TCP connect and welcome.
  std::mutex connect_mutex;
  std::size_t next_to_connect = 0;
  std::size_t connecting = 0;

  // Frames decoded once: (size, hash) -> digest, oldest dropped first. Two different frames
  // of the same size and 64-bit hash would share a digest; at a few thousand frames the
  // chance is about 1e-12.
  std::mutex digest_mutex;
  std::unordered_map<std::uint64_t, std::shared_ptr<const Digest>> digests;
  std::deque<std::uint64_t> digest_order;

  FleetRecord& record;  // the fleet's
  std::atomic<std::size_t> welcomed{0}, caught_up{0}, outboxes_empty{0}, closed{0};
  std::atomic<std::uint64_t> edits_made{0}, edits_noop{0}, edits_coalesced{0}, changes_acked{0};
  std::atomic<std::uint64_t> edits_tracked{0}, receipts{0}, echoes{0}, rows{0};  // as counted
  std::atomic<std::uint64_t> bytes_in{0}, unknown_versions{0};

  explicit Impl(FleetRecord& fleet_record) : record(fleet_record) {}

  std::shared_ptr<const Digest> digest_of(std::string_view frame, bool compressed);
  Digest decode(std::string_view frame, bool compressed) const;
  // The fleet's edit a version names, if any.
  std::optional<EditRef> edit_of(const Version& version) const;
  void connect_more();
  void finished_connecting();
};

// memory_device.cpp: makes device `d`, and the calls the fleet makes on one.
std::shared_ptr<Device> make_device(MemoryFleet::Impl& fleet, std::size_t d, FleetDevice spec);
bool edit_offline(Device& device, const PlannedEdit& edit);
void edit_live(Device& device, std::shared_ptr<const PlannedEdit> edit);
void connect(Device& device);
void close(Device& device);
std::uint32_t edits_made_by(const Device& device);
DeviceReport report_of(const Device& device);
std::vector<float> latencies_of(const Device& device);
void print_missing_of(const Device& device, std::FILE* out);

}  // namespace libreta::bench
