// The office's pages with a real server and a seller's real device: signing in with a
// manager's token (and not a seller's), the book filtered and exported, an office edit that
// reaches the device, the conflict inbox worked through; and what the door refuses: another
// Host, a form from elsewhere or without its token, no session.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "e2e/device.hpp"
#include "libreta/protocol/ids.hpp"
#include "libreta/server/office_pages.hpp"
#include "libreta/web/cookies.hpp"
#include "libreta/web/form.hpp"
#include "support/http_client.hpp"

using namespace libreta;
using namespace libreta::client;
using namespace libreta::test;

namespace {

constexpr const char* kHost = "oficina.example:443";

// A browser on the office's pages, handler in hand: keeps the session cookie and the last
// page's form token, and sends what a browser sends.
class Browser {
 public:
  explicit Browser(server::OfficePages& office) : office_(office) {}

  web::Response get(const std::string& target) {
    web::Request request = web::Request::get(target);
    return send(std::move(request));
  }

  web::Response post(const std::string& path,
                     std::vector<std::pair<std::string, std::string>> fields,
                     bool with_csrf = true) {
    web::Request request;
    request.method = "POST";
    request.path = path;
    web::Params form;
    for (auto& [name, value] : fields) form.add(name, value);
    if (with_csrf) form.add("csrf", csrf_);
    request.body = form.encode();
    request.headers.push_back({"content-type", "application/x-www-form-urlencoded"});
    request.headers.push_back({"origin", std::string("https://") + kHost});
    return send(std::move(request));
  }

  bool sign_in(const std::string& token) {
    const auto answer = post("/office/signin", {{"token", token}}, false);
    return answer.status == 303;
  }

 private:
  web::Response send(web::Request request) {
    request.headers.push_back({"host", kHost});
    request.headers.push_back({"accept-language", "es-ES,es;q=0.9"});
    if (!cookie_.empty()) request.headers.push_back({"cookie", cookie_});
    web::Response answer = office_.handle(request);
    if (auto set = answer.header("set-cookie"))
      cookie_ = std::string(set->substr(0, set->find(';')));
    const auto at = answer.body.find("name=\"csrf\" value=\"");
    if (at != std::string::npos) {
      const auto start = at + 19;
      csrf_ = answer.body.substr(start, answer.body.find('"', start) - start);
    }
    return answer;
  }

  server::OfficePages& office_;
  std::string cookie_, csrf_;
};

server::OfficeOptions office_options() {
  server::OfficeOptions options;
  options.tls = true;
  options.allowed_hosts = {kHost};
  return options;
}

std::string add_customer(ServerFixture& server, const std::string& name, const std::string& owner,
                         const std::string& city) {
  server::DirectWrite write;
  write.user = "marta";
  write.role = server::Role::manager;
  write.origin = server::WriteOrigin::office;
  const std::string id = new_row_id(wall_ms());
  for (const auto& [field, value] :
       std::vector<std::pair<std::string, Value>>{{"kind", Value("company")},
                                                  {"name", Value(name)},
                                                  {"status", Value("active")},
                                                  {"owner", Value(owner)},
                                                  {"city", Value(city)}}) {
    write.changes.push_back(Change{tables::customers, id, field, {}, value, Version{}, Version{}});
  }
  const auto result = server.service().write_and_wait(std::move(write), "test", kDeadline);
  REQUIRE(result);
  REQUIRE(result->stored);
  return id;
}

}  // namespace

