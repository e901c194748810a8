#include "shared_state.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "websocket_session.hpp"

namespace libreta::server {

namespace {

OfficeOptions office_options(bool tls) {
  OfficeOptions options;
  options.tls = tls;  // the hosts come once the port is known (Server::start)
  return options;
}

}  // namespace

std::shared_ptr<const MetricsAccessRules> make_metrics_access(const MetricsAccess& access) {
  auto rules = std::make_shared<MetricsAccessRules>();
  rules->enabled = access.enabled;
  rules->allow = AddressFilter::parse(access.allow);
  rules->token_sha256 = access.token_sha256;
  return rules;
}

SharedState::SharedState(ServerOptions options, std::shared_ptr<SyncService> service,
                         std::shared_ptr<boost::asio::ssl::context> tls_context)
    : options_(std::move(options)),
      service_(std::move(service)),
      log_(options_.log ? options_.log
                        : std::make_shared<Log>(LogFormat::logfmt, LogLevel::error,
                                                [](std::string_view) {})),
      rest_api_(service_),
      office_(service_, office_options(tls_context != nullptr)),
      tls_context_(std::move(tls_context)),
      metrics_access_(make_metrics_access(options_.metrics)) {}

void SharedState::run_blocking(std::function<void()> task) {
  boost::asio::post(blocking_, std::move(task));
}

void SharedState::join_blocking() {
  blocking_.join();
}

std::shared_ptr<boost::asio::ssl::context> SharedState::tls_context() const {
  std::lock_guard lock(settings_mutex_);
  return tls_context_;
}

void SharedState::set_tls_context(std::shared_ptr<boost::asio::ssl::context> context) {
  std::lock_guard lock(settings_mutex_);
  tls_context_ = std::move(context);
}

std::shared_ptr<const MetricsAccessRules> SharedState::metrics_access() const {
  std::lock_guard lock(settings_mutex_);
  return metrics_access_;
}

void SharedState::set_metrics_access(std::shared_ptr<const MetricsAccessRules> rules) {
  std::lock_guard lock(settings_mutex_);
  metrics_access_ = std::move(rules);
}

bool SharedState::join(const std::shared_ptr<WebsocketSession>& session) {
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  sessions_.emplace(session.get(), session);
  return true;
}

void SharedState::leave(const WebsocketSession* session) {
  std::lock_guard lock(mutex_);
  if (sessions_.erase(session) > 0 && sessions_.empty()) emptied_.notify_all();
}

std::size_t SharedState::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

bool SharedState::admit_anonymous() {
  std::size_t current = anonymous_.load(std::memory_order_relaxed);
  do {
    if (current >= options_.max_anonymous_connections) return false;
  } while (!anonymous_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  return true;
}

void SharedState::release_anonymous() {
  anonymous_.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t SharedState::anonymous_count() const {
  return anonymous_.load(std::memory_order_relaxed);
}

bool SharedState::reserve_incoming(std::size_t bytes) {
  std::size_t current = incoming_bytes_.load(std::memory_order_relaxed);
  do {
    if (bytes > options_.max_incoming_bytes - std::min(current, options_.max_incoming_bytes)) {
      return false;
    }
  } while (
      !incoming_bytes_.compare_exchange_weak(current, current + bytes, std::memory_order_relaxed));
  return true;
}

void SharedState::release_incoming(std::size_t bytes) {
  incoming_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
}

std::size_t SharedState::incoming_bytes() const {
  return incoming_bytes_.load(std::memory_order_relaxed);
}

void SharedState::begin_stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
}

bool SharedState::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

template <class Visit>
void SharedState::for_each_session(Visit visit) {
  // Copies under the lock, calls after releasing it: a session's close may need the lock
  // (it leaves the registry), and must not wait behind another session's.
  std::vector<std::weak_ptr<WebsocketSession>> copies;
  {
    std::lock_guard lock(mutex_);
    copies.reserve(sessions_.size());
    for (const auto& entry : sessions_) copies.push_back(entry.second);
  }
  for (const auto& weak : copies) {
    if (auto session = weak.lock()) visit(*session);
  }
}

void SharedState::close_all_gracefully() {
  for_each_session([](WebsocketSession& session) { session.close_going_away(); });
}

void SharedState::keep_alive() {
  const auto now = std::chrono::steady_clock::now();
  for_each_session([now](WebsocketSession& session) { session.keep_alive(now); });
}

void SharedState::drop_all() {
  for_each_session([](WebsocketSession& session) { session.drop(); });
}

bool SharedState::wait_until_empty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return emptied_.wait_until(lock, deadline, [this] { return sessions_.empty(); });
}

}  // namespace libreta::server
