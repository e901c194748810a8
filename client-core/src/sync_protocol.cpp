// SyncProtocol: the client's side of one sync connection (see sync_protocol.hpp).
#include "libreta/client/sync_protocol.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/customer_book.hpp"

namespace libreta::client {

namespace {

// Non-fatal server errors that mean a request was dropped and must be sent again: the
// server does not say which request, so the session reconnects (with backoff) and resends.
bool request_dropped(ErrorCode code) {
  switch (code) {
    case ErrorCode::storage:
    case ErrorCode::storage_full:
    case ErrorCode::internal:
    case ErrorCode::rate_limited:
    case ErrorCode::shutting_down:
    case ErrorCode::timeout:
      return true;
    default:
      return false;
  }
}

std::string describe(const std::vector<RefusedChange>& refused) {
  std::string text = "the server refused " + std::to_string(refused.size()) + " change" +
                     (refused.size() == 1 ? "" : "s");
  const RefusedChange& first = refused.front();
  text += ": " + first.table + "/" + first.row + "/" + first.field + ": " + first.message;
  if (refused.size() > 1) text += " (and " + std::to_string(refused.size() - 1) + " more)";
  return text;
}

}  // namespace

SyncProtocol::Options SyncProtocol::options_of(const SyncOptions& options) {
  return Options{options.token, options.compress, options.push_batch, options.clock};
}

SyncProtocol::SyncProtocol(SyncReplica& replica, Options options, Delegate& delegate)
    : replica_(replica),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : std::make_shared<SystemClock>()),
      delegate_(delegate) {}

void SyncProtocol::load_status() {
  cursor_ = replica_.sync_cursor();
  pending_ = replica_.pending_count();
  const auto last_sync = replica_.last_sync_ms();
  delegate_.update_status([&](SyncStatus& s) { s.last_sync_ms = last_sync; });
  publish(false);
}

void SyncProtocol::on_open() {
  Hello hello;
  // Protocol 1 is the same conversation without compressed frames.
  hello.protocol = options_.compress ? kProtocolVersion : 1;
  hello.schema = kCustomerBookSchemaVersion;
  hello.replica = replica_.replica_id();
  hello.token = options_.token;
  send(hello);
}

void SyncProtocol::on_closed() {
  welcomed_ = false;
  compressed_frames_ = false;
  refusal_state_ = false;
  conflicts_pulling_ = false;
  push_in_flight_.reset();
  pulling_ = false;
  caught_up_ = false;
  skipped_live_after_ = 0;
  publish(false);
}

void SyncProtocol::on_frame(std::string_view bytes, bool compressed) {
  if (!compressed) return on_message(bytes);
  if (!compressed_frames_) {
    return violation(ErrorCode::malformed,
                     "the server sent a compressed frame without agreeing on protocol " +
                         std::to_string(kCompressedFramesProtocol));
  }
  auto text = decompress_message(bytes, kMaxIncomingMessageBytes);
  if (!text) {
    return violation(text.error().code(), "the server sent a frame this client cannot read: " +
                                              std::string(text.error().what()));
  }
  on_message(text.value());
}

void SyncProtocol::on_message(std::string_view frame) {
  auto decoded = decode_message(frame);
  if (!decoded) {
    violation(decoded.error().code(), "the server sent a message this client cannot read: " +
                                          std::string(decoded.error().what()));
    return;
  }
  Message& message = decoded.value();
  if (auto* error = std::get_if<ProtocolError>(&message)) {
    on_error(*error);
    return;
  }
  if (!welcomed_) {
    if (auto* welcome = std::get_if<Welcome>(&message)) {
      on_welcome(*welcome);
    } else {
      violation(ErrorCode::out_of_order, "the server sent '" + std::string(message_type(message)) +
                                             "' before welcoming this replica");
    }
    return;
  }
  if (auto* ack = std::get_if<Ack>(&message)) {
    on_ack(*ack);
  } else if (auto* rows = std::get_if<Rows>(&message)) {
    if (rows->live)
      on_live_rows(*rows);
    else
      on_rows(*rows);
  } else if (auto* conflicts = std::get_if<Conflicts>(&message); conflicts && refusal_state_) {
    on_conflicts(*conflicts);
  } else {
    violation(ErrorCode::unknown_message,
              "the server sent a '" + std::string(message_type(message)) + "' message");
  }
}

