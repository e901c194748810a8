// libreta init, libreta sync [--watch], libreta status.
#include <atomic>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli_error.hpp"
#include "commands.hpp"
#include "libreta/client/sync_session.hpp"
#include "output.hpp"
#include "progress_bar.hpp"
#include "sync_wording.hpp"

namespace libreta::cli {
namespace {

// Refused changes listed by `libreta status` (the newest): in its text, and in --json.
constexpr std::size_t kRefusalsShown = 10;
constexpr std::size_t kRefusalsShownJson = 100;
// `sync --watch` rewrites its heartbeat file this often; `status` trusts one this recent.
constexpr std::chrono::seconds kWatchHeartbeat{5};
constexpr std::chrono::seconds kWatchFresh{20};
// Conflicts listed by `libreta status` (the newest).
constexpr std::size_t kConflictsShown = 10;

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::filesystem::path watch_file(Context& ctx) {
  return ctx.home() / "sync-watch.json";
}

// A Unix time in ms as the seller reads it: local date and time.
std::string local_time(Context& ctx, std::uint64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return ctx.format().date_time(buffer);
}

struct ServerSettings {
  std::string url, token;
  std::string ca_file;  // empty: the system's certificate store
  bool allow_plain = false;
};

// An absolute path to an existing file, so that what init saves works from any directory.
std::string existing_ca_file(Context& ctx, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw CliError(kExitValidation, ctx.tr(Msg::ca_file_missing, {path}));
  }
  return std::filesystem::absolute(path, ec).string();
}

// The saved server settings; `ca_override` (sync --ca) replaces the saved CA file.
ServerSettings server_settings(Context& ctx, const std::string& ca_override = {}) {
  auto& replica = ctx.replica();
  ServerSettings s{replica.setting(kServerUrlSetting).value_or(""),
                   replica.setting(kTokenSetting).value_or(""),
                   replica.setting(kCaFileSetting).value_or(""),
                   replica.setting(kAllowPlainSetting).value_or("") == "1"};
  if (s.url.empty() || s.token.empty()) throw CliError(kExitUsage, ctx.tr(Msg::no_server));
  if (!ca_override.empty()) s.ca_file = existing_ca_file(ctx, ca_override);
  return s;
}

client::SyncOptions sync_options(const ServerSettings& settings) {
  client::SyncOptions options;
  options.server_url = settings.url;
  options.token = settings.token;
  options.ca_file = settings.ca_file;
  options.allow_plain = settings.allow_plain;
  return options;
}

}  // namespace

std::optional<client::SyncOptions> saved_sync_options(Context& ctx) {
  auto& replica = ctx.replica();
  if (replica.setting(kServerUrlSetting).value_or("").empty() ||
      replica.setting(kTokenSetting).value_or("").empty()) {
    return std::nullopt;
  }
  return sync_options(server_settings(ctx));
}

namespace {

int sync_exit_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::storage:
    case ErrorCode::storage_full:
    case ErrorCode::schema_too_new:
      return kExitStorage;
    default:
      return kExitNetwork;
  }
}

// Refusals arrive on the session's thread, which has already kept them in the replica
// (Replica::reported_refusals); the main thread only tells how many came.
class RefusalCount {
 public:
  void add(std::size_t count) { count_ += count; }
  // How many came since the last call.
  std::size_t take() { return count_.exchange(0); }

 private:
  std::atomic<std::size_t> count_{0};
};

nlohmann::json status_json(const client::SyncStatus& s) {
  nlohmann::json out{{"connected", s.connected},
                     {"caught_up", s.caught_up},
                     {"pending_changes", s.pending_changes},
                     {"rows_received", s.rows_received},
                     {"reconnects", s.reconnects},
                     {"synced", client::is_synced(s)}};
  out["last_sync_ms"] = s.last_sync_ms ? nlohmann::json(*s.last_sync_ms) : nullptr;
  if (s.last_error) {
    out["last_error"] = {{"code", std::string(error_code_name(s.last_error->code))},
                         {"message", s.last_error->message}};
  } else {
    out["last_error"] = nullptr;
  }
  return out;
}

// ---- init ------------------------------------------------------------------------------------

struct InitArgs {
  std::string server, token, owner, ca_file;
  bool allow_plain = false;
};

