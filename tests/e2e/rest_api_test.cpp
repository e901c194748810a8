// The REST API on a real server, with real seller devices syncing beside it: an API write is
// an ordinary change (it reaches the devices live, and a concurrent edit records a
// conflict), a seller's token sees and writes only their scope, and bad requests get a
// problem document and change nothing.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <set>

#include "e2e/device.hpp"
#include "libreta/server/rest_api.hpp"
#include "support/http_client.hpp"
#include "support/openapi_check.hpp"

using namespace libreta;
using namespace libreta::client;
using namespace libreta::test;
using nlohmann::json;

namespace {

// The API's own OpenAPI document, read once from the server.
const json& openapi(ServerFixture& server) {
  static const json document = [&] {
    const auto answer = http_call(server.port(), "GET", "/api/v1/openapi.json", {});
    REQUIRE(answer.status == 200);
    return json::parse(answer.body);
  }();
  return document;
}

// One API client: a token, and requests to the fixture's server. Every response it gets
// must match the OpenAPI document.
class ApiClient {
 public:
  ApiClient(ServerFixture& server, std::string token) : server_(server), token_(std::move(token)) {}

  HttpResult call(std::string_view method, std::string_view target, const json& body = nullptr,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Authorization", "Bearer " + token_);
    if (!body.is_null()) headers.emplace_back("Content-Type", "application/json");
    HttpResult result =
        http_call(server_.port(), method, target, headers, body.is_null() ? "" : body.dump());
    INFO(method << " " << target << " → " << result.status << " " << result.body);
    CHECK(openapi_violation(openapi(server_), method, target, result.status, result.content_type,
                            result.body) == "");
    return result;
  }

 private:
  ServerFixture& server_;
  std::string token_;
};

json body_of(const HttpResult& result) {
  return json::parse(result.body);
}

// A problem document (RFC 9457) with this status and code.
void require_problem(const HttpResult& result, int status, const std::string& code) {
  INFO(result.body);
  REQUIRE(result.status == status);
  REQUIRE(result.content_type == "application/problem+json");
  const json problem = body_of(result);
  CHECK(problem["status"] == status);
  CHECK(problem["code"] == code);
  CHECK(problem["type"] == "urn:libreta:problem:" + code);
  CHECK_FALSE(problem["detail"].get<std::string>().empty());
}

// Waits until the device's replica shows the customer's field with this value (nullopt: the
// customer is gone).
bool wait_for_field(Device& device, const std::string& id, const std::string& field,
                    const std::optional<Value>& wanted) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  for (;;) {
    const auto row = device.app().get(tables::customers, id);
    if (!wanted && !row) return true;
    if (wanted && row && device.field(id, field) == wanted) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    device.sync().wait_until([](const SyncStatus&) { return false; }, 20ms);
  }
}

}  // namespace

