// A real sync server inside the test process: a SQLite store in a temporary directory, the
// sync service, and the transport on 127.0.0.1 (an ephemeral port, kept across restart() so
// that clients reconnect by themselves).
// Not thread-safe: the test's thread drives it; the server runs on its own threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "libreta/server/server.hpp"
#include "libreta/server/store.hpp"
#include "libreta/server/sync_service.hpp"
#include "support/temp_dir.hpp"

namespace libreta::test {

class ServerFixture {
 public:
  // Starts at once. `options.port` is ignored the first time (an ephemeral port is taken).
  // quiet_options(): no logging, and a short shutdown_timeout.
  explicit ServerFixture(server::ServerOptions options = quiet_options(),
                         server::SyncServiceOptions service_options = {});
  ~ServerFixture();
  ServerFixture(const ServerFixture&) = delete;
  ServerFixture& operator=(const ServerFixture&) = delete;

  static server::ServerOptions quiet_options();

  std::uint16_t port() const { return port_; }
  std::string url() const;  // "ws://127.0.0.1:PORT/sync"

  // A new token's secret, its record stored.
  std::string create_token(const std::string& user, server::Role role = server::Role::manager);

  // Stops the server gracefully (Server::stop) and the service; the store stays open.
  void stop();
  bool running() const { return server_ != nullptr; }
  // Stops if running, closes the store, runs `while_down` on the database file (a restore,
  // say), reopens it and starts again on the same port, waiting (with a deadline) for the
  // port to be free.
  void restart(const std::function<void(const std::filesystem::path&)>& while_down = {});
  void close_all_connections();

  server::Store& store() { return *store_; }
  server::SyncService& service() { return *service_; }
  const std::shared_ptr<server::SyncService>& shared_service() { return service_; }
  server::Server& server() { return *server_; }
  const std::filesystem::path& db_path() const { return db_path_; }

 private:
  void start();

  TempDir dir_;
  const std::filesystem::path db_path_;
  server::ServerOptions options_;
  const server::SyncServiceOptions service_options_;
  std::uint16_t port_ = 0;
  // Declared in dependency order: the service refers to the store, the server holds the
  // service; destroyed the other way round.
  std::unique_ptr<server::Store> store_;
  std::shared_ptr<server::SyncService> service_;
  std::unique_ptr<server::Server> server_;
};

}  // namespace libreta::test
