#include <algorithm>
#include <functional>

#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/messages.hpp"
#include "memory_fleet_impl.hpp"

namespace libreta::bench {

namespace {

// Distinct frames remembered: enough for every page of a 100,000-customer bootstrap and a
// few seconds of live updates.
constexpr std::size_t kDigestCapacity = 4096;
// The replica ids of the fleet's devices: the prefix and five digits.
constexpr const char* kReplicaPrefix = "dev-";

}  // namespace

// ---- Frames ----------------------------------------------------------------------------------

Digest MemoryFleet::Impl::decode(std::string_view frame, bool compressed) const {
  Digest d;
  std::string text;
  if (compressed) {
    auto decompressed = decompress_message(frame, 64u << 20);
    if (!decompressed) {
      d.kind = Digest::Kind::error;
      d.error =
          std::string("cannot decompress a frame from the server: ") + decompressed.error().what();
      return d;
    }
    text = std::move(decompressed).value();
    frame = text;
  }
  auto decoded = decode_message(frame);
  if (!decoded) {
    d.kind = Digest::Kind::error;
    d.error = std::string("cannot decode a frame from the server: ") + decoded.error().what();

    return d;
  }
  const Message& message = decoded.value();
  d.type = std::string(message_type(message));
  if (const auto* welcome = std::get_if<Welcome>(&message)) {
    d.kind = Digest::Kind::welcome;
    d.acked = welcome->acked;
    d.protocol = welcome->protocol;
  } else if (const auto* ack = std::get_if<Ack>(&message)) {
    d.kind = Digest::Kind::ack;
    d.upto = ack->upto;
    if (!ack->refused.empty()) {
      const RefusedChange& r = ack->refused.front();
      d.refused = r.table + "/" + r.row + "/" + r.field + ": " + r.message;
    }
  } else if (const auto* page = std::get_if<Rows>(&message)) {
    d.kind = Digest::Kind::rows;
    d.since = page->since;
    d.after = page->after;
    d.more = page->more;
    d.live = page->live;
    d.rows = page->rows.size();
    for (const RowState& row : page->rows) {
      d.id_xor ^= Fleet::row_id_hash(row.id);
      const Version* previous = nullptr;
      for (const auto& [key, version] : row.versions.entries()) {
        if (previous && *previous == version) continue;  // one edit's tags share a version
        previous = &version;
        if (version.replica == workload::kServerReplicaId) continue;
        if (auto ref = edit_of(version)) {
          d.edits.push_back(*ref);
        } else {
          ++d.unknown_versions;
        }
      }
    }
    std::sort(d.edits.begin(), d.edits.end());
    d.edits.erase(std::unique(d.edits.begin(), d.edits.end()), d.edits.end());
  } else if (const auto* error = std::get_if<ProtocolError>(&message)) {
    d.kind = Digest::Kind::error;
    d.error = "server error " + std::string(error_code_name(error->code)) + ": " + error->message;
  }
  return d;
}

std::shared_ptr<const Digest> MemoryFleet::Impl::digest_of(std::string_view frame,
                                                           bool compressed) {
  const std::uint64_t key = std::hash<std::string_view>{}(frame) ^
                            (std::uint64_t{frame.size()} * 0x9e3779b97f4a7c15ULL) ^
                            std::uint64_t{compressed};
  {
    std::lock_guard lock(digest_mutex);
    if (auto it = digests.find(key); it != digests.end()) return it->second;
  }
  // Decoded outside the lock: two devices may decode the same frame at once, harmlessly.
  auto digest = std::make_shared<const Digest>(decode(frame, compressed));
  // Digests that name edits depend on which edits were made when decoded; an edit is always
  // made before any frame can carry it, so a digest never goes stale.
  std::lock_guard lock(digest_mutex);
  if (digests.emplace(key, digest).second) {
    digest_order.push_back(key);
    if (digest_order.size() > kDigestCapacity) {
      digests.erase(digest_order.front());
      digest_order.pop_front();
    }
  }
  return digest;
}

std::optional<EditRef> MemoryFleet::Impl::edit_of(const Version& version) const {
  const std::string& replica = version.replica;
  const std::size_t prefix = std::char_traits<char>::length(kReplicaPrefix);
  if (replica.compare(0, prefix, kReplicaPrefix) != 0) return std::nullopt;
  std::size_t device = 0;
  for (std::size_t i = prefix; i < replica.size(); ++i) {
    if (replica[i] < '0' || replica[i] > '9') return std::nullopt;
    device = device * 10 + static_cast<std::size_t>(replica[i] - '0');
  }
  const std::uint64_t millis = version.hlc.millis();
  if (device >= devices.size() || millis < epoch_ms || version.hlc.counter() != 0) {
    return std::nullopt;
  }
  const std::uint64_t index = millis - epoch_ms;
  if (index >= edits_made_by(*devices[device])) return std::nullopt;
  return EditRef{static_cast<std::uint32_t>(device), static_cast<std::uint32_t>(index)};
}

std::string Fleet::replica_id(std::size_t d) {
  char text[32];
  std::snprintf(text, sizeof text, "%s%05zu", kReplicaPrefix, d);
  return text;
}

// ---- MemoryFleet -------------------------------------------------------------------------------

MemoryFleet::MemoryFleet(FleetOptions options, std::vector<FleetDevice> devices)
    : impl_(std::make_unique<Impl>(record_)) {
  impl_->options = std::move(options);
  impl_->epoch_ms = wall_ms();
  impl_->edit_capacity = impl_->options.max_edits_per_device;
  impl_->devices.reserve(devices.size());
  for (std::size_t d = 0; d < devices.size(); ++d) {
    impl_->devices.push_back(make_device(*impl_, d, std::move(devices[d])));
  }
}

MemoryFleet::~MemoryFleet() {
  stop();
}

std::size_t MemoryFleet::size() const {
  return impl_->devices.size();
}

std::uint64_t Fleet::row_id_hash(std::string_view id) {
  return workload::mix64(std::hash<std::string_view>{}(id));
}

std::vector<std::string> MemoryFleet::make_offline_edits(std::size_t d, const PlannedEdits& edits) {
  std::vector<std::string> changed;
  for (const auto& edit : edits) {
    if (edit_offline(*impl_->devices.at(d), *edit)) changed.push_back(edit->edit.customer_id);
  }
  return changed;
}

void MemoryFleet::make_live_edit(std::size_t d, std::shared_ptr<const PlannedEdit> edit) {
  edit_live(*impl_->devices.at(d), std::move(edit));
}

void MemoryFleet::start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->work.emplace(impl_->io.get_executor());
  for (int t = 0; t < std::max(1, impl_->options.threads); ++t) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
  impl_->connect_more();
}