TEST_CASE(
    "rest api: the office creates, reads, patches and deletes; a seller's device follows live",
    "[e2e][api]") {
  ServerFixture server;
  ApiClient office(server, server.create_token("marta", server::Role::manager));
  Device ana(server, server.create_token("ana", server::Role::seller));
  ana.sync().start();
  REQUIRE(ana.sync().wait_until_synced(kDeadline));

  const auto created = office.call("POST", "/api/v1/customers",
                                   {{"kind", "company"},
                                    {"name", "Talleres Ruiz"},
                                    {"status", "active"},
                                    {"owner", "ana"},
                                    {"city", "Sevilla"},
                                    {"tags", {"vip", "taller"}}});
  INFO(created.body);
  REQUIRE(created.status == 201);
  const json customer = body_of(created);
  const std::string id = customer["id"];
  CHECK(created.header("location") == "/api/v1/customers/" + id);
  CHECK(customer["name"] == "Talleres Ruiz");
  CHECK(customer["tags"] == json({"taller", "vip"}));
  CHECK(customer.contains("created_at"));
  const std::string etag = created.header("etag");
  REQUIRE_FALSE(etag.empty());
  REQUIRE(wait_for_field(ana, id, "city", Value("Sevilla")));

  const auto read = office.call("GET", "/api/v1/customers/" + id);
  REQUIRE(read.status == 200);
  CHECK(read.header("etag") == etag);
  CHECK(body_of(read) == customer);

  // A patch against the version read: applied, and on the seller's device at once.
  const auto patched = office.call("PATCH", "/api/v1/customers/" + id,
                                   {{"city", "Cádiz"}, {"tags", {"vip"}}}, {{"If-Match", etag}});
  INFO(patched.body);
  REQUIRE(patched.status == 200);
  CHECK(body_of(patched)["city"] == "Cádiz");
  CHECK(body_of(patched)["tags"] == json({"vip"}));
  CHECK(patched.header("etag") != etag);
  REQUIRE(wait_for_field(ana, id, "city", Value("Cádiz")));
  CHECK(ana.field(id, "tags") == Value(TagSet{"vip"}));

  // The same patch against the old version: refused, nothing changed.
  const std::uint64_t before = server.service().stats().last_seq;
  require_problem(
      office.call("PATCH", "/api/v1/customers/" + id, {{"city", "Huelva"}}, {{"If-Match", etag}}),
      412, "stale");
  CHECK(server.service().stats().last_seq == before);
  CHECK(body_of(office.call("GET", "/api/v1/customers/" + id))["city"] == "Cádiz");

  // The API's writes carry their author: the row's versions name the API's replica of marta.
  const auto stored = server.store().find_row(tables::customers, id);
  REQUIRE(stored);
  CHECK(stored->versions.field("city").replica ==
        server::direct_replica_id(server::WriteOrigin::api, "marta"));

  const auto deleted = office.call("DELETE", "/api/v1/customers/" + id);
  REQUIRE(deleted.status == 204);
  require_problem(office.call("GET", "/api/v1/customers/" + id), 404, "not_found");
  REQUIRE(wait_for_field(ana, id, "city", std::nullopt));
}

TEST_CASE("rest api: pages follow the cursor and filters select on the server", "[e2e][api]") {
  ServerFixture server;
  ApiClient office(server, server.create_token("marta", server::Role::manager));
  std::set<std::string> prospects, all;
  for (int i = 0; i < 7; ++i) {
    const bool prospect = i % 3 == 0;
    const auto created = office.call("POST", "/api/v1/customers",
                                     {{"kind", "company"},
                                      {"name", "Cliente " + std::to_string(i)},
                                      {"status", prospect ? "prospect" : "active"},
                                      {"owner", "ana"},
                                      {"tags", i == 4 ? json({"feria"}) : json::array()}});
    REQUIRE(created.status == 201);
    all.insert(body_of(created)["id"].get<std::string>());
    if (prospect) prospects.insert(body_of(created)["id"].get<std::string>());
  }
  std::set<std::string> listed;
  std::string target = "/api/v1/customers?limit=3";
  int pages = 0;
  for (;;) {
    const auto page = office.call("GET", target);
    REQUIRE(page.status == 200);
    const json body = body_of(page);
    CHECK(body["items"].size() <= 3);
    for (const auto& item : body["items"]) CHECK(listed.insert(item["id"]).second);
    ++pages;
    if (body["next_cursor"].is_null()) break;
    target = "/api/v1/customers?limit=3&cursor=" + body["next_cursor"].get<std::string>();
  }
  CHECK(pages == 3);
  CHECK(listed == all);

  const json filtered = body_of(office.call("GET", "/api/v1/customers?status=prospect"));
  std::set<std::string> got;
  for (const auto& item : filtered["items"]) got.insert(item["id"]);
  CHECK(got == prospects);
  const json tagged = body_of(office.call("GET", "/api/v1/customers?tags=feria"));
  REQUIRE(tagged["items"].size() == 1);
  CHECK(tagged["items"][0]["name"] == "Cliente 4");
}