void SyncProtocol::on_welcome(const Welcome& welcome) {
  welcomed_ = true;
  compressed_frames_ = welcome.protocol >= kCompressedFramesProtocol && options_.compress;
  // The server holds everything up to `acked`, whether or not its ack reached us. (Only
  // written when there is something to drop: a write waits for the app's transactions.)
  pending_ = replica_.pending_count();
  if (pending_ > 0 && welcome.acked > 0) {
    replica_.acknowledge(welcome.acked);
    pending_ = replica_.pending_count();
  }
  if (!welcome.epoch.empty()) {
    // Another epoch: the store went back in time, and the replica starts its download over
    // and puts its writes back into the outbox.
    replica_.adopt_server_epoch(welcome.epoch);
    cursor_ = replica_.sync_cursor();
    pending_ = replica_.pending_count();
  }
  refusal_state_ = welcome.protocol >= kRefusalStateProtocol;
  // A first download (protocol 5) asks how many rows it brings, once per connection.
  count_next_pull_ = welcome.protocol >= kPullTotalProtocol && cursor_.since == 0;
  // Who uses which device, for the history of each field: this one, and those the server
  // listed (protocol 5).
  std::vector<DeviceUser> devices = welcome.devices;
  devices.push_back({replica_.replica_id(), welcome.user});
  replica_.note_device_users(devices);
  delegate_.welcomed();
  // Push before pulling: edits made offline reach the server before the page that may
  // evict their customer, so that it judges them by what this device knew when it made them.
  push_next();
  pull();
  if (refusal_state_) {
    // The conflicts this replica lost since it last asked, whoever pushed second.
    conflicts_pulling_ = true;
    send(ConflictsPull{replica_.conflicts_cursor()});
  }
  publish(false);
}

void SyncProtocol::check_outbox() {
  const std::size_t pending = replica_.pending_count();
  const bool changed = pending != pending_;
  pending_ = pending;
  const bool pushed = push_next();
  if (changed || pushed) publish(changed);
}

bool SyncProtocol::push_next() {
  if (!welcomed_ || push_in_flight_ || pending_ == 0) return false;
  Push push;
  for (auto& entry : replica_.pending_changes(options_.push_batch)) {
    push.changes.push_back(PushedChange{entry.seq, std::move(entry.change)});
  }
  if (push.changes.empty()) return false;
  push_in_flight_ = push.changes.back().seq;
  send(push);
  return true;
}

void SyncProtocol::on_ack(const Ack& ack) {
  if (!push_in_flight_) {
    violation(ErrorCode::out_of_order, "the server acknowledged a push that was not sent");
    return;
  }
  // Keep what the ack tells before dropping the changes it covers: after a crash between
  // the two, the push is sent again and the server, having applied it, says nothing twice.
  // A refused change is undone (protocol 3) in the refusal's transaction, which reads it
  // from the change log: so before the log drops it.
  replica_.record_conflicts(ack.conflicts);
  replica_.record_refusals(ack.refused, refusal_state_);
  replica_.acknowledge(ack.upto);
  push_in_flight_.reset();
  pending_ = replica_.pending_count();
  delegate_.made_progress();
  if (!ack.conflicts.empty()) delegate_.emit(ConflictsReported{ack.conflicts});
  if (!ack.refused.empty()) {
    const SyncError error{ack.refused.front().code, describe(ack.refused), now_ms()};
    delegate_.update_status([&](SyncStatus& s) { s.last_error = error; });
    delegate_.emit(ChangesRefused{ack.refused});
  }
  push_next();
  publish(true);
}

void SyncProtocol::pull() {
  pulling_ = true;
  caught_up_ = false;
  // A scan that stopped half-way (after > since) resumes: the same download goes on.
  if (cursor_.after == cursor_.since) rows_received_ = rows_expected_ = 0;
  send_pull();
}

void SyncProtocol::send_pull() {
  Pull pull{cursor_.since, cursor_.after};
  pull.count = std::exchange(count_next_pull_, false);
  send(pull);
}

void SyncProtocol::on_rows(const Rows& rows) {
  if (!pulling_) {
    violation(ErrorCode::out_of_order, "the server sent a page that was not asked for");
    return;
  }
  if (rows.since != cursor_.since || rows.after < cursor_.after) {
    violation(ErrorCode::out_of_order, "the server sent a page for " + std::to_string(rows.since) +
                                           ":" + std::to_string(rows.after) +
                                           " while pulling from " + std::to_string(cursor_.since) +
                                           ":" + std::to_string(cursor_.after));
    return;
  }
  const SyncCursor next =
      rows.more ? SyncCursor{cursor_.since, rows.after} : SyncCursor{rows.after, rows.after};
  const ApplyResult result = replica_.apply_page(rows.rows, next, rows.evicted);
  cursor_ = next;
  // The page a counting pull asked for says how many rows are left, itself included.
  if (rows.remaining > 0) rows_expected_ = rows_received_ + rows.remaining;
  rows_received_ += rows.rows.size();
  delegate_.made_progress();
  if (rows.more) {
    send_pull();
  } else if (skipped_live_after_ > cursor_.since) {
    // A live update arrived during the pull and goes beyond what the pull brought.
    skipped_live_after_ = 0;
    pull();
  } else {
    pulling_ = false;
    caught_up_ = true;
  }
  delegate_.emit(ChangesArrived{rows.rows.size(), result.applied, false, rows.rows});
  publish(!rows.more);
}

