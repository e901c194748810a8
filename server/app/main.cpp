// libreta-server: the sync server and its administration commands.
//
//   libreta-server [serve] [--config FILE] [--print-config] [--listen HOST:PORT] [--db FILE]
//                  [--threads N] [--tls-cert FILE --tls-key FILE] [--allow-plain]
//                  [--page-cache-mib N] [--max-group-changes N] [--log-format F] [--log-level L]
//   libreta-server config check FILE | config default
//   libreta-server token create --db FILE --user NAME --role seller|manager|admin [--expires D]
//   libreta-server token list --db FILE [--json]
//   libreta-server token revoke --db FILE ID
//   libreta-server conflicts --db FILE [--json] [--limit N]
//   libreta-server backup --db FILE --out FILE
//   libreta-server restore --from FILE --db FILE

#include <functional>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hpp"

using namespace libreta::server::app;

#ifdef LIBRETA_WITH_JEMALLOC
// jemalloc's options, read at its start (MALLOC_CONF in the environment still overrides
// them): memory freed is given back to the system within half a second by a background
// thread, so the server's resident memory follows its load instead of its busiest moment
// (docs/performance.md, "Server settings"): the bootstrap storm's peak stays flat as the book
// grows, where jemalloc's defaults let it grow with the run's length. It costs some CPU on a
// busy morning.
extern "C" {
// The name and type are jemalloc's: it looks the symbol up in the program.
const char* malloc_conf = "background_thread:true,dirty_decay_ms:500,muzzy_decay_ms:0";
}
#endif

namespace {

// The serve flags, declared on the program and on its `serve` command (serving is the
// default), each applied over the configuration file only when given.
class ServeFlags {
 public:
  void add_to(CLI::App& command) {
    add(command, "--listen", listen_, "Address and port to listen on (HOST:PORT) [server.listen]",
        [this](ServerConfig& c) { c.listen = listen_; });
    add(command, "--db", db_, "The server's SQLite database file, created if absent [store.db]",
        [this](ServerConfig& c) { c.db = db_; });
    add(command, "--threads", threads_, "Network threads, 0: one per core [server.threads]",
        [this](ServerConfig& c) { c.threads = threads_; });
    add(command, "--tls-cert", tls_cert_,
        "PEM certificate chain (leaf first): serve wss:// and https only [tls.cert]",
        [this](ServerConfig& c) { c.tls_cert = tls_cert_; });
    add(command, "--tls-key", tls_key_, "PEM private key of --tls-cert [tls.key]",
        [this](ServerConfig& c) { c.tls_key = tls_key_; });
    add(command, "--page-cache-mib", page_cache_mib_,
        "Memory for pages of pulls shared by managers' devices, in MiB, 0: none "
        "[sync.page_cache_mib]",
        [this](ServerConfig& c) { c.page_cache_mib = page_cache_mib_; });
    add(command, "--max-group-changes", max_group_changes_,
        "Changes applied in one transaction at most [sync.max_group_changes]",
        [this](ServerConfig& c) { c.max_group_changes = max_group_changes_; });
    add(command, "--log-format", log_format_, "logfmt or json [log.format]",
        [this](ServerConfig& c) { c.log_format = log_format_; });
    add(command, "--log-level", log_level_, "debug, info, warn or error [log.level]",
        [this](ServerConfig& c) { c.log_level = log_level_; });
    CLI::Option* plain = command.add_flag(
        "--allow-plain", allow_plain_,
        "Serve plain ws:// on an address that is not loopback (e.g. behind a TLS proxy on this "
        "machine); tokens and data travel unencrypted [server.allow_plain]");
    given_.push_back({plain, [this](ServerConfig& c) { c.allow_plain = allow_plain_; }});
    command.add_option("--config", config_file_,
                       "The configuration file (TOML; `config default` prints one)");
    command.add_flag("--print-config", print_config_,
                     "Print the configuration the flags and the file make, and exit");
  }

  ServeArgs args() const {
    ServeArgs args;
    args.config_file = config_file_;
    args.print_config = print_config_;
    args.apply_flags = [this](ServerConfig& config) {
      for (const auto& [option, apply] : given_) {
        if (option->count() > 0) apply(config);
      }
    };
    return args;
  }

