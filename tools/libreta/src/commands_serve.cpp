// libreta serve: the seller's app in the browser, over the replica in --home, with the sync
// session running beside it whenever the book has a server. On this machine by default; on
// the network only over TLS or behind a password.
#include <csignal>
#include <fstream>
#include <memory>
#include <ostream>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
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

// The shortest password accepted for sign-in from the network.
constexpr std::size_t kMinPasswordLength = 8;

struct ServeArgs {
  std::string listen = kDefaultListen;
  bool open = false;
  std::string tls_cert, tls_key, password_file;
  std::vector<std::string> hosts;  // names the app answers to, besides its addresses
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
  if (listen.host == "localhost") listen.host = "127.0.0.1";
  return listen;
}

bool is_loopback(const std::string& host) {
  return host == "::1" || host.rfind("127.", 0) == 0;
}

bool is_wildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::";
}

// An address as it stands in a Host header: IPv6 in brackets.
std::string host_form(const std::string& address) {
  return address.find(':') == std::string::npos ? address : "[" + address + "]";
}

// The addresses of this machine's interfaces, of the family the wildcard listens on (IPv6
// listens on IPv4 too).
std::vector<std::string> interface_addresses(bool ipv6) {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) out.push_back(text);
    } else if (ipv6 && i->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) continue;  // needs a zone in a URL
      if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text)) out.push_back(text);
    }
  }
  freeifaddrs(list);
  return out;
}

// The first line of the password file. The file must be the seller's own: readable by
// other users of the machine, the password would be theirs too.
std::string read_password(Context& ctx, const std::string& file) {
  struct stat info {};
  std::ifstream in(file);
  if (::stat(file.c_str(), &info) != 0 || !in) {
    throw CliError(kExitUsage, ctx.tr(Msg::app_password_file_unreadable, {file}));
  }
  if ((info.st_mode & 077) != 0) {
    throw CliError(kExitUsage, ctx.tr(Msg::app_password_file_open, {file}));
  }
  std::string password;
  std::getline(in, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.size() < kMinPasswordLength) {
    throw CliError(kExitUsage,
                   ctx.tr(Msg::app_password_too_short, {file, std::to_string(kMinPasswordLength)}));
  }
  return password;
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
  if (args.tls_cert.empty() != args.tls_key.empty()) {
    throw CliError(kExitUsage, ctx.tr(Msg::app_tls_needs_both));
  }
  const bool tls = !args.tls_cert.empty();
  // Beyond this machine, the book is served over TLS or behind a password: never in the
  // clear to whoever shares the network.
  if (!is_loopback(listen.host) && !tls && args.password_file.empty()) {
    throw CliError(kExitUsage, ctx.tr(Msg::app_listen_needs_protection, {args.listen}));
  }
  std::string password;
  if (!args.password_file.empty()) password = read_password(ctx, args.password_file);
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
  options.tls = tls;
  options.password = std::move(password);
  const bool with_password = !options.password.empty();
  SellerApp app(client::Replica::open(ctx.book_path()), std::move(options));

  web::HttpServerOptions server_options;
  server_options.address = listen.host;
  server_options.port = listen.port;
  server_options.tls_certificate_file = args.tls_cert;
  server_options.tls_key_file = args.tls_key;
  web::HttpServer server(server_options, [&app](const web::Request& r) { return app.handle(r); });
  try {
    server.start();
  } catch (const Error& e) {
    throw CliError(kExitNetwork, ctx.tr(Msg::app_cannot_listen, {args.listen, e.what()}));
  }
  // The Host names the app answers to (any other is a DNS rebinding): the address it listens
  // on, or every address of the machine for a wildcard, and the names given with --host.
  const std::string port = std::to_string(server.port());
  std::vector<std::string> addresses = {listen.host};
  if (is_wildcard(listen.host)) addresses = interface_addresses(listen.host == "::");
  if (addresses.empty()) addresses = {"127.0.0.1"};  // no interface told: this machine's own
  std::vector<std::string> hosts;
  bool loopback = false;
  for (const auto& address : addresses) {
    hosts.push_back(host_form(address) + ":" + port);
    loopback = loopback || is_loopback(address);
  }
  if (loopback) hosts.push_back("localhost:" + port);
  for (const auto& name : args.hosts) hosts.push_back(name + ":" + port);
  // The address printed: another device's way in when serving the network.
  std::string shown = hosts.front();
  for (const auto& address : addresses) {
    if (!is_loopback(address)) {
      shown = host_form(address) + ":" + port;
      break;
    }
  }
  app.set_allowed_hosts(std::move(hosts));
  if (session) session->start();

  const std::string base = (tls ? "https://" : "http://") + shown;
  const std::string url = base + "/signin?key=" + app.new_sign_in_key();
  if (!tls && !is_loopback(listen.host)) {
    ctx.out() << ctx.tr(Msg::app_serving_unencrypted) << std::endl;
  }
  if (with_password)
    ctx.out() << ctx.tr(Msg::app_serving_password, {base + "/signin"}) << std::endl;
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
  command->add_option("--tls-cert", args->tls_cert, ctx.tr(Msg::help_serve_tls_cert))
      ->type_name("FILE");
  command->add_option("--tls-key", args->tls_key, ctx.tr(Msg::help_serve_tls_key))
      ->type_name("FILE");
  command->add_option("--password-file", args->password_file, ctx.tr(Msg::help_serve_password))
      ->type_name("FILE");
  command->add_option("--host", args->hosts, ctx.tr(Msg::help_serve_host))->type_name("NAME");
  choose(*command, action, ctx, args, serve);
}

}  // namespace libreta::cli
