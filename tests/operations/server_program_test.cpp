// The libreta-server program as an operator runs it: the configuration file and its errors,
// flags over the file, token commands, and SIGHUP reloading a renewed certificate and the
// reloadable settings while a device stays connected. The real binary, real files.

#include <csignal>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>

#include <boost/asio/ssl/context.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/process/child_process.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "support/temp_dir.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_probe.hpp"

using namespace libreta;
using namespace libreta::test;
using namespace std::chrono_literals;
using process::ChildProcess;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kDeadline = std::chrono::milliseconds(20s);

struct ProgramRun {
  int exit_code = -1;
  std::string out, err;
};

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file) << text;
}

// Runs `libreta-server args...` to its end.
ProgramRun run_program(TempDir& dir, const std::vector<std::string>& args) {
  static int runs = 0;
  const auto err_file = dir.file("run-" + std::to_string(++runs) + ".err");
  ChildProcess child(LIBRETA_SERVER_BINARY, args, err_file, /*pipes=*/true);
  ProgramRun run;
  const auto deadline = Clock::now() + kDeadline;
  while (auto line = child.read_line(deadline)) run.out += *line + "\n";
  const auto status = child.wait_exit(deadline);
  REQUIRE(status.has_value());
  REQUIRE(WIFEXITED(*status));
  run.exit_code = WEXITSTATUS(*status);
  run.err = read_file(err_file);
  return run;
}

// A running `libreta-server serve`, its log in a file.
class RunningServer {
 public:
  RunningServer(TempDir& dir, const std::vector<std::string>& args)
      : log_(dir.file("serve.log")), process_(LIBRETA_SERVER_BINARY, args, log_, /*pipes=*/false) {
    REQUIRE(wait_for_log("listen=127.0.0.1:"));
    const std::smatch match = find("listen=127\\.0\\.0\\.1:([0-9]+)");
    port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
  }

  std::uint16_t port() const { return port_; }
  std::string log() const { return read_file(log_); }

  bool wait_for_log(const std::string& text, std::size_t occurrences = 1) {
    const auto deadline = Clock::now() + kDeadline;
    while (Clock::now() < deadline) {
      const std::string text_now = log();
      std::size_t found = 0;
      for (auto at = text_now.find(text); at != std::string::npos;
           at = text_now.find(text, at + 1)) {
        ++found;
      }
      if (found >= occurrences) return true;
      if (process_.poll_exit()) return false;
      std::this_thread::sleep_for(20ms);  // polling a file, with a deadline
    }
    return false;
  }

  void signal(int number) { ::kill(process_.pid(), number); }

  // SIGTERM, and the exit code.
  int stop() {
    const auto status = process_.stop(SIGTERM, Clock::now() + kDeadline);
    REQUIRE(status.has_value());
    return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

 private:
  std::smatch find(const std::string& pattern) {
    static std::string text;
    text = log();
    std::smatch match;
    REQUIRE(std::regex_search(text, match, std::regex(pattern)));
    return match;
  }

  std::filesystem::path log_;
  ChildProcess process_;
  std::uint16_t port_ = 0;
};

// The keys a TOML text sets, as "section.key".
std::set<std::string> keys_of(const std::string& toml) {
  std::set<std::string> keys;
  std::string section;
  std::istringstream lines(toml);
  std::string line;
  const std::regex section_line("^\\[([a-z_]+)\\]$"), key_line("^([a-z_0-9]+) = .*$");
  while (std::getline(lines, line)) {
    std::smatch match;
    if (std::regex_match(line, match, section_line)) section = match[1];
    if (std::regex_match(line, match, key_line)) keys.insert(section + "." + std::string(match[1]));
  }
  return keys;
}

}  // namespace