 private:
  template <class T>
  void add(CLI::App& command, const char* name, T& value, const char* help,
           std::function<void(ServerConfig&)> apply) {
    given_.push_back({command.add_option(name, value, help), std::move(apply)});
  }

  std::string listen_, db_, tls_cert_, tls_key_, log_format_, log_level_, config_file_;
  std::int64_t threads_ = 0, page_cache_mib_ = 0, max_group_changes_ = 0;
  bool allow_plain_ = false, print_config_ = false;
  std::vector<std::pair<CLI::Option*, std::function<void(ServerConfig&)>>> given_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"libreta-server: the libreta sync server and its administration commands."};
  app.name("libreta-server");
  app.footer(
      "Exit codes: 0 ok, 2 usage error, 3 invalid input or configuration, 4 storage error, "
      "5 cannot listen.\nSignals: SIGTERM and SIGINT stop (pushes queued are committed and "
      "acknowledged), SIGHUP reloads the configuration file and the TLS certificate.");
  app.require_subcommand(0, 1);

  // Serving is the default command: its options work with or without "serve". Both sets of
  // flags write to their own holders; the one that was parsed applies its given flags.
  ServeFlags top_flags, serve_flags;
  top_flags.add_to(app);
  CLI::App* serve = app.add_subcommand("serve", "Run the sync server until SIGINT or SIGTERM");
  serve_flags.add_to(*serve);

  CLI::App* config = app.add_subcommand("config", "Check a configuration file, or print one");
  config->require_subcommand(1);
  std::string config_file;
  CLI::App* check = config->add_subcommand(
      "check", "Check a configuration file: every key known, of its type and range");
  check->add_option("file", config_file, "The TOML file")->required();
  CLI::App* print_default =
      config->add_subcommand("default", "Print the default configuration, documented");

  std::string db;
  bool json = false;

  CLI::App* token = app.add_subcommand("token", "Manage access tokens");
  token->require_subcommand(1);
  std::string user, role, token_id, expires;
  CLI::App* create = token->add_subcommand(
      "create", "Create a token; its secret is printed on stdout, only this once");
  create->add_option("--db", db, "The server's database file")->required();
  create->add_option("--user", user, "Who the token is for")->required();
  create->add_option("--role", role, "seller, manager or admin")->required();
  create->add_option("--expires", expires,
                     "When it stops working: YYYY-MM-DD (valid through that day, UTC) or "
                     "<N>d (in N days); default: never");
  CLI::App* list = token->add_subcommand("list", "List tokens (never their secrets)");
  list->add_option("--db", db, "The server's database file")->required();
  list->add_flag("--json", json, "Print a JSON array");
  CLI::App* revoke = token->add_subcommand("revoke", "Revoke a token by its id");
  revoke->add_option("--db", db, "The server's database file")->required();
  revoke->add_option("id", token_id, "The token's id (see token list)")->required();

  std::string backup_file;
  CLI::App* backup = app.add_subcommand(
      "backup", "Copy the store, consistently, while the server serves and devices push");
  backup->add_option("--db", db, "The server's database file")->required();
  backup->add_option("--out", backup_file, "The backup file to write (must not exist)")->required();
  CLI::App* restore = app.add_subcommand(
      "restore", "Replace the store with a backup (stop the server first); devices resync");
  restore->add_option("--from", backup_file, "The backup file")->required();
  restore->add_option("--db", db, "The server's database file")->required();

  std::size_t limit = 1000;
  CLI::App* conflicts =
      app.add_subcommand("conflicts", "List the conflict inbox: concurrent edits and who lost");
  conflicts->add_option("--db", db, "The server's database file")->required();
  conflicts->add_flag("--json", json, "Print a JSON array");
  conflicts->add_option("--limit", limit, "Most conflicts to list")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the help or the error
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (*check) return run_config_check(config_file);
  if (*print_default) return run_print_default_config();
  if (*create) return run_token_create(db, user, role, expires);
  if (*list) return run_token_list(db, json);
  if (*revoke) return run_token_revoke(db, token_id);
  if (*conflicts) return run_conflicts(db, json, limit);
  if (*backup) return run_backup(db, backup_file);
  if (*restore) return run_restore(backup_file, db);
  return run_serve(*serve ? serve_flags.args() : top_flags.args());
}