// The server's address as people write it: "wss://host:port" (or with a lone "/") means the
// sync endpoint, "wss://host:port/sync"; another path is kept (a proxy's, say).
std::string sync_url(Context& ctx, const std::string& text) {
  if (!text.starts_with("ws://") && !text.starts_with("wss://")) {
    throw CliError(kExitValidation, ctx.tr(Msg::bad_server_url, {text}));
  }
  const std::size_t authority = text.find("://") + 3;
  const std::size_t path = text.find('/', authority);
  if (authority == text.size() || path == authority) {
    throw CliError(kExitValidation, ctx.tr(Msg::bad_server_url, {text}));
  }
  if (path == std::string::npos) return text + "/sync";
  if (path == text.size() - 1) return text + "sync";
  return text;
}

int init(Context& ctx, const InitArgs& args) {
  const std::string server_url = args.server.empty() ? "" : sync_url(ctx, args.server);
  const std::string ca_file = args.ca_file.empty() ? "" : existing_ca_file(ctx, args.ca_file);
  const bool existed = ctx.book_exists();
  auto& replica = ctx.create_replica();
  if (!server_url.empty()) replica.set_setting(kServerUrlSetting, server_url);
  if (!args.token.empty()) replica.set_setting(kTokenSetting, args.token);
  if (!args.owner.empty()) replica.set_setting(kOwnerSetting, args.owner);
  if (!ca_file.empty()) replica.set_setting(kCaFileSetting, ca_file);
  if (args.allow_plain) replica.set_setting(kAllowPlainSetting, "1");
  const std::string server = replica.setting(kServerUrlSetting).value_or("");
  const bool has_token = !replica.setting(kTokenSetting).value_or("").empty();
  const std::string saved_ca = replica.setting(kCaFileSetting).value_or("");
  if (ctx.json) {
    print_json(ctx,
               {{"home", ctx.home().string()},
                {"book", ctx.book_path().string()},
                {"created", !existed},
                {"replica_id", replica.replica_id()},
                {"server", server.empty() ? nlohmann::json(nullptr) : nlohmann::json(server)},
                {"token", has_token},
                {"ca_file", saved_ca.empty() ? nlohmann::json(nullptr) : nlohmann::json(saved_ca)},
                {"allow_plain", replica.setting(kAllowPlainSetting).value_or("") == "1"},
                {"owner", replica.setting(kOwnerSetting).value_or("")}});
    return kExitOk;
  }
  ctx.out() << ctx.tr(existed ? Msg::init_existing : Msg::init_created, {ctx.book_path().string()})
            << '\n';
  if (server.empty()) {
    ctx.out() << ctx.tr(Msg::init_offline) << '\n';
  } else {
    ctx.out() << ctx.tr(Msg::init_server, {server}) << '\n';
    if (!saved_ca.empty()) ctx.out() << ctx.tr(Msg::init_ca, {saved_ca}) << '\n';
    if (!has_token) ctx.out() << ctx.tr(Msg::init_no_token) << '\n';
  }
  return kExitOk;
}

// ---- sync ------------------------------------------------------------------------------------

struct SyncArgs {
  bool watch = false;
  int timeout_seconds = 60;
  std::string ca_file;  // --ca: instead of the saved one, for this run
};