TEST_CASE("office: a manager's token signs in, a seller's does not", "[e2e][office]") {
  ServerFixture server;
  server::OfficePages office(server.shared_service(), office_options());
  Browser stranger(office);
  const auto redirected = stranger.get("/office");
  CHECK(redirected.status == 303);
  CHECK(redirected.header("location") == "/office/signin");

  Browser seller(office);
  CHECK_FALSE(seller.sign_in(server.create_token("ana", server::Role::seller)));
  CHECK_FALSE(seller.sign_in("not-a-token"));
  CHECK(seller.get("/office").status == 303);

  Browser manager(office);
  REQUIRE(manager.sign_in(server.create_token("marta", server::Role::manager)));
  const auto book = manager.get("/office");
  CHECK(book.status == 200);
  CHECK(book.body.find("La cartera de todos los vendedores") != std::string::npos);
  CHECK(book.header("content-security-policy"));
  CHECK(book.header("x-frame-options") == "DENY");

  // The session cookie: out of scripts' reach, never sent by another site, TLS only.
  Browser fresh(office);
  web::Request request;
  request.method = "POST";
  request.path = "/office/signin";
  request.body = "token=" + server.create_token("lucia", server::Role::admin);
  request.headers = {{"host", kHost}, {"content-type", "application/x-www-form-urlencoded"}};
  const auto signed_in = office.handle(request);
  REQUIRE(signed_in.status == 303);
  const std::string cookie(*signed_in.header("set-cookie"));
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(cookie.find("Secure") != std::string::npos);

  // Signing out ends the session.
  REQUIRE(manager.post("/office/signout", {}).status == 303);
  CHECK(manager.get("/office").status == 303);
}

TEST_CASE("office: the book is filtered and paged on the server, and exported", "[e2e][office]") {
  ServerFixture server;
  server::OfficeOptions options = office_options();
  options.page_rows = 2;
  server::OfficePages office(server.shared_service(), options);
  add_customer(server, "Talleres Ana", "ana", "Sevilla");
  add_customer(server, "Bodegas Ana", "ana", "Jerez");
  add_customer(server, "Hierros Luis", "luis", "Sevilla");
  add_customer(server, "=HYPERLINK(\"x\")", "luis", "Cádiz");
  Browser manager(office);
  REQUIRE(manager.sign_in(server.create_token("marta", server::Role::manager)));

  const auto first = manager.get("/office");
  REQUIRE(first.status == 200);
  CHECK(first.body.find("rel=\"next\"") != std::string::npos);
  const auto sevilla = manager.get("/office?city=Sevilla");
  CHECK(sevilla.body.find("Talleres Ana") != std::string::npos);
  CHECK(sevilla.body.find("Hierros Luis") != std::string::npos);
  CHECK(sevilla.body.find("Bodegas Ana") == std::string::npos);
  const auto luis = manager.get("/office?owner=luis&city=Sevilla");
  CHECK(luis.body.find("Hierros Luis") != std::string::npos);
  CHECK(luis.body.find("Talleres Ana") == std::string::npos);
  // A name is shown as text, never as markup.
  const auto cadiz = manager.get("/office?city=C%C3%A1diz");
  CHECK(cadiz.body.find("=HYPERLINK(&quot;x&quot;)") != std::string::npos);

  const auto csv = manager.get("/office/book.csv?owner=ana");
  REQUIRE(csv.status == 200);
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK(csv.body.rfind("\xEF\xBB\xBF", 0) == 0);
  CHECK(csv.body.find("Talleres Ana") != std::string::npos);
  CHECK(csv.body.find("Bodegas Ana") != std::string::npos);
  CHECK(csv.body.find("Hierros Luis") == std::string::npos);
  const auto all = manager.get("/office/book.csv");
  // A value a spreadsheet would run as a formula is kept as text.
  CHECK(all.body.find("\"'=HYPERLINK(\"\"x\"\")\"") != std::string::npos);
}

