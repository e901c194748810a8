// libreta-server: the sync server and its administration commands.
//
//   libreta-server [serve] [--listen HOST:PORT] [--db FILE] [--threads N]
//                  [--tls-cert FILE --tls-key FILE] [--allow-plain]
//                  [--page-cache-mib N] [--max-group-changes N]
//   libreta-server token create --db FILE --user NAME --role seller|manager|admin
//   libreta-server token list --db FILE [--json]
//   libreta-server token revoke --db FILE ID
//   libreta-server conflicts --db FILE [--json] [--limit N]

#include <algorithm>
#include <thread>

#include <CLI/CLI.hpp>

#include "commands.hpp"

using namespace libreta::server::app;

#ifdef LIBRETA_WITH_JEMALLOC
// jemalloc's options, read at its start (MALLOC_CONF in the environment still overrides
// them): memory freed is given back to the system within half a second by a background
// thread, so the server's resident memory follows its load instead of its busiest moment
// (docs/performance.md, "Server settings": the bootstrap storm's peak stays flat as the book
// grows, where jemalloc's defaults let it grow with the run's length). It costs some CPU on a
// busy morning.
extern "C" {
// The name and type are jemalloc's: it looks the symbol up in the program.
const char* malloc_conf = "background_thread:true,dirty_decay_ms:500,muzzy_decay_ms:0";
}
#endif

namespace {

void add_serve_options(CLI::App& command, ServeArgs& args) {
  command.add_option("--listen", args.listen, "Address and port to listen on (HOST:PORT)")
      ->capture_default_str();
  command.add_option("--db", args.db, "The server's SQLite database file (created if absent)")
      ->capture_default_str();
  command.add_option("--threads", args.threads, "Network threads (default: one per core)")
      ->capture_default_str();
  command.add_option("--tls-cert", args.tls_cert,
                     "PEM certificate chain (leaf first): serve wss:// and https only");
  command.add_option("--tls-key", args.tls_key, "PEM private key of --tls-cert");
  command
      .add_option("--page-cache-mib", args.page_cache_mib,
                  "Memory for pages of pulls shared by managers' devices, in MiB (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  command
      .add_option("--max-group-changes", args.max_group_changes,
                  "Changes applied in one transaction at most (pushes waiting together are "
                  "committed together)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  command.add_flag("--allow-plain", args.allow_plain,
                   "Serve plain ws:// on an address that is not loopback (e.g. behind a TLS "
                   "proxy); tokens and data travel unencrypted");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"libreta-server: the libreta sync server and its administration commands."};
  app.name("libreta-server");
  app.footer("Exit codes: 0 ok, 2 usage error, 3 invalid input, 4 storage error, 5 cannot listen.");
  app.require_subcommand(0, 1);

  // Serving is the default command: its options work with or without "serve".
  ServeArgs serve_args;
  serve_args.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  add_serve_options(app, serve_args);
  CLI::App* serve = app.add_subcommand("serve", "Run the sync server until SIGINT or SIGTERM");
  add_serve_options(*serve, serve_args);

  std::string db;
  bool json = false;

  CLI::App* token = app.add_subcommand("token", "Manage access tokens");
  token->require_subcommand(1);
  std::string user, role, token_id;
  CLI::App* create = token->add_subcommand(
      "create", "Create a token; its secret is printed on stdout, only this once");
  create->add_option("--db", db, "The server's database file")->required();
  create->add_option("--user", user, "Who the token is for")->required();
  create->add_option("--role", role, "seller, manager or admin")->required();
  CLI::App* list = token->add_subcommand("list", "List tokens (never their secrets)");
  list->add_option("--db", db, "The server's database file")->required();
  list->add_flag("--json", json, "Print a JSON array");
  CLI::App* revoke = token->add_subcommand("revoke", "Revoke a token by its id");
  revoke->add_option("--db", db, "The server's database file")->required();
  revoke->add_option("id", token_id, "The token's id (see token list)")->required();

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

  if (*create) return run_token_create(db, user, role);
  if (*list) return run_token_list(db, json);
  if (*revoke) return run_token_revoke(db, token_id);
  if (*conflicts) return run_conflicts(db, json, limit);
  return run_serve(serve_args);
}