int sync_once_command(Context& ctx, const SyncArgs& args) {
  const ServerSettings settings = server_settings(ctx, args.ca_file);
  const bool first_sync =
      !ctx.replica().setting("last_sync_ms") && ctx.replica().sync_cursor().since == 0;
  const std::size_t pending_before = ctx.replica().pending_count();
  ctx.close_replica();  // the session opens its own connection to the file

  RefusalCount refusals;
  ProgressBar bar(ctx.out(), first_sync && ctx.stdout_is_terminal() && !ctx.json,
                  ctx.tr(Msg::sync_downloading), 0);
  client::SyncOptions options = sync_options(settings);
  options.on_event = [&](const client::SyncEvent& event) {
    if (const auto* refused = std::get_if<client::ChangesRefused>(&event))
      refusals.add(refused->refused.size());
    if (const auto* changed = std::get_if<client::StatusChanged>(&event)) {
      if (changed->status.downloading) bar.update(changed->status.rows_received);
    }
  };
  const auto status =
      client::sync_once(ctx.book_path(), options, std::chrono::seconds(args.timeout_seconds));
  bar.finish();
  const std::size_t refused = refusals.take();

  if (ctx.json) {
    auto out = status_json(status);
    out["sent"] = pending_before - std::min(pending_before, status.pending_changes);
    out["refused"] = refused;
    print_json(ctx, out);
  } else if (client::is_synced(status)) {
    ctx.out() << ctx.tr(Msg::sync_done,
                        {std::to_string(pending_before), std::to_string(status.rows_received)})
              << '\n';
    if (refused > 0) ctx.out() << ctx.tr(Msg::sync_refused, {std::to_string(refused)}) << '\n';
  }
  if (client::is_synced(status)) return kExitOk;
  if (!status.last_error)
    throw CliError(kExitNetwork, ctx.tr(Msg::sync_timeout, {std::to_string(args.timeout_seconds)}));
  const int code = sync_exit_code(status.last_error->code);
  if (ctx.json) return code;
  // Worded for the seller, in their language; the server's or the system's own text is in
  // --json.
  const ErrorCode error = status.last_error->code;
  // A ws:// address fails "tls" only when it is refused for not being this machine's.
  const bool plain_refused = error == ErrorCode::tls && settings.url.starts_with("ws://");
  std::string message = ctx.tr(
      Msg::sync_failed,
      {settings.url, ctx.tr(plain_refused ? Msg::sync_error_plain : sync_error_reason(error))});
  if (error == ErrorCode::tls && !plain_refused) message += "\n" + ctx.tr(Msg::sync_tls_hint);
  throw CliError(code, message);
}

std::string status_line(Context& ctx, const client::SyncStatus& s) {
  std::string line = s.connected ? ctx.tr(Msg::status_connected) : ctx.tr(Msg::status_disconnected);
  if (s.downloading)
    line += " · " + ctx.tr(Msg::status_downloading, {std::to_string(s.rows_received)});
  if (s.connected && s.caught_up) line += " · " + ctx.tr(Msg::status_caught_up);
  line += " · " + ctx.tr(Msg::status_pending, {std::to_string(s.pending_changes)});
  if (!s.connected && s.last_error) line += " · " + ctx.tr(sync_error_reason(s.last_error->code));
  return line;
}

void write_watch_file(Context& ctx, const client::SyncStatus& s) {
  const auto path = watch_file(ctx);
  const auto temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << nlohmann::json{{"pid", ::getpid()},
                          {"connected", s.connected},
                          {"caught_up", s.caught_up},
                          {"pending_changes", s.pending_changes},
                          {"updated_ms", now_ms()}}
               .dump();
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
}

int sync_watch(Context& ctx, const SyncArgs& args) {
  const ServerSettings settings = server_settings(ctx, args.ca_file);
  ctx.close_replica();

  // SIGINT and SIGTERM are taken by sigtimedwait below, on this thread; blocked before the
  // session's thread starts, so it inherits the mask and never receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  RefusalCount refusals;
  client::SyncOptions options = sync_options(settings);
  options.on_event = [&](const client::SyncEvent& event) {
    if (const auto* refused = std::get_if<client::ChangesRefused>(&event))
      refusals.add(refused->refused.size());
  };
  client::SyncSession session(ctx.book_path(), options);
  session.start();
  if (!ctx.json) ctx.out() << ctx.tr(Msg::watch_started, {settings.url}) << std::endl;

  std::string last_line;
  auto last_heartbeat = std::chrono::steady_clock::time_point{};
  int stop_signal = 0;
  while (stop_signal == 0) {
    const auto status = session.status();
    const std::string line = status_line(ctx, status);
    if (line != last_line) {
      if (ctx.json) {
        auto event = status_json(status);
        event["at_ms"] = now_ms();
        ctx.out() << event.dump() << std::endl;
      } else {
        ctx.out() << "[" << local_time(ctx, now_ms()) << "] " << line << std::endl;
      }
      last_line = line;
      last_heartbeat = {};
    }
    if (std::chrono::steady_clock::now() - last_heartbeat >= kWatchHeartbeat) {
      write_watch_file(ctx, status);
      last_heartbeat = std::chrono::steady_clock::now();
    }
    if (const std::size_t refused = refusals.take(); refused > 0 && !ctx.json) {
      ctx.out() << ctx.tr(Msg::sync_refused, {std::to_string(refused)}) << std::endl;
    }
    ctx.close_replica();
    timespec wait{0, 250'000'000};
    const int got = sigtimedwait(&signals, nullptr, &wait);
    if (got == SIGINT || got == SIGTERM) stop_signal = got;
  }
  session.stop();
  std::error_code ec;
  std::filesystem::remove(watch_file(ctx), ec);
  if (!ctx.json) ctx.out() << ctx.tr(Msg::watch_stopped) << std::endl;
  return kExitOk;
}

