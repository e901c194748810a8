// `libreta-server serve`: the configuration, the store, the sync service and the server, until
// SIGINT or SIGTERM; SIGHUP reloads what can change while serving. And `config check|default`.

#include <charconv>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <pthread.h>

#include <boost/asio/ip/address.hpp>
#include <boost/system/system_error.hpp>

#include "commands.hpp"
#include "libreta/server/server.hpp"
#include "libreta/server/sqlite_backup.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/sync_service.hpp"

namespace libreta::server::app {

namespace {

std::string host_port(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Whether `host` (numeric, as parse_listen returns it) is a loopback address; false for an
// address that does not parse (Server::start reports that one).
bool is_loopback_host(const std::string& host) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  return address.is_loopback();
}

const char* signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal";
  }
}

// "FILE:LINE:COLUMN: message" (or "FILE: message" for a problem of the whole).
std::string describe(const std::string& file, const ConfigProblem& problem) {
  std::string text = file.empty() ? "configuration" : file;
  if (problem.line > 0) {
    text += ":" + std::to_string(problem.line);
    if (problem.column > 0) text += ":" + std::to_string(problem.column);
  }
  return text + ": " + problem.message;
}

// The configuration the file and the flags make, or the problems that stop it.
ConfigLoad configure(const ServeArgs& args) {
  ConfigLoad load;
  if (!args.config_file.empty()) load = load_config(args.config_file);
  if (!load.problems.empty()) return load;
  if (args.apply_flags) args.apply_flags(load.config);
  load.problems = check_values(load.config);
  return load;
}

// SIGHUP: the file read again, the flags applied over it again; what can change while serving
// changes, the rest waits for a restart (and the log says so). A file with problems changes
// nothing.
void reload(const ServeArgs& args, ServerConfig& current, Log& log, Server& server) {
  ConfigLoad load = configure(args);
  if (!load.problems.empty()) {
    log.error("config_reload_failed",
              {{"problem", describe(args.config_file, load.problems.front())},
               {"problems", load.problems.size()},
               {"msg", "nothing changed; fix the file and send SIGHUP again"}});
    return;
  }
  const ServerConfig& next = load.config;
  log.set_format(*parse_log_format(next.log_format));
  log.set_level(*parse_log_level(next.log_level));
  bool metrics_reloaded = false;
  try {
    server.set_metrics_access(metrics_access(next));
    metrics_reloaded = true;
  } catch (const std::exception& e) {
    log.error("config_reload_failed", {{"problem", e.what()}});
  }
  bool tls_reloaded = false;
  if (!current.tls_cert.empty()) {
    // Loaded again even when the paths are the same: a renewed certificate replaces the
    // files in place.
    try {
      server.reload_tls(next.tls_cert, next.tls_key);
      tls_reloaded = true;
    } catch (const std::exception& e) {
      log.error("tls_reload_failed",
                {{"error", e.what()}, {"msg", "new connections keep the previous certificate"}});
    }
  }
  const auto restart = changed_restart_keys(current, next);
  std::string pending;
  for (const auto& key : restart) pending += (pending.empty() ? "" : ",") + key;
  if (!pending.empty()) {
    log.warn("config_needs_restart",
             {{"keys", pending}, {"msg", "these settings change only with a restart"}});
  }
  // What now applies: the reloadable settings, but those whose reload failed as they were.
  ServerConfig applied = with_reloadable(current, next);
  if (!metrics_reloaded) {
    applied.metrics_enabled = current.metrics_enabled;
    applied.metrics_allow = current.metrics_allow;
    applied.metrics_token_sha256 = current.metrics_token_sha256;
  }
  if (!tls_reloaded) {
    applied.tls_cert = current.tls_cert;
    applied.tls_key = current.tls_key;
  }
  current = applied;
  log.info("config_reloaded", {{"tls", tls_reloaded}, {"restart_needed", !pending.empty()}});
}

}  // namespace

