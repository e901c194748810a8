// One light device of MemoryFleet: a WebSocket connection on a strand, the client side of
// the sync protocol as client-core's SyncProtocol runs it (hello, pull pages, live
// updates, one push in flight), and an in-memory replica of what it edited.
#include <algorithm>
#include <map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/messages.hpp"
#include "memory_fleet_impl.hpp"

namespace libreta::bench {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// Frames at least this long go through the digest cache (pages, live updates); shorter
// ones (welcome, acks, empty pages) are decoded on the spot.
constexpr std::size_t kDigestMinBytes = 192;
// A read buffer grown past this by a big page is given back once the page is handled.
constexpr std::size_t kReadBufferKeep = 64 * 1024;

// What the device's in-memory replica knows of one field of one customer.
struct FieldState {
  Value value;
  Version version;
  std::map<std::string, Version, std::less<>> tag_adds;  // tag -> version of its add
};

}  // namespace

class Device : public std::enable_shared_from_this<Device> {
 public:
  Device(MemoryFleet::Impl& fleet, std::size_t index, FleetDevice spec)
      : fleet_(fleet),
        index_(index),
        replica_(Fleet::replica_id(index)),
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
    edits_[k].made.raise_to(Clock::now());
    const bool changed = !changes.empty();
    for (auto& change : changes) append_outbox(std::move(change), k);
    // Counted as made only once its outbox is: whoever waits for every edit made and every
    // outbox empty must not see this edit made before its outbox fills.
    note_outbox();
    if (!changed) fleet_.edits_noop.fetch_add(1, std::memory_order_relaxed);
    made_.store(k + 1, std::memory_order_release);
    fleet_.edits_made.fetch_add(1, std::memory_order_release);
    return changed;
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

  DeviceReport report() const {
    DeviceReport r;
    r.cursor = since_;
    r.caught_up = caught_up_;
    r.rows_received = rows_received_;
    r.row_id_xor = row_id_xor_;
    r.receipts = receipts_;
    r.echoes = echoes_;
    r.tracked = edits_tracked_;
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
    ws_.async_handshake(host, "/sync",
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
    note_outbox();
  }

  // Counts the device in the fleet's outboxes_empty while, welcomed, its outbox is empty.
  void note_outbox() {
    const bool empty = welcomed_ && outbox_.empty();
    if (empty == counted_empty_) return;
    counted_empty_ = empty;
    if (empty) {
      fleet_.outboxes_empty.fetch_add(1, std::memory_order_release);
    } else {
      fleet_.outboxes_empty.fetch_sub(1, std::memory_order_release);
    }
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
    fleet_.rows.fetch_add(d.rows, std::memory_order_relaxed);
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
            fleet_.record.last_echo.raise_to(now);
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
      fleet_.record.last_receipt.raise_to(now);
    }
  }

  void push_next() {
    if (!welcomed_ || closed_ || in_flight_ > 0 || outbox_.empty()) return;
    Push push;
    const std::size_t count = std::min(outbox_.size(), fleet_.options.push_batch);
    push.changes.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      push.changes.push_back(outbox_[i].pushed);
      EditSlot& slot = edits_[outbox_[i].edit];
      if (!slot.sent) {
        slot.sent = true;
        if (slot.visible_left > 0) {
          slot.tracked.store(true, std::memory_order_release);
          ++edits_tracked_;
          fleet_.edits_tracked.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    in_flight_ = count;
    fleet_.record.first_push.lower_to(Clock::now());
    send(encode_message(Message(std::move(push))));
  }

  void on_ack(const Digest& d, Clock::time_point now) {
    if (in_flight_ == 0) return fail("an ack of no push");
    if (!d.refused.empty()) return fail("the server refused a change: " + d.refused);
    std::uint64_t changes = 0;
    while (in_flight_ > 0 && outbox_.front().pushed.seq <= d.upto) {
      --edits_[outbox_.front().edit].changes_left;
      ++changes;
      outbox_.pop_front();
      --in_flight_;
    }
    if (in_flight_ != 0)
      return fail("an ack up to " + std::to_string(d.upto) + " of part of a push");
    fleet_.changes_acked.fetch_add(changes, std::memory_order_relaxed);
    note_outbox();
    fleet_.record.last_ack.raise_to(now);
    push_next();
  }

  void set_caught_up(bool value) {
    if (caught_up_ == value) return;
    caught_up_ = value;
    if (value) {
      fleet_.caught_up.fetch_add(1, std::memory_order_relaxed);
      fleet_.record.last_caught_up.raise_to(Clock::now());
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
    fleet_.record.record_error("device " + std::to_string(index_) + " (" + replica_ + "): " + what);
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

  MemoryFleet::Impl& fleet_;
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
  std::uint64_t receipts_ = 0, echoes_ = 0;
  bool counted_empty_ = false;  // counted in the fleet's outboxes_empty
  std::uint64_t edits_tracked_ = 0;
  std::vector<bool> echoed_;  // by edit index: the first echo of a tracked own edit came
};

void MemoryFleet::Impl::connect_more() {
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

void MemoryFleet::Impl::finished_connecting() {
  {
    std::lock_guard lock(connect_mutex);
    --connecting;
  }
  connect_more();
}

std::shared_ptr<Device> make_device(MemoryFleet::Impl& fleet, std::size_t d, FleetDevice spec) {
  return std::make_shared<Device>(fleet, d, std::move(spec));
}

bool edit_offline(Device& device, const PlannedEdit& edit) {
  return device.edit(edit);
}

void edit_live(Device& device, std::shared_ptr<const PlannedEdit> edit) {
  device.live_edit(std::move(edit));
}

void connect(Device& device) {
  device.connect();
}

void close(Device& device) {
  device.close();
}

std::uint32_t edits_made_by(const Device& device) {
  return device.made();
}

DeviceReport report_of(const Device& device) {
  return device.report();
}

std::vector<float> latencies_of(const Device& device) {
  return device.latencies();
}

void print_missing_of(const Device& device, std::FILE* out) {
  device.print_missing(out);
}

}  // namespace libreta::bench