// ---- status ----------------------------------------------------------------------------------

struct WatchState {
  bool running = false, connected = false;
};

WatchState read_watch_file(Context& ctx) {
  std::ifstream in(watch_file(ctx));
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  const auto data = nlohmann::json::parse(text.str(), nullptr, false);
  if (!data.is_object()) return {};
  const auto pid = data.value("pid", 0);
  const auto updated = data.value("updated_ms", std::uint64_t{0});
  const bool alive = pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
  const bool fresh = now_ms() - updated < static_cast<std::uint64_t>(kWatchFresh.count() * 1000);
  if (!alive || !fresh) return {};
  return {true, data.value("connected", false)};
}

// The seller's words for why the server refused a change, from its code and what it touched;
// the server's own (English) text is shown next to it.
Msg table_word(std::string_view table) {
  if (table == tables::contacts) return Msg::word_contact;
  if (table == tables::interactions) return Msg::word_interaction;
  return Msg::word_customer;
}

// A row as the seller knows it: a customer by its name (deleted ones too), another row by
// its kind and its customer's name; the id when this device does not hold it.
std::string row_label(Context& ctx, std::string_view table, std::string_view id) {
  auto& replica = ctx.replica();
  const auto name_of = [&](std::string_view t, std::string_view row) -> std::optional<std::string> {
    if (!customer_book_schema().table(t)) return std::nullopt;
    auto record = replica.get_with_deleted(t, row);
    if (!record) return std::nullopt;
    for (const char* field : {"name", "title", "product"}) {
      auto it = record->find(field);
      if (it != record->end() && it->second.is_text()) return it->second.as_text();
    }
    return std::nullopt;
  };
  if (table == tables::customers) return name_of(table, id).value_or(std::string(id));
  std::string label = ctx.tr(table_word(table));
  if (auto own = name_of(table, id)) label += " " + *own;
  if (const TableSpec* spec = customer_book_schema().table(table);
      spec && !spec->owner_link.empty()) {
    if (auto record = replica.get_with_deleted(table, id)) {
      auto link = record->find(spec->owner_link);
      if (link != record->end() && link->second.is_text()) {
        if (auto customer = name_of(tables::customers, link->second.as_text()))
          label += " (" + *customer + ")";
      }
    }
  }
  return label == ctx.tr(table_word(table)) ? std::string(id) : label;
}

// Who wrote one side of a conflict: the user the server names, else the device.
std::string author(const std::string& user, const Version& version) {
  return user.empty() ? version.replica : user;
}

// What `status` reports, read once from the replica and the watch file.
struct StatusReport {
  std::string server;
  bool has_token = false;
  std::size_t pending = 0;
  std::optional<std::uint64_t> last_sync;
  std::vector<ConflictNotice> lost;
  std::vector<ConflictNotice> won;
  std::vector<RefusedChange> refusals;
  WatchState watch;
};

StatusReport read_status(Context& ctx) {
  auto& replica = ctx.replica();
  StatusReport report;
  report.server = replica.setting(kServerUrlSetting).value_or("");
  report.has_token = !replica.setting(kTokenSetting).value_or("").empty();
  report.pending = replica.pending_count();
  if (auto text = replica.setting("last_sync_ms")) {
    try {
      report.last_sync = std::stoull(*text);
    } catch (const std::exception&) {
    }
  }
  report.lost = replica.reported_conflicts(client::ConflictSide::lost);
  report.won = replica.reported_conflicts(client::ConflictSide::won);
  report.refusals = replica.reported_refusals();
  report.watch = read_watch_file(ctx);
  return report;
}

