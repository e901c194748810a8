// One client's sync session: hello, pushes handed to the writer, limits on what the device
// sends. Pulls, conflicts and live updates are in sync_connection_pull.cpp. Runs on the
// connection's executor.
#include "libreta/server/sync_connection.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>

#include "libreta/protocol/codec.hpp"
#include "libreta/protocol/compression.hpp"
#include "libreta/server/direct_write.hpp"
#include "libreta/server/tokens.hpp"
#include "live_update.hpp"
#include "sync_connection_state.hpp"
#include "sync_context.hpp"

namespace libreta::server {

// Pushes from one connection waiting for the writer at once; more is flooding.
inline constexpr int kMaxPushesInFlight = 8;
// Devices listed in a welcome: the ones seen last, enough for any company's history.
inline constexpr std::size_t kMaxWelcomeDevices = 2'000;

namespace {

// Why a pushed change is refused before it reaches the writer, if it is: a version that is
// not the sending replica's, dated past `horizon`, or a change the schema does not accept
// (validate_change puts an accepted change's value in canonical form).
std::optional<RefusedChange> refusal(PushedChange& pushed, const std::string& replica,
                                     std::uint64_t horizon, const Schema& schema) {
  Change& change = pushed.change;
  if (change.version.replica != replica) {
    return refusal_of(pushed, ErrorCode::forbidden,
                      "a change must carry the sending replica's own version");
  }
  if (change.version.hlc.millis() > horizon) {
    return refusal_of(pushed, ErrorCode::clock_skew,
                      "dated too far in the future: check the device's clock");
  }
  // The base is stored too (a tag's other key): checked like the version, and never newer
  // than the change it is the base of.
  if (!change.base.is_none() && change.base.hlc.millis() > horizon) {
    return refusal_of(
        pushed, ErrorCode::clock_skew,
        "the version it replaces is dated too far in the future: check the device's clock");
  }
  if (!change.base.is_none() && change.version < change.base) {
    return refusal_of(pushed, ErrorCode::invalid_value,
                      "the version it replaces is newer than the change");
  }
  if (auto status = validate_change(schema, change); !status)
    return refusal_of(pushed, status.error().code(), status.error().what());
  return std::nullopt;
}

// The Outbound of a push's answer: counts the push as answered when its ack or error goes.
struct Countdown final : Outbound {
  std::shared_ptr<Outbound> inner;
  std::shared_ptr<std::atomic<int>> in_flight;
  void send(SharedFrame frame) override {
    --*in_flight;
    inner->send(std::move(frame));
  }
  void send_and_close(SharedFrame frame) override {
    --*in_flight;
    inner->send_and_close(std::move(frame));
  }
  void post(std::function<void()> task) override { inner->post(std::move(task)); }
};

}  // namespace

SyncConnection::SyncConnection(std::shared_ptr<SyncContext> context, std::shared_ptr<Outbound> out,
                               std::string peer)
    : state_(std::make_unique<State>()) {
  state_->context = std::move(context);
  state_->out = std::move(out);
  state_->peer = std::move(peer);
  state_->message_tokens = static_cast<double>(state_->context->options.message_burst);
}

bool SyncConnection::sees_everything() const {
  return state_->role != Role::seller;
}

const std::string& SyncConnection::token_id() const {
  return state_->token_id;
}

const std::string& SyncConnection::replica() const {
  return state_->replica;
}

const std::string& SyncConnection::user() const {
  return state_->user;
}

void SyncConnection::close_with(ErrorCode code, std::string message) {
  state_->out->post([self = shared_from_this(), code, message = std::move(message)]() mutable {
    if (self->state_->closed) return;
    self->send_error(code, std::move(message), true);
  });
}

bool SyncConnection::within_message_rate() {
  const auto& options = state_->context->options;
  if (options.max_messages_per_second == 0) return true;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - state_->refilled).count();
  state_->refilled = now;
  state_->message_tokens = std::min(
      static_cast<double>(options.message_burst),
      state_->message_tokens + elapsed * static_cast<double>(options.max_messages_per_second));
  if (state_->message_tokens < 1) return false;
  state_->message_tokens -= 1;
  return true;
}

