// One client's downloads: pulls served in pages from the store (shared through the page
// cache when the page is the same for everyone), the conflicts the device lost, and live
// updates from the fan-out once it is caught up. Runs on the connection's executor.
#include <algorithm>
#include <limits>

#include "libreta/protocol/compression.hpp"
#include "live_update.hpp"
#include "sync_connection_state.hpp"
#include "sync_context.hpp"

namespace libreta::server {

// How long after a frame is sent the server holds that a still connected device has it.
inline constexpr std::chrono::milliseconds kDeliveryGrace = std::chrono::seconds(30);
// Conflicts in one `conflicts` message; the device asks again for more.
inline constexpr std::size_t kConflictsPerMessage = 100;

std::uint64_t SyncConnection::known_seq() {
  // A frame sent this long ago has reached a device still connected (it is pinged after
  // half the idle timeout of silence): a device cannot keep writing a customer it lost by
  // never saying it received the eviction.
  const std::uint64_t now = state_->context->clock->now_millis();
  auto& sends = state_->sends;
  std::uint64_t received = 0;
  while (!sends.empty() && sends.front().first + kDeliveryGrace.count() <= now) {
    received = sends.front().second;
    sends.pop_front();
  }
  state_->known_seq = std::max({state_->known_seq, state_->confirmed_seq, received});
  return state_->known_seq;
}

void SyncConnection::note_sent(std::uint64_t seq) {
  if (seq <= state_->sent_seq) return;
  state_->sent_seq = seq;
  const std::uint64_t now = state_->context->clock->now_millis();
  // One entry a second at most: the list stays short on a busy live connection.
  if (!state_->sends.empty() && state_->sends.back().first + 1000 > now)
    state_->sends.back().second = seq;
  else
    state_->sends.emplace_back(now, seq);
}

void SyncConnection::handle(ConflictsPull pull) {
  state_->conflicts_wanted = true;
  state_->conflicts_cursor = pull.after;
  send_conflicts(false);
}

void SyncConnection::send_conflicts(bool live) {
  auto& context = *state_->context;
  std::vector<ConflictRecord> records;
  try {
    records = context.store.conflicts_lost_by(state_->replica, state_->conflicts_cursor,
                                              kConflictsPerMessage);
  } catch (const Error& e) {
    return send_error(e.code(), std::string("cannot read conflicts: ") + e.what(), false);
  }
  if (live && records.empty()) return;
  Conflicts message;
  message.live = live;
  message.more = records.size() == kConflictsPerMessage;
  for (auto& c : records) {
    message.conflicts.push_back({c.table, c.row, c.field, std::move(c.kept_value),
                                 std::move(c.lost_value), c.kept_version, c.lost_version, c.id,
                                 c.kind, c.kept_user, c.lost_user});
  }
  message.upto = records.empty() ? state_->conflicts_cursor : records.back().id;
  state_->conflicts_cursor = message.upto;
  send_message(Message(std::move(message)));
}

void SyncConnection::handle(Pull pull) {
  // The device applied everything up to `after` before asking for what follows.
  state_->confirmed_seq = std::max(state_->confirmed_seq, std::min(pull.after, state_->sent_seq));
  set_live(false);
  send_page(pull.since, pull.after, false, pull.count && state_->protocol >= kPullTotalProtocol);
}

void SyncConnection::send_page(std::uint64_t since, std::uint64_t after, bool live, bool count) {
  auto& context = *state_->context;
  // A page that says how many rows are left (a progress bar's total) is this device's own.
  // Pages of pulls that read everything are the same for every device that asks: shared.
  PageCache* cache = sees_everything() && !live && !count ? context.page_cache.get() : nullptr;
  if (cache) {
    if (auto cached = cache->find(since, after)) {
      ++context.counters.pages_shared;
      send_shared_page(cached->frame);
      return page_sent(cached->end, cached->more);
    }
  }
  Rows page;
  page.since = since;
  page.live = live;
  std::uint64_t snapshot_seq = 0;
  try {
    const std::string* seller = sees_everything() ? nullptr : &state_->user;
    if (count) page.remaining = context.store.count_rows_after(after, seller);
    auto read = context.store.read_page(after, context.options.page_rows, seller);
    ++context.counters.pages_read;
    page.more = read.more;
    page.after = read.end;
    snapshot_seq = read.snapshot_seq;
    page.rows.reserve(read.rows.size());
    for (const auto& row : read.rows) {
      // A seller who did not have the row before `since` gets all of it; rows that only
      // moved between other sellers carry nothing new for a manager.
      RowState state = row.state_after(seller && row.scope_seq > since ? 0 : since);
      if (!state.versions.empty()) page.rows.push_back(std::move(state));
    }
    for (const auto& eviction : read.evictions)
      page.evicted.push_back({eviction.table, eviction.row});
  } catch (const Error& e) {
    return send_error(e.code(), std::string("cannot read changes: ") + e.what(), false);
  }
  const std::uint64_t next = page.after;
  const bool more = page.more;
  if (cache && more) {
    auto shared = std::make_shared<PageCache::Page>();
    shared->frame = make_frame(Message(std::move(page)), /*compress=*/true);
    shared->end = next;
    shared->more = more;
    cache->insert(since, after, snapshot_seq, shared);
    send_shared_page(shared->frame);
  } else {
    send_message(Message(std::move(page)));
  }
  page_sent(next, more);
}

void SyncConnection::send_shared_page(const SharedFrame& frame) {
  if (!frame->compressed || state_->compressed_frames) return state_->out->send(frame);
  // A protocol 1 device: the text of the compressed page (the cache keeps one form).
  auto text = decompress_message(frame->bytes, std::numeric_limits<std::size_t>::max());
  if (!text) return send_error(ErrorCode::internal, "a cached page is unreadable", false);
  state_->out->send(std::make_shared<const Frame>(Frame{std::move(text).value(), false}));
}

void SyncConnection::page_sent(std::uint64_t next, bool more) {
  note_sent(next);
  // Caught up: from now on, commits are sent as they happen.
  set_live(!more);
  if (!more) state_->live_cursor = next;
}

void SyncConnection::set_live(bool live) {
  if (live == state_->live) return;
  state_->live = live;
  if (live)
    ++state_->context->counters.live_connections;
  else
    --state_->context->counters.live_connections;
}

void SyncConnection::notify_commit(std::shared_ptr<const CommitNotice> notice) {
  state_->out->post(
      [self = shared_from_this(), notice = std::move(notice)] { self->on_commit(*notice); });
}

void SyncConnection::on_commit(const CommitNotice& notice) {
  if (state_->closed) return;
  if (state_->conflicts_wanted && notice.losers.count(state_->replica)) send_conflicts(true);
  if (!state_->live || notice.to <= state_->live_cursor) return;
  std::uint64_t since = notice.from - 1;
  const SharedMessage* frame = &notice.everything;
  if (!sees_everything()) {
    auto update = notice.by_seller.find(state_->user);
    if (update == notice.by_seller.end()) return;  // nothing of this seller's changed
    since = update->second.since;
    frame = &update->second.frame;
  }
  if (since <= state_->live_cursor) {
    // One encoding (and compression) shared by every connection it concerns.
    SharedFrame shared = frame->for_connection(state_->compressed_frames);
    ++state_->context->counters.live_deliveries;
    if (shared) state_->context->counters.live_delivery_bytes += shared->bytes.size();
    state_->out->send(std::move(shared));
    state_->live_cursor = notice.to;
    note_sent(notice.to);
    return;
  }
  // A gap (a commit this connection did not see): read what is missing from the store.
  send_page(state_->live_cursor, state_->live_cursor, true, false);
}

}  // namespace libreta::server