TEST_CASE("config: the default configuration and the packaged file check, and list every key",
          "[operations][config]") {
  TempDir dir;
  const ProgramRun defaults = run_program(dir, {"config", "default"});
  REQUIRE(defaults.exit_code == 0);
  const auto default_keys = keys_of(defaults.out);
  CHECK(default_keys.size() >= 30);
  write_file(dir.file("default.toml"), defaults.out);
  const ProgramRun check = run_program(dir, {"config", "check", dir.file("default.toml").string()});
  CHECK(check.exit_code == 0);
  CHECK(check.out.find(": ok") != std::string::npos);

  const std::string packaged = LIBRETA_PACKAGED_CONFIG;
  const ProgramRun packaged_check = run_program(dir, {"config", "check", packaged});
  INFO(packaged_check.err);
  CHECK(packaged_check.exit_code == 0);
  CHECK(keys_of(read_file(packaged)) == default_keys);
}

TEST_CASE("config: a bad file is refused with its line and a clear message, exit code 3",
          "[operations][config]") {
  TempDir dir;
  struct Case {
    std::string text, message;
  };
  const std::vector<Case> cases = {
      {"[server]\nlisten = \"127.0.0.1:9000\"\nlisten_on = \"0.0.0.0:80\"\n",
       ":3:1: unknown key \"listen_on\" in [server]"},
      {"[server]\nthreads = \"four\"\n", ":2:11: server.threads must be a whole number"},
      {"[server]\nthreads = 9999\n", "server.threads must be between 0 and 256, not 9999"},
      {"[sever]\nthreads = 2\n", "unknown section [sever]"},
      {"[server]\nlisten = \"127.0.0.1:99999\"\n", "server.listen must be HOST:PORT"},
      {"[log]\nlevel = \"verbose\"\n", "log.level must be debug, info, warn or error"},
      {"[metrics]\nallow = [\"10.0.0.0/33\"]\n", "metrics.allow: \"10.0.0.0/33\" is not an IP"},
      {"[tls]\ncert = \"/etc/ssl/a.crt\"\n",
       "tls.cert and tls.key (--tls-cert and --tls-key) go together"},
      {"[server\nlisten = 1\n", ":1:"},  // not TOML at all
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const auto file = dir.file("bad.toml");
    write_file(file, c.text);
    const ProgramRun check = run_program(dir, {"config", "check", file.string()});
    CHECK(check.exit_code == 3);
    CHECK(check.err.find(c.message) != std::string::npos);
    CHECK(check.err.find(file.string()) != std::string::npos);
    // Serving with it stops before anything is opened.
    const ProgramRun serve = run_program(
        dir, {"serve", "--config", file.string(), "--db", dir.file("never.db").string()});
    CHECK(serve.exit_code == 3);
    CHECK_FALSE(std::filesystem::exists(dir.file("never.db")));
  }
}

TEST_CASE("config: flags override the file, and --print-config shows the result",
          "[operations][config]") {
  TempDir dir;
  const auto file = dir.file("server.toml");
  write_file(file,
             "[server]\nlisten = \"127.0.0.1:9100\"\nthreads = 3\n[log]\nformat = \"json\"\n");
  const ProgramRun printed = run_program(
      dir, {"serve", "--config", file.string(), "--listen", "127.0.0.1:9200", "--print-config"});
  REQUIRE(printed.exit_code == 0);
  CHECK(printed.out.find("listen = \"127.0.0.1:9200\"") != std::string::npos);  // the flag
  CHECK(printed.out.find("threads = 3") != std::string::npos);                  // the file
  CHECK(printed.out.find("format = \"json\"") != std::string::npos);
  CHECK(printed.out.find("slow_commit_ms = 1000") != std::string::npos);  // a default
}