void MemoryFleet::stop() {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  for (auto& device : impl_->devices) close(*device);
  impl_->work.reset();
  // Beast's keep-alive timer of a closed stream stays armed until it fires (half the idle
  // timeout): once every device has closed its socket, nothing else is worth waiting for.
  while (impl_->closed.load(std::memory_order_acquire) < impl_->devices.size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->io.stop();
  for (auto& thread : impl_->threads) thread.join();
}

FleetCounters MemoryFleet::counters() const {
  const Impl& i = *impl_;
  FleetCounters c;
  c.welcomed = i.welcomed.load();
  c.caught_up = i.caught_up.load();
  c.outboxes_empty = i.outboxes_empty.load(std::memory_order_acquire);
  c.failed = record_.failed.load();
  c.edits_made = i.edits_made.load(std::memory_order_acquire);
  c.bytes_in = i.bytes_in.load();
  c.edits =
      i.edits_made.load(std::memory_order_acquire) - i.edits_noop.load() - i.edits_coalesced.load();
  c.tracked = i.edits_tracked.load();
  c.changes_acked = i.changes_acked.load();
  c.receipts = i.receipts.load();
  c.echoes = i.echoes.load();
  c.rows = i.rows.load();
  c.unknown_versions = i.unknown_versions.load();
  return c;
}

DeviceReport MemoryFleet::report(std::size_t d) const {
  return report_of(*impl_->devices.at(d));
}

std::vector<float> MemoryFleet::latencies(std::size_t d) const {
  return latencies_of(*impl_->devices.at(d));
}

void MemoryFleet::print_missing(std::FILE* out) const {
  // Read while the devices run: approximate, for a failure message only.
  for (std::size_t d = 0; d < impl_->devices.size() && d < 10; ++d) {
    print_missing_of(*impl_->devices[d], out);
  }
}

std::unique_ptr<Fleet> make_memory_fleet(FleetOptions options, std::vector<FleetDevice> devices) {
  return std::make_unique<MemoryFleet>(std::move(options), std::move(devices));
}

void Fleet::make_live_edit(std::size_t, std::shared_ptr<const PlannedEdit>) {
  fail("live edits need devices in memory");
}

}  // namespace libreta::bench
