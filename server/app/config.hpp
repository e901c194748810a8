// The server's configuration: every setting of `libreta-server serve`, its default, the TOML
// file that may set it (`--config FILE`) and the flags that override the file. Each setting
// is declared once (config.cpp's table), which gives the file's keys, their checks, the
// documented text of `--print-config`, and which settings SIGHUP reloads.
// Plain values; the functions are pure apart from reading the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libreta/server/server_options.hpp"
#include "libreta/server/sync_service.hpp"

namespace libreta::server::app {

struct ServerConfig {
  // [server]
  std::string listen = "127.0.0.1:8080";
  std::int64_t threads = 0;  // 0: one per core
  bool allow_plain = false;
  // [store]
  std::string db = "./libreta-server.db";
  std::int64_t max_size_mib = 0;
  // [tls]
  std::string tls_cert, tls_key;
  // [log]
  std::string log_format = "logfmt";
  std::string log_level = "info";
  std::int64_t slow_commit_ms = 1000;
  // [metrics]
  bool metrics_enabled = true;
  std::vector<std::string> metrics_allow = {"127.0.0.0/8", "::1"};
  std::string metrics_token_sha256;
  // [office]
  std::vector<std::string> office_hosts;
  // [sync]
  std::int64_t page_cache_mib = 32;
  std::int64_t max_group_changes = 10'000;
  std::int64_t page_rows = 1000;
  std::int64_t writer_stall_seconds = 30;
  std::int64_t max_clock_skew_seconds = 600;
  std::int64_t token_check_ms = 1000;
  // [limits]: per token
  std::int64_t max_connections_per_token = 8;
  std::int64_t max_messages_per_second = 100;
  std::int64_t message_burst = 200;
  std::int64_t max_push_changes = 10'000;
  std::int64_t max_queued_changes_per_token = 20'000;
  std::int64_t max_changes_per_second_per_token = 10'000;
  std::int64_t change_burst_per_token = 50'000;
  std::int64_t max_kib_per_second_per_token = 4096;
  std::int64_t kib_burst_per_token = 32 * 1024;
  // [limits]: per stored row
  std::int64_t max_unknown_fields_per_row = 32;
  std::int64_t max_unknown_kib_per_row = 64;
  std::int64_t max_keys_per_row = 1024;
  // [limits]: per connection and server-wide
  std::int64_t max_message_kib = 8 * 1024;
  std::int64_t max_hello_kib = 16;
  std::int64_t max_anonymous_connections = 1024;
  std::int64_t max_incoming_mib = 256;
  std::int64_t max_queued_mib_per_connection = 64;
  std::int64_t handshake_timeout_seconds = 10;
  std::int64_t hello_timeout_seconds = 10;
  std::int64_t idle_timeout_seconds = 60;
  std::int64_t shutdown_timeout_seconds = 5;
};

// A problem of a config file: where (line and column from 1; 0 when not known) and what.
struct ConfigProblem {
  int line = 0, column = 0;
  std::string message;
};

struct ConfigLoad {
  ServerConfig config;
  std::vector<ConfigProblem> problems;  // empty: the file is good
};

// Reads `file` over `base` (the defaults): every key must be known and of its type and range,
// every problem is reported (and the settings it concerns keep their base value).
ConfigLoad load_config(const std::string& file, const ServerConfig& base = {});
// A listen address: "HOST:PORT" or "[IPv6]:PORT", HOST numeric or "localhost" (given back
// as 127.0.0.1); nullopt when it is not of that form.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
std::optional<ListenAddress> parse_listen(const std::string& text);

// The checks on values a flag may set too (listen's form, TLS files given together, log
// names): problems without a line.
std::vector<ConfigProblem> check_values(const ServerConfig& config);

// The whole configuration as a TOML file, each setting with its description (and, when
// `documented`, whether SIGHUP reloads it): what --print-config prints, and the packaged
// default.
std::string config_to_toml(const ServerConfig& config, bool documented);

// `current` with the settings SIGHUP reloads taken from `next`: what a reload applies.
ServerConfig with_reloadable(const ServerConfig& current, const ServerConfig& next);
// The keys ("section.key") whose values differ between `a` and `b` and that only a restart
// applies.
std::vector<std::string> changed_restart_keys(const ServerConfig& a, const ServerConfig& b);

// What the server's parts take of it (threads resolved: 0 is one per core).
ServerOptions server_options(const ServerConfig& config);
SyncServiceOptions sync_service_options(const ServerConfig& config);
MetricsAccess metrics_access(const ServerConfig& config);

}  // namespace libreta::server::app
