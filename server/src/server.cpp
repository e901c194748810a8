#include "libreta/server/server.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include "libreta/web/tls_context.hpp"
#include "listener.hpp"
#include "shared_state.hpp"

namespace libreta::server {

namespace net = boost::asio;

namespace {

// After the graceful close gave up and the sessions were dropped: their handlers only have
// to observe the closed sockets.
constexpr std::chrono::milliseconds kDropTimeout{1000};

bool is_loopback(const net::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).is_loopback();
  }
  return address.is_loopback();
}

// The Host values the office answers to: this machine's loopback names, the address listened
// on when it is one address, and the configured names; a name without a port takes `port`.
std::set<std::string> office_hosts(const ServerOptions& options, std::uint16_t port) {
  std::vector<std::string> names = {"localhost", "127.0.0.1", "[::1]"};
  const bool any = options.address == "0.0.0.0" || options.address == "::";
  if (!any) {
    names.push_back(options.address.find(':') != std::string::npos ? "[" + options.address + "]"
                                                                   : options.address);
  }
  names.insert(names.end(), options.office_hosts.begin(), options.office_hosts.end());
  std::set<std::string> hosts;
  for (const auto& name : names) {
    const bool has_port =
        !name.empty() && name.back() != ']' &&
        name.find(':', name.rfind(']') == std::string::npos ? 0 : name.rfind(']')) !=
            std::string::npos;
    hosts.insert(has_port ? name : name + ":" + std::to_string(port));
    // Browsers leave out the scheme's default port.
    if (!has_port && (port == 443 || port == 80)) hosts.insert(name);
  }
  return hosts;
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions server_options, std::shared_ptr<SyncService> sync_service)
      : options(std::move(server_options)), service(std::move(sync_service)) {}

  void run_thread();
  void arm_keep_alive();

  const ServerOptions options;
  const std::shared_ptr<SyncService> service;

  // start() and stop() one at a time.
  std::mutex lifecycle_mutex;
  bool started = false;
  bool stopped = false;

  // Guards the existence of ioc against close_all_connections(): stop() destroys it (and
  // with it the handlers of sessions still open) after the threads are joined.
  std::mutex ioc_mutex;
  std::unique_ptr<net::io_context> ioc;
  std::shared_ptr<SharedState> state;
  std::shared_ptr<Listener> listener;
  // Ticks every eighth of the idle timeout (keep_alive_period), on the io_context.
  std::unique_ptr<net::steady_timer> keep_alive_timer;
  std::vector<std::thread> threads;
  std::atomic<std::uint16_t> port{0};
};

void Server::Impl::run_thread() {
  // A thread entry: nothing escapes. A handler that throws is logged and the loop goes on.
  for (;;) {
    try {
      ioc->run();
      return;
    } catch (const std::exception& e) {
      state->log().error("handler_failed", {{"error", e.what()}});
    } catch (...) {
      state->log().error("handler_failed", {{"error", "unknown"}});
    }
  }
}

namespace {

// How often the keep-alive looks at the connections. A silent connection is pinged between
// a half and five eighths of the idle timeout, and dropped between all and nine eighths of it.
std::chrono::milliseconds keep_alive_period(std::chrono::milliseconds idle_timeout) {
  return std::max(idle_timeout / 8, std::chrono::milliseconds(1));
}

}  // namespace

void Server::Impl::arm_keep_alive() {
  keep_alive_timer->expires_after(keep_alive_period(options.idle_timeout));
  keep_alive_timer->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    state->keep_alive();
    arm_keep_alive();
  });
}

Server::Server(ServerOptions options, std::shared_ptr<SyncService> service)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(service))) {
  if (!impl_->service) throw std::invalid_argument("Server: no sync service");
}

Server::~Server() {
  try {
    stop();
  } catch (...) {
  }
}