TEST_CASE("office: an edit in the office reaches the seller's device; the inbox is worked through",
          "[e2e][office]") {
  ServerFixture server;
  server::OfficePages office(server.shared_service(), office_options());
  const std::string id = add_customer(server, "Talleres Ruiz", "ana", "Sevilla");
  Device ana(server, server.create_token("ana", server::Role::seller));
  ana.sync().start();
  REQUIRE(ana.sync().wait_until(
      [&](const SyncStatus&) { return ana.field(id, "city").has_value(); }, kDeadline));
  Browser manager(office);
  REQUIRE(manager.sign_in(server.create_token("marta", server::Role::manager)));

  const auto page = manager.get("/office/customers/" + id);
  REQUIRE(page.status == 200);
  CHECK(page.body.find("Talleres Ruiz") != std::string::npos);
  const auto saved = manager.post("/office/customers/" + id, {{"kind", "company"},
                                                              {"name", "Talleres Ruiz"},
                                                              {"status", "active"},
                                                              {"owner", "ana"},
                                                              {"city", "Carmona"}});
  REQUIRE(saved.status == 303);
  CHECK(manager.get(std::string(*saved.header("location"))).body.find("Guardado") !=
        std::string::npos);
  REQUIRE(ana.sync().wait_until(
      [&](const SyncStatus&) { return ana.field(id, "city") == Value("Carmona"); }, kDeadline));
  // A value the field does not take: nothing is saved, the page says why.
  const auto refused = manager.post("/office/customers/" + id, {{"status", "on fire"}});
  CHECK(refused.status == 422);
  CHECK(refused.body.find("No se guardó") != std::string::npos);

  // Ana edits the city offline while the office does too: one conflict, shown by name.
  ana.sync().stop();
  ana.app().update(tables::customers, id, Record{{"city", Value("Écija")}});
  REQUIRE(manager.post("/office/customers/" + id, {{"city", "Utrera"}}).status == 303);
  ana.sync().start();
  REQUIRE(ana.wait_pushed(kDeadline));
  const auto inbox = manager.get("/office/conflicts");
  REQUIRE(inbox.status == 200);
  CHECK(inbox.body.find("Talleres Ruiz") != std::string::npos);
  CHECK(inbox.body.find("Ciudad") != std::string::npos);
  const auto conflicts = server.store().list_conflicts({});
  REQUIRE(conflicts.size() == 1);
  const std::string lost = conflicts[0].lost_value.as_text();
  REQUIRE(
      manager
          .post("/office/conflicts/" + std::to_string(conflicts[0].id), {{"action", "take_lost"}})
          .status == 303);
  CHECK(manager.get("/office/conflicts").body.find("No hay conflictos abiertos") !=
        std::string::npos);
  REQUIRE(ana.sync().wait_until(
      [&](const SyncStatus&) { return ana.field(id, "city") == Value(lost); }, kDeadline));
  // Resolved once: a second decision is refused and changes nothing.
  const std::uint64_t before = server.service().stats().last_seq;
  const auto again = manager.post("/office/conflicts/" + std::to_string(conflicts[0].id),
                                  {{"action", "take_lost"}});
  CHECK(again.body.find("Otra persona ya lo resolvió") != std::string::npos);
  CHECK(server.service().stats().last_seq == before);
}

TEST_CASE(
    "office: the door refuses another Host, forms from elsewhere and forms without their token",
    "[e2e][office]") {
  ServerFixture server;
  server::OfficePages office(server.shared_service(), office_options());
  const std::string id = add_customer(server, "Talleres Ruiz", "ana", "Sevilla");
  Browser manager(office);
  REQUIRE(manager.sign_in(server.create_token("marta", server::Role::manager)));
  const std::uint64_t before = server.service().stats().last_seq;

  web::Request rebinding = web::Request::get("/office");
  rebinding.headers.push_back({"host", "evil.example:443"});
  CHECK(office.handle(rebinding).status == 421);
  CHECK(manager.post("/office/customers/" + id, {{"city", "Huelva"}}, false).status == 403);
  web::Request foreign;
  foreign.method = "POST";
  foreign.path = "/office/customers/" + id;
  foreign.body = "city=Huelva";
  foreign.headers = {{"host", kHost},
                     {"origin", "https://evil.example"},
                     {"content-type", "application/x-www-form-urlencoded"}};
  CHECK(office.handle(foreign).status == 403);
  web::Request put = web::Request::get("/office");
  put.method = "PUT";
  put.headers.push_back({"host", kHost});
  CHECK(office.handle(put).status == 405);
  // A conflict's number is the whole path part, nothing after it.
  REQUIRE(manager.get("/office").status == 200);  // a page, and with it the form token
  CHECK(manager.post("/office/conflicts/1abc", {{"action", "keep"}}).status == 404);
  CHECK(server.service().stats().last_seq == before);

  // A deleted customer is neither shown nor edited: the inbox restores it.
  server::DirectWrite removal;
  removal.user = "marta";
  removal.changes.push_back(
      Change{tables::customers, id, "deleted", {}, Value(true), Version{}, Version{}});
  REQUIRE(server.service().write_and_wait(std::move(removal), "test", kDeadline)->stored);
  const std::uint64_t deleted = server.service().stats().last_seq;
  CHECK(manager.get("/office/customers/" + id).status == 404);
  CHECK(manager.post("/office/customers/" + id, {{"city", "Huelva"}}).status == 404);
  CHECK(server.service().stats().last_seq == deleted);
}