TEST_CASE("rest api: a seller's token sees and writes only their scope", "[e2e][api][scope]") {
  ServerFixture server;
  ApiClient office(server, server.create_token("marta", server::Role::manager));
  ApiClient ana(server, server.create_token("ana", server::Role::seller));
  const std::string hers = body_of(office.call(
      "POST", "/api/v1/customers",
      {{"kind", "company"}, {"name", "De Ana"}, {"status", "active"}, {"owner", "ana"}}))["id"];
  const std::string his = body_of(office.call(
      "POST", "/api/v1/customers",
      {{"kind", "company"}, {"name", "De Luis"}, {"status", "active"}, {"owner", "luis"}}))["id"];

  const json listed = body_of(ana.call("GET", "/api/v1/customers"));
  REQUIRE(listed["items"].size() == 1);
  CHECK(listed["items"][0]["id"] == hers);
  require_problem(ana.call("GET", "/api/v1/customers/" + his), 404, "not_found");
  require_problem(ana.call("PATCH", "/api/v1/customers/" + his, {{"city", "Jaén"}}), 404,
                  "not_found");
  require_problem(ana.call("DELETE", "/api/v1/customers/" + his), 404, "not_found");
  require_problem(ana.call("PATCH", "/api/v1/customers/" + hers, {{"owner", "luis"}}), 403,
                  "forbidden");
  require_problem(ana.call("POST", "/api/v1/contacts", {{"customer_id", his}, {"name", "Pepe"}}),
                  422, "invalid_value");
  CHECK(body_of(office.call("GET", "/api/v1/customers/" + his)).value("city", "") == "");

  // What she creates is hers, and a contact of her customer is hers too.
  const auto created = ana.call("POST", "/api/v1/customers",
                                {{"kind", "company"}, {"name", "Nuevo"}, {"status", "prospect"}});
  REQUIRE(created.status == 201);
  CHECK(body_of(created)["owner"] == "ana");
  const auto contact =
      ana.call("POST", "/api/v1/contacts", {{"customer_id", hers}, {"name", "Pepa"}});
  INFO(contact.body);
  REQUIRE(contact.status == 201);
  const json contacts = body_of(ana.call("GET", "/api/v1/contacts?customer=" + hers));
  REQUIRE(contacts["items"].size() == 1);
  CHECK(contacts["items"][0]["name"] == "Pepa");
}

TEST_CASE("rest api: an API write and a device's offline edit of one field record a conflict",
          "[e2e][api][conflict]") {
  ServerFixture server;
  ApiClient office(server, server.create_token("marta", server::Role::manager));
  Device ana(server, server.create_token("ana", server::Role::seller));
  const std::string id = body_of(office.call("POST", "/api/v1/customers",
                                             {{"kind", "company"},
                                              {"name", "Talleres Ruiz"},
                                              {"status", "active"},
                                              {"owner", "ana"},
                                              {"city", "Sevilla"}}))["id"];
  ana.sync().start();
  REQUIRE(wait_for_field(ana, id, "city", Value("Sevilla")));
  ana.sync().stop();

  // As the app does, the edit stamps updated_at; so does the API's patch. Only the city, a
  // person's work, makes an entry.
  ana.app().update(tables::customers, id,
                   Record{{"city", Value("Écija")}, {"updated_at", Value("2026-12-01T09:00:00Z")}});
  REQUIRE(office.call("PATCH", "/api/v1/customers/" + id, {{"city", "Carmona"}}).status == 200);
  ana.sync().start();
  REQUIRE(ana.wait_pushed(kDeadline));

  const auto conflicts = server.store().conflicts();
  REQUIRE(conflicts.size() == 1);
  CHECK(conflicts[0].field == "city");
  const std::set<std::string> users{conflicts[0].kept_user, conflicts[0].lost_user};
  CHECK(users == std::set<std::string>{"ana", "marta"});
  // Whichever won, the office and the device agree.
  const json read = body_of(office.call("GET", "/api/v1/customers/" + id));
  REQUIRE(wait_for_field(ana, id, "city", Value(read["city"].get<std::string>())));
}

