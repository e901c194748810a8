#include "config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>
#include <variant>

#include <toml++/toml.h>

namespace libreta::server::app {
namespace {

using Text = std::string ServerConfig::*;
using Flag = bool ServerConfig::*;
using Number = std::int64_t ServerConfig::*;
using List = std::vector<std::string> ServerConfig::*;

struct Setting {
  Setting(std::string_view section_name, std::string_view key_name,
          std::variant<Text, Flag, Number, List> config_member, std::string_view description,
          bool reloaded = false, std::int64_t minimum = 0, std::int64_t maximum = 0,
          std::vector<std::string_view> values = {})
      : section(section_name),
        key(key_name),
        member(config_member),
        help(description),
        reloadable(reloaded),
        min(minimum),
        max(maximum),
        choices(std::move(values)) {}

  std::string_view section, key;
  std::variant<Text, Flag, Number, List> member;
  std::string_view help;
  bool reloadable;                        // SIGHUP applies it
  std::int64_t min, max;                  // a number's range
  std::vector<std::string_view> choices;  // a text's values, when it has a fixed set
};

constexpr std::int64_t kMaxCount = 1'000'000'000;

// Every setting, in the order --print-config writes them. The help is one sentence or two:
// the packaged file shows it above each key.
const std::vector<Setting>& settings() {
  static const std::vector<Setting> all = {
      {"server", "listen", &ServerConfig::listen,
       "Address and port to listen on: HOST:PORT or [IPv6]:PORT. A plain server (no [tls]) "
       "listens only on a loopback address unless allow_plain is set."},
      {"server", "threads", &ServerConfig::threads, "Network threads; 0: one per core.", false, 0,
       256},
      {"server", "allow_plain", &ServerConfig::allow_plain,
       "Serve plain ws:// on an address that is not loopback (behind a TLS proxy on this "
       "machine): tokens and data then travel unencrypted up to the proxy."},

      {"store", "db", &ServerConfig::db,
       "The SQLite database file (created if absent). Keep it on a local disk."},
      {"store", "max_size_mib", &ServerConfig::max_size_mib,
       "Largest size of the database in MiB; pushes beyond it are refused with storage_full. "
       "0: no limit but the disk.",
       false, 0, 1'000'000'000},

      {"tls", "cert", &ServerConfig::tls_cert,
       "PEM certificate chain, leaf first. With key set, the server speaks only wss:// and "
       "https; a renewed certificate is loaded without dropping a connection.",
       true},
      {"tls", "key", &ServerConfig::tls_key, "PEM private key of the certificate.", true},

      {"log",
       "format",
       &ServerConfig::log_format,
       "Log lines on stderr: logfmt (key=value) or json (one object a line).",
       true,
       0,
       0,
       {"logfmt", "json"}},
      {"log",
       "level",
       &ServerConfig::log_level,
       "Least level logged: debug, info (connections opened and closed), warn (refusals, "
       "failed authentications, limits, slow commits) or error.",
       true,
       0,
       0,
       {"debug", "info", "warn", "error"}},
      {"log", "slow_commit_ms", &ServerConfig::slow_commit_ms,
       "A group commit slower than this is logged (warn) and counted.", false, 1, 3'600'000},

      {"metrics", "enabled", &ServerConfig::metrics_enabled,
       "Serve GET /metrics (Prometheus text format).", true},
      {"metrics", "allow", &ServerConfig::metrics_allow,
       "Addresses or networks that may read /metrics; [] lets any address.", true},
      {"metrics", "token_sha256", &ServerConfig::metrics_token_sha256,
       "SHA-256 (hex) of a bearer token /metrics requires: printf %s \"$TOKEN\" | sha256sum. "
       "Empty: none.",
       true},

      {"office", "hosts", &ServerConfig::office_hosts,
       "The server's names the office pages answer to (HOST or HOST:PORT, as browsers reach "
       "it); this machine's loopback names always."},

      {"sync", "page_cache_mib", &ServerConfig::page_cache_mib,
       "Memory for pages of pulls that read everything (managers' devices), encoded once and "
       "shared; 0: none.",
       false, 0, 4096},
      {"sync", "max_group_changes", &ServerConfig::max_group_changes,
       "Changes applied in one transaction at most: pushes waiting together share a commit.", false,
       1, 1'000'000},
      {"sync", "page_rows", &ServerConfig::page_rows, "Rows in one page of a pull.", false, 1,
       100'000},
      {"sync", "writer_stall_seconds", &ServerConfig::writer_stall_seconds,
       "GET /readyz says not ready when one commit has taken longer.", false, 1, 86'400},
      {"sync", "max_clock_skew_seconds", &ServerConfig::max_clock_skew_seconds,
       "How far ahead of the server's clock a device's version may be; a change beyond it is "
       "refused with clock_skew.",
       false, 1, 86'400},
      {"sync", "token_check_ms", &ServerConfig::token_check_ms,
       "How often the server looks for tokens revoked (by `token revoke`) or expired, to close "
       "their connections, and records tokens' last use.",
       false, 100, 3'600'000},

      {"limits", "max_connections_per_token", &ServerConfig::max_connections_per_token,
       "Connections one token may hold open at once.", false, 1, 100'000},
      {"limits", "max_messages_per_second", &ServerConfig::max_messages_per_second,
       "Messages a connection may send a second, sustained; 0: no limit.", false, 0, kMaxCount},
      {"limits", "message_burst", &ServerConfig::message_burst,
       "Messages a connection may send at once above that rate.", false, 0, kMaxCount},
      {"limits", "max_push_changes", &ServerConfig::max_push_changes,
       "Changes in one push; a bigger push is refused with too_large.", false, 1, 100'000},
      {"limits", "max_queued_changes_per_token", &ServerConfig::max_queued_changes_per_token,
       "Changes of one token waiting for the writer.", false, 1, kMaxCount},
      {"limits", "max_changes_per_second_per_token",
       &ServerConfig::max_changes_per_second_per_token,
       "Changes one token's connections may push a second, sustained.", false, 1, kMaxCount},
      {"limits", "change_burst_per_token", &ServerConfig::change_burst_per_token,
       "Changes one token may push at once above that rate.", false, 1, kMaxCount},
      {"limits", "max_kib_per_second_per_token", &ServerConfig::max_kib_per_second_per_token,
       "KiB one token's connections may send a second, sustained.", false, 1, kMaxCount},
      {"limits", "kib_burst_per_token", &ServerConfig::kib_burst_per_token,
       "KiB one token may send at once above that rate.", false, 1, kMaxCount},
      {"limits", "max_unknown_fields_per_row", &ServerConfig::max_unknown_fields_per_row,
       "Fields of one stored row the server's schema does not know (kept for newer devices).",
       false, 0, 100'000},
      {"limits", "max_unknown_kib_per_row", &ServerConfig::max_unknown_kib_per_row,
       "KiB of such fields in one row.", false, 0, 1024 * 1024},
      {"limits", "max_keys_per_row", &ServerConfig::max_keys_per_row,
       "Version keys of one row (fields and tags, removed ones included).", false, 16, 1'000'000},
      {"limits", "max_message_kib", &ServerConfig::max_message_kib,
       "Largest WebSocket message a device may send, in KiB (decompressed too).", false, 64,
       1024 * 1024},
      {"limits", "max_hello_kib", &ServerConfig::max_hello_kib,
       "Largest message before hello is accepted, in KiB.", false, 1, 1024},
      {"limits", "max_anonymous_connections", &ServerConfig::max_anonymous_connections,
       "Connections not yet past hello, server-wide; beyond, upgrades get 503.", false, 1,
       kMaxCount},
      {"limits", "max_incoming_mib", &ServerConfig::max_incoming_mib,
       "MiB of messages being read, every connection together.", false, 1, 1024 * 1024},
      {"limits", "max_queued_mib_per_connection", &ServerConfig::max_queued_mib_per_connection,
       "MiB waiting to go out to one connection; a device reading slower is dropped and "
       "catches up by pulling.",
       false, 1, 1024 * 1024},
      {"limits", "handshake_timeout_seconds", &ServerConfig::handshake_timeout_seconds,
       "From TCP accept to a read HTTP request, and for the TLS and WebSocket handshakes.", false,
       1, 3600},
      {"limits", "hello_timeout_seconds", &ServerConfig::hello_timeout_seconds,
       "From the WebSocket upgrade to an accepted hello.", false, 1, 3600},
      {"limits", "idle_timeout_seconds", &ServerConfig::idle_timeout_seconds,
       "A connection silent this long is closed (pinged at half of it).", false, 2, 86'400},
      {"limits", "shutdown_timeout_seconds", &ServerConfig::shutdown_timeout_seconds,
       "On SIGTERM, how long connections get to receive what is queued before they are "
       "dropped.",
       false, 0, 3600},
  };
  return all;
}

const Setting* find_setting(std::string_view section, std::string_view key) {
  for (const Setting& setting : settings()) {
    if (setting.section == section && setting.key == key) return &setting;
  }
  return nullptr;
}

bool known_section(std::string_view section) {
  return std::any_of(settings().begin(), settings().end(),
                     [&](const Setting& s) { return s.section == section; });
}

std::string name_of(const Setting& setting) {
  return std::string(setting.section) + "." + std::string(setting.key);
}

ConfigProblem problem_at(const toml::node& node, std::string message) {
  const auto& source = node.source();
  return {static_cast<int>(source.begin.line), static_cast<int>(source.begin.column),
          std::move(message)};
}

std::string joined(const std::vector<std::string_view>& words) {
  std::string text;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) text += i + 1 == words.size() ? " or " : ", ";
    text += words[i];
  }
  return text;
}

// Reads one key's value into the config, or says why it cannot.
std::optional<ConfigProblem> read_value(const Setting& setting, const toml::node& node,
                                        ServerConfig& config) {
  const std::string name = name_of(setting);
  if (auto* text = std::get_if<Text>(&setting.member)) {
    auto value = node.value<std::string>();
    if (!node.is_string() || !value) return problem_at(node, name + " must be a text (\"...\")");
    if (!setting.choices.empty() && std::find(setting.choices.begin(), setting.choices.end(),
                                              *value) == setting.choices.end()) {
      return problem_at(node,
                        name + " must be " + joined(setting.choices) + ", not \"" + *value + "\"");
    }
    config.*(*text) = *value;
  } else if (auto* flag = std::get_if<Flag>(&setting.member)) {
    if (!node.is_boolean()) return problem_at(node, name + " must be true or false");
    config.*(*flag) = *node.value<bool>();
  } else if (auto* number = std::get_if<Number>(&setting.member)) {
    if (!node.is_integer()) return problem_at(node, name + " must be a whole number");
    const std::int64_t value = *node.value<std::int64_t>();
    if (value < setting.min || value > setting.max) {
      return problem_at(node, name + " must be between " + std::to_string(setting.min) + " and " +
                                  std::to_string(setting.max) + ", not " + std::to_string(value));
    }
    config.*(*number) = value;
  } else if (auto* list = std::get_if<List>(&setting.member)) {
    const toml::array* array = node.as_array();
    if (!array) return problem_at(node, name + " must be a list of texts ([\"...\", ...])");
    std::vector<std::string> values;
    for (const toml::node& element : *array) {
      auto value = element.value<std::string>();
      if (!element.is_string() || !value)
        return problem_at(element, name + " must hold texts only");
      values.push_back(*value);
    }
    config.*(*list) = std::move(values);
  }
  return std::nullopt;
}

// A TOML basic string: "…" with backslash escapes.
std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
          out += escaped;
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

std::string value_text(const Setting& setting, const ServerConfig& config) {
  if (auto* text = std::get_if<Text>(&setting.member)) return toml_string(config.*(*text));
  if (auto* flag = std::get_if<Flag>(&setting.member)) return config.*(*flag) ? "true" : "false";
  if (auto* number = std::get_if<Number>(&setting.member)) return std::to_string(config.*(*number));
  const auto& values = config.*(std::get<List>(setting.member));
  std::string text = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ", ";
    text += toml_string(values[i]);
  }
  return text + "]";
}

// Wraps a description into "# " lines of at most 80 columns.
void write_comment(std::string& out, std::string_view text) {
  std::string line = "#";
  std::istringstream words{std::string(text)};
  std::string word;
  while (words >> word) {
    if (line.size() + 1 + word.size() > 80 && line.size() > 1) {
      out += line + "\n";
      line = "#";
    }
    line += " " + word;
  }
  out += line + "\n";
}

}  // namespace

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

ConfigLoad load_config(const std::string& file, const ServerConfig& base) {
  ConfigLoad load{base, {}};
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    load.problems.push_back({static_cast<int>(where.line), static_cast<int>(where.column),
                             std::string(e.description())});
    return load;
  }
  for (const auto& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    const toml::table* table = section_node.as_table();
    if (!table) {
      load.problems.push_back(problem_at(
          section_node, known_section(section)
                            ? "[" + section + "] must be a table of settings"
                            : "\"" + section +
                                  "\" is not a setting: settings go in sections ([server], "
                                  "[store], [tls], [log], [metrics], [sync], [limits])"));
      continue;
    }
    if (!known_section(section)) {
      load.problems.push_back(problem_at(section_node, "unknown section [" + section + "]"));
      continue;
    }
    for (const auto& [key, node] : *table) {
      const Setting* setting = find_setting(section, key.str());
      if (!setting) {
        const auto& where = key.source().begin;
        load.problems.push_back(
            {static_cast<int>(where.line), static_cast<int>(where.column),
             "unknown key \"" + std::string(key.str()) + "\" in [" + section + "]"});
        continue;
      }
      if (auto problem = read_value(*setting, node, load.config))
        load.problems.push_back(std::move(*problem));
    }
  }
  for (auto& problem : check_values(load.config)) load.problems.push_back(std::move(problem));
  return load;
}

std::vector<ConfigProblem> check_values(const ServerConfig& config) {
  std::vector<ConfigProblem> problems;
  if (!parse_listen(config.listen)) {
    problems.push_back(
        {0, 0,
         "server.listen must be HOST:PORT (e.g. 127.0.0.1:8080), not \"" + config.listen + "\""});
  }
  if (config.tls_cert.empty() != config.tls_key.empty())
    problems.push_back({0, 0, "tls.cert and tls.key (--tls-cert and --tls-key) go together"});
  if (!parse_log_format(config.log_format))
    problems.push_back({0, 0, "log.format must be logfmt or json"});
  if (!parse_log_level(config.log_level))
    problems.push_back({0, 0, "log.level must be debug, info, warn or error"});
  const std::string& hash = config.metrics_token_sha256;
  if (!hash.empty() &&
      (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    problems.push_back(
        {0, 0, "metrics.token_sha256 must be 64 lowercase hex digits (sha256sum's output)"});
  }
  if (auto problem = check_address_list(config.metrics_allow))
    problems.push_back({0, 0, "metrics.allow: " + *problem});
  return problems;
}

std::string config_to_toml(const ServerConfig& config, bool documented) {
  std::string out;
  if (documented) {
    out +=
        "# libreta-server configuration (TOML). Every setting is listed with its default;\n"
        "# flags given to `libreta-server serve` override this file. Check a file with\n"
        "# `libreta-server config check FILE`; SIGHUP reloads the settings marked so\n"
        "# (the others need a restart). Reference: docs/operations.md.\n";
  }
  std::string_view section;
  for (const Setting& setting : settings()) {
    if (setting.section != section) {
      section = setting.section;
      out += (out.empty() ? "[" : "\n[") + std::string(section) + "]\n";
    }
    if (documented) {
      write_comment(out,
                    std::string(setting.help) + (setting.reloadable ? " Reloaded by SIGHUP." : ""));
    }
    out += std::string(setting.key) + " = " + value_text(setting, config) + "\n";
  }
  return out;
}

ServerConfig with_reloadable(const ServerConfig& current, const ServerConfig& next) {
  ServerConfig applied = current;
  for (const Setting& setting : settings()) {
    if (!setting.reloadable) continue;
    std::visit([&](auto member) { applied.*member = next.*member; }, setting.member);
  }
  return applied;
}

std::vector<std::string> changed_restart_keys(const ServerConfig& a, const ServerConfig& b) {
  std::vector<std::string> keys;
  for (const Setting& setting : settings()) {
    if (!setting.reloadable && value_text(setting, a) != value_text(setting, b))
      keys.push_back(name_of(setting));
  }
  return keys;
}

ServerOptions server_options(const ServerConfig& config) {
  using std::chrono::seconds;
  ServerOptions options;
  options.threads = config.threads > 0
                        ? static_cast<int>(config.threads)
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.tls_cert_file = config.tls_cert;
  options.tls_key_file = config.tls_key;
  options.allow_plain = config.allow_plain;
  options.max_frame_bytes = static_cast<std::size_t>(config.max_message_kib) * 1024;
  options.max_hello_frame_bytes = static_cast<std::size_t>(config.max_hello_kib) * 1024;
  options.max_anonymous_connections = static_cast<std::size_t>(config.max_anonymous_connections);
  options.max_incoming_bytes = static_cast<std::size_t>(config.max_incoming_mib) << 20;
  options.max_queued_bytes = static_cast<std::size_t>(config.max_queued_mib_per_connection) << 20;
  options.handshake_timeout = seconds(config.handshake_timeout_seconds);
  options.hello_timeout = seconds(config.hello_timeout_seconds);
  options.idle_timeout = seconds(config.idle_timeout_seconds);
  options.shutdown_timeout = seconds(config.shutdown_timeout_seconds);
  options.metrics = metrics_access(config);
  options.office_hosts = config.office_hosts;
  return options;
}

SyncServiceOptions sync_service_options(const ServerConfig& config) {
  auto count = [](std::int64_t value) { return static_cast<std::size_t>(value); };
  SyncServiceOptions options;
  options.page_cache_bytes = count(config.page_cache_mib) << 20;
  options.max_group_changes = count(config.max_group_changes);
  options.page_rows = count(config.page_rows);
  options.writer_stall = std::chrono::seconds(config.writer_stall_seconds);
  options.slow_commit = std::chrono::milliseconds(config.slow_commit_ms);
  options.max_clock_skew = std::chrono::seconds(config.max_clock_skew_seconds);
  options.revocation_check = std::chrono::milliseconds(config.token_check_ms);
  options.max_unknown_fields_per_row = count(config.max_unknown_fields_per_row);
  options.max_unknown_bytes_per_row = count(config.max_unknown_kib_per_row) * 1024;
  options.max_keys_per_row = count(config.max_keys_per_row);
  options.max_message_bytes = count(config.max_message_kib) * 1024;
  options.max_connections_per_token = count(config.max_connections_per_token);
  options.max_messages_per_second = count(config.max_messages_per_second);
  options.message_burst = count(config.message_burst);
  options.max_push_changes = count(config.max_push_changes);
  options.max_queued_changes_per_token = count(config.max_queued_changes_per_token);
  options.max_changes_per_second_per_token = count(config.max_changes_per_second_per_token);
  options.change_burst_per_token = count(config.change_burst_per_token);
  options.max_bytes_per_second_per_token = count(config.max_kib_per_second_per_token) * 1024;
  options.byte_burst_per_token = count(config.kib_burst_per_token) * 1024;
  return options;
}

MetricsAccess metrics_access(const ServerConfig& config) {
  MetricsAccess access;
  access.enabled = config.metrics_enabled;
  access.allow = config.metrics_allow;
  access.token_sha256 = config.metrics_token_sha256;
  return access;
}

}  // namespace libreta::server::app
