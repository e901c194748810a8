// SyncSession: the thread, its io_context and timers, reconnection with backoff, and the
// thread-safe status. The protocol itself is in sync_protocol.cpp, the WebSocket in
// sync_transport.cpp.
#include "libreta/client/sync_session.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "libreta/client/replica.hpp"
#include "libreta/client/sqlite_sync_replica.hpp"
#include "libreta/client/sync_protocol.hpp"
#include "sync_transport.hpp"

namespace libreta::client {

namespace asio = boost::asio;

namespace {

// Errors that another attempt cannot fix: only the user (a new token, an update) can.
bool is_permanent(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_token:
    case ErrorCode::unsupported_protocol:
    case ErrorCode::unsupported_schema:
    case ErrorCode::schema_too_new:
    case ErrorCode::tls:  // an untrusted server stays untrusted until someone fixes it
      return true;
    default:
      return false;
  }
}

// min(max_backoff, initial_backoff * 2^attempt) scaled by `factor` in [0.5, 1].
std::chrono::milliseconds backoff_delay(const SyncOptions& options, unsigned attempt,
                                        double factor) {
  const double initial =
      static_cast<double>(std::max<std::int64_t>(options.initial_backoff.count(), 1));
  const double cap =
      static_cast<double>(std::max(options.max_backoff.count(), options.initial_backoff.count()));
  const double full =
      std::min(cap, initial * std::ldexp(1.0, static_cast<int>(std::min(attempt, 40U))));
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(full * factor)));
}

// The clock of the options, or the system's.
std::shared_ptr<ClockSource> clock_of(const SyncOptions& options) {
  return options.clock ? options.clock : std::make_shared<SystemClock>();
}

}  // namespace

struct SyncSession::Impl final : SyncProtocol::Delegate, SyncTransport::Handler {
  Impl(std::filesystem::path replica_file, SyncOptions sync_options)
      : file(std::move(replica_file)), options(std::move(sync_options)), clock(clock_of(options)) {}

  // ---- Configuration, fixed at construction ----
  const std::filesystem::path file;
  const SyncOptions options;
  const std::shared_ptr<ClockSource> clock;

  // ---- Shared with other threads ----
  mutable std::mutex status_mutex;
  mutable std::condition_variable status_changed;
  SyncStatus status;

  std::mutex control_mutex;  // start() and stop()
  std::thread thread;
  std::mutex io_mutex;  // io.restart() against posts from nudge()
  asio::io_context io{1};

  // ---- The session's thread only ----
  std::unique_ptr<Replica> replica;
  std::unique_ptr<SqliteSyncReplica> sync_replica;  // the protocol's view of `replica`
  std::unique_ptr<SyncProtocol> protocol;
  std::shared_ptr<SyncTransport> transport;
  std::optional<ServerAddress> address;
  std::optional<asio::steady_timer> retry_timer, outbox_timer, welcome_timer;
  unsigned attempt = 0;
  // Set when the server could not serve a request or the replica failed: a welcome alone
  // then does not reset the backoff (the same failure may follow), progress does.
  bool hold_backoff = false;
  bool stopping = false;
  std::mt19937_64 random{std::random_device{}()};

  // ---- Thread entry ----
  void run() {
    stopping = false;
    attempt = 0;
    hold_backoff = false;
    retry_timer.emplace(io);
    outbox_timer.emplace(io);
    welcome_timer.emplace(io);
    asio::post(io, [this] { connect(); });
    for (;;) {
      try {
        io.run();
        break;
      } catch (const std::exception& e) {
        // Handlers catch what they can; this is a last resort that keeps the thread alive.
        record(SyncError{ErrorCode::internal, e.what(), now_ms()});
      } catch (...) {
        record(SyncError{ErrorCode::internal, "unknown exception", now_ms()});
      }
    }
    transport.reset();
    welcome_timer.reset();
    outbox_timer.reset();
    retry_timer.reset();
    protocol.reset();
    sync_replica.reset();
    replica.reset();  // the replica is used on this thread only, closed here too
  }

  void shutdown() {
    stopping = true;
    if (retry_timer) retry_timer->cancel();
    if (outbox_timer) outbox_timer->cancel();
    if (welcome_timer) welcome_timer->cancel();
    if (transport) {
      transport->close();
      transport.reset();
    }
    if (protocol) protocol->on_closed();
  }

