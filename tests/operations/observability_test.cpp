// What the operator sees of a running server: GET /metrics and its access rules, GET /readyz,
// the log's lines (connections, refusals, failed authentications; never a secret or a
// customer's data), and tokens that expire and remember their last use. A real server in
// the test process, real devices and raw WebSocket clients.

#include <chrono>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/device.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/server/log.hpp"
#include "libreta/server/tokens.hpp"
#include "support/http_client.hpp"
#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

using namespace libreta;
using namespace libreta::test;
using namespace std::chrono_literals;

namespace {

// The lines a server logged, kept for the test.
class LogLines {
 public:
  std::shared_ptr<server::Log> log(server::LogFormat format = server::LogFormat::logfmt) {
    return std::make_shared<server::Log>(format, server::LogLevel::debug,
                                         [this](std::string_view line) {
                                           std::lock_guard lock(mutex_);
                                           lines_.emplace_back(line);
                                           changed_.notify_all();
                                         });
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  // Waits until a line holds every part.
  bool wait_for(std::initializer_list<std::string_view> parts,
                std::chrono::milliseconds timeout = kDeadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      for (const auto& line : lines_) {
        bool all = true;
        for (auto part : parts) all = all && line.find(part) != std::string::npos;
        if (all) return true;
      }
      return false;
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

// A server whose transport and service write to `log`.
ServerFixture logged_server(LogLines& lines, server::LogFormat format = server::LogFormat::logfmt,
                            server::MetricsAccess metrics = {}) {
  server::ServerOptions options = ServerFixture::quiet_options();
  options.log = lines.log(format);
  options.metrics = std::move(metrics);
  server::SyncServiceOptions service;
  service.log = options.log;
  return ServerFixture(options, service);
}

// The samples of a Prometheus text: "name{labels}" → value.
std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

std::map<std::string, double> scrape(ServerFixture& server) {
  const auto response = http_request(server.port(), "GET", "/metrics");
  REQUIRE(response.status == 200);
  CHECK(response.content_type == "text/plain; version=0.0.4; charset=utf-8");
  return parse_metrics(response.body);
}

double sample(const std::map<std::string, double>& samples, const std::string& name) {
  auto it = samples.find(name);
  return it == samples.end() ? -1 : it->second;
}

// Says hello with `token` and returns the server's answer.
Message hello_with(WsClient& client, const std::string& token) {
  Hello hello;
  hello.schema = kCustomerBookSchemaVersion;
  hello.replica = new_replica_id();
  hello.token = token;
  REQUIRE(client.send_text(encode_message(hello)));
  const auto frame = client.receive();
  REQUIRE(frame.has_value());
  auto message = decode_message(*frame);
  REQUIRE(message.ok());
  return std::move(message).value();
}

std::string raw_get(const std::string& target, const std::string& extra_headers) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers +
         "Connection: close\r\n\r\n";
}

}  // namespace

TEST_CASE("metrics: every family is served and moves under a small load", "[operations]") {
  LogLines lines;
  ServerFixture server = logged_server(lines);
  const auto before = scrape(server);

  // Two sellers sync a day's work; one stranger tries a bad token; one seller writes a
  // customer that is not theirs.
  Device ana(server, server.create_token("ana", server::Role::seller));
  Device ben(server, server.create_token("ben", server::Role::manager));
  const std::string id = ana.add_customer("Ferretería Peña S.L.");
  ana.sync().start();
  ben.sync().start();
  REQUIRE(ana.sync().wait_until_synced(kDeadline));
  REQUIRE(ben.sync().wait_until_synced(kDeadline));
  REQUIRE(ben.events().wait_for([&](const EventLog&) { return ben.app().customer(id).has_value(); },
                                kDeadline));
  WsClient stranger;
  stranger.connect(server.url());
  CHECK(std::holds_alternative<ProtocolError>(hello_with(stranger, "lbt_not-a-real-token")));

  const auto after = scrape(server);
  // Every family the operator's guide lists is there.
  for (const char* family : {"libreta_connections_live",
                             "libreta_connections_opened_total",
                             "libreta_pushes_total",
                             "libreta_changes_applied_total",
                             "libreta_conflicts_total",
                             "libreta_commits_total",
                             "libreta_commit_duration_seconds_count",
                             "libreta_commit_fsync_seconds_count",
                             "libreta_commit_changes_count",
                             "libreta_commits_slow_total",
                             "libreta_pull_pages_read_total",
                             "libreta_pull_pages_shared_total",
                             "libreta_live_updates_total",
                             "libreta_live_update_bytes_total",
                             "libreta_write_queue_jobs",
                             "libreta_write_queue_changes",
                             "libreta_last_seq",
                             "libreta_store_bytes",
                             "libreta_connections_anonymous",
                             "libreta_frames_received_total",
                             "libreta_frames_received_bytes_total",
                             "libreta_frames_sent_total",
                             "libreta_frames_sent_bytes_total",
                             "libreta_outgoing_queue_bytes",
                             "libreta_incoming_bytes",
                             "libreta_tls_handshake_failures_total",
                             "libreta_process_resident_memory_bytes",
                             "libreta_process_cpu_seconds_total",
                             "libreta_process_open_fds",
                             "libreta_process_start_time_seconds"}) {
    INFO(family);
    CHECK(after.count(family) == 1);
  }
  // And it moved.
  CHECK(sample(after, "libreta_pushes_total") > sample(before, "libreta_pushes_total"));
  CHECK(sample(after, "libreta_changes_applied_total") >= 3);  // the customer's fields
  CHECK(sample(after, "libreta_commits_total") >= 1);
  CHECK(sample(after, "libreta_commit_duration_seconds_count") >= 1);
  CHECK(sample(after, "libreta_commit_duration_seconds_bucket{le=\"+Inf\"}") ==
        sample(after, "libreta_commit_duration_seconds_count"));
  CHECK(sample(after, "libreta_last_seq") >= 1);
  CHECK(sample(after, "libreta_store_bytes") > 0);
  CHECK(sample(after, "libreta_pull_pages_read_total") >= 1);
  CHECK(sample(after, "libreta_live_updates_total") >= 1);  // ana's customer reached ben live
  CHECK(sample(after, "libreta_frames_received_total") > 0);
  CHECK(sample(after, "libreta_frames_sent_bytes_total") > 0);
  const std::string protocol = "protocol=\"" + std::to_string(kProtocolVersion) + "\"";
  CHECK(sample(after, "libreta_connections{role=\"seller\"," + protocol + "}") == 1);
  CHECK(sample(after, "libreta_connections{role=\"manager\"," + protocol + "}") == 1);
  CHECK(sample(after, "libreta_hellos_refused_total{reason=\"bad_token\"}") == 1);
  CHECK(sample(after, "libreta_process_resident_memory_bytes") > 1e6);
  CHECK(sample(after, "libreta_http_requests_total{path=\"/metrics\",status=\"200\"}") >= 1);

  // A connection gone is counted by why.
  ana.sync().stop();
  REQUIRE(lines.wait_for({"event=connection_closed", "user=ana"}));
  const auto closed = scrape(server);
  CHECK(sample(closed, "libreta_connections{role=\"seller\"," + protocol + "}") == 0);
  // The session stops without a close handshake, as an app that quits.
  CHECK(sample(closed, "libreta_connections_closed_total{reason=\"client_disconnected\"}") >= 1);
}

TEST_CASE("metrics: only allowed addresses, and with a token only its bearer, may read them",
          "[operations]") {
  LogLines lines;
  SECTION("an address outside the list gets 403") {
    server::MetricsAccess access;
    access.allow = {"10.0.0.0/8"};
    ServerFixture server = logged_server(lines, server::LogFormat::logfmt, access);
    CHECK(http_request(server.port(), "GET", "/metrics").status == 403);
    CHECK(lines.wait_for({"event=metrics_refused", "reason=\"address not allowed\""}));
    // Health stays open: a load balancer needs it.
    CHECK(http_request(server.port(), "GET", "/healthz").status == 200);
  }
  SECTION("a token is required when configured") {
    const std::string secret = "scraper-secret-1234";
    server::MetricsAccess access;
    access.token_sha256 = server::hash_token(secret);
    ServerFixture server = logged_server(lines, server::LogFormat::logfmt, access);
    CHECK(http_raw(server.port(), raw_get("/metrics", "")).status == 401);
    CHECK(http_raw(server.port(), raw_get("/metrics", "Authorization: Bearer wrong\r\n")).status ==
          401);
    const auto good =
        http_raw(server.port(), raw_get("/metrics", "Authorization: Bearer " + secret + "\r\n"));
    CHECK(good.status == 200);
    CHECK(good.body.find("libreta_commits_total") != std::string::npos);
    for (const auto& line : lines.lines()) CHECK(line.find(secret) == std::string::npos);
  }
  SECTION("disabled, they are not there") {
    server::MetricsAccess access;
    access.enabled = false;
    ServerFixture server = logged_server(lines, server::LogFormat::logfmt, access);
    CHECK(http_request(server.port(), "GET", "/metrics").status == 404);
  }
  SECTION("the rules change while serving") {
    ServerFixture server = logged_server(lines);
    CHECK(http_request(server.port(), "GET", "/metrics").status == 200);
    server::MetricsAccess closed;
    closed.allow = {"192.0.2.1"};
    server.server().set_metrics_access(closed);
    CHECK(http_request(server.port(), "GET", "/metrics").status == 403);
    server::MetricsAccess bad;
    bad.allow = {"not-an-address"};
    CHECK_THROWS_AS(server.server().set_metrics_access(bad), std::invalid_argument);
    CHECK(http_request(server.port(), "GET", "/metrics").status == 403);  // unchanged
  }
}

TEST_CASE("readyz: ready while serving, not ready once stopping", "[operations]") {
  ServerFixture server;
  const auto ready = http_request(server.port(), "GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(nlohmann::json::parse(ready.body)["status"] == "ready");
  CHECK(http_request(server.port(), "POST", "/readyz").status == 405);
  // The service stopping (what SIGTERM begins) makes it not ready at once.
  server.service().stop();
  const auto stopping = http_request(server.port(), "GET", "/readyz");
  CHECK(stopping.status == 503);
  CHECK(nlohmann::json::parse(stopping.body)["problem"] == "shutting down");
}

TEST_CASE("logs: connections, a refused token and a refused write, and no secret in any line",
          "[operations]") {
  LogLines lines;
  const auto format = GENERATE(server::LogFormat::logfmt, server::LogFormat::json);
  ServerFixture server = logged_server(lines, format);
  const std::string ana_token = server.create_token("ana", server::Role::seller);
  const std::string ben_token = server.create_token("ben", server::Role::seller);

  Device ana(server, ana_token);
  const std::string phone = "+34 611 222 333";
  const std::string id = ana.add_customer("Ferretería Peña S.L.");
  ana.set(id, "phone", Value(phone));
  ana.sync().start();
  REQUIRE(ana.sync().wait_until_synced(kDeadline));

  // Ben's device writes Ana's customer, which is not in his scope: refused.
  WsClient ben;
  ben.connect(server.url());
  Hello hello;
  hello.schema = kCustomerBookSchemaVersion;
  hello.replica = "ben-phone";
  hello.token = ben_token;
  REQUIRE(ben.send_text(encode_message(hello)));
  REQUIRE(ben.receive().has_value());  // welcome
  Push push;
  push.changes.push_back(
      {1, Change{tables::customers, id, "notes", "", Value("secret plans of the customer"),
                 Version{Hlc::from_parts(wall_ms(), 0), "ben-phone"}, Version{}}});
  REQUIRE(ben.send_text(encode_message(push)));
  REQUIRE(lines.wait_for({"refused", "forbidden", "ben", "notes"}));

  WsClient stranger;
  stranger.connect(server.url());
  const std::string bad_secret = "lbt_stolen-or-mistyped-secret";
  CHECK(std::holds_alternative<ProtocolError>(hello_with(stranger, bad_secret)));

  REQUIRE(lines.wait_for({"hello_refused", "bad_token"}));
  REQUIRE(lines.wait_for({"connection_opened", "ana"}));
  for (const auto& line : lines.lines()) {
    INFO(line);
    for (const std::string& secret :
         {ana_token, ben_token, bad_secret, phone, std::string("secret plans")}) {
      CHECK(line.find(secret) == std::string::npos);
    }
    CHECK(line.find("Peña") == std::string::npos);  // a customer's name is data
    if (format == server::LogFormat::json) {
      const auto object = nlohmann::json::parse(line);
      CHECK(object.contains("time"));
      CHECK(object.contains("level"));
      CHECK(object.contains("event"));
    } else {
      CHECK(std::regex_search(line, std::regex("^time=\\S+ level=(debug|info|warn|error) event=")));
    }
  }
}
