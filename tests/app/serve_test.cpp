// `libreta serve` as a seller runs it: the real program on an ephemeral loopback port over a
// real replica, its sync session against a real server. The sign-in link works once, pages
// answer over real sockets, and what the seller writes in the app reaches the server by
// itself, also when the server was down at the time.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

#include <boost/asio/ssl/context.hpp>

#include "cli/cli_fixture.hpp"
#include "e2e/device.hpp"
#include "libreta/web/form.hpp"
#include "support/http_client.hpp"
#include "support/server_fixture.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_probe.hpp"

namespace libreta::test {
namespace {

// A browser of one: the cookie it was given and the CSRF token of the last page it read.
struct Browser {
  explicit Browser(std::uint16_t port_in) : port(port_in) {}

  std::uint16_t port = 0;
  std::string cookie, csrf;

  HttpResult send(std::string_view method, std::string_view target, std::string_view body = {},
                  std::string_view host = {}, std::string_view extra_headers = {}) {
    std::string request(method);
    request.append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
    if (host.empty()) {
      request.append("127.0.0.1:").append(std::to_string(port));
    } else {
      request.append(host);
    }
    request.append("\r\nConnection: close\r\n").append(extra_headers);
    if (!cookie.empty()) request.append("Cookie: ").append(cookie).append("\r\n");
    if (!body.empty()) {
      request.append("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ")
          .append(std::to_string(body.size()))
          .append("\r\n");
    }
    request.append("\r\n").append(body);
    HttpResult result = http_raw(port, request);
    static const std::regex csrf_field("name=\"csrf\" value=\"([^\"]+)\"");
    std::smatch match;
    if (std::regex_search(result.body, match, csrf_field)) csrf = match[1];
    return result;
  }

  HttpResult post(std::string_view target, web::Params form) {
    form.add("csrf", csrf);
    return send("POST", target, form.encode());
  }
};

// Starts `libreta serve` on a free port and reads the sign-in link it prints.
std::pair<std::unique_ptr<CliProcess>, std::string> start_app(CliFixture& cli) {
  auto process = cli.start({"serve", "--listen", "127.0.0.1:0"});
  REQUIRE(process->wait_for_output("Ctrl+C", std::chrono::seconds(10)));
  static const std::regex link("http://127\\.0\\.0\\.1:([0-9]+)(/signin\\?key=[A-Za-z0-9_-]+)");
  std::smatch match;
  const std::string output = process->output();
  REQUIRE(std::regex_search(output, match, link));
  return {std::move(process), match[0]};
}

std::uint16_t port_of(const std::string& url) {
  const auto colon = url.rfind(':');
  return static_cast<std::uint16_t>(std::stoi(url.substr(colon + 1)));
}

std::string path_of(const std::string& url) {
  return url.substr(url.find('/', 8));
}

// Waits until the office's replica holds a customer with that name and field value.
bool office_sees(Device& office, const std::string& name, const std::string& field,
                 const std::string& value) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& c : office.app().list_customers({})) {
      if (c.name != name) continue;
      const auto record = office.app().get(tables::customers, c.id);
      const auto it = record->find(field);
      if (it != record->end() && it->second.is_text() && it->second.as_text() == value) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a replica file
  }
  return false;
}

}  // namespace

