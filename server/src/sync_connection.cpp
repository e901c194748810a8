// One client's sync session: hello, pushes handed to the writer, pulls served in pages from
// the store, then live updates from the fan-out. Runs on the connection's executor.
#include <atomic>

#include "libreta/protocol/codec.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/server/sync_service.hpp"
#include "libreta/server/tokens.hpp"
#include "sync_service_impl.hpp"

namespace libreta::server {

// Pushes from one connection waiting for the writer at once; more is flooding.
inline constexpr int kMaxPushesInFlight = 8;

struct SyncConnection::State {
  std::shared_ptr<SyncService> service;
  std::shared_ptr<Outbound> out;
  std::string peer;
  bool authenticated = false;
  bool closed = false;
  std::string replica;
  std::string user;
  Role role = Role::seller;
  // Live once a pull reached the end; live_cursor is the last sequence this client has.
  bool live = false;
  std::uint64_t live_cursor = 0;
  std::shared_ptr<std::atomic<int>> pushes_in_flight = std::make_shared<std::atomic<int>>(0);
};

SyncConnection::SyncConnection(std::shared_ptr<SyncService> service, std::shared_ptr<Outbound> out,
                               std::string peer)
    : state_(std::make_unique<State>()) {
  state_->service = std::move(service);
  state_->out = std::move(out);
  state_->peer = std::move(peer);
}

SyncConnection::~SyncConnection() {
  if (state_->service) --state_->service->impl_->open_connections;
  if (state_->live) --state_->service->impl_->live_connections;
}

bool SyncConnection::authenticated() const {
  return state_->authenticated;
}

void SyncConnection::send_error(ErrorCode code, std::string message, bool fatal) {
  auto frame = std::make_shared<const std::string>(
      encode_message(Message(ProtocolError{code, std::move(message), fatal})));
  if (fatal)
    state_->out->send_and_close(std::move(frame));
  else
    state_->out->send(std::move(frame));
}

void SyncConnection::on_message(std::string_view text) {
  if (state_->closed) return;
  auto decoded = decode_message(text);
  if (!decoded) {
    // Before hello nothing is trusted: close. After, the client may recover.
    send_error(decoded.error().code(), decoded.error().what(), !state_->authenticated);
    return;
  }
  Message& message = decoded.value();
  if (auto* hello = std::get_if<Hello>(&message)) return handle(std::move(*hello));
  if (!state_->authenticated) {
    return send_error(
        ErrorCode::out_of_order,
        std::string("\"") + std::string(message_type(message)) + "\" before \"hello\"", true);
  }
  if (auto* push = std::get_if<Push>(&message)) return handle(std::move(*push));
  if (auto* pull = std::get_if<Pull>(&message)) return handle(*pull);
  send_error(ErrorCode::out_of_order,
             std::string("a client does not send \"") + std::string(message_type(message)) + "\"",
             false);
}

void SyncConnection::on_binary_message() {
  send_error(ErrorCode::malformed, "binary frames are not part of protocol version 1",
             !state_->authenticated);
}

void SyncConnection::on_closed() {
  state_->closed = true;
  if (state_->live) {
    state_->live = false;
    --state_->service->impl_->live_connections;
  }
}

void SyncConnection::handle(Hello hello) {
  auto& impl = *state_->service->impl_;
  if (state_->authenticated)
    return send_error(ErrorCode::out_of_order, "a second \"hello\"", false);
  if (hello.protocol < kMinProtocolVersion) {
    return send_error(ErrorCode::unsupported_protocol,
                      "protocol " + std::to_string(hello.protocol) +
                          " is too old; this server speaks " + std::to_string(kMinProtocolVersion) +
                          " to " + std::to_string(kProtocolVersion),
                      true);
  }
  if (hello.schema > impl.schema->version()) {
    return send_error(ErrorCode::unsupported_schema,
                      "the client's schema " + std::to_string(hello.schema) +
                          " is newer than the server's " + std::to_string(impl.schema->version()) +
                          "; update the server",
                      true);
  }
  std::optional<TokenRecord> token;
  try {
    token = impl.store.find_token_by_hash(hash_token(hello.token));
  } catch (const Error& e) {
    return send_error(e.code(), e.what(), true);
  }
  if (!token || token->revoked_ms) {
    return send_error(ErrorCode::bad_token, "the token is unknown or revoked", true);
  }
  state_->authenticated = true;
  state_->replica = hello.replica;
  state_->user = token->user;
  state_->role = token->role;
  Welcome welcome;
  welcome.protocol = std::min(hello.protocol, kProtocolVersion);
  welcome.schema = impl.schema->version();
  welcome.user = token->user;
  welcome.role = role_name(token->role);
  welcome.acked = impl.store.acked(hello.replica);
  state_->out->send(std::make_shared<const std::string>(encode_message(Message(welcome))));
}

void SyncConnection::handle(Push push) {
  auto& impl = *state_->service->impl_;
  if (push.changes.empty()) return;
  if (*state_->pushes_in_flight >= kMaxPushesInFlight) {
    return send_error(ErrorCode::rate_limited,
                      "too many pushes waiting; wait for their acks before sending more", false);
  }
  WriteJob job;
  job.replica = state_->replica;
  job.user = state_->user;
  job.upto = push.changes.back().seq;
  job.origin = weak_from_this();
  const std::uint64_t horizon =
      impl.clock->now_millis() + static_cast<std::uint64_t>(impl.options.max_clock_skew.count());
  for (auto& pushed : push.changes) {
    Change& change = pushed.change;
    auto refuse = [&](ErrorCode code, std::string why) {
      job.refused.push_back(
          {pushed.seq, change.table, change.row, change.field, code, std::move(why)});
    };
    if (change.version.replica != state_->replica) {
      refuse(ErrorCode::forbidden, "a change must carry the sending replica's own version");
      continue;
    }
    if (change.version.hlc.millis() > horizon) {
      refuse(ErrorCode::clock_skew, "dated too far in the future: check the device's clock");
      continue;
    }
    if (auto status = validate_change(*impl.schema, change); !status) {
      refuse(status.error().code(), status.error().what());
      continue;
    }
    job.changes.push_back(std::move(pushed));
  }
  // The writer answers on the connection's executor; count what is pending until then.
  auto in_flight = state_->pushes_in_flight;
  ++*in_flight;
  struct Countdown final : Outbound {
    std::shared_ptr<Outbound> inner;
    std::shared_ptr<std::atomic<int>> in_flight;
    void send(std::shared_ptr<const std::string> frame) override {
      --*in_flight;
      inner->send(std::move(frame));
    }
    void send_and_close(std::shared_ptr<const std::string> frame) override {
      --*in_flight;
      inner->send_and_close(std::move(frame));
    }
    void post(std::function<void()> task) override { inner->post(std::move(task)); }
  };
  auto countdown = std::make_shared<Countdown>();
  countdown->inner = state_->out;
  countdown->in_flight = in_flight;
  job.out = countdown;
  if (!impl.enqueue(std::move(job))) {
    --*in_flight;
    send_error(ErrorCode::shutting_down, "the server is stopping; push again after reconnecting",
               false);
  }
}

void SyncConnection::handle(Pull pull) {
  if (state_->live) {
    state_->live = false;
    --state_->service->impl_->live_connections;
  }
  send_page(pull.since, pull.after, false);
}

void SyncConnection::send_page(std::uint64_t since, std::uint64_t after, bool live) {
  auto& impl = *state_->service->impl_;
  Rows page;
  page.since = since;
  page.live = live;
  try {
    const auto rows = impl.store.rows_after(since, after, impl.options.page_rows);
    page.more = rows.size() == impl.options.page_rows;
    page.after = rows.empty() ? after : std::max(after, rows.back().seq);
    page.rows.reserve(rows.size());
    for (const auto& row : rows) page.rows.push_back(row.state_after(since));
  } catch (const Error& e) {
    return send_error(e.code(), std::string("cannot read changes: ") + e.what(), false);
  }
  const std::uint64_t next = page.after;
  const bool more = page.more;
  state_->out->send(std::make_shared<const std::string>(encode_message(Message(std::move(page)))));
  if (!more) {
    // Caught up: from now on, commits are sent as they happen.
    if (!state_->live) ++impl.live_connections;
    state_->live = true;
    state_->live_cursor = next;
  } else if (state_->live) {
    state_->live = false;
    --impl.live_connections;
  }
}

void SyncConnection::notify_commit(std::uint64_t from, std::uint64_t to,
                                   std::shared_ptr<const std::string> frame) {
  state_->out->post([self = shared_from_this(), from, to, frame = std::move(frame)] {
    self->on_commit(from, to, frame);
  });
}

void SyncConnection::on_commit(std::uint64_t from, std::uint64_t to,
                               const std::shared_ptr<const std::string>& frame) {
  if (state_->closed || !state_->live || to <= state_->live_cursor) return;
  if (from == state_->live_cursor + 1) {
    state_->out->send(frame);  // the one encoding shared by every live connection
    state_->live_cursor = to;
    return;
  }
  // A gap (a commit this connection did not see): read what is missing from the store.
  send_page(state_->live_cursor, state_->live_cursor, true);
}

}  // namespace libreta::server
