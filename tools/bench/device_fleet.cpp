#include "device_fleet.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <unordered_map>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/messages.hpp"

namespace libreta::bench {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

constexpr const char* kReplicaPrefix = "dev-";
// Frames at least this long go through the digest cache (pages, live updates); shorter
// ones (welcome, acks, empty pages) are decoded on the spot.
constexpr std::size_t kDigestMinBytes = 192;
// Distinct frames remembered: enough for every page of a 100,000-customer bootstrap and a
// few seconds of live updates.
constexpr std::size_t kDigestCapacity = 4096;
// A read buffer grown past this by a big page is given back once the page is handled.
constexpr std::size_t kReadBufferKeep = 64 * 1024;

// An edit of device `device`, the `index`-th it made.
struct EditRef {
  std::uint32_t device = 0;
  std::uint32_t index = 0;
  friend bool operator<(const EditRef& a, const EditRef& b) {
    return a.device != b.device ? a.device < b.device : a.index < b.index;
  }
  friend bool operator==(const EditRef&, const EditRef&) = default;
};

// What a frame from the server says, as far as a simulated device cares.
struct Digest {
  enum class Kind { welcome, ack, rows, error, other };
  Kind kind = Kind::other;
  std::string type;  // message type, for messages
  // rows
  std::uint64_t since = 0, after = 0;
  bool more = false, live = false;
  std::uint64_t rows = 0;
  std::uint64_t id_xor = 0;
  std::vector<EditRef> edits;  // distinct edits of the fleet's devices in the rows
  std::uint64_t unknown_versions = 0;
  // ack
  std::uint64_t upto = 0;
  std::size_t conflicts = 0;
  std::string refused;  // the first refusal, if any
  // welcome
  std::uint64_t acked = 0;
  int protocol = 1;
  // error (a decoding failure included)
  std::string error;
  bool fatal = false;
};

}  // namespace

// ---- The fleet's shared state --------------------------------------------------------------

class Device;

struct DeviceFleet::Impl {
  FleetOptions options;
  std::uint64_t epoch_ms = 0;  // clock of the fleet's edit versions
  std::size_t edit_capacity = 0;

  net::io_context io;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
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

  std::atomic<std::size_t> welcomed{0}, caught_up{0}, failed{0}, closed{0};
  std::atomic<std::uint64_t> edits_made{0}, edits_noop{0}, edits_coalesced{0}, changes_pushed{0};
  std::atomic<std::uint64_t> edits_sent{0}, edits_tracked{0}, edits_acked{0}, receipts{0},
      echoes{0};
  std::atomic<std::uint64_t> frames{0}, frames_decoded{0}, bytes_in{0}, unknown_versions{0};
  AtomicTime last_ack, last_receipt, last_caught_up, last_echo, first_push;
  mutable std::mutex error_mutex;
  std::string first_error;

  void record_error(const std::string& what) {
    std::lock_guard lock(error_mutex);
    if (first_error.empty()) first_error = what;
  }

  std::shared_ptr<const Digest> digest_of(std::string_view frame, bool compressed);
  Digest decode(std::string_view frame, bool compressed) const;
  std::optional<EditRef> edit_of(const Version& version) const;
  void connect_more();
  void finished_connecting();
};

// ---- One simulated device --------------------------------------------------------------------

namespace {

// What the device's in-memory replica knows of one field of one customer.
struct FieldState {
  Value value;
  Version version;
  std::map<std::string, Version, std::less<>> tag_adds;  // tag -> version of its add
};

}  // namespace

class Device : public std::enable_shared_from_this<Device> {
 public:
  Device(DeviceFleet::Impl& fleet, std::size_t index, DeviceSpec spec)
      : fleet_(fleet),
        index_(index),
        replica_(DeviceFleet::replica_id(index)),
        token_(std::move(spec.token)),
        ws_(net::make_strand(fleet.io)),
        since_(spec.cursor),
        after_(spec.cursor),
        edits_(std::make_unique<EditSlot[]>(fleet.edit_capacity)) {}

  // ---- Edits (offline before start, or on the strand) ----