SyncConnection::~SyncConnection() {
  if (state_->context) --state_->context->counters.connections;
  if (state_->live) --state_->context->counters.live_connections;
}

bool SyncConnection::authenticated() const {
  return state_->authenticated;
}

void SyncConnection::send_message(const Message& message) {
  state_->out->send(make_frame(message, state_->compressed_frames));
}

void SyncConnection::send_error(ErrorCode code, std::string message, bool fatal) {
  auto frame =
      make_frame(Message(ProtocolError{code, std::move(message), fatal}), /*compress=*/false);
  if (fatal)
    state_->out->send_and_close(std::move(frame));
  else
    state_->out->send(std::move(frame));
}

void SyncConnection::on_message(std::string_view text) {
  if (state_->closed) return;
  if (!within_message_rate()) return send_rate_limited();
  if (!within_token_bytes(text.size())) return;
  handle_text(text);
}

void SyncConnection::on_binary_message(std::string_view bytes) {
  if (state_->closed) return;
  if (!within_message_rate()) return send_rate_limited();
  // Hello is always text: only a client that said it speaks protocol 2 may compress.
  if (!state_->compressed_frames) {
    return send_error(
        ErrorCode::malformed,
        "binary frames need protocol " + std::to_string(kCompressedFramesProtocol) + " or later",
        !state_->authenticated);
  }
  auto text = decompress_message(bytes, state_->context->options.max_message_bytes);
  if (!text) {
    // Nothing of it was read: the client may send it again, smaller or intact.
    return send_error(text.error().code(), text.error().what(), false);
  }
  if (!within_token_bytes(text.value().size())) return;
  handle_text(text.value());
}

bool SyncConnection::within_token_bytes(std::size_t bytes) {
  if (!state_->authenticated) return true;  // the transport bounds anonymous connections
  auto& context = *state_->context;
  auto refused = context.admission.admit(state_->token_id, bytes, 0);
  if (!refused) return true;
  log_refusal("rate_limited", *refused);
  send_error(ErrorCode::rate_limited, *refused + "; send it again later", false);
  return false;
}

void SyncConnection::log_refusal(std::string_view code, std::string_view why) const {
  auto& context = *state_->context;
  context.refusals.refused(code, {{"user", state_->user},
                                  {"replica", state_->replica},
                                  {"peer", state_->peer},
                                  {"reason", why}});
}

void SyncConnection::send_rate_limited() {
  send_error(ErrorCode::rate_limited,
             "more than " + std::to_string(state_->context->options.max_messages_per_second) +
                 " messages a second; reconnect later",
             true);
}

void SyncConnection::handle_text(std::string_view text) {
  // Before hello, only what a hello needs: an anonymous text costs a few KB to decode.
  auto decoded =
      decode_message(text, state_->authenticated ? kMessageJsonLimits : kHelloJsonLimits);
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
  if (auto* pull = std::get_if<ConflictsPull>(&message); pull && state_->protocol >= 3)
    return handle(*pull);
  send_error(ErrorCode::out_of_order,
             std::string("a client does not send \"") + std::string(message_type(message)) + "\"",
             false);
}

void SyncConnection::on_closed() {
  if (state_->closed) return;
  state_->closed = true;
  if (state_->authenticated) {
    auto& context = *state_->context;
    context.counters.authenticated.add(authenticated_labels(), -1);
    context.sessions.remove(*this);
    // What this connection sent the device decides the reassignment rule for its next
    // pushes, whichever connection they come on, after a restart too: recorded.
    // A later connection's device had everything this one was sent.
    context.sent.note(state_->replica, state_->sent_seq);
    if (state_->sent_seq > state_->known_seq) {
      WriteJob job = bookkeeping_job(false);
      job.sent_seq = state_->sent_seq;
      context.writes.push(std::move(job));
    }
  }
  set_live(false);
}