int run_serve(const ServeArgs& args) {
  ConfigLoad load = configure(args);
  if (!load.problems.empty()) {
    for (const auto& problem : load.problems)
      fail(kExitInvalidInput, describe(args.config_file, problem));
    return kExitInvalidInput;
  }
  ServerConfig config = load.config;
  if (args.print_config) {
    std::cout << config_to_toml(config, /*documented=*/true);
    return kExitOk;
  }
  const auto listen = parse_listen(config.listen);
  if (!listen) {
    return fail(kExitInvalidInput,
                "listen must be HOST:PORT (e.g. 127.0.0.1:8080), not \"" + config.listen + "\"");
  }
  const bool tls = !config.tls_cert.empty();
  // Checked before the database is opened; Server::start() checks it again.
  if (!tls && !config.allow_plain && !is_loopback_host(listen->host)) {
    return fail(kExitInvalidInput,
                "refusing to serve plain ws:// on " + config.listen +
                    ", which is not a loopback address: tokens and customer data would cross "
                    "the network unencrypted. Give --tls-cert FILE --tls-key FILE ([tls] cert "
                    "and key in the configuration), or --allow-plain ([server] allow_plain: "
                    "e.g. behind a TLS proxy on this machine)");
  }
  auto log = std::make_shared<Log>(*parse_log_format(config.log_format),
                                   *parse_log_level(config.log_level));

  // SIGINT, SIGTERM and SIGHUP are blocked before any thread starts, so every thread
  // inherits the mask and the signals wait for sigwait() below instead of killing the process
  // mid-commit.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  return guarded([&]() -> int {
    SqliteStoreOptions store_options;
    store_options.max_bytes = static_cast<std::uint64_t>(config.max_size_mib) << 20;
    // Held until the store is closed: a second server, or a restore, on this file is refused.
    ServingLock serving(config.db);
    std::unique_ptr<Store> store = open_sqlite_store(config.db, store_options);
    SyncServiceOptions service_options = sync_service_options(config);
    service_options.log = log;
    std::shared_ptr<SyncService> service = SyncService::create(*store, service_options);

    ServerOptions options = server_options(config);
    options.address = listen->host;
    options.port = listen->port;
    options.log = log;
    Server server(options, service);
    try {
      server.start();
    } catch (const std::invalid_argument& e) {
      // A certificate or key that cannot be loaded (the message names the file).
      service->stop();
      return fail(kExitInvalidInput, e.what());
    } catch (const boost::system::system_error& e) {
      const bool bad_address = e.code() == boost::system::errc::invalid_argument;
      service->stop();
      if (bad_address) {
        return fail(kExitInvalidInput, "cannot listen on " + config.listen +
                                           ": HOST must be an IP address or localhost");
      }
      return fail(kExitNetwork, "cannot listen on " + config.listen + ": " + e.code().message());
    }

    const std::string bound = host_port(listen->host, server.port());
    const std::string url = std::string(tls ? "wss://" : "ws://") + bound + "/sync";
    log->info("listening", {{"msg", "listening on " + url},
                            {"listen", bound},
                            {"tls", tls},
                            {"db", config.db},
                            {"threads", options.threads},
                            {"config", args.config_file}});

    int signal = 0;
    for (;;) {
      if (sigwait(&signals, &signal) != 0) continue;
      if (signal != SIGHUP) break;
      log->info("reloading", {{"signal", "SIGHUP"}});
      reload(args, config, *log, server);
    }
    log->info("stopping", {{"signal", signal_name(signal)}});
    server.stop();
    log->info("stopped");
    return kExitOk;
  });
}

int run_config_check(const std::string& file) {
  ConfigLoad load = load_config(file);
  if (load.problems.empty()) {
    std::cout << file << ": ok" << std::endl;
    return kExitOk;
  }
  for (const auto& problem : load.problems) fail(kExitInvalidInput, describe(file, problem));
  return kExitInvalidInput;
}

int run_print_default_config() {
  std::cout << config_to_toml(ServerConfig{}, /*documented=*/true);
  return kExitOk;
}

}  // namespace libreta::server::app