TEST_CASE("serve: the seller's writes reach the server by themselves, also after it was down",
          "[app][serve]") {
  ServerFixture server;
  Device office(server, server.create_token("office", server::Role::manager));
  office.sync().start();
  CliFixture cli;
  REQUIRE(cli.run({"init", "--server", server.url(), "--token",
                   server.create_token("ana", server::Role::seller), "--owner", "ana"})
              .status == 0);
  auto [process, url] = start_app(cli);
  Browser browser(port_of(url));

  // The link signs in once; the cookie it gives is HttpOnly and SameSite=Strict.
  auto signed_in = browser.send("GET", path_of(url));
  REQUIRE(signed_in.status == 303);
  const std::string set_cookie = signed_in.header("set-cookie");
  CHECK(set_cookie.find("HttpOnly") != std::string::npos);
  CHECK(set_cookie.find("SameSite=Strict") != std::string::npos);
  browser.cookie = set_cookie.substr(0, set_cookie.find(';'));
  Browser stranger(browser.port);
  CHECK(stranger.send("GET", path_of(url)).status == 403);
  CHECK(stranger.send("GET", "/").status == 401);
  CHECK(browser.send("GET", "/", {}, "attacker.example").status == 421);

  REQUIRE(browser.send("GET", "/customers/new").status == 200);
  web::Params customer;
  customer.add("kind", "company");
  customer.add("status", "active");
  customer.add("name", "Frutas Montes");
  customer.add("city", "Murcia");
  customer.add("owner", "ana");
  const auto created = browser.post("/customers/new", customer);
  REQUIRE(created.status == 303);
  CHECK(office_sees(office, "Frutas Montes", "city", "Murcia"));

  // The server goes down; the seller edits; the server comes back and gets the edit.
  server.stop();
  const std::string card =
      created.header("location").substr(0, created.header("location").find('?'));
  REQUIRE(browser.send("GET", card + "/edit").status == 200);
  customer = web::Params();
  customer.add("kind", "company");
  customer.add("status", "active");
  customer.add("name", "Frutas Montes");
  customer.add("city", "Cartagena");
  customer.add("owner", "ana");
  REQUIRE(browser.post(card + "/edit", customer).status == 303);
  const auto offline = browser.send("GET", "/status");
  CHECK(offline.body.find("\"connected\":false") != std::string::npos);
  server.restart();
  CHECK(office_sees(office, "Frutas Montes", "city", "Cartagena"));

  process->signal(SIGTERM);
  const auto ended = process->wait(std::chrono::seconds(10));
  CHECK(ended.status == 0);
  CHECK(ended.out.find("App stopped") != std::string::npos);
}

TEST_CASE("serve: a book with no server works alone", "[app][serve]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);

  auto [process, url] = start_app(cli);
  Browser browser(port_of(url));
  const auto signed_in = browser.send("GET", path_of(url));
  browser.cookie =
      signed_in.header("set-cookie").substr(0, signed_in.header("set-cookie").find(';'));
  const auto today = browser.send("GET", "/");
  CHECK(today.status == 200);
  CHECK(today.body.find("No server") != std::string::npos);
  process->signal(SIGINT);
  CHECK(process->wait(std::chrono::seconds(10)).status == 0);
}

TEST_CASE("serve: oversized and malformed requests are refused, the app keeps serving",
          "[app][serve][security]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  auto [process, url] = start_app(cli);
  const std::uint16_t port = port_of(url);
  CHECK(http_raw(port, "NONSENSE\r\n\r\n").status == 400);
  const std::string huge_header =
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  CHECK(http_raw(port, huge_header).status == 431);
  const std::string huge_body =
      "POST /customers/new HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
      "\r\nContent-Length: 5000000\r\n\r\n";
  CHECK(http_raw(port, huge_body).status == 413);
  Browser browser(port);
  CHECK(browser.send("GET", path_of(url)).status == 303);
  process->signal(SIGTERM);
  CHECK(process->wait(std::chrono::seconds(10)).status == 0);
}