TEST_CASE(
    "tokens: create with an expiry, list shows it with the last use, revoke says what happens",
    "[operations][tokens]") {
  TempDir dir;
  const std::string db = dir.file("server.db").string();
  const ProgramRun created = run_program(dir, {"token", "create", "--db", db, "--user", "ana",
                                               "--role", "seller", "--expires", "2099-12-31"});
  REQUIRE(created.exit_code == 0);
  CHECK(created.out.rfind("lbt_", 0) == 0);
  CHECK(created.err.find("valid until 2100-01-01T00:00:00Z") != std::string::npos);
  const std::string secret = created.out.substr(0, created.out.find('\n'));

  const ProgramRun bad = run_program(dir, {"token", "create", "--db", db, "--user", "ben", "--role",
                                           "seller", "--expires", "soon"});
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("--expires must be YYYY-MM-DD or a number of days") != std::string::npos);
  const ProgramRun past = run_program(dir, {"token", "create", "--db", db, "--user", "ben",
                                            "--role", "seller", "--expires", "2001-01-01"});
  CHECK(past.exit_code == 3);
  CHECK(past.err.find("in the past") != std::string::npos);

  const ProgramRun listed = run_program(dir, {"token", "list", "--db", db});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.find("EXPIRES") != std::string::npos);
  CHECK(listed.out.find("LAST USED") != std::string::npos);
  CHECK(listed.out.find("2100-01-01T00:00:00Z") != std::string::npos);
  CHECK(listed.out.find(secret) == std::string::npos);

  const ProgramRun json = run_program(dir, {"token", "list", "--db", db, "--json"});
  const auto tokens = nlohmann::json::parse(json.out);
  REQUIRE(tokens.size() == 1);
  CHECK(tokens[0]["status"] == "live");
  CHECK(tokens[0]["last_used_ms"].is_null());
  const std::string id = tokens[0]["id"];

  const ProgramRun revoked = run_program(dir, {"token", "revoke", "--db", db, id});
  CHECK(revoked.exit_code == 0);
  CHECK(revoked.err.find("closes the ones open within a second") != std::string::npos);
  const auto after =
      nlohmann::json::parse(run_program(dir, {"token", "list", "--db", db, "--json"}).out);
  CHECK(after[0]["status"] == "revoked");
}

