#include "support/server_fixture.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/tokens.hpp"

namespace libreta::test {

namespace {

// How long restart() waits for the old port to be free again.
constexpr std::chrono::seconds kRebindDeadline{10};
constexpr std::chrono::milliseconds kRebindRetry{20};

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

server::ServerOptions ServerFixture::quiet_options() {
  server::ServerOptions options;
  options.log = nullptr;  // no log
  // Synchronous test clients answer no close handshake while the test thread is in stop():
  // waiting the production default for them would only slow the tests down.
  options.shutdown_timeout = std::chrono::milliseconds(300);
  return options;
}

ServerFixture::ServerFixture(server::ServerOptions options,
                             server::SyncServiceOptions service_options)
    : db_path_(dir_.file("server.db")),
      options_(std::move(options)),
      service_options_(std::move(service_options)) {
  options_.address = "127.0.0.1";
  options_.port = 0;
  store_ = server::open_sqlite_store(db_path_);
  start();
}

ServerFixture::~ServerFixture() {
  try {
    stop();
  } catch (...) {
  }
}

std::string ServerFixture::url() const {
  return "ws://127.0.0.1:" + std::to_string(port_) + "/sync";
}

std::string ServerFixture::create_token(const std::string& user, server::Role role) {
  server::NewToken token = server::make_token(user, role, now_ms());
  store_->add_token(token.record);
  return token.secret;
}

void ServerFixture::start() {
  service_ = server::SyncService::create(*store_, service_options_);
  options_.port = port_;
  const auto deadline = std::chrono::steady_clock::now() + kRebindDeadline;
  for (;;) {
    auto server = std::make_unique<server::Server>(options_, service_);
    try {
      server->start();
      server_ = std::move(server);
      break;
    } catch (const boost::system::system_error& e) {
      // The previous server's port may still be held by a closing socket for a moment.
      if (port_ == 0 || e.code() != boost::asio::error::address_in_use ||
          std::chrono::steady_clock::now() >= deadline) {
        service_->stop();
        service_.reset();
        throw;
      }
    }
    std::this_thread::sleep_for(kRebindRetry);
  }
  port_ = server_->port();
}

void ServerFixture::stop() {
  if (server_) {
    server_->stop();
    server_.reset();
  }
  if (service_) {
    service_->stop();
    service_.reset();
  }
}

void ServerFixture::restart(const std::function<void(const std::filesystem::path&)>& while_down) {
  stop();
  store_.reset();
  if (while_down) while_down(db_path_);
  store_ = server::open_sqlite_store(db_path_);
  start();
}

void ServerFixture::close_all_connections() {
  if (server_) server_->close_all_connections();
}

}  // namespace libreta::test