void SyncConnection::handle(Hello hello) {
  auto& context = *state_->context;
  if (state_->authenticated)
    return send_error(ErrorCode::out_of_order, "a second \"hello\"", false);
  if (hello.protocol < kMinProtocolVersion) {
    context.refusals.hello_refused("unsupported_protocol",
                                   {{"replica", hello.replica},
                                    {"peer", state_->peer},
                                    {"protocol", static_cast<std::int64_t>(hello.protocol)}});
    return send_error(ErrorCode::unsupported_protocol,
                      "protocol " + std::to_string(hello.protocol) +
                          " is too old; this server speaks " + std::to_string(kMinProtocolVersion) +
                          " to " + std::to_string(kProtocolVersion),
                      true);
  }
  if (hello.schema > context.schema.version()) {
    context.refusals.hello_refused("unsupported_schema",
                                   {{"replica", hello.replica},
                                    {"peer", state_->peer},
                                    {"schema", static_cast<std::int64_t>(hello.schema)}});
    return send_error(ErrorCode::unsupported_schema,
                      "the client's schema " + std::to_string(hello.schema) +
                          " is newer than the server's " +
                          std::to_string(context.schema.version()) + "; update the server",
                      true);
  }
  std::optional<TokenRecord> token;
  try {
    token = context.store.find_token_by_hash(hash_token(hello.token));
  } catch (const Error& e) {
    return send_error(e.code(), e.what(), true);
  }
  if (!token || token->revoked_ms) {
    context.refusals.hello_refused("bad_token",
                                   {{"replica", hello.replica},
                                    {"peer", state_->peer},
                                    {"reason", token ? "revoked token" : "unknown token"}});
    return send_error(ErrorCode::bad_token, "the token is unknown or revoked", true);
  }
  if (token->expires_ms && *token->expires_ms <= context.clock->now_millis()) {
    context.refusals.hello_refused("bad_token", {{"user", token->user},
                                                 {"replica", hello.replica},
                                                 {"peer", state_->peer},
                                                 {"reason", "expired token"}});
    return send_error(ErrorCode::bad_token, "the token has expired; ask for a new one", true);
  }
  if (is_reserved_replica_id(hello.replica)) {
    context.refusals.hello_refused("forbidden", {{"user", token->user},
                                                 {"replica", hello.replica},
                                                 {"peer", state_->peer},
                                                 {"reason", "reserved replica id"}});
    return send_error(ErrorCode::forbidden,
                      "the replica id \"" + hello.replica +
                          "\" is reserved for the server's own writes (\"server\", \"office-…\", "
                          "\"api-…\")",
                      true);
  }
  // A replica id belongs to the user who first used it: another user's device saying it
  // could otherwise move its acknowledged sequence and make its real device drop changes.
  std::optional<ReplicaRecord> record;
  try {
    record = context.store.replica(hello.replica);
  } catch (const Error& e) {
    return send_error(e.code(), e.what(), true);
  }
  if (record && record->user != token->user) {
    context.refusals.hello_refused("forbidden",
                                   {{"user", token->user},
                                    {"replica", hello.replica},
                                    {"peer", state_->peer},
                                    {"reason", "the replica id belongs to another user"}});
    return send_error(ErrorCode::forbidden,
                      "this device id is already used by another user's device; reinstall "
                      "the app or give the device a new id",
                      true);
  }
  state_->replica = hello.replica;
  state_->user = token->user;
  state_->role = token->role;
  state_->token_id = token->id;
  state_->protocol = std::min(hello.protocol, kProtocolVersion);
  state_->compressed_frames = hello.protocol >= kCompressedFramesProtocol;
  state_->first_seq = context.counters.last_seq;
  state_->known_seq = context.sent.note(hello.replica, record ? record->sent_seq : 0);
  if (!context.sessions.add(shared_from_this())) {
    context.refusals.hello_refused("rate_limited", {{"user", token->user},
                                                    {"replica", hello.replica},
                                                    {"peer", state_->peer},
                                                    {"reason", "too many connections"}});
    return send_error(ErrorCode::rate_limited,
                      "this token already has " +
                          std::to_string(context.options.max_connections_per_token) +
                          " connections open; close one first",
                      true);
  }
  state_->authenticated = true;
  context.token_uses.note(token->id, context.clock->now_millis());
  context.counters.authenticated.add(authenticated_labels(), 1);
  if (context.options.log) {
    context.options.log->info("connection_opened", {{"peer", state_->peer},
                                                    {"user", state_->user},
                                                    {"replica", state_->replica},
                                                    {"role", role_name(state_->role)},
                                                    {"protocol", state_->protocol}});
  }
  send_welcome(hello, *token, record);
}