TEST_CASE("rest api: bad requests get a problem document and change nothing", "[e2e][api][bad]") {
  ServerFixture server;
  const std::string token = server.create_token("marta", server::Role::manager);
  ApiClient office(server, token);
  const std::uint64_t before = server.service().stats().last_seq;

  const auto anonymous = http_call(server.port(), "GET", "/api/v1/customers", {});
  require_problem(anonymous, 401, "bad_token");
  CHECK(anonymous.header("www-authenticate") == "Bearer");
  require_problem(ApiClient(server, "not-a-token").call("GET", "/api/v1/customers"), 401,
                  "bad_token");
  require_problem(http_call(server.port(), "POST", "/api/v1/customers",
                            {{"Authorization", "Bearer " + token}}, "{\"name\": "),
                  400, "malformed");
  require_problem(
      office.call("POST", "/api/v1/customers",
                  {{"kind", "company"}, {"name", "X"}, {"status", "active"}, {"colour", "red"}}),
      422, "unknown_field");
  require_problem(office.call("POST", "/api/v1/customers",
                              {{"kind", "company"}, {"name", "X"}, {"status", "on fire"}}),
                  422, "invalid_value");
  require_problem(office.call("POST", "/api/v1/customers",
                              {{"kind", "company"}, {"name", 42}, {"status", "active"}}),
                  422, "wrong_type");
  require_problem(office.call("POST", "/api/v1/customers", {{"city", "Sevilla"}}), 422,
                  "missing_field");
  require_problem(office.call("POST", "/api/v1/customers", json::array({1, 2})), 422, "wrong_type");
  require_problem(office.call("GET", "/api/v1/customers?limit=0"), 422, "invalid_value");
  require_problem(office.call("GET", "/api/v1/customers?limit=100000"), 422, "invalid_value");
  require_problem(office.call("GET", "/api/v1/customers?colour=red"), 422, "unknown_field");
  require_problem(office.call("GET", "/api/v1/widgets"), 404, "not_found");
  require_problem(office.call("GET", "/api/v1/customers/nope"), 404, "not_found");
  const auto put = office.call("PUT", "/api/v1/customers", json::object());
  require_problem(put, 405, "method_not_allowed");
  CHECK(put.header("allow") == "GET, POST");
  const std::string id =
      body_of(office.call("POST", "/api/v1/customers",
                          {{"kind", "company"}, {"name", "Uno"}, {"status", "active"}}))["id"];
  require_problem(
      office.call("POST", "/api/v1/customers",
                  {{"id", id}, {"kind", "company"}, {"name", "Otro"}, {"status", "active"}}),
      409, "already_exists");
  // One customer stored, and only that.
  CHECK(server.service().stats().last_seq == before + 1);
  CHECK(body_of(office.call("GET", "/api/v1/customers/" + id))["name"] == "Uno");
}

TEST_CASE("rest api: a token past its rate gets 429 until its bucket refills", "[api][rate]") {
  ServerFixture server;
  const std::string token = server.create_token("marta", server::Role::manager);
  server::RestApiOptions options;
  options.requests_per_second = 1;
  options.request_burst = 3;
  server::RestApi api(server.shared_service(), options);
  web::Request request = web::Request::get("/api/v1/customers");
  request.headers.push_back({"authorization", "Bearer " + token});
  for (int i = 0; i < 3; ++i) CHECK(api.handle(request).status == 200);
  const web::Response limited = api.handle(request);
  CHECK(limited.status == 429);
  CHECK(limited.header("retry-after") == "1");
  // Another token has its own bucket.
  web::Request other = web::Request::get("/api/v1/customers");
  other.headers.push_back(
      {"authorization", "Bearer " + server.create_token("lucia", server::Role::manager)});
  CHECK(api.handle(other).status == 200);
}