  bool edit(const PlannedEdit& planned) {
    const std::uint32_t k = made_.load(std::memory_order_relaxed);
    if (k >= fleet_.edit_capacity) {
      fail("more edits than the fleet's max_edits_per_device");
      return false;
    }
    const Version version{Hlc::from_parts(fleet_.epoch_ms + k, 0), replica_};
    std::vector<Change> changes = changes_of(planned, version);
    EditSlot& slot = edits_[k];
    slot.made.raise_to(Clock::now());
    made_.store(k + 1, std::memory_order_release);
    fleet_.edits_made.fetch_add(1, std::memory_order_relaxed);
    if (changes.empty()) fleet_.edits_noop.fetch_add(1, std::memory_order_relaxed);
    for (auto& change : changes) append_outbox(std::move(change), k);
    return !changes.empty();
  }

  void live_edit(std::shared_ptr<const PlannedEdit> planned) {
    net::post(ws_.get_executor(), [self = shared_from_this(), planned = std::move(planned)] {
      if (self->closed_) return;
      self->edit(*planned);
      self->push_next();
    });
  }

  // ---- Connection ----

  void connect() {
    const tcp::endpoint endpoint(net::ip::make_address(fleet_.options.host), fleet_.options.port);
    ws_.next_layer().async_connect(
        endpoint, beast::bind_front_handler(&Device::on_connect, shared_from_this()));
  }

