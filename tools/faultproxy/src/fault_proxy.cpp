// FaultProxy on Boost.Asio: one acceptor, and per connection two pumps (client to server,
// server to client), each reading one chunk, applying the faults in force, writing it, and
// reading the next. Everything but the public methods' hand-off runs on the proxy's thread.
#include "libreta/faultproxy/fault_proxy.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace libreta::faultproxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

const char* fault_kind_name(FaultKind kind) {
  switch (kind) {
    case FaultKind::delay:
      return "delay";
    case FaultKind::cut:
      return "cut";
    case FaultKind::cut_all:
      return "cut_all";
    case FaultKind::mid_chunk_cut:
      return "mid_chunk_cut";
    case FaultKind::black_hole:
      return "black_hole";
    case FaultKind::refuse:
      return "refuse";
    case FaultKind::none:
      return "none";
  }
  return "none";
}

namespace {

// Large enough for a page of rows to cross in a few chunks, small enough that a cut in the
// middle of one usually falls inside a WebSocket frame.
constexpr std::size_t kChunkBytes = 16 * 1024;

// Closes a socket; with `reset`, an RST instead of a FIN (SO_LINGER with a zero timeout).
void close_socket(tcp::socket& socket, bool reset) {
  error_code ignored;
  if (!socket.is_open()) return;
  if (reset) {
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
  } else {
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }
  socket.close(ignored);
}

}  // namespace

class Connection;

struct FaultProxy::Impl : std::enable_shared_from_this<FaultProxy::Impl> {
  explicit Impl(FaultProxyOptions proxy_options)
      : options(std::move(proxy_options)), refuse_timer(io), random(options.seed) {}

  FaultProxyOptions options;
  asio::io_context io{1};
  std::optional<tcp::acceptor> acceptor;
  tcp::endpoint upstream;
  std::thread thread;
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> running{false};

  // ---- The proxy's thread only ----
  std::map<std::uint64_t, std::weak_ptr<Connection>> connections;
  std::uint64_t next_id = 0;
  bool refusing = false;
  asio::steady_timer refuse_timer;
  std::chrono::milliseconds delay{0};
  std::mt19937_64 random;

  mutable std::mutex stats_mutex;
  FaultProxyStats counts;

  template <class Change>
  void count(Change&& change) {
    std::lock_guard lock(stats_mutex);
    change(counts);
  }

  // Runs `work` on the proxy's thread and returns its result; a default result when the
  // proxy is not running.
  template <class Work>
  auto call(Work&& work) -> decltype(work()) {
    using Result = decltype(work());
    if (!running) {
      if constexpr (std::is_void_v<Result>) {
        return;
      } else {
        return Result{};
      }
    }
    std::packaged_task<Result()> task(std::forward<Work>(work));
    auto result = task.get_future();
    asio::post(io, [&task] { task(); });
    return result.get();
  }

  void accept();
  std::shared_ptr<Connection> pick(std::uint64_t pick);
  void close_all(bool reset, bool only_black_holed);
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(FaultProxy::Impl& proxy, tcp::socket client, std::uint64_t id)
      : proxy_(proxy),
        id_(id),
        client_(std::move(client)),
        server_(proxy.io),
        up_{client_, server_, {}, asio::steady_timer(proxy.io), &FaultProxyStats::bytes_up},
        down_{server_, client_, {}, asio::steady_timer(proxy.io), &FaultProxyStats::bytes_down} {}

  void start() {
    server_.async_connect(proxy_.upstream, [self = shared_from_this()](const error_code& ec) {
      if (self->closed_) return;
      if (ec) {
        self->proxy_.count([](FaultProxyStats& s) { ++s.upstream_down; });
        self->close(true);
        return;
      }
      error_code ignored;
      self->server_.set_option(tcp::no_delay(true), ignored);
      self->client_.set_option(tcp::no_delay(true), ignored);
      self->proxy_.count([](FaultProxyStats& s) { ++s.connections; });
      self->pump(self->up_);
      self->pump(self->down_);
    });
  }

  // Closes both sides; `reset` sends RST rather than FIN.
  void close(bool reset) {
    if (closed_) return;
    closed_ = true;
    up_.timer.cancel();
    down_.timer.cancel();
    close_socket(client_, reset);
    close_socket(server_, reset);
    proxy_.connections.erase(id_);
  }