TEST_CASE("rest api: the conflict inbox is listed, and each conflict resolved once",
          "[e2e][api][conflict]") {
  ServerFixture server;
  ApiClient office(server, server.create_token("marta", server::Role::manager));
  Device ana(server, server.create_token("ana", server::Role::seller));
  const std::string id = body_of(office.call("POST", "/api/v1/customers",
                                             {{"kind", "company"},
                                              {"name", "Talleres Ruiz"},
                                              {"status", "active"},
                                              {"owner", "ana"},
                                              {"city", "Sevilla"},
                                              {"phone", "+34 954 000 000"}}))["id"];
  ana.sync().start();
  REQUIRE(wait_for_field(ana, id, "city", Value("Sevilla")));
  ana.sync().stop();
  // Two fields edited on both sides while the device was offline.
  ana.app().update(tables::customers, id,
                   Record{{"city", Value("Écija")}, {"phone", Value("+34 600 111 222")}});
  REQUIRE(office
              .call("PATCH", "/api/v1/customers/" + id,
                    {{"city", "Carmona"}, {"phone", "+34 954 999 999"}})
              .status == 200);
  ana.sync().start();
  REQUIRE(ana.wait_pushed(kDeadline));

  const json open = body_of(office.call("GET", "/api/v1/conflicts"));
  REQUIRE(open["items"].size() == 2);
  json city, phone;
  for (const auto& c : open["items"]) (c["field"] == "city" ? city : phone) = c;
  CHECK(city["row"] == id);
  CHECK(city["kind"] == "concurrent_edit");
  CHECK(city["resolved"].is_null());
  const std::set<std::string> sides{city["kept"]["user"], city["lost"]["user"]};
  CHECK(sides == std::set<std::string>{"ana", "marta"});

  // Take the value that lost: a new write, which the device receives too.
  const std::string lost_city = city["lost"]["value"];
  const auto took =
      office.call("POST", "/api/v1/conflicts/" + std::to_string(city["id"].get<int>()) + "/resolve",
                  {{"action", "take_lost"}});
  INFO(took.body);
  REQUIRE(took.status == 200);
  CHECK(body_of(took)["resolved"]["resolution"] == "took_lost");
  CHECK(body_of(took)["resolved"]["by"] == "marta");
  CHECK(body_of(office.call("GET", "/api/v1/customers/" + id))["city"] == lost_city);
  REQUIRE(wait_for_field(ana, id, "city", Value(lost_city)));

  // Keep the other: nothing is written; resolving it again is refused.
  const std::uint64_t before = server.service().stats().last_seq;
  const std::string phone_path = "/api/v1/conflicts/" + std::to_string(phone["id"].get<int>());
  REQUIRE(office.call("POST", phone_path + "/resolve", {{"action", "keep"}}).status == 200);
  CHECK(server.service().stats().last_seq == before);
  require_problem(office.call("POST", phone_path + "/resolve", {{"action", "take_lost"}}), 409,
                  "already_resolved");
  require_problem(office.call("POST", phone_path + "/resolve", {{"action", "restore"}}), 409,
                  "already_resolved");

  CHECK(body_of(office.call("GET", "/api/v1/conflicts"))["items"].empty());
  CHECK(body_of(office.call("GET", "/api/v1/conflicts?state=resolved"))["items"].size() == 2);
  // A seller sees the conflicts of her own customers only.
  ApiClient luis(server, server.create_token("luis", server::Role::seller));
  CHECK(body_of(luis.call("GET", "/api/v1/conflicts?state=any"))["items"].empty());
  require_problem(luis.call("GET", phone_path), 404, "not_found");
}

TEST_CASE("rest api: a deleted customer is restored with the edit that lost to its deletion",
          "[e2e][api][conflict]") {
  ServerFixture server;
  ApiClient office(server, server.create_token("marta", server::Role::manager));
  Device ana(server, server.create_token("ana", server::Role::seller));
  const std::string id = body_of(office.call("POST", "/api/v1/customers",
                                             {{"kind", "company"},
                                              {"name", "Talleres Ruiz"},
                                              {"status", "active"},
                                              {"owner", "ana"}}))["id"];
  ana.sync().start();
  REQUIRE(wait_for_field(ana, id, "status", Value("active")));
  ana.sync().stop();
  ana.app().update(tables::customers, id, Record{{"notes", Value("Pide presupuesto en enero")}});
  REQUIRE(office.call("DELETE", "/api/v1/customers/" + id).status == 204);
  ana.sync().start();
  REQUIRE(ana.wait_pushed(kDeadline));
  REQUIRE(wait_for_field(ana, id, "status", std::nullopt));

  const json open = body_of(office.call("GET", "/api/v1/conflicts?table=customers&row=" + id));
  REQUIRE(open["items"].size() == 1);
  const json conflict = open["items"][0];
  CHECK(conflict["kind"] == "edit_of_deleted");
  CHECK(conflict["field"] == "notes");
  const std::string path = "/api/v1/conflicts/" + std::to_string(conflict["id"].get<int>());
  require_problem(office.call("POST", path + "/resolve", {{"action", "take_lost"}}), 422,
                  "invalid_value");
  REQUIRE(office.call("POST", path + "/resolve", {{"action", "restore"}}).status == 200);
  const json restored = body_of(office.call("GET", "/api/v1/customers/" + id));
  CHECK(restored["notes"] == "Pide presupuesto en enero");
  REQUIRE(wait_for_field(ana, id, "notes", Value("Pide presupuesto en enero")));
}

