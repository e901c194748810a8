// libreta serve: the seller's app in the browser, over the replica in --home, with the sync
// session running beside it whenever the book has a server.
#include <csignal>
#include <memory>
#include <ostream>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <CLI/CLI.hpp>

#include "cli_error.hpp"
#include "commands.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/web/http_server.hpp"
#include "seller_app/seller_app.hpp"

extern char** environ;

namespace libreta::cli {
namespace {

constexpr const char* kDefaultListen = "127.0.0.1:8484";

struct ServeArgs {
  std::string listen = kDefaultListen;
  bool open = false;
};

struct Listen {
  std::string host;
  std::uint16_t port = 0;
};

Listen parse_listen(Context& ctx, const std::string& text) {
  const auto colon = text.rfind(':');
  Listen listen;
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no port");
    listen.host = text.substr(0, colon);
    if (listen.host.size() >= 2 && listen.host.front() == '[' && listen.host.back() == ']') {
      listen.host = listen.host.substr(1, listen.host.size() - 2);
    }
    const unsigned long port = std::stoul(text.substr(colon + 1));
    if (port > 65535 || text.substr(colon + 1).find_first_not_of("0123456789") != std::string::npos)
      throw std::out_of_range("port");
    listen.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    throw CliError(kExitUsage, ctx.tr(Msg::app_bad_listen, {text}));
  }
  // Only this machine may reach the book: the app serves plain HTTP.
  if (listen.host != "127.0.0.1" && listen.host != "::1" && listen.host != "localhost") {
    throw CliError(kExitUsage, ctx.tr(Msg::app_listen_loopback_only, {text}));
  }
  if (listen.host == "localhost") listen.host = "127.0.0.1";
  return listen;
}

// Opens the URL in the desktop's browser; a failure only means the seller opens it by hand.
// The browser it may start outlives this program: it takes none of its files or sockets.
void open_in_browser(const std::string& url) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = 0;
  const char* argv[] = {"xdg-open", url.c_str(), nullptr};
  if (posix_spawnp(&pid, "xdg-open", &actions, nullptr, const_cast<char**>(argv), environ) == 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  posix_spawn_file_actions_destroy(&actions);
}

int serve(Context& ctx, const ServeArgs& args) {
  const Listen listen = parse_listen(ctx, args.listen);
  const std::optional<client::SyncOptions> sync = saved_sync_options(ctx);
  ctx.close_replica();

  // SIGINT and SIGTERM are taken by sigwait below, on this thread; blocked before any other
  // thread starts, so that they all inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<client::SyncSession> session;
  if (sync) session = std::make_unique<client::SyncSession>(ctx.book_path(), *sync);

  SellerAppOptions options;
  if (session) {
    options.sync_status = [&session] { return session->status(); };
    options.nudge = [&session] { session->nudge(); };
  }
  options.today = [&ctx] { return ctx.today(); };
  options.now_utc = [&ctx] { return ctx.now_utc(); };
  SellerApp app(client::Replica::open(ctx.book_path()), std::move(options));

  web::HttpServerOptions server_options;
  server_options.address = listen.host;
  server_options.port = listen.port;
  web::HttpServer server(server_options, [&app](const web::Request& r) { return app.handle(r); });
  try {
    server.start();
  } catch (const Error& e) {
    throw CliError(kExitNetwork, ctx.tr(Msg::app_cannot_listen, {args.listen, e.what()}));
  }
  const std::string port = std::to_string(server.port());
  const std::string host = listen.host == "::1" ? "[::1]" : listen.host;
  app.set_allowed_hosts({host + ":" + port, "localhost:" + port});
  if (session) session->start();

  const std::string url = "http://" + host + ":" + port + "/signin?key=" + app.new_sign_in_key();
  ctx.out() << ctx.tr(Msg::app_serving, {url}) << std::endl;
  if (args.open) open_in_browser(url);

  int signal = 0;
  sigwait(&signals, &signal);
  server.stop();
  if (session) session->stop();
  ctx.out() << ctx.tr(Msg::app_stopped) << std::endl;
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, Context& ctx, Action& action) {
  auto args = std::make_shared<ServeArgs>();
  auto* command = app.add_subcommand("serve", ctx.tr(Msg::help_serve));
  command->add_option("--listen", args->listen, ctx.tr(Msg::help_serve_listen))
      ->type_name("HOST:PORT");
  command->add_flag("--open", args->open, ctx.tr(Msg::help_serve_open));
  choose(*command, action, ctx, args, serve);
}

}  // namespace libreta::cli