  void black_hole() { black_holed_ = true; }
  bool black_holed() const { return black_holed_; }
  void arm_mid_chunk_cut() { cut_armed_ = true; }

 private:
  struct Direction {
    tcp::socket& from;
    tcp::socket& to;
    std::array<char, kChunkBytes> buffer;
    asio::steady_timer timer;
    std::uint64_t FaultProxyStats::*bytes;  // this direction's count
  };

  void pump(Direction& d) {
    d.from.async_read_some(asio::buffer(d.buffer),
                           [self = shared_from_this(), &d](const error_code& ec, std::size_t n) {
                             if (self->closed_) return;
                             if (ec) {
                               // One side closed or failed: the other learns it the same way.
                               self->close(ec != asio::error::eof);
                               return;
                             }
                             self->forward(d, n);
                           });
  }

  void forward(Direction& d, std::size_t n) {
    if (black_holed_) {
      pump(d);  // read and drop: nothing goes through, nothing is closed
      return;
    }
    if (cut_armed_) {
      cut_armed_ = false;
      const std::size_t part =
          n > 1 ? std::uniform_int_distribution<std::size_t>(1, n - 1)(proxy_.random) : 0;
      proxy_.count([](FaultProxyStats& s) { ++s.mid_chunk_cuts; });
      asio::async_write(
          d.to, asio::buffer(d.buffer.data(), part),
          [self = shared_from_this()](const error_code&, std::size_t) { self->close(false); });
      return;
    }
    if (proxy_.delay.count() > 0) {
      proxy_.count([](FaultProxyStats& s) { ++s.delayed_chunks; });
      d.timer.expires_after(proxy_.delay);
      d.timer.async_wait([self = shared_from_this(), &d, n](const error_code& ec) {
        if (ec || self->closed_) return;
        self->write(d, n);
      });
      return;
    }
    write(d, n);
  }

  void write(Direction& d, std::size_t n) {
    asio::async_write(d.to, asio::buffer(d.buffer.data(), n),
                      [self = shared_from_this(), &d](const error_code& ec, std::size_t written) {
                        if (self->closed_) return;
                        if (ec) {
                          self->close(true);
                          return;
                        }
                        self->proxy_.count([written, &d](FaultProxyStats& s) {
                          s.bytes_forwarded += written;
                          s.*d.bytes += written;
                        });
                        self->pump(d);
                      });
  }

  FaultProxy::Impl& proxy_;
  const std::uint64_t id_;
  tcp::socket client_;
  tcp::socket server_;
  Direction up_;
  Direction down_;
  bool closed_ = false;
  bool black_holed_ = false;
  bool cut_armed_ = false;
};

void FaultProxy::Impl::accept() {
  acceptor->async_accept([self = shared_from_this()](const error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor->is_open()) return;
    if (!ec) {
      if (self->refusing) {
        close_socket(socket, true);
        self->count([](FaultProxyStats& s) { ++s.refused; });
      } else {
        const std::uint64_t id = self->next_id++;
        auto connection = std::make_shared<Connection>(*self, std::move(socket), id);
        self->connections.emplace(id, connection);
        connection->start();
      }
    }
    self->accept();
  });
}

std::shared_ptr<Connection> FaultProxy::Impl::pick(std::uint64_t pick) {
  std::vector<std::shared_ptr<Connection>> open;
  for (const auto& [id, weak] : connections) {
    if (auto connection = weak.lock()) open.push_back(std::move(connection));
  }
  if (open.empty()) return nullptr;
  return open[pick % open.size()];
}

void FaultProxy::Impl::close_all(bool reset, bool only_black_holed) {
  std::vector<std::shared_ptr<Connection>> open;
  for (const auto& [id, weak] : connections) {
    if (auto connection = weak.lock()) open.push_back(std::move(connection));
  }
  for (const auto& connection : open) {
    if (!only_black_holed || connection->black_holed()) connection->close(reset);
  }
}