void SyncConnection::send_welcome(const Hello& hello, const TokenRecord& token,
                                  const std::optional<ReplicaRecord>& record) {
  auto& context = *state_->context;
  Welcome welcome;
  welcome.protocol = std::min(hello.protocol, kProtocolVersion);
  welcome.schema = context.schema.version();
  welcome.user = token.user;
  welcome.role = role_name(token.role);
  welcome.acked = record ? record->acked : 0;
  if (state_->protocol >= kStoreEpochProtocol) welcome.epoch = context.epoch;
  if (state_->protocol >= kPullTotalProtocol) {
    try {
      welcome.devices = context.store.device_users(kMaxWelcomeDevices);
    } catch (const Error& e) {
      return send_error(e.code(), std::string("cannot read devices: ") + e.what(), false);
    }
  }
  // The id is new: bound to this user by the writer, ahead of any push of this session.
  if (!record) context.writes.push(bookkeeping_job(true));
  // Always text: the device takes compressed frames only once it has read the welcome.
  state_->out->send(make_frame(Message(welcome), /*compress=*/false));
}

std::vector<std::string> SyncConnection::authenticated_labels() const {
  return {role_name(state_->role), std::to_string(state_->protocol)};
}

WriteJob SyncConnection::bookkeeping_job(bool claim) {
  WriteJob job;
  job.replica = state_->replica;
  job.user = state_->user;
  job.token_id = state_->token_id;
  job.peer = state_->peer;
  job.role = state_->role;
  job.protocol = state_->protocol;
  job.claim = claim;
  job.first_seq = state_->first_seq;
  job.sent_seq = known_seq();
  return job;
}

void SyncConnection::handle(Push push) {
  auto& context = *state_->context;
  if (*state_->pushes_in_flight >= kMaxPushesInFlight) {
    log_refusal("rate_limited", "too many pushes waiting on one connection");
    return send_error(ErrorCode::rate_limited,
                      "too many pushes waiting; wait for their acks before sending more", false);
  }
  if (push.changes.size() > context.options.max_push_changes) {
    log_refusal("too_large", "a push of " + std::to_string(push.changes.size()) + " changes");
    return send_error(ErrorCode::too_large,
                      "a push takes at most " + std::to_string(context.options.max_push_changes) +
                          " changes; nothing of it was applied",
                      false);
  }
  // Fair share: one token's pushes wait for the writer beside other tokens', not ahead.
  if (auto refused = context.admission.admit(state_->token_id, 0, push.changes.size())) {
    log_refusal("rate_limited", *refused);
    return send_error(ErrorCode::rate_limited,
                      *refused + "; nothing of this push was applied, send it again later", false);
  }
  WriteJob job = bookkeeping_job(false);
  job.claim = false;
  job.admitted = push.changes.size();
  // An empty push is answered too: with what the server holds of this replica.
  job.upto = push.changes.empty() ? 0 : push.changes.back().seq;
  job.compressed_frames = state_->compressed_frames;
  const std::uint64_t horizon = context.clock->now_millis() +
                                static_cast<std::uint64_t>(context.options.max_clock_skew.count());
  for (auto& pushed : push.changes) {
    if (auto refused = refusal(pushed, state_->replica, horizon, context.schema))
      job.refused.push_back(std::move(*refused));
    else
      job.changes.push_back(std::move(pushed));
  }
  for (const auto& refused : job.refused)
    log_refusal(error_code_name(refused.code), refused.message);
  // The writer answers on the connection's executor; count what is pending until then.
  auto in_flight = state_->pushes_in_flight;
  ++*in_flight;
  auto countdown = std::make_shared<Countdown>();
  countdown->inner = state_->out;
  countdown->in_flight = in_flight;
  job.out = countdown;
  const std::string token_id = job.token_id;
  const std::size_t admitted = job.admitted;
  if (!context.writes.push(std::move(job))) {
    context.admission.done_queued(token_id, admitted);
    --*in_flight;
    send_error(ErrorCode::shutting_down, "the server is stopping; push again after reconnecting",
               false);
    return;
  }
  ++context.counters.pushes;
}

}  // namespace libreta::server