TEST_CASE(
    "reload: SIGHUP serves a renewed certificate and the new settings; a device stays "
    "connected",
    "[operations][reload]") {
  TempDir dir;
  TestCertificateAuthority ca("libreta reload CA");
  const auto ca_file = dir.file("ca.pem");
  ca.write_certificate(ca_file);
  const CertificateFiles first =
      ca.issue_server_certificate(dir.path(), "first", {}, {"127.0.0.1"});
  const CertificateFiles renewed =
      ca.issue_server_certificate(dir.path(), "renewed", {"renewed.example"}, {"127.0.0.1"});
  const auto cert = dir.file("server.crt"), key = dir.file("server.key");
  std::filesystem::copy_file(first.cert, cert);
  std::filesystem::copy_file(first.key, key);
  const std::string db = dir.file("server.db").string();
  const auto config = dir.file("server.toml");
  const std::string base = "[server]\nlisten = \"127.0.0.1:0\"\n[store]\ndb = \"" + db +
                           "\"\n[tls]\ncert = \"" + cert.string() + "\"\nkey = \"" + key.string() +
                           "\"\n";
  write_file(config, base + "[metrics]\nenabled = true\n");

  const ProgramRun token =
      run_program(dir, {"token", "create", "--db", db, "--user", "ana", "--role", "seller"});
  REQUIRE(token.exit_code == 0);
  RunningServer server(dir, {"serve", "--config", config.string()});

  // Ana's device connects over wss:// and syncs.
  auto replica = client::Replica::open(dir.file("ana.db"));
  client::SyncOptions options;
  options.server_url = "wss://127.0.0.1:" + std::to_string(server.port()) + "/sync";
  options.token = token.out.substr(0, token.out.find('\n'));
  options.ca_file = ca_file.string();
  options.initial_backoff = 50ms;
  client::SyncSession session(replica->path(), options);
  Customer customer;
  customer.name = "Ferretería Peña S.L.";
  customer.status = "active";
  replica->create(customer);
  session.start();
  REQUIRE(session.wait_until_synced(kDeadline));

  boost::asio::ssl::context trusting(boost::asio::ssl::context::tls_client);
  trusting.load_verify_file(ca_file.string());
  trusting.set_verify_mode(boost::asio::ssl::verify_peer);
  const ProbeResult before = tls_probe(server.port(), trusting, "/metrics");
  REQUIRE_FALSE(before.handshake);
  CHECK(before.peer_certificate == certificate_der(first.cert.string()));
  REQUIRE(before.response.has_value());
  CHECK(before.response->result_int() == 200);

  // The certificate is renewed in place, /metrics turned off, and the port changed (which
  // only a restart applies).
  std::filesystem::copy_file(renewed.cert, cert, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(renewed.key, key, std::filesystem::copy_options::overwrite_existing);
  std::string moved = base;
  moved.replace(moved.find("127.0.0.1:0"), 11, "127.0.0.1:1");
  write_file(config, moved + "[metrics]\nenabled = false\n");
  server.signal(SIGHUP);
  REQUIRE(server.wait_for_log("event=config_reloaded"));
  CHECK(server.log().find("event=config_needs_restart") != std::string::npos);
  CHECK(server.log().find("server.listen") != std::string::npos);

  const ProbeResult after = tls_probe(server.port(), trusting, "/metrics");
  REQUIRE_FALSE(after.handshake);
  CHECK(after.peer_certificate == certificate_der(renewed.cert.string()));
  REQUIRE(after.response.has_value());
  CHECK(after.response->result_int() == 404);

  // The device never noticed: same connection, and a new edit syncs on it.
  const auto reconnects = session.status().reconnects;
  Customer second;
  second.name = "Talleres Ruiz";
  second.status = "prospect";
  replica->create(second);
  session.nudge();
  const auto pushed_by = Clock::now() + kDeadline;
  while (replica->pending_count() > 0 && Clock::now() < pushed_by) {
    std::this_thread::sleep_for(10ms);  // polling the replica file, with a deadline
  }
  CHECK(replica->pending_count() == 0);
  CHECK(session.status().reconnects == reconnects);
  CHECK(session.status().connected);

  // A file broken by mistake changes nothing: the server goes on with what it has.
  write_file(config, base + "[metrics]\nenabled = maybe\n");
  server.signal(SIGHUP);
  REQUIRE(server.wait_for_log("event=config_reload_failed"));
  CHECK(tls_probe(server.port(), trusting, "/healthz").response->result_int() == 200);

  session.stop();
  CHECK(server.stop() == 0);
  CHECK(server.log().find("event=stopped") != std::string::npos);
}

TEST_CASE("backup and restore: the commands while serving, and a restore refused until it stops",
          "[operations][backup]") {
  TempDir dir;
  const std::string db = dir.file("server.db").string();
  const std::string backup = dir.file("backup.db").string();
  REQUIRE(run_program(dir, {"token", "create", "--db", db, "--user", "ana", "--role", "seller"})
              .exit_code == 0);
  RunningServer server(dir, {"serve", "--listen", "127.0.0.1:0", "--db", db});

  const ProgramRun taken = run_program(dir, {"backup", "--db", db, "--out", backup});
  INFO(taken.err);
  REQUIRE(taken.exit_code == 0);
  CHECK(taken.out.find("1 tokens") != std::string::npos);
  CHECK(run_program(dir, {"backup", "--db", db, "--out", backup}).exit_code == 4);  // exists

  // A second server on the same file, and a restore under the running one, are refused.
  const ProgramRun second = run_program(dir, {"serve", "--listen", "127.0.0.1:0", "--db", db});
  CHECK(second.exit_code == 4);
  CHECK(second.err.find("served by another libreta-server") != std::string::npos);
  const ProgramRun refused = run_program(dir, {"restore", "--from", backup, "--db", db});
  CHECK(refused.exit_code == 4);
  CHECK(refused.err.find("stop it first") != std::string::npos);

  CHECK(server.stop() == 0);
  const ProgramRun restored = run_program(dir, {"restore", "--from", backup, "--db", db});
  INFO(restored.err);
  CHECK(restored.exit_code == 0);
  CHECK(restored.err.find("send their changes again") != std::string::npos);
  CHECK(restored.err.find(".replaced-") != std::string::npos);
  const ProgramRun listed = run_program(dir, {"token", "list", "--db", db});
  CHECK(listed.out.find("ana") != std::string::npos);
}