TEST_CASE("office: served by libreta-server beside sync and the API", "[e2e][office]") {
  ServerFixture server;
  const auto signin = http_call(server.port(), "GET", "/office/signin", {});
  CHECK(signin.status == 200);
  CHECK(signin.content_type.find("text/html") == 0);
  const auto css = http_call(server.port(), "GET", "/office/assets/office.css", {});
  CHECK(css.status == 200);
  const auto token = server.create_token("marta", server::Role::manager);
  const auto in =
      http_call(server.port(), "POST", "/office/signin",
                {{"Content-Type", "application/x-www-form-urlencoded"}}, "token=" + token);
  REQUIRE(in.status == 303);
  const std::string cookie = in.header("set-cookie").substr(0, in.header("set-cookie").find(';'));
  const auto book = http_call(server.port(), "GET", "/office", {{"Cookie", cookie}});
  CHECK(book.status == 200);
  CHECK(book.body.find("marta") != std::string::npos);
  // A Host the server does not answer to.
  CHECK(http_raw(server.port(),
                 "GET /office HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
            .status == 421);
}

TEST_CASE("office: every customer of a seller's territory goes to another, devices listed",
          "[e2e][office]") {
  ServerFixture server;
  server::OfficePages office(server.shared_service(), office_options());
  const std::string north = add_customer(server, "Norte Uno", "ana", "Lugo");
  const std::string south = add_customer(server, "Sur Uno", "ana", "Huelva");
  for (const auto& [id, territory] : {std::pair{north, "norte"}, std::pair{south, "sur"}}) {
    server::DirectWrite write;
    write.user = "marta";
    write.role = server::Role::manager;
    write.changes.push_back(
        Change{tables::customers, id, "territory", {}, Value(territory), Version{}, Version{}});
    REQUIRE(server.service().write_and_wait(std::move(write), "test", kDeadline)->stored);
  }
  Device luis(server, server.create_token("luis", server::Role::seller));
  luis.sync().start();
  REQUIRE(luis.sync().wait_until_synced(kDeadline));
  Browser manager(office);
  REQUIRE(manager.sign_in(server.create_token("marta", server::Role::manager)));

  REQUIRE(manager.get("/office/reassign").status == 200);
  const auto refused = manager.post("/office/reassign", {{"from", "ana"}, {"to", "ana"}});
  CHECK(refused.status == 422);
  const auto done =
      manager.post("/office/reassign", {{"from", "ana"}, {"territory", "norte"}, {"to", "luis"}});
  REQUIRE(done.status == 200);
  CHECK(done.body.find("1 cliente pasado de ana a luis") != std::string::npos);
  CHECK(server.store().find_row(tables::customers, north)->scope == "luis");
  CHECK(server.store().find_row(tables::customers, south)->scope == "ana");
  // Luis's device receives the customer it was given, and only that one.
  REQUIRE(luis.sync().wait_until(
      [&](const SyncStatus&) { return luis.field(north, "name") == Value("Norte Uno"); },
      kDeadline));
  CHECK_FALSE(luis.app().get(tables::customers, south));

  const auto devices = manager.get("/office/devices");
  REQUIRE(devices.status == 200);
  CHECK(devices.body.find("luis") != std::string::npos);
  CHECK(devices.body.find("<td data-label=\"Conectado ahora\">Sí</td>") != std::string::npos);
  CHECK(devices.body.find("oficina o API") != std::string::npos);
}