  void close() {
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->shut(); });
  }

  DeviceFleet::DeviceReport report() const {
    DeviceFleet::DeviceReport r;
    r.cursor = since_;
    r.caught_up = caught_up_;
    r.rows_received = rows_received_;
    r.row_id_xor = row_id_xor_;
    r.edits_made = made_.load(std::memory_order_acquire);
    r.edits_sent = edits_sent_;
    r.edits_acked = edits_acked_;
    r.receipts = receipts_;
    r.echoes = echoes_;
    r.edits_tracked = edits_tracked_;
    r.pending = outbox_.size();
    return r;
  }

  std::vector<float> latencies() const { return latency_ms_; }

  // The first edits of other devices this one has not received.
  void print_missing(std::FILE* out) const {
    std::size_t missing = 0;
    std::string first;
    for (std::size_t other = 0; other < fleet_.devices.size(); ++other) {
      if (other == index_) continue;
      const Device& origin = *fleet_.devices[other];
      for (std::uint32_t k = 0; k < origin.made(); ++k) {
        const std::size_t global = other * fleet_.edit_capacity + k;
        if (!origin.tracked(k) || (global < received_.size() && received_[global])) continue;
        if (missing++ < 5) first += " " + std::to_string(other) + "/" + std::to_string(k);
      }
    }
    std::fprintf(out, "device %zu: cursor %llu%s, %zu edits of others missing%s%s\n", index_,
                 static_cast<unsigned long long>(since_), caught_up_ ? "" : " (not caught up)",
                 missing, missing ? ", first (device/edit):" : "", first.c_str());
  }

  // When edit k was made (for other devices' latency).
  Clock::time_point made_at(std::uint32_t k) const { return edits_[k].made.get(); }
  std::uint32_t made() const { return made_.load(std::memory_order_acquire); }
  // Whether edit k went out with its version visible (see EditSlot::tracked).
  bool tracked(std::uint32_t k) const { return edits_[k].tracked.load(std::memory_order_acquire); }

 private:
  struct EditSlot {
    AtomicTime made;
    int changes_left = 0;  // changes of this edit in the outbox
    // Of those, changes that carry the edit's own version: a tag removal carries the version
    // of the add it removes, so an edit that only removes tags cannot be recognized by what
    // others receive.
    int visible_left = 0;
    bool sent = false;  // went out in a push
    // Went out with a change that carries its version (set before the push is sent, read by
    // the devices that receive it).
    std::atomic<bool> tracked{false};
  };
  struct OutboxEntry {
    PushedChange pushed;
    std::uint32_t edit = 0;
  };

  // The changes an edit makes on the device's replica, as Replica::update makes them: a
  // scalar changes when its value differs; a tag set adds and removes single tags.
  std::vector<Change> changes_of(const PlannedEdit& planned, const Version& version) {
    const workload::Edit& e = planned.edit;
    auto [it, inserted] = book_.try_emplace({e.customer, e.field});
    FieldState& state = it->second;
    if (inserted) {
      // As the server seeded it: every field of customer i at server_version(i).
      state.value = planned.original;
      const Version seeded = workload::server_version(e.customer);
      if (!state.value.is_null()) state.version = seeded;
      if (state.value.is_tags()) {
        for (const auto& tag : state.value.as_tags()) state.tag_adds[tag] = seeded;
      }
    }
    std::vector<Change> changes;
    if (e.value.is_tags() || state.value.is_tags()) {
      const TagSet old_tags = state.value.is_tags() ? state.value.as_tags() : TagSet{};
      const TagSet new_tags = e.value.is_tags() ? e.value.as_tags() : TagSet{};
      auto added = [&](const std::string& tag) {
        auto found = state.tag_adds.find(tag);
        return found == state.tag_adds.end() ? Version{} : found->second;
      };
      for (const auto& tag : new_tags) {
        if (!std::binary_search(old_tags.begin(), old_tags.end(), tag)) {
          changes.push_back(
              {tables::customers, e.customer_id, e.field, tag, Value(true), version, added(tag)});
        }
      }
      for (const auto& tag : old_tags) {
        if (!std::binary_search(new_tags.begin(), new_tags.end(), tag)) {
          changes.push_back(
              {tables::customers, e.customer_id, e.field, tag, Value(false), version, added(tag)});
        }
      }
      for (const auto& change : changes) {
        if (change.value == Value(true)) state.tag_adds[change.element] = version;
      }
      state.value = Value(new_tags);
      return changes;
    }
    if (state.value == e.value) return changes;
    changes.push_back(
        {tables::customers, e.customer_id, e.field, {}, e.value, version, state.version});
    state.value = e.value;
    state.version = version;
    return changes;
  }

  // Appends to the outbox, coalescing with a pending change of the same key that is not in
  // flight, as the replica's change log does (a field keeps the first change's base).
  void append_outbox(Change change, std::uint32_t edit) {
    for (auto it = outbox_.begin() + static_cast<std::ptrdiff_t>(in_flight_); it != outbox_.end();
         ++it) {
      const Change& old = it->pushed.change;
      if (old.row == change.row && old.field == change.field && old.element == change.element) {
        if (change.element.empty()) change.base = old.base;
        if (visible(old)) --edits_[it->edit].visible_left;
        if (--edits_[it->edit].changes_left == 0 && it->edit != edit) {
          fleet_.edits_coalesced.fetch_add(1, std::memory_order_relaxed);
        }
        outbox_.erase(it);
        break;
      }
    }
    ++edits_[edit].changes_left;
    if (visible(change)) ++edits_[edit].visible_left;
    outbox_.push_back({PushedChange{next_seq_++, std::move(change)}, edit});
  }

  static bool visible(const Change& change) {
    return change.element.empty() || change.value == Value(true);
  }

  void on_connect(beast::error_code ec) {
    if (ec) return fail("cannot connect: " + ec.message());
    beast::error_code ignored;
    ws_.next_layer().set_option(tcp::no_delay(true), ignored);
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = fleet_.options.connect_timeout;
    timeouts.idle_timeout = fleet_.options.idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.read_message_max(64u << 20);
    const std::string host = fleet_.options.host + ":" + std::to_string(fleet_.options.port);
    ws_.async_handshake(host, fleet_.options.target,
                        beast::bind_front_handler(&Device::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail("WebSocket handshake failed: " + ec.message());
    Hello hello;
    hello.protocol = fleet_.options.compress ? kProtocolVersion : 1;
    hello.schema = kCustomerBookSchemaVersion;
    hello.replica = replica_;
    hello.token = token_;
    send(encode_message(Message(std::move(hello))));
    read_next();
  }

  void read_next() {
    ws_.async_read(buffer_, beast::bind_front_handler(&Device::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (closed_) return;
    if (ec) return fail("connection lost: " + ec.message());
    const auto now = Clock::now();
    const auto data = buffer_.cdata();
    const std::string_view frame(static_cast<const char*>(data.data()), data.size());
    const bool compressed = !ws_.got_text();
    fleet_.frames.fetch_add(1, std::memory_order_relaxed);
    fleet_.bytes_in.fetch_add(frame.size(), std::memory_order_relaxed);
    std::shared_ptr<const Digest> digest;
    if (frame.size() >= kDigestMinBytes || compressed) {
      // A shared frame (compressed once by the server) is decompressed and decoded once.
      digest = fleet_.digest_of(frame, compressed);
    } else {
      digest = std::make_shared<const Digest>(fleet_.decode(frame, false));
    }
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > kReadBufferKeep) buffer_.shrink_to_fit();
    handle(*digest, now);
    if (!closed_) read_next();
  }

  void handle(const Digest& d, Clock::time_point now) {
    if (d.kind == Digest::Kind::error) return fail(d.error);
    if (!welcomed_) {
      if (d.kind != Digest::Kind::welcome) return fail("'" + d.type + "' before welcome");
      return on_welcome(d);
    }
    if (d.kind == Digest::Kind::ack) return on_ack(d, now);
    if (d.kind == Digest::Kind::rows) return d.live ? on_live_rows(d, now) : on_rows(d, now);
    fail("unexpected '" + d.type + "' message");
  }

  void on_welcome(const Digest& d) {
    welcomed_ = true;
    compressed_frames_ = d.protocol >= kCompressedFramesProtocol;
    fleet_.welcomed.fetch_add(1, std::memory_order_relaxed);
    fleet_.finished_connecting();
    // Each run starts on a fresh copy of the server's database: it cannot know this device.
    if (d.acked != 0) return fail("the server already holds changes of a fresh device");
    pull();
    push_next();
  }

  void pull() {
    pulling_ = true;
    set_caught_up(false);
    send(encode_message(Message(Pull{since_, after_})));
  }

  void on_rows(const Digest& d, Clock::time_point now) {
    if (!pulling_) return fail("a page that was not asked for");
    if (d.since != since_ || d.after < after_) {
      return fail("a page for " + std::to_string(d.since) + ":" + std::to_string(d.after) +
                  " while pulling from " + std::to_string(since_) + ":" + std::to_string(after_));
    }
    receive(d, now);
    row_id_xor_ ^= d.id_xor;
    if (d.more) {
      after_ = d.after;
      send(encode_message(Message(Pull{since_, after_})));
      return;
    }
    since_ = after_ = d.after;
    if (skipped_live_after_ > since_) {
      skipped_live_after_ = 0;
      pull();
      return;
    }
    pulling_ = false;
    set_caught_up(true);
  }

  void on_live_rows(const Digest& d, Clock::time_point now) {
    if (pulling_ || !caught_up_) {
      // The running pull brings these rows, or a later pull will.
      skipped_live_after_ = std::max(skipped_live_after_, d.after);
      return;
    }
    if (d.after <= since_) return;        // already here
    if (d.since > since_) return pull();  // a gap: pull what never arrived
    if (d.more) {
      // The server filled a gap with a page and has more: go on as a download.
      pulling_ = true;
      set_caught_up(false);
      if (d.since != since_) return pull();
      return on_rows(d, now);
    }
    receive(d, now);
    since_ = after_ = d.after;
  }

  // The edits of other devices in applied rows, first receipt only.
  void receive(const Digest& d, Clock::time_point now) {
    rows_received_ += d.rows;
    fleet_.unknown_versions.fetch_add(d.unknown_versions, std::memory_order_relaxed);
    std::uint64_t fresh = 0;
    for (const EditRef& ref : d.edits) {
      if (ref.device == index_) {
        // A seller's own edits are what their scope's updates carry back: the first echo
        // of each shows the device has it at the server's order.
        if (tracked(ref.index)) {
          if (echoed_.size() <= ref.index) echoed_.resize(fleet_.edit_capacity);
          if (!echoed_[ref.index]) {
            echoed_[ref.index] = true;
            ++echoes_;
            fleet_.echoes.fetch_add(1, std::memory_order_relaxed);
            fleet_.last_echo.raise_to(now);
          }
        }
        continue;
      }
      // A tag removal carries the version of the add it removes, which may be an edit
      // that never went out itself (coalesced): only edits that went out visibly count.
      if (!fleet_.devices[ref.device]->tracked(ref.index)) continue;
      const std::size_t global = std::size_t{ref.device} * fleet_.edit_capacity + ref.index;
      if (received_.size() <= global)
        received_.resize(fleet_.devices.size() * fleet_.edit_capacity);
      if (received_[global]) continue;
      received_[global] = true;
      ++fresh;
      if (fleet_.options.record_latency) {
        const Clock::time_point made = fleet_.devices[ref.device]->made_at(ref.index);
        latency_ms_.push_back(static_cast<float>(milliseconds_between(made, now)));
      }
    }
    if (fresh > 0) {
      receipts_ += fresh;
      fleet_.receipts.fetch_add(fresh, std::memory_order_relaxed);
      fleet_.last_receipt.raise_to(now);
    }
  }

  void push_next() {
    if (!welcomed_ || closed_ || in_flight_ > 0 || outbox_.empty()) return;
    Push push;
    const std::size_t count = std::min(outbox_.size(), fleet_.options.push_batch);
    push.changes.reserve(count);
    std::uint64_t newly_sent = 0;
    for (std::size_t i = 0; i < count; ++i) {
      push.changes.push_back(outbox_[i].pushed);
      EditSlot& slot = edits_[outbox_[i].edit];
      if (!slot.sent) {
        slot.sent = true;
        ++newly_sent;
        if (slot.visible_left > 0) {
          slot.tracked.store(true, std::memory_order_release);
          ++edits_tracked_;
          fleet_.edits_tracked.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    in_flight_ = count;
    fleet_.changes_pushed.fetch_add(count, std::memory_order_relaxed);
    edits_sent_ += newly_sent;
    fleet_.edits_sent.fetch_add(newly_sent, std::memory_order_relaxed);
    fleet_.first_push.lower_to(Clock::now());
    send(encode_message(Message(std::move(push))));
  }

  void on_ack(const Digest& d, Clock::time_point now) {
    if (in_flight_ == 0) return fail("an ack of no push");
    if (!d.refused.empty()) return fail("the server refused a change: " + d.refused);
    std::uint64_t acked = 0;
    while (in_flight_ > 0 && outbox_.front().pushed.seq <= d.upto) {
      EditSlot& slot = edits_[outbox_.front().edit];
      if (--slot.changes_left == 0) ++acked;
      outbox_.pop_front();
      --in_flight_;
    }
    if (in_flight_ != 0)
      return fail("an ack up to " + std::to_string(d.upto) + " of part of a push");
    edits_acked_ += acked;
    fleet_.edits_acked.fetch_add(acked, std::memory_order_relaxed);
    fleet_.last_ack.raise_to(now);
    push_next();
  }

  void set_caught_up(bool value) {
    if (caught_up_ == value) return;
    caught_up_ = value;
    if (value) {
      fleet_.caught_up.fetch_add(1, std::memory_order_relaxed);
      fleet_.last_caught_up.raise_to(Clock::now());
    } else {
      fleet_.caught_up.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  // Sends a message as client-core does: compressed when the session agreed and it gains.
  void send(std::string text) {
    Outgoing out{std::move(text), false};
    if (compressed_frames_) {
      if (auto compressed = compress_message(out.bytes, kDeviceCompressionLevel)) {
        out.bytes = std::move(*compressed);
        out.binary = true;
      }
    }
    writes_.push_back(std::move(out));
    if (writes_.size() == 1) write_next();
  }

  void write_next() {
    ws_.binary(writes_.front().binary);
    ws_.async_write(net::buffer(writes_.front().bytes),
                    beast::bind_front_handler(&Device::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (closed_) return;
    if (ec) return fail("cannot send: " + ec.message());
    writes_.pop_front();
    if (!writes_.empty()) write_next();
  }

  void fail(const std::string& what) {
    if (closed_) return;
    fleet_.record_error("device " + std::to_string(index_) + " (" + replica_ + "): " + what);
    fleet_.failed.fetch_add(1, std::memory_order_relaxed);
    if (!welcomed_) fleet_.finished_connecting();
    shut();
  }

  void shut() {
    if (closed_) return;
    closed_ = true;
    fleet_.closed.fetch_add(1, std::memory_order_release);
    beast::error_code ignored;
    ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    ws_.next_layer().close(ignored);
  }

  DeviceFleet::Impl& fleet_;
  const std::size_t index_;
  const std::string replica_;
  const std::string token_;
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  struct Outgoing {
    std::string bytes;
    bool binary = false;
  };
  std::deque<Outgoing> writes_;
  bool closed_ = false;

  // The protocol, as client-core's SyncProtocol runs it.
  bool welcomed_ = false;
  bool compressed_frames_ = false;
  bool pulling_ = false;
  bool caught_up_ = false;
  std::uint64_t since_ = 0, after_ = 0;
  std::uint64_t skipped_live_after_ = 0;

  // The in-memory replica: what it edited, its outbox, its edits, what it received.
  std::map<std::pair<std::size_t, std::string>, FieldState> book_;
  std::deque<OutboxEntry> outbox_;
  std::size_t in_flight_ = 0;  // the outbox's first entries, pushed and not yet acked
  std::uint64_t next_seq_ = 1;
  std::unique_ptr<EditSlot[]> edits_;
  std::atomic<std::uint32_t> made_{0};
  std::vector<bool> received_;  // by global edit index: device * capacity + index
  std::vector<float> latency_ms_;

  std::uint64_t rows_received_ = 0, row_id_xor_ = 0;
  std::uint64_t edits_sent_ = 0, edits_acked_ = 0, receipts_ = 0, echoes_ = 0;
  std::uint64_t edits_tracked_ = 0;
  std::vector<bool> echoed_;  // by edit index: the first echo of a tracked own edit came
};

// ---- Frames ----------------------------------------------------------------------------------

std::optional<EditRef> DeviceFleet::Impl::edit_of(const Version& version) const {
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
  if (index >= devices[device]->made()) return std::nullopt;
  return EditRef{static_cast<std::uint32_t>(device), static_cast<std::uint32_t>(index)};
}

Digest DeviceFleet::Impl::decode(std::string_view frame, bool compressed) const {
  Digest d;
  std::string text;
  if (compressed) {
    auto decompressed = decompress_message(frame, 64u << 20);
    if (!decompressed) {
      d.kind = Digest::Kind::error;
      d.error =
          std::string("cannot decompress a frame from the server: ") + decompressed.error().what();
      d.fatal = true;
      return d;
    }
    text = std::move(decompressed).value();
    frame = text;
  }
  auto decoded = decode_message(frame);
  if (!decoded) {
    d.kind = Digest::Kind::error;
    d.error = std::string("cannot decode a frame from the server: ") + decoded.error().what();
    d.fatal = true;
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
    d.conflicts = ack->conflicts.size();
    if (!ack->refused.empty()) {
      const RefusedChange& r = ack->refused.front();
      d.refused = r.table + "/" + r.row + "/" + r.field + ": " + r.message;
    }
  } else if (const auto* rows = std::get_if<Rows>(&message)) {
    d.kind = Digest::Kind::rows;
    d.since = rows->since;
    d.after = rows->after;
    d.more = rows->more;
    d.live = rows->live;
    d.rows = rows->rows.size();
    for (const RowState& row : rows->rows) {
      d.id_xor ^= DeviceFleet::row_id_hash(row.id);
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
    d.fatal = error->fatal;
  }
  return d;
}

std::shared_ptr<const Digest> DeviceFleet::Impl::digest_of(std::string_view frame,
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
  frames_decoded.fetch_add(1, std::memory_order_relaxed);
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

void DeviceFleet::Impl::connect_more() {
  std::vector<std::shared_ptr<Device>> now;
  {
    std::lock_guard lock(connect_mutex);
    while (next_to_connect < devices.size() && connecting < options.max_connecting) {
      now.push_back(devices[next_to_connect++]);
      ++connecting;
    }
  }
  for (auto& device : now) device->connect();
}

void DeviceFleet::Impl::finished_connecting() {
  {
    std::lock_guard lock(connect_mutex);
    --connecting;
  }
  connect_more();
}

// ---- DeviceFleet -------------------------------------------------------------------------------

DeviceFleet::DeviceFleet(FleetOptions options, std::vector<DeviceSpec> specs)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->epoch_ms = wall_ms();
  impl_->edit_capacity = impl_->options.max_edits_per_device;
  impl_->devices.reserve(specs.size());
  for (std::size_t d = 0; d < specs.size(); ++d) {
    impl_->devices.push_back(std::make_shared<Device>(*impl_, d, std::move(specs[d])));
  }
}

DeviceFleet::~DeviceFleet() {
  stop();
}

std::size_t DeviceFleet::size() const {
  return impl_->devices.size();
}

std::string DeviceFleet::replica_id(std::size_t d) {
  char text[32];
  std::snprintf(text, sizeof text, "%s%05zu", kReplicaPrefix, d);
  return text;
}

std::uint64_t DeviceFleet::row_id_hash(std::string_view id) {
  return workload::mix64(std::hash<std::string_view>{}(id));
}

bool DeviceFleet::make_offline_edit(std::size_t d, const PlannedEdit& edit) {
  return impl_->devices.at(d)->edit(edit);
}

void DeviceFleet::make_live_edit(std::size_t d, std::shared_ptr<const PlannedEdit> edit) {
  impl_->devices.at(d)->live_edit(std::move(edit));
}

void DeviceFleet::start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->work.emplace(impl_->io.get_executor());
  for (int t = 0; t < std::max(1, impl_->options.threads); ++t) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
  impl_->connect_more();
}

void DeviceFleet::stop() {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  for (auto& device : impl_->devices) device->close();
  impl_->work.reset();
  // Beast's keep-alive timer of a closed stream stays armed until it fires (half the idle
  // timeout): once every device has closed its socket, nothing else is worth waiting for.
  while (impl_->closed.load(std::memory_order_acquire) < impl_->devices.size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->io.stop();
  for (auto& thread : impl_->threads) thread.join();
}

FleetCounters DeviceFleet::counters() const {
  const Impl& i = *impl_;
  FleetCounters c;
  c.welcomed = i.welcomed.load();
  c.caught_up = i.caught_up.load();
  c.failed = i.failed.load();
  c.edits_made = i.edits_made.load();
  c.edits_noop = i.edits_noop.load();
  c.edits_coalesced = i.edits_coalesced.load();
  c.changes_pushed = i.changes_pushed.load();
  c.edits_sent = i.edits_sent.load();
  c.edits_tracked = i.edits_tracked.load();
  c.edits_acked = i.edits_acked.load();
  c.receipts = i.receipts.load();
  c.echoes = i.echoes.load();
  c.frames = i.frames.load();
  c.frames_decoded = i.frames_decoded.load();
  c.bytes_in = i.bytes_in.load();
  c.unknown_versions = i.unknown_versions.load();
  return c;
}

std::string DeviceFleet::first_error() const {
  std::lock_guard lock(impl_->error_mutex);
  return impl_->first_error;
}

Clock::time_point DeviceFleet::last_ack() const {
  return impl_->last_ack.get();
}
Clock::time_point DeviceFleet::last_receipt() const {
  return impl_->last_receipt.get();
}
Clock::time_point DeviceFleet::last_caught_up() const {
  return impl_->last_caught_up.get();
}
Clock::time_point DeviceFleet::last_echo() const {
  return impl_->last_echo.get();
}
Clock::time_point DeviceFleet::first_push() const {
  return impl_->first_push.get();
}

DeviceFleet::DeviceReport DeviceFleet::report(std::size_t d) const {
  return impl_->devices.at(d)->report();
}

std::vector<float> DeviceFleet::latencies(std::size_t d) const {
  return impl_->devices.at(d)->latencies();
}

void DeviceFleet::print_missing(std::FILE* out) const {
  // Read while the devices run: approximate, for a failure message only.
  for (std::size_t d = 0; d < impl_->devices.size() && d < 10; ++d) {
    impl_->devices[d]->print_missing(out);
  }
}

std::uint64_t DeviceFleet::edits_sent_by(std::size_t d) const {
  return impl_->devices.at(d)->report().edits_sent;
}

}  // namespace libreta::bench
