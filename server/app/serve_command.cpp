// `libreta-server serve`: the store, the sync service and the server, until SIGINT or SIGTERM.

#include <charconv>
#include <csignal>
#include <memory>
#include <optional>
#include <string>

#include <pthread.h>

#include <boost/asio/ip/address.hpp>
#include <boost/system/system_error.hpp>

#include "commands.hpp"
#include "libreta/server/server.hpp"
#include "libreta/server/sqlite_store.hpp"
#include "libreta/server/sync_service.hpp"

namespace libreta::server::app {

namespace {

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

// "HOST:PORT" or "[IPv6]:PORT"; HOST is a numeric address, or "localhost".
std::optional<ListenAddress> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  const std::string port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return std::nullopt;
  }
  return ListenAddress{host, static_cast<std::uint16_t>(port)};
}

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
    default:
      return "signal";
  }
}

}  // namespace

int run_serve(const ServeArgs& args) {
  const auto listen = parse_listen(args.listen);
  if (!listen) {
    return fail(kExitInvalidInput,
                "--listen must be HOST:PORT (e.g. 127.0.0.1:8080), not \"" + args.listen + "\"");
  }
  if (args.threads < 1 || args.threads > 256) {
    return fail(kExitInvalidInput, "--threads must be between 1 and 256");
  }
  if (args.tls_cert.empty() != args.tls_key.empty()) {
    return fail(kExitInvalidInput, "--tls-cert and --tls-key go together");
  }
  const bool tls = !args.tls_cert.empty();
  // Checked before the database is opened; Server::start() checks it again.
  if (!tls && !args.allow_plain && !is_loopback_host(listen->host)) {
    return fail(kExitInvalidInput,
                "refusing to serve plain ws:// on " + args.listen +
                    ", which is not a loopback address: tokens and customer data would cross "
                    "the network unencrypted. Give --tls-cert FILE --tls-key FILE, or "
                    "--allow-plain (e.g. behind a TLS proxy on this machine)");
  }

  // SIGINT and SIGTERM are blocked before any thread starts, so every thread inherits the
  // mask and the signals wait for sigwait() below instead of killing the process mid-commit.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  return guarded([&]() -> int {
    std::unique_ptr<Store> store = open_sqlite_store(args.db);
    SyncServiceOptions service_options;
    service_options.page_cache_bytes = args.page_cache_mib * 1024 * 1024;
    service_options.max_group_changes = args.max_group_changes;
    // Refusals and hostile acts go to the same log as the transport's events.
    service_options.log = [](const std::string& line) { log_line(line); };
    std::shared_ptr<SyncService> service = SyncService::create(*store, service_options);

    ServerOptions options;
    options.address = listen->host;
    options.port = listen->port;
    options.threads = args.threads;
    options.tls_cert_file = args.tls_cert;
    options.tls_key_file = args.tls_key;
    options.allow_plain = args.allow_plain;
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
        return fail(kExitInvalidInput, "cannot listen on " + args.listen +
                                           ": HOST must be an IP address or localhost");
      }
      return fail(kExitNetwork, "cannot listen on " + args.listen + ": " + e.code().message());
    }

    const std::string bound = host_port(listen->host, server.port());
    const std::string url = std::string(tls ? "wss://" : "ws://") + bound + "/sync";
    log_line("event=listening msg=" + quote("listening on " + url) + " listen=" + bound +
             " tls=" + (tls ? "on" : "off") + " db=" + quote(args.db) +
             " threads=" + std::to_string(args.threads));

    int signal = 0;
    while (sigwait(&stop_signals, &signal) != 0) {
    }
    log_line(std::string("event=stopping signal=") + signal_name(signal));
    server.stop();
    log_line("event=stopped");
    return kExitOk;
  });
}

}  // namespace libreta::server::app