  // ---- Connecting and reconnecting ----
  void connect() {
    if (stopping) return;
    try {
      if (!replica) {
        ReplicaOptions replica_options;
        replica_options.clock = clock;
        auto opened = Replica::open(file, replica_options);
        auto view = std::make_unique<SqliteSyncReplica>(*opened);
        SyncProtocol::Options protocol_options = SyncProtocol::options_of(options);
        protocol_options.clock = clock;
        auto fresh = std::make_unique<SyncProtocol>(*view, std::move(protocol_options), *this);
        fresh->load_status();
        replica = std::move(opened);
        sync_replica = std::move(view);
        protocol = std::move(fresh);
        arm_outbox_timer();
      }
      if (!address) address = parse_server_url(options.server_url).take();
      TransportOptions transport_options;
      transport_options.connect_timeout = options.connect_timeout;
      transport_options.idle_timeout = options.idle_timeout;
      transport_options.ca_file = options.ca_file;
      transport_options.allow_plain = options.allow_plain;
      transport = connect_transport(io, *address, transport_options, *this);
      arm_welcome_timer("could not connect to the server");
    } catch (const Error& e) {
      record(SyncError{e.code(), e.what(), now_ms()});
      schedule_retry();
    } catch (const std::exception& e) {
      record(SyncError{ErrorCode::internal, e.what(), now_ms()});
      schedule_retry();
    }
  }

  void schedule_retry() {
    if (stopping) return;
    std::uniform_real_distribution<double> factor(0.5, 1.0);
    const auto delay = backoff_delay(options, attempt, factor(random));
    ++attempt;
    retry_timer->expires_after(delay);
    retry_timer->async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      update_status([](SyncStatus& s) { ++s.reconnects; });
      connect();
    });
  }

  // The current connection is over: close it and try again later.
  void lose_connection(const std::optional<SyncError>& error) {
    if (error) record(*error);
    if (transport) {
      transport->close();
      transport.reset();
    }
    welcome_timer->cancel();
    if (protocol) protocol->on_closed();
    schedule_retry();
  }

  // Runs protocol work; a failure (the replica's storage, a bug) ends the connection.
  template <class Work>
  void guarded(Work&& work) {
    try {
      work();
    } catch (const Error& e) {
      hold_backoff = true;  // a full disk stays full after a reconnection
      lose_connection(SyncError{e.code(), e.what(), now_ms()});
    } catch (const std::exception& e) {
      hold_backoff = true;
      lose_connection(SyncError{ErrorCode::internal, e.what(), now_ms()});
    }
  }

  void arm_outbox_timer() {
    outbox_timer->expires_after(options.outbox_check);
    outbox_timer->async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      check_outbox();
      arm_outbox_timer();
    });
  }

  void check_outbox() {
    if (!protocol || stopping) return;
    try {
      protocol->check_outbox();
    } catch (const Error& e) {
      outbox_failed(SyncError{e.code(), e.what(), now_ms()});
    } catch (const std::exception& e) {
      outbox_failed(SyncError{ErrorCode::internal, e.what(), now_ms()});
    }
  }

  void outbox_failed(const SyncError& error) {
    // Reading the outbox failed (a busy or broken file): a connection that may hold a push
    // in flight cannot go on; without one, the next check tries again.
    if (transport) {
      hold_backoff = true;
      lose_connection(error);
    } else {
      record(error);
    }
  }

  // ---- SyncTransport::Handler ----
  void on_open() override {
    guarded([&] { protocol->on_open(); });
    // A fresh budget for the welcome, now that the handshake is done.
    if (transport) arm_welcome_timer("the server did not answer the hello");
  }

  // Bounds the time until the server welcomes the replica: the transport's own timeouts
  // cover connecting and the handshake, but not a resolver that hangs or a silent server.
  void arm_welcome_timer(const char* what) {
    welcome_timer->expires_after(options.connect_timeout);
    welcome_timer->async_wait([this, what](const boost::system::error_code& ec) {
      if (ec || stopping || !transport || protocol->welcomed()) return;
      hold_backoff = true;
      lose_connection(SyncError{
          ErrorCode::timeout,
          std::string(what) + " within " + std::to_string(options.connect_timeout.count()) + " ms",
          now_ms()});
    });
  }

  void on_frame(std::string bytes, bool binary) override {
    guarded([&] { protocol->on_frame(bytes, binary); });
  }

  void on_failure(ErrorCode code, std::string message) override {
    transport.reset();
    lose_connection(SyncError{code, std::move(message), now_ms()});
  }

  // ---- SyncProtocol::Delegate ----
  void send(std::string bytes, bool compressed) override {
    if (transport) transport->send(std::move(bytes), compressed);
  }

  void fail(const SyncError&) override {
    // The protocol recorded the error already.
    lose_connection(std::nullopt);
  }

  void retry_later(const SyncError&) override {
    hold_backoff = true;
    lose_connection(std::nullopt);
  }

  void welcomed() override {
    if (!hold_backoff) attempt = 0;
    welcome_timer->cancel();
  }

  void made_progress() override {
    hold_backoff = false;
    attempt = 0;
  }

  void update_status(const std::function<void(SyncStatus&)>& change) override {
    SyncStatus snapshot;
    {
      std::lock_guard lock(status_mutex);
      change(status);
      snapshot = status;
    }
    status_changed.notify_all();
    emit(StatusChanged{std::move(snapshot)});
  }

  void emit(SyncEvent event) override {
    if (!options.on_event) return;
    try {
      options.on_event(event);
    } catch (...) {
      // The app's callback must not take the session down.
    }
  }

  void record(const SyncError& error) {
    update_status([&](SyncStatus& s) { s.last_error = error; });
  }

  std::uint64_t now_ms() const { return clock->now_millis(); }
};