void Server::start() {
  Impl& impl = *impl_;
  std::lock_guard lifecycle(impl.lifecycle_mutex);
  if (impl.started || impl.stopped) throw std::logic_error("Server::start called twice");
  const int thread_count = std::max(1, impl.options.threads);
  const net::ip::tcp::endpoint endpoint(net::ip::make_address(impl.options.address),
                                        impl.options.port);
  auto tls_context = web::make_tls_context(impl.options.tls_cert_file, impl.options.tls_key_file);
  if (!tls_context && !impl.options.allow_plain && !is_loopback(endpoint.address())) {
    throw std::invalid_argument(
        "refusing to serve plain ws:// on " + impl.options.address +
        ", which is not a loopback address: tokens and customer data would cross the network "
        "unencrypted. Configure a TLS certificate and key, or allow plain connections "
        "explicitly");
  }
  auto ioc = std::make_unique<net::io_context>(thread_count);
  auto state = std::make_shared<SharedState>(impl.options, impl.service, std::move(tls_context));
  // Throws if it cannot bind.
  auto listener = std::make_shared<Listener>(*ioc, endpoint, state);
  {
    std::lock_guard lock(impl.ioc_mutex);
    impl.ioc = std::move(ioc);
  }
  impl.state = std::move(state);
  impl.listener = std::move(listener);
  impl.port = impl.listener->port();
  impl.state->office().set_allowed_hosts(office_hosts(impl.options, impl.port));
  impl.listener->run();
  if (impl.options.idle_timeout.count() > 0) {
    impl.keep_alive_timer = std::make_unique<net::steady_timer>(*impl.ioc);
    impl.arm_keep_alive();
  }
  impl.threads.reserve(static_cast<std::size_t>(thread_count));
  for (int i = 0; i < thread_count; ++i) impl.threads.emplace_back([&impl] { impl.run_thread(); });
  impl.started = true;
}

std::uint16_t Server::port() const {
  return impl_->port;
}

void Server::close_all_connections() {
  std::lock_guard lock(impl_->ioc_mutex);
  if (impl_->ioc && impl_->state) impl_->state->drop_all();
}

void Server::reload_tls(const std::string& cert_file, const std::string& key_file) {
  std::lock_guard lifecycle(impl_->lifecycle_mutex);
  if (!impl_->started || impl_->stopped) throw std::logic_error("Server::reload_tls: not running");
  if (!impl_->state->tls_context()) {
    throw std::invalid_argument("this server serves plain ws://: restart it to turn TLS on");
  }
  if (cert_file.empty() || key_file.empty()) {
    throw std::invalid_argument(
        "this server serves wss://: a certificate and its key are needed (restart it to turn "
        "TLS off)");
  }
  impl_->state->set_tls_context(web::make_tls_context(cert_file, key_file));
}

void Server::set_metrics_access(const MetricsAccess& access) {
  std::lock_guard lifecycle(impl_->lifecycle_mutex);
  if (!impl_->started || impl_->stopped) {
    throw std::logic_error("Server::set_metrics_access: not running");
  }
  impl_->state->set_metrics_access(make_metrics_access(access));
}

void Server::stop() {
  Impl& impl = *impl_;
  std::lock_guard lifecycle(impl.lifecycle_mutex);
  if (impl.stopped) return;
  impl.stopped = true;
  if (!impl.started) return;

  impl.state->begin_stop();
  impl.listener->stop();
  // The sessions are still running: the acknowledgements of the last group commit, and the
  // service's shutting_down notices, reach their queues and go out before the close frames.
  try {
    impl.service->stop();
  } catch (const std::exception& e) {
    impl.state->log().error("service_stop_failed", {{"error", e.what()}});
  }
  // The API's requests waiting on the writer have their answers now; they go out before the
  // connections close.
  impl.state->join_blocking();
  impl.state->close_all_gracefully();
  const auto deadline = std::chrono::steady_clock::now() + impl.options.shutdown_timeout;
  if (!impl.state->wait_until_empty(deadline)) {
    impl.state->log().warn("shutdown_timeout", {{"sessions", impl.state->session_count()}});
    impl.state->drop_all();
    impl.state->wait_until_empty(std::chrono::steady_clock::now() + kDropTimeout);
  }

  impl.ioc->stop();
  for (auto& thread : impl.threads) thread.join();
  impl.threads.clear();
  impl.listener.reset();
  // Its wait, cancelled, stays queued in the stopped io_context and is destroyed with it.
  impl.keep_alive_timer.reset();
  // Destroys the handlers still queued (idle HTTP connections, sessions that would not
  // close), closing their sockets, on this thread.
  std::unique_ptr<net::io_context> ioc;
  {
    std::lock_guard lock(impl.ioc_mutex);
    ioc = std::move(impl.ioc);
  }
  ioc.reset();
}

}  // namespace libreta::server