FaultProxy::FaultProxy(FaultProxyOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {}

FaultProxy::~FaultProxy() {
  stop();
}

void FaultProxy::start() {
  if (impl_->running) return;
  auto& impl = *impl_;
  impl.upstream = tcp::endpoint(asio::ip::make_address(impl.options.upstream_address),
                                impl.options.upstream_port);
  const tcp::endpoint local(asio::ip::make_address(impl.options.listen_address),
                            impl.options.listen_port);
  impl.acceptor.emplace(impl.io);
  impl.acceptor->open(local.protocol());
  impl.acceptor->set_option(asio::socket_base::reuse_address(true));
  impl.acceptor->bind(local);
  impl.acceptor->listen(asio::socket_base::max_listen_connections);
  impl.port = impl.acceptor->local_endpoint().port();
  impl.accept();
  impl.running = true;
  impl.thread = std::thread([&impl] { impl.io.run(); });
}

std::uint16_t FaultProxy::port() const {
  return impl_->port;
}

void FaultProxy::stop() {
  auto& impl = *impl_;
  if (!impl.running) return;
  impl.call([&impl] {
    error_code ignored;
    impl.acceptor->close(ignored);
    impl.refuse_timer.cancel();
    impl.close_all(true, false);
  });
  impl.running = false;
  if (impl.thread.joinable()) impl.thread.join();
}

void FaultProxy::set_delay(std::chrono::milliseconds delay) {
  impl_->call([this, delay] { impl_->delay = delay; });
}

std::size_t FaultProxy::cut_all() {
  return impl_->call([this] {
    const std::size_t open = impl_->connections.size();
    impl_->close_all(true, false);
    impl_->count([open](FaultProxyStats& s) { s.cuts += open; });
    return open;
  });
}

bool FaultProxy::cut(std::uint64_t pick) {
  return impl_->call([this, pick] {
    auto connection = impl_->pick(pick);
    if (!connection) return false;
    connection->close(true);
    impl_->count([](FaultProxyStats& s) { ++s.cuts; });
    return true;
  });
}

bool FaultProxy::cut_mid_chunk(std::uint64_t pick) {
  return impl_->call([this, pick] {
    auto connection = impl_->pick(pick);
    if (!connection) return false;
    connection->arm_mid_chunk_cut();
    return true;
  });
}

bool FaultProxy::black_hole(std::uint64_t pick) {
  return impl_->call([this, pick] {
    auto connection = impl_->pick(pick);
    if (!connection || connection->black_holed()) return false;
    connection->black_hole();
    impl_->count([](FaultProxyStats& s) { ++s.black_holes; });
    return true;
  });
}

void FaultProxy::set_refusing(bool refusing) {
  impl_->call([this, refusing] {
    impl_->refusing = refusing;
    impl_->refuse_timer.cancel();
  });
}

void FaultProxy::refuse_for(std::chrono::milliseconds duration) {
  impl_->call([this, duration] {
    auto& impl = *impl_;
    impl.refusing = true;
    impl.refuse_timer.expires_after(duration);
    impl.refuse_timer.async_wait([self = impl_](const error_code& ec) {
      if (!ec) self->refusing = false;
    });
  });
}

void FaultProxy::heal() {
  impl_->call([this] {
    auto& impl = *impl_;
    impl.delay = std::chrono::milliseconds(0);
    impl.refusing = false;
    impl.refuse_timer.cancel();
    impl.close_all(true, true);
  });
}

FaultKind FaultProxy::random_fault(std::mt19937_64& random) {
  const auto roll = std::uniform_int_distribution<int>(0, 99)(random);
  const std::uint64_t pick = random();
  if (roll < 20) {
    // A slow network for a while: on when off, off when on.
    const auto delay =
        std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 300)(random));
    const bool slow = impl_->call([this] { return impl_->delay.count() > 0; });
    set_delay(slow ? std::chrono::milliseconds(0) : delay);
    return FaultKind::delay;
  }
  if (roll < 45) return cut(pick) ? FaultKind::cut : FaultKind::none;
  if (roll < 70) return cut_mid_chunk(pick) ? FaultKind::mid_chunk_cut : FaultKind::none;
  if (roll < 82) return black_hole(pick) ? FaultKind::black_hole : FaultKind::none;
  if (roll < 94) {
    refuse_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 2000)(random)));
    return FaultKind::refuse;
  }
  cut_all();
  return FaultKind::cut_all;
}

std::size_t FaultProxy::open_connections() const {
  return impl_->call([this] {
    std::size_t open = 0;
    for (const auto& [id, weak] : impl_->connections) open += weak.expired() ? 0 : 1;
    return open;
  });
}

FaultProxyStats FaultProxy::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->counts;
}

}  // namespace libreta::faultproxy