TEST_CASE("rest api: the changes feed follows commits from a cursor, within the caller's scope",
          "[e2e][api][feed]") {
  ServerFixture server;
  ApiClient office(server, server.create_token("marta", server::Role::manager));
  ApiClient ana(server, server.create_token("ana", server::Role::seller));
  std::vector<std::string> ids;
  for (const char* owner : {"ana", "luis", "ana"}) {
    ids.push_back(body_of(office.call("POST", "/api/v1/customers",
                                      {{"kind", "company"},
                                       {"name", std::string("De ") + owner},
                                       {"status", "active"},
                                       {"owner", owner}}))["id"]);
  }
  const json first = body_of(office.call("GET", "/api/v1/changes?since=0&limit=2"));
  REQUIRE(first["items"].size() == 2);
  CHECK(first["more"] == true);
  const json rest = body_of(
      office.call("GET", "/api/v1/changes?since=" + first["next_cursor"].get<std::string>()));
  REQUIRE(rest["items"].size() == 1);
  CHECK(rest["more"] == false);
  CHECK(rest["items"][0]["id"] == ids[2]);
  CHECK(rest["items"][0]["row"]["name"] == "De ana");

  // From where it stopped, the next page holds what changed since, and only the field that did.
  const std::string cursor = rest["next_cursor"];
  CHECK(body_of(office.call("GET", "/api/v1/changes?since=" + cursor))["items"].empty());
  REQUIRE(office.call("PATCH", "/api/v1/customers/" + ids[0], {{"city", "Lora"}}).status == 200);
  const json after = body_of(office.call("GET", "/api/v1/changes?since=" + cursor));
  REQUIRE(after["items"].size() == 1);
  CHECK(after["items"][0]["id"] == ids[0]);
  CHECK(after["items"][0]["changed"] == json({"city", "updated_at"}));

  // A seller's feed: her rows only.
  std::set<std::string> hers;
  const json feed = body_of(ana.call("GET", "/api/v1/changes"));
  for (const auto& item : feed["items"]) hers.insert(item["id"]);
  CHECK(hers == std::set<std::string>{ids[0], ids[2]});
  require_problem(ana.call("GET", "/api/v1/devices"), 403, "forbidden");
}

TEST_CASE("rest api: the OpenAPI document names every resource and needs no token",
          "[e2e][api][openapi]") {
  ServerFixture server;
  const json& document = openapi(server);
  CHECK(document["openapi"] == "3.0.3");
  for (const char* path :
       {"/api/v1/customers", "/api/v1/customers/{id}", "/api/v1/contacts", "/api/v1/interactions",
        "/api/v1/purchases", "/api/v1/followups", "/api/v1/conflicts",
        "/api/v1/conflicts/{id}/resolve", "/api/v1/changes", "/api/v1/devices"}) {
    INFO(path);
    CHECK(document["paths"].contains(path));
  }
  CHECK(document["components"]["schemas"]["customers"]["properties"]["status"]["enum"].size() == 5);
  // The checker itself fails on what the document does not allow.
  CHECK(
      openapi_violation(
          document, "GET", "/api/v1/customers/x", 200, "application/json",
          R"({"id": "x", "colour": "red", "kind": "company", "name": "A", "status": "active"})") !=
      "");
  CHECK(openapi_violation(document, "GET", "/api/v1/customers/x", 200, "application/json",
                          R"({"id": "x", "kind": "company", "name": "A", "status": "on fire"})") !=
        "");
  CHECK(openapi_violation(document, "GET", "/api/v1/customers/x", 418, "application/json", "{}") !=
        "");
}