void print_status_json(Context& ctx, const StatusReport& report) {
  nlohmann::json out;
  out["home"] = ctx.home().string();
  out["replica_id"] = ctx.replica().replica_id();
  out["server"] = report.server.empty() ? nlohmann::json(nullptr) : nlohmann::json(report.server);
  out["token"] = report.has_token;
  out["sync_running"] = report.watch.running;
  out["connected"] = report.watch.connected;
  out["pending_changes"] = report.pending;
  out["last_sync_ms"] = report.last_sync ? nlohmann::json(*report.last_sync) : nullptr;
  out["conflicts"] = nlohmann::json::array();
  for (const auto* list : {&report.lost, &report.won}) {
    for (const auto& c : *list) {
      out["conflicts"].push_back({{"table", c.table},
                                  {"row", c.row},
                                  {"field", c.field},
                                  {"kind", c.kind},
                                  {"side", list == &report.lost ? "lost" : "won"},
                                  {"kept", value_json(c.kept)},
                                  {"kept_by", author(c.kept_user, c.kept_version)},
                                  {"kept_ms", c.kept_version.hlc.millis()},
                                  {"lost", value_json(c.lost)},
                                  {"lost_by", author(c.lost_user, c.lost_version)},
                                  {"lost_ms", c.lost_version.hlc.millis()}});
    }
  }
  out["refused"] = nlohmann::json::array();
  const auto& refusals = report.refusals;
  const std::size_t first_refused =
      refusals.size() > kRefusalsShownJson ? refusals.size() - kRefusalsShownJson : 0;
  for (std::size_t i = first_refused; i < refusals.size(); ++i) {
    const auto& r = refusals[i];
    nlohmann::json item{{"table", r.table},
                        {"row", r.row},
                        {"field", r.field},
                        {"code", std::string(error_code_name(r.code))},
                        {"reason", ctx.tr(refusal_reason(r))},
                        {"message", r.message}};
    if (!r.element.empty()) item["element"] = r.element;
    out["refused"].push_back(std::move(item));
  }
  print_json(ctx, out);
}

// The newest conflicts of one side, a line each: what the seller lost, or what they kept.
void print_conflicts(Context& ctx, const std::vector<ConflictNotice>& list, bool lost) {
  auto& out = ctx.out();
  const auto field_name = [&](const ConflictNotice& c) {
    return std::string(field_label(c.field, ctx.lang()));
  };
  // A conflict's value as the seller reads it. Whatever the server sent is shown: a value
  // that does not fit its field (a delete's `true`) is shown as what it is.
  const auto shown = [&](const ConflictNotice& c, const Value& v) {
    const TableSpec* table = customer_book_schema().table(c.table);
    const FieldSpec* spec = table ? table->field(c.field) : nullptr;
    return spec ? display_value(*spec, v, ctx.format()) : value_json(v).dump();
  };
  if (list.empty()) return;
  out << '\n' << ctx.tr(lost ? Msg::status_conflicts_heading : Msg::status_won_heading) << '\n';
  const std::size_t first = list.size() > kConflictsShown ? list.size() - kConflictsShown : 0;
  for (std::size_t i = first; i < list.size(); ++i) {
    const auto& c = list[i];
    const std::string who = row_label(ctx, c.table, c.row);
    // The other side: who wrote the value that won over the seller's, or that the seller's beat.
    const std::string by =
        lost ? author(c.kept_user, c.kept_version) : author(c.lost_user, c.lost_version);
    const std::string when = local_time(ctx, (lost ? c.kept_version : c.lost_version).hlc.millis());
    out << "  ";
    if (c.kind == "edit_of_deleted") {
      out << (lost ? ctx.tr(Msg::status_deleted_line, {who, by, when, field_name(c)})
                   : ctx.tr(Msg::status_deleted_won_line, {who, by, field_name(c), when}));
    } else if (lost) {
      out << ctx.tr(Msg::status_lost_line,
                    {who, field_name(c), shown(c, c.kept), by, when, shown(c, c.lost)});
    } else {
      out << ctx.tr(Msg::status_won_line,
                    {who, field_name(c), shown(c, c.kept), shown(c, c.lost), by, when});
    }
    out << '\n';
  }
}