SyncSession::SyncSession(std::filesystem::path replica_file, SyncOptions options)
    : impl_(std::make_unique<Impl>(std::move(replica_file), std::move(options))) {}

SyncSession::~SyncSession() {
  stop();
}

void SyncSession::start() {
  std::lock_guard control(impl_->control_mutex);
  if (impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->status_mutex);
    impl_->status.running = true;
  }
  impl_->status_changed.notify_all();
  {
    std::lock_guard io_lock(impl_->io_mutex);
    impl_->io.restart();
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void SyncSession::stop() {
  std::lock_guard control(impl_->control_mutex);
  if (!impl_->thread.joinable()) return;
  {
    std::lock_guard io_lock(impl_->io_mutex);
    asio::post(impl_->io, [impl = impl_.get()] { impl->shutdown(); });
  }
  impl_->thread.join();
  {
    std::lock_guard lock(impl_->status_mutex);
    impl_->status.running = false;
    impl_->status.connected = false;
    impl_->status.caught_up = false;
    impl_->status.downloading = false;
  }
  impl_->status_changed.notify_all();
}

SyncStatus SyncSession::status() const {
  std::lock_guard lock(impl_->status_mutex);
  return impl_->status;
}

bool SyncSession::wait_until(const std::function<bool(const SyncStatus&)>& condition,
                             std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->status_mutex);
  return impl_->status_changed.wait_for(lock, timeout, [&] { return condition(impl_->status); });
}

bool SyncSession::wait_until_synced(std::chrono::milliseconds timeout) const {
  return wait_until(is_synced, timeout);
}

void SyncSession::nudge() {
  std::lock_guard io_lock(impl_->io_mutex);
  asio::post(impl_->io, [impl = impl_.get()] { impl->check_outbox(); });
}

bool is_synced(const SyncStatus& status) {
  return status.connected && status.caught_up && status.pending_changes == 0;
}

// sync_once gives up after this many connections in a row that could not reach the server.
constexpr std::uint64_t kRefusedAttemptsBeforeGivingUp = 3;

SyncStatus sync_once(const std::filesystem::path& replica_file, SyncOptions options,
                     std::chrono::milliseconds timeout) {
  if (auto address = parse_server_url(options.server_url); !address) {
    SyncStatus status;
    status.last_error =
        SyncError{address.error().code(), address.error().what(), clock_of(options)->now_millis()};
    return status;
  }
  SyncSession session(replica_file, std::move(options));
  session.start();
  session.wait_until(
      [](const SyncStatus& s) {
        // Connections that keep failing to reach the server (refused: nothing listens there)
        // would not succeed by waiting out the timeout. A slow link times out instead, and
        // is waited for.
        const bool refused = !s.connected && s.last_error &&
                             s.last_error->code == ErrorCode::unreachable &&
                             s.reconnects + 1 >= kRefusedAttemptsBeforeGivingUp;
        return is_synced(s) || (s.last_error && is_permanent(s.last_error->code)) || refused;
      },
      timeout);
  SyncStatus status = session.status();
  session.stop();
  return status;
}

}  // namespace libreta::client