TEST_CASE("serve: on the network only behind a password or TLS, and the password signs in",
          "[app][serve][security]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  auto refused = cli.run({"serve", "--listen", "0.0.0.0:0"});
  CHECK(refused.status != 0);
  CHECK(refused.err.find("--password-file") != std::string::npos);
  CHECK(cli.run({"serve", "--listen", "nonsense"}).status != 0);

  // A password file others can read, or a short password, is refused.
  const auto file = cli.home() / "password";
  {
    std::ofstream out(file);
    out << "correct horse battery\n";
  }
  std::filesystem::permissions(file, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::owner_write |
                                         std::filesystem::perms::others_read);
  auto open_file = cli.run({"serve", "--listen", "0.0.0.0:0", "--password-file", file.string()});
  CHECK(open_file.status != 0);
  CHECK(open_file.err.find("chmod 600") != std::string::npos);
  std::filesystem::permissions(
      file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  auto process = cli.start({"serve", "--listen", "0.0.0.0:0", "--password-file", file.string()});
  REQUIRE(process->wait_for_output("Ctrl+C", std::chrono::seconds(10)));
  const std::string output = process->output();
  CHECK(output.find("type the password") != std::string::npos);
  CHECK(output.find("unencrypted") != std::string::npos);
  static const std::regex signin(":([0-9]+)/signin\\?key=");
  std::smatch match;
  REQUIRE(std::regex_search(output, match, signin));
  Browser browser(static_cast<std::uint16_t>(std::stoi(match[1])));

  // Without a session, a page leads to the password form.
  auto page = browser.send("GET", "/");
  CHECK(page.status == 303);
  CHECK(page.header("location") == "/signin");
  page = browser.send("GET", "/signin");
  CHECK(page.status == 200);
  CHECK(page.body.find("type=\"password\"") != std::string::npos);
  CHECK(browser.send("POST", "/signin", "password=wrong+horse").status == 403);
  // From another site's page: refused whatever the password.
  auto foreign = browser.send("POST", "/signin", "password=correct+horse+battery", {},
                              "Origin: http://evil.example\r\n");
  CHECK(foreign.status == 403);
  CHECK(foreign.header("set-cookie").empty());

  auto signed_in = browser.send("POST", "/signin", "password=correct+horse+battery");
  REQUIRE(signed_in.status == 303);
  browser.cookie =
      signed_in.header("set-cookie").substr(0, signed_in.header("set-cookie").find(';'));
  CHECK(browser.send("GET", "/").status == 200);

  // Guessing: after five wrong passwords in a minute, even the right one waits.
  for (int i = 0; i < 5; ++i) browser.send("POST", "/signin", "password=guess" + std::to_string(i));
  const auto waiting = browser.send("POST", "/signin", "password=correct+horse+battery");
  CHECK(waiting.status == 429);
  CHECK_FALSE(waiting.header("retry-after").empty());
  process->signal(SIGTERM);
  CHECK(process->wait(std::chrono::seconds(10)).status == 0);
}

TEST_CASE("serve: over TLS with the certificate given, and the session cookie is Secure",
          "[app][serve][security]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  TestCertificateAuthority authority("libreta test CA");
  const auto files =
      authority.issue_server_certificate(cli.home(), "app", {"localhost"}, {"127.0.0.1"});
  const auto ca = cli.home() / "ca.pem";
  authority.write_certificate(ca);

  auto missing = cli.run({"serve", "--listen", "127.0.0.1:0", "--tls-cert", files.cert.string()});
  CHECK(missing.status != 0);
  CHECK(missing.err.find("--tls-key") != std::string::npos);
  auto process = cli.start({"serve", "--listen", "127.0.0.1:0", "--tls-cert", files.cert.string(),
                            "--tls-key", files.key.string()});
  REQUIRE(process->wait_for_output("Ctrl+C", std::chrono::seconds(10)));
  const std::string output = process->output();
  static const std::regex link("https://127\\.0\\.0\\.1:([0-9]+)(/signin\\?key=[A-Za-z0-9_-]+)");
  std::smatch match;
  REQUIRE(std::regex_search(output, match, link));
  const auto port = static_cast<std::uint16_t>(std::stoi(match[1]));

  boost::asio::ssl::context client(boost::asio::ssl::context::tls_client);
  client.load_verify_file(ca.string());
  client.set_verify_mode(boost::asio::ssl::verify_peer);
  const auto signed_in = tls_probe(port, client, std::string(match[2]), std::chrono::seconds(15),
                                   "127.0.0.1:" + std::string(match[1]));
  REQUIRE(signed_in.response);
  CHECK(signed_in.response->result_int() == 303);
  const std::string cookie(signed_in.response->at(boost::beast::http::field::set_cookie));
  CHECK(cookie.find("Secure") != std::string::npos);
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  // Plain HTTP on the TLS port gets no page.
  bool plain_page = false;
  try {
    plain_page = http_request(port, "GET", "/signin", std::chrono::seconds(3)).status != 0;
  } catch (const std::exception&) {
  }
  CHECK_FALSE(plain_page);
  process->signal(SIGTERM);
  CHECK(process->wait(std::chrono::seconds(10)).status == 0);
}

}  // namespace libreta::test