void print_status_text(Context& ctx, const StatusReport& report) {
  auto& out = ctx.out();
  TextTable rows;
  rows.add_row({ctx.tr(Msg::status_book), ctx.book_path().string()});
  rows.add_row({ctx.tr(Msg::status_server),
                report.server.empty() ? ctx.tr(Msg::status_no_server) : report.server});
  rows.add_row({ctx.tr(Msg::status_connection),
                report.watch.running ? (report.watch.connected ? ctx.tr(Msg::status_connected)
                                                               : ctx.tr(Msg::status_disconnected))
                                     : ctx.tr(Msg::status_not_running)});
  rows.add_row({ctx.tr(Msg::status_pending_label), std::to_string(report.pending)});
  rows.add_row({ctx.tr(Msg::status_last_sync),
                report.last_sync ? local_time(ctx, *report.last_sync) : ctx.tr(Msg::status_never)});
  rows.add_row({ctx.tr(Msg::status_conflicts), std::to_string(report.lost.size())});
  rows.add_row({ctx.tr(Msg::status_won), std::to_string(report.won.size())});
  rows.add_row({ctx.tr(Msg::status_refused), std::to_string(report.refusals.size())});
  rows.print(out, "");

  print_conflicts(ctx, report.lost, true);
  print_conflicts(ctx, report.won, false);
  const auto& refusals = report.refusals;
  if (!refusals.empty()) out << '\n' << ctx.tr(Msg::status_refused_heading) << '\n';
  const std::size_t first_refused =
      refusals.size() > kRefusalsShown ? refusals.size() - kRefusalsShown : 0;
  for (std::size_t i = first_refused; i < refusals.size(); ++i) {
    const auto& r = refusals[i];
    std::string field(field_label(r.field, ctx.lang()));
    if (!r.element.empty()) field += " (" + r.element + ")";
    out << "  "
        << ctx.tr(Msg::status_refused_line,
                  {row_label(ctx, r.table, r.row), field, ctx.tr(refusal_reason(r))})
        << '\n';
  }
}

int status(Context& ctx) {
  const StatusReport report = read_status(ctx);
  if (ctx.json)
    print_status_json(ctx, report);
  else
    print_status_text(ctx, report);
  return kExitOk;
}

}  // namespace

void add_sync_commands(CLI::App& app, Context& ctx, Action& action) {
  auto init_args = std::make_shared<InitArgs>();
  auto* init_cmd = app.add_subcommand("init", ctx.tr(Msg::help_init));
  init_cmd->add_option("--server", init_args->server, ctx.tr(Msg::help_init_server))
      ->type_name("wss://HOST:PORT/sync");
  init_cmd->add_option("--token", init_args->token, ctx.tr(Msg::help_init_token));
  init_cmd->add_option("--ca", init_args->ca_file, ctx.tr(Msg::help_init_ca))->type_name("FILE");
  init_cmd->add_flag("--allow-plain", init_args->allow_plain, ctx.tr(Msg::help_init_allow_plain));
  init_cmd->add_option("--owner", init_args->owner, ctx.tr(Msg::help_init_owner));
  choose(*init_cmd, action, ctx, init_args, init);

  auto sync_args = std::make_shared<SyncArgs>();
  auto* sync_cmd = app.add_subcommand("sync", ctx.tr(Msg::help_sync));
  sync_cmd->alias("sincronizar");
  sync_cmd->add_flag("--watch", sync_args->watch, ctx.tr(Msg::help_sync_watch));
  sync_cmd->add_option("--timeout", sync_args->timeout_seconds, ctx.tr(Msg::help_sync_timeout))
      ->check(CLI::Range(1, 24 * 3600));
  sync_cmd->add_option("--ca", sync_args->ca_file, ctx.tr(Msg::help_sync_ca))->type_name("FILE");
  sync_cmd->callback([&ctx, &action, sync_args] {
    action = [&ctx, sync_args] {
      return sync_args->watch ? sync_watch(ctx, *sync_args) : sync_once_command(ctx, *sync_args);
    };
  });

  auto* status_cmd = app.add_subcommand("status", ctx.tr(Msg::help_status));
  status_cmd->alias("estado");
  choose(*status_cmd, action, [&ctx] { return status(ctx); });
}

}  // namespace libreta::cli