void SyncProtocol::on_live_rows(const Rows& rows) {
  if (pulling_ || !caught_up_) {
    // The running pull brings these rows, or a later pull will.
    skipped_live_after_ = std::max(skipped_live_after_, rows.after);
    return;
  }
  if (rows.after <= cursor_.since) return;  // already here
  if (rows.since > cursor_.since) {
    // Updates between our cursor and this one never arrived: pull them.
    pull();
    publish(false);
    return;
  }
  if (rows.more) {
    // The server filled a gap with a page and has more: go on as a download.
    pulling_ = true;
    caught_up_ = false;
    if (rows.since != cursor_.since) {
      pull();
      publish(false);
      return;
    }
    rows_received_ = rows_expected_ = 0;
    on_rows(rows);
    return;
  }
  // The update carries every key changed after rows.since <= our cursor: applying it (what
  // is already here is ignored) brings the replica up to rows.after.
  const SyncCursor next{rows.after, rows.after};
  const ApplyResult result = replica_.apply_page(rows.rows, next, rows.evicted);
  cursor_ = next;
  delegate_.emit(ChangesArrived{rows.rows.size(), result.applied, true, rows.rows});
  publish(true);
}

void SyncProtocol::on_conflicts(const Conflicts& conflicts) {
  const std::uint64_t cursor = replica_.conflicts_cursor();
  if (conflicts.live && conflicts.upto <= cursor) return;  // already here
  // A live notice that comes while the pages are still being read is kept, but the cursor
  // moves only with the pages: it must never pass conflicts not received yet.
  const bool paging = !conflicts.live;
  const std::uint64_t next =
      conflicts.live && conflicts_pulling_ ? cursor : std::max(cursor, conflicts.upto);
  const auto added = replica_.record_conflicts(conflicts.conflicts, next);
  if (paging) {
    if (conflicts.more && next > cursor)
      send(ConflictsPull{next});
    else
      conflicts_pulling_ = false;
  }
  delegate_.made_progress();
  if (!added.empty()) delegate_.emit(ConflictsReported{added});
  publish(paging && !conflicts_pulling_);
}

void SyncProtocol::on_error(const ProtocolError& error) {
  const SyncError recorded{error.code, "server: " + error.message, now_ms()};
  delegate_.update_status([&](SyncStatus& s) { s.last_error = recorded; });
  if (error.fatal) {
    delegate_.fail(recorded);
  } else if (request_dropped(error.code)) {
    delegate_.retry_later(recorded);
  } else if (conflicts_pulling_ &&
             (error.code == ErrorCode::unknown_message || error.code == ErrorCode::out_of_order)) {
    // A server that does not serve conflicts_pull (it knows push and pull by any version)
    // will never answer it: stop waiting for it on this connection, or the replica would
    // never be in sync.
    conflicts_pulling_ = false;
    publish(true);
  }
}

void SyncProtocol::violation(ErrorCode code, std::string message) {
  const SyncError recorded{code, std::move(message), now_ms()};
  delegate_.update_status([&](SyncStatus& s) { s.last_error = recorded; });
  delegate_.fail(recorded);
}

void SyncProtocol::send(const Message& message) {
  std::string text = encode_message(message);
  if (compressed_frames_) {
    if (auto compressed = compress_message(text, kDeviceCompressionLevel))
      return delegate_.send(std::move(*compressed), true);
  }
  delegate_.send(std::move(text), false);
}

void SyncProtocol::publish(bool activity) {
  // Stored before the status says "synced", so that whoever sees it sees the time too.
  std::optional<std::uint64_t> synced_at;
  if (activity && welcomed_ && caught_up_ && !conflicts_pulling_ && pending_ == 0 &&
      !push_in_flight_) {
    synced_at = now_ms();
    replica_.set_last_sync_ms(*synced_at);
  }
  delegate_.update_status([&](SyncStatus& s) {
    s.connected = welcomed_;
    // Caught up also with the conflicts this replica lost: a sync that ends says so.
    s.caught_up = caught_up_ && !conflicts_pulling_;
    s.downloading = pulling_;
    s.pending_changes = pending_;
    s.rows_received = rows_received_;
    s.rows_expected = rows_expected_ == 0 ? 0 : std::max(rows_expected_, rows_received_);
    s.cursor = cursor_.after;
    if (synced_at) s.last_sync_ms = synced_at;
  });
}

}  // namespace libreta::client
