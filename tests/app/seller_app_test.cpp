// The seller's app through its handler: every screen, every form, bad input and the
// security checks, over a real replica file (app_driver.hpp).
#include <catch2/catch.hpp>

#include <chrono>

#include "app/app_driver.hpp"
#include "libreta/protocol/customer_book.hpp"

namespace libreta::test {
namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// The id at the end of a redirect to /customers/ID (before any ?notice).
std::string redirected_id(const web::Response& response) {
  const auto location = response.header("location");
  REQUIRE(location);
  std::string path(location->substr(0, location->find('?')));
  return path.substr(path.rfind('/') + 1);
}

std::string add_customer(AppDriver& app,
                         std::initializer_list<std::pair<std::string, std::string>> fields) {
  web::Params params = form(fields);
  if (!params.has("kind")) params.add("kind", "company");
  if (!params.has("status")) params.add("status", "active");
  const auto response = app.post("/customers/new", params);
  REQUIRE(response.status == 303);
  return redirected_id(response);
}

// A customer with one row of every kind, written through the replica.
struct Book {
  std::string customer, contact, interaction, purchase, followup;
};

Book sample_book(client::Replica& replica) {
  Book book;
  Customer c;
  c.name = "Peña Hermanos S.L.";
  c.status = "active";
  c.city = "Burgos";
  c.tax_id = "B09123456";
  c.phone = "947 123 456";
  c.email = "compras@pena.example";
  c.billing_address = "Calle Mayor 1";
  c.annual_revenue = 120000;
  book.customer = replica.create(c);
  Contact k;
  k.customer_id = book.customer;
  k.name = "Lucía Peña";
  k.role = "Compras";
  k.mobile = "600 111 222";
  k.phone = "947 000 111";
  k.social = "linkedin.com/in/luciapena";
  k.address = "Calle Real 3";
  k.socioeconomic_level = "B";
  k.personal_notes = "Dos hijas; le gusta el ciclismo";
  book.contact = replica.create(k);
  Interaction i;
  i.customer_id = book.customer;
  i.type = "visit";
  i.date = "2024-03-01T09:30:00Z";
  i.outcome = "lost";
  i.lost_reason = "Precio";
  i.revisit_on = "2024-03-10";
  book.interaction = replica.create(i);
  Purchase p;
  p.customer_id = book.customer;
  p.date = "2024-02-20";
  p.product = "Tornillos";
  p.amount = 450.5;
  book.purchase = replica.create(p);
  FollowUp f;
  f.customer_id = book.customer;
  f.due = "2024-03-14";
  f.title = "Llamar por el presupuesto";
  book.followup = replica.create(f);
  return book;
}

}  // namespace

TEST_CASE("app: every screen renders, with every field of the book", "[app]") {
  AppDriver app;
  const Book book = sample_book(app.inspect());
  const std::vector<std::string> screens = {
      "/",
      "/customers",
      "/customers?q=pena&status=active&sort=revenue",
      "/customers/new",
      "/customers/" + book.customer,
      "/customers/" + book.customer + "/edit",
      "/customers/" + book.customer + "/visit",
      "/customers/" + book.customer + "/contact",
      "/customers/" + book.customer + "/purchase",
      "/customers/" + book.customer + "/followup",
      "/customers/" + book.customer + "/delete",
      "/contacts/" + book.contact + "/edit",
      "/interactions/" + book.interaction + "/edit",
      "/purchases/" + book.purchase + "/edit",
      "/followups/" + book.followup + "/edit",
      "/sync",
  };
  for (const auto& target : screens) {
    INFO(target);
    const auto response = app.get(target);
    CHECK(response.status == 200);
    CHECK(contains(response.body, "<main id=\"main\">"));
    CHECK(contains(response.body, "id=\"sync-bar\""));
    CHECK_FALSE(contains(response.body, "{0}"));
    CHECK(response.header("content-security-policy"));
  }

  const auto card = app.get("/customers/" + book.customer);
  // Contacts with every field, tap to call and write, the whole timeline, behaviour.
  for (const char* shown :
       {"Lucía Peña", "linkedin.com/in/luciapena", "Calle Real 3",
        "Dos hijas; le gusta el ciclismo", "href=\"tel:600111222\"",
        "href=\"mailto:compras@pena.example\"", "openstreetmap.org/search", "Tornillos", "Precio",
        "Llamar por el presupuesto", "Socioeconomic level", "from this device"}) {
    INFO(shown);
    CHECK(contains(card.body, shown));
  }
  const auto today = app.get("/");
  CHECK(contains(today.body, "Llamar por el presupuesto"));  // overdue follow-up
  CHECK(contains(today.body, "Peña Hermanos S.L."));         // lost deal to revisit
}

TEST_CASE("app: Host, sign-in, session and CSRF checks refuse and change nothing",
          "[app][security]") {
  AppDriver app;
  const std::string before = app.inspect().canonical_dump();

  SECTION("another Host (DNS rebinding) is refused") {
    web::Request r = app.request("GET", "/");
    r.headers[0].value = "evil.example:8484";
    CHECK(app.send(r).status == 421);
  }
  SECTION("no session: refused, but the stylesheet is served") {
    app.cookie.clear();
    CHECK(app.get("/").status == 401);
    CHECK(app.get("/customers").status == 401);
    CHECK(app.get("/assets/app.css").status == 200);
    app.cookie = "libreta_session=forged";
    CHECK(app.get("/").status == 401);
  }
  SECTION("a sign-in key works once") {
    const std::string key = app.app().new_sign_in_key();
    CHECK(app.get("/signin?key=" + key).status == 303);
    CHECK(app.get("/signin?key=" + key).status == 403);
    CHECK(app.get("/signin?key=made-up").status == 403);
  }
  SECTION("a form without the session's token") {
    CHECK(
        app.post(
               "/customers/new",
               form({{"name", "X"}, {"kind", "company"}, {"status", "active"}, {"csrf", "wrong"}}))
            .status == 403);
  }
  SECTION("a form posted from the app's own page is taken") {
    web::Request r = app.request("POST", "/customers/new");
    app.get("/customers/new");
    r.headers.push_back({"origin", std::string("http://") + kAppHost});
    r.headers.push_back({"content-type", "application/x-www-form-urlencoded"});
    r.body = form({{"name", "Own"}, {"kind", "company"}, {"status", "active"}, {"csrf", app.csrf}})
                 .encode();
    CHECK(app.send(r).status == 303);
    CHECK(app.inspect().list_customers({}).size() == 1);
    return;
  }
  SECTION("a form posted by another site") {
    web::Request r = app.request("POST", "/customers/new");
    app.get("/");
    r.headers.push_back({"origin", "http://evil.example"});
    r.headers.push_back({"content-type", "application/x-www-form-urlencoded"});
    r.body = form({{"name", "X"}, {"kind", "company"}, {"status", "active"}, {"csrf", app.csrf}})
                 .encode();
    CHECK(app.send(r).status == 403);
  }
  CHECK(app.inspect().canonical_dump() == before);
}

TEST_CASE("app: adding a customer validates every field and says what is wrong", "[app][forms]") {
  AppDriver app;
  const std::string before = app.inspect().canonical_dump();

  auto response = app.post("/customers/new", form({{"kind", "company"},
                                                   {"status", "active"},
                                                   {"name", ""},
                                                   {"email", "not-an-email"},
                                                   {"annual_revenue", "lots"}}));
  CHECK(response.status == 422);
  CHECK(contains(response.body, "id=\"f-email-error\""));
  CHECK(contains(response.body, "id=\"f-name-error\""));
  CHECK(contains(response.body, "id=\"f-annual_revenue-error\""));
  CHECK(contains(response.body, "value=\"not-an-email\""));  // what was typed stays
  CHECK(app.inspect().canonical_dump() == before);

  app.language = "es-ES,es;q=0.9";
  response = app.post("/customers/new", form({{"kind", "company"},
                                              {"status", "active"},
                                              {"name", "Ferretería Sol"},
                                              {"email", "no-es-correo"}}));
  CHECK(response.status == 422);
  CHECK(contains(response.body, "Revise los campos marcados"));
  CHECK(app.inspect().canonical_dump() == before);

  const std::string id = add_customer(app, {{"name", "Ferretería Sol"},
                                            {"email", "sol@example.com"},
                                            {"annual_revenue", "1.234,5"},
                                            {"tags", "ferretería, norte"}});
  const auto customer = app.inspect().customer(id);
  REQUIRE(customer);
  CHECK(customer->name == "Ferretería Sol");
  CHECK(customer->annual_revenue == 1234.5);
  CHECK(customer->tags == TagSet{"ferretería", "norte"});
  CHECK(customer->created_at == "2024-03-15T10:00:00Z");
  CHECK(app.nudges > 0);
  CHECK(contains(app.get("/customers/" + id + "?notice=saved").body, "Guardado"));
}

TEST_CASE("app: a customer already in the book is offered instead of a duplicate", "[app][forms]") {
  AppDriver app;
  const std::string existing =
      add_customer(app, {{"name", "Talleres Ruiz"}, {"tax_id", "B-12345678"}});
  const auto count = [&] { return app.inspect().list_customers({}).size(); };
  REQUIRE(count() == 1);

  auto response = app.post("/customers/new", form({{"kind", "company"},
                                                   {"status", "prospect"},
                                                   {"name", "Ruiz Talleres SL"},
                                                   {"tax_id", "b12345678"}}));
  CHECK(response.status == 409);
  CHECK(contains(response.body, "Talleres Ruiz"));
  CHECK(contains(response.body, "/customers/" + existing));
  CHECK(contains(response.body, "name=\"confirm_duplicate\" value=\"1\""));
  CHECK(count() == 1);

  response = app.post("/customers/new", form({{"kind", "company"},
                                              {"status", "prospect"},
                                              {"name", "Ruiz Talleres SL"},
                                              {"tax_id", "b12345678"},
                                              {"confirm_duplicate", "1"}}));
  CHECK(response.status == 303);
  CHECK(count() == 2);
}

TEST_CASE("app: editing writes only what changed", "[app][forms]") {
  AppDriver app;
  const std::string id = add_customer(app, {{"name", "Bodegas Soto"}, {"city", "Haro"}});
  const auto before = app.inspect().row_state(tables::customers, id);
  auto page = app.get("/customers/" + id + "/edit");
  CHECK(contains(page.body, "value=\"Haro\""));

  web::Params params;
  params.add("kind", "company");
  params.add("status", "active");
  params.add("name", "Bodegas Soto");
  params.add("city", "Logroño");
  CHECK(app.post("/customers/" + id + "/edit", params).status == 303);
  const auto after = app.inspect().row_state(tables::customers, id);
  CHECK(after->fields.at("city").as_text() == "Logroño");
  CHECK(after->versions.field("name") == before->versions.field("name"));
  CHECK(after->versions.field("city") != before->versions.field("city"));
  CHECK(after->fields.count("updated_at"));
}

TEST_CASE("app: each field's history, with when, which device and who", "[app][history]") {
  AppDriver app;
  const std::string id = add_customer(app, {{"name", "Bodegas Soto"}, {"city", "Haro"}});
  auto card = app.get("/customers/" + id).body;
  CHECK(contains(card, "from this device"));
  CHECK_FALSE(contains(card, "/history/customers/"));

  web::Params params;
  params.add("kind", "company");
  params.add("status", "active");
  params.add("name", "Bodegas Soto");
  params.add("city", "Logroño");
  CHECK(app.post("/customers/" + id + "/edit", params).status == 303);
  // The same change as if another device had made it: the office, whose user the server told.
  const auto now_ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  Change from_office{tables::customers,
                     id,
                     "city",
                     {},
                     Value("Briones"),
                     Version{Hlc::from_parts(now_ms + 1000, 0), "r-office"},
                     Version{}};
  app.inspect().apply_remote({from_office});
  app.inspect().note_device_users({{"r-office", "Oficina Central"}});

  card = app.get("/customers/" + id).body;
  CHECK(contains(card, "by Oficina Central, from device r-office"));
  CHECK(contains(card, "/history/customers/" + id + "#f-city"));
  const auto history = app.get("/history/customers/" + id);
  REQUIRE(history.status == 200);
  CHECK(contains(history.body, "Briones"));
  CHECK(history.body.find("Briones") < history.body.find("Logroño"));
  CHECK(history.body.find("Logroño") < history.body.find("Haro"));
  CHECK(contains(history.body, "current"));
  CHECK(contains(history.body, "from this device"));
  CHECK_FALSE(contains(history.body, "id=\"f-updated_at\""));  // automatic: no history
  CHECK_FALSE(contains(history.body, "id=\"f-name\""));        // never changed

  app.language = "es-ES,es;q=0.9";
  CHECK(contains(app.get("/history/customers/" + id).body, "Historial de cambios"));
  CHECK(app.get("/history/customers/no-such-id").status == 404);
  CHECK(app.get("/history/purchases/" + id).status == 404);
}

TEST_CASE("app: the first download shows its progress against its total", "[app][sync]") {
  AppDriver app;
  app.status.running = true;
  app.status.connected = true;
  app.status.downloading = true;
  app.status.rows_received = 2000;
  app.status.rows_expected = 100000;
  CHECK(contains(app.get("/").body, "Downloading the book: 2000 of 100000 rows"));
  app.status.rows_expected = 0;  // an older server does not count
  CHECK(contains(app.get("/").body, "Downloading the book: 2000 rows"));
}

TEST_CASE("app: a visit logged in two taps, its follow-up in Today, done in one tap",
          "[app][forms]") {
  AppDriver app;
  const std::string id = add_customer(app, {{"name", "Óptica Central"}});
  const auto form_page = app.get("/customers/" + id + "/visit");
  CHECK(contains(form_page.body, "name=\"outcome\" value=\"positive\""));
  // The second tap: an outcome button, with the follow-up picked.
  const auto saved =
      app.post("/customers/" + id + "/visit", form({{"type", "visit"},
                                                    {"follow_up", "tomorrow"},
                                                    {"notes", "Interesados en gafas de sol"},
                                                    {"outcome", "positive"}}));
  CHECK(saved.status == 303);
  const auto interactions = app.inspect().interactions_of(id);
  REQUIRE(interactions.size() == 1);
  CHECK(interactions[0].outcome == "positive");
  CHECK(interactions[0].notes == "Interesados en gafas de sol");
  CHECK(interactions[0].date == "2024-03-15T10:00:00Z");
  const auto followups = app.inspect().followups_of(id);
  REQUIRE(followups.size() == 1);
  CHECK(followups[0].due == "2024-03-16");
  CHECK(followups[0].interaction_id == interactions[0].id);

  CHECK_FALSE(contains(app.get("/").body, "Óptica Central"));
  app.set_today("2024-03-16");
  CHECK(contains(app.get("/").body, "Óptica Central"));
  CHECK(app.post("/followups/" + followups[0].id + "/done?back=/").status == 303);
  CHECK(app.inspect().followup(followups[0].id)->done);
  CHECK_FALSE(contains(app.get("/").body, followups[0].title));

  // A follow-up "on a date" with no date says so, and logs nothing.
  const auto refused = app.post("/customers/" + id + "/visit",
                                form({{"follow_up", "date"}, {"outcome", "neutral"}}));
  CHECK(refused.status == 422);
  CHECK(app.inspect().interactions_of(id).size() == 1);
}

TEST_CASE("app: search as you type, filters and order", "[app][list]") {
  AppDriver app;
  add_customer(app, {{"name", "Peña Hermanos"}, {"city", "Burgos"}, {"annual_revenue", "500"}});
  add_customer(app,
               {{"name", "Almacenes Zurita"}, {"status", "prospect"}, {"annual_revenue", "900"}});
  add_customer(app, {{"name", "Bar Penalty"}, {"status", "inactive"}});

  auto results = app.get("/customers?q=pena&partial=1").body;
  CHECK(contains(results, "Peña Hermanos"));
  CHECK_FALSE(contains(results, "Almacenes Zurita"));
  CHECK_FALSE(contains(results, "<main"));  // only the results

  results = app.get("/customers?q=PEÑA&partial=1").body;
  CHECK(contains(results, "Peña Hermanos"));
  // One or two letters list the names that start with them, and say so.
  results = app.get("/customers?q=pe&partial=1").body;
  CHECK(contains(results, "Peña Hermanos"));
  CHECK_FALSE(contains(results, "Bar Penalty"));
  CHECK(contains(results, "whose name starts with “pe”"));
  CHECK_FALSE(contains(app.get("/customers?q=pena&partial=1").body, "whose name starts"));

  results = app.get("/customers?status=active&partial=1").body;
  CHECK(contains(results, "Peña Hermanos"));
  CHECK_FALSE(contains(results, "Bar Penalty"));
  CHECK(contains(results, "1 customer<"));

  results = app.get("/customers?sort=revenue&partial=1").body;
  CHECK(results.find("Almacenes Zurita") < results.find("Peña Hermanos"));
  CHECK(results.find("Peña Hermanos") < results.find("Bar Penalty"));
  results = app.get("/customers?partial=1").body;
  CHECK(results.find("Almacenes Zurita") < results.find("Bar Penalty"));
  CHECK(contains(results, "3 customers"));

  // The inactive customer never contacted comes up for review in Today.
  CHECK(contains(app.get("/").body, "Bar Penalty"));
}

TEST_CASE("app: deleting a customer asks first and can be undone", "[app][forms]") {
  AppDriver app;
  const std::string id = add_customer(app, {{"name", "Librería Prado"}});
  const auto ask = app.get("/customers/" + id + "/delete");
  CHECK(contains(ask.body, "Librería Prado"));
  CHECK(app.inspect().customer(id));

  const auto deleted = app.post("/customers/" + id + "/delete");
  CHECK(deleted.status == 303);
  CHECK_FALSE(app.inspect().customer(id));
  const auto list = app.get(std::string(*deleted.header("location")));
  CHECK(contains(list.body, "/customers/" + id + "/restore"));
  CHECK(app.post("/customers/" + id + "/restore").status == 303);
  CHECK(app.inspect().customer(id));
  CHECK(contains(app.get("/customers?q=prado&partial=1").body, "Librería Prado"));
}

TEST_CASE("app: contacts, interactions, purchases and follow-ups are edited and deleted",
          "[app][forms]") {
  AppDriver app;
  const Book book = sample_book(app.inspect());
  CHECK(app.post("/contacts/" + book.contact + "/edit",
                 form({{"name", "Lucía Peña"}, {"email", "lucia@pena.example"}}))
            .status == 303);
  CHECK(app.inspect().contact(book.contact)->email == "lucia@pena.example");
  CHECK_FALSE(app.inspect().contact(book.contact)->role);  // cleared: blank in the form

  CHECK(app.post("/customers/" + book.customer + "/purchase",
                 form({{"date", "2024-03-15"}, {"product", "Tuercas"}, {"amount", "12,5"}}))
            .status == 303);
  CHECK(app.inspect().purchases_of(book.customer).size() == 2);
  CHECK(app.post("/purchases/" + book.purchase + "/edit",
                 form({{"date", "2024-02-20"}, {"product", "Tornillos"}, {"amount", "nada"}}))
            .status == 422);
  CHECK(app.inspect().purchase(book.purchase)->amount == 450.5);

  CHECK(app.post("/interactions/" + book.interaction + "/edit",
                 form({{"type", "call"}, {"date", "2024-03-01T10:30"}, {"outcome", "neutral"}}))
            .status == 303);
  CHECK(app.inspect().interaction(book.interaction)->type == "call");

  CHECK(app.post("/followups/" + book.followup + "/edit",
                 form({{"due", "2024-04-01"}, {"title", "Llamar en abril"}}))
            .status == 303);
  CHECK(app.inspect().followup(book.followup)->due == "2024-04-01");

  for (const auto& [collection, id] : {std::pair{"contacts", book.contact},
                                       {"interactions", book.interaction},
                                       {"purchases", book.purchase},
                                       {"followups", book.followup}}) {
    INFO(collection);
    CHECK(app.post(std::string("/") + collection + "/" + id + "/delete").status == 303);
  }
  CHECK(app.inspect().contacts_of(book.customer).empty());
  CHECK(app.inspect().interactions_of(book.customer).empty());
  CHECK(app.inspect().purchases_of(book.customer).size() == 1);
  CHECK(app.inspect().followups_of(book.customer).empty());
}

TEST_CASE("app: what a customer holds is shown, never run", "[app][security]") {
  AppDriver app;
  const std::string id = add_customer(
      app, {{"name", "<script>alert(1)</script>"}, {"notes", "\"><img src=x onerror=alert(1)>"}});
  for (const std::string& target :
       std::vector<std::string>{"/", "/customers", "/customers/" + id}) {
    const auto body = app.get(target).body;
    CHECK_FALSE(contains(body, "<script>alert"));
    CHECK_FALSE(contains(body, "<img src=x"));
  }
  CHECK(contains(app.get("/customers/" + id).body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
}

TEST_CASE("app: Spanish or English after the browser", "[app][i18n]") {
  AppDriver app;
  add_customer(app, {{"name", "Cliente Uno"}, {"annual_revenue", "1234,5"}});
  app.language = "es-ES,es;q=0.9,en;q=0.8";
  auto body = app.get("/").body;
  CHECK(contains(body, "<html lang=\"es\""));
  CHECK(contains(body, "Hoy"));
  CHECK(contains(body, "15/03/2024"));
  body = app.get("/customers?sort=revenue").body;
  CHECK(contains(body, "1 cliente<"));
  CHECK(contains(body, "1.234,50"));
  app.language = "en-US";
  body = app.get("/").body;
  CHECK(contains(body, "<html lang=\"en\""));
  CHECK(contains(body, "2024-03-15"));
}

TEST_CASE("app: the seller's conflicts, and one tap puts her value back", "[app][sync]") {
  AppDriver app;
  const std::string id = add_customer(app, {{"name", "Cerámicas Ribera"}, {"city", "Sevilla"}});
  auto& replica = app.inspect();
  ConflictNotice c;
  c.table = tables::customers;
  c.row = id;
  c.field = "city";
  c.kept = Value("Sevilla");
  c.lost = Value("Madrid");
  c.kept_version = replica.row_state(tables::customers, id)->versions.field("city");
  c.lost_version = Version{Hlc::from_parts(1'700'000'000'000, 0), replica.replica_id()};
  c.kind = "concurrent_edit";
  c.kept_user = "office";
  replica.record_conflicts({c});
  RefusedChange r;
  r.seq = 1;
  r.table = tables::customers;
  r.row = id;
  r.field = "owner";
  r.code = ErrorCode::forbidden;
  replica.record_refusals({r});

  const auto page = app.get("/sync");
  CHECK(contains(page.body, "Sevilla"));
  CHECK(contains(page.body, "Madrid"));
  CHECK(contains(page.body, "office"));
  CHECK(contains(page.body, "Cerámicas Ribera"));
  CHECK(contains(app.get("/").body, "1 conflict ·"));
  CHECK(contains(app.get("/").body, "1 change refused"));
  CHECK(contains(app.get("/status").body, "\"alerts\""));

  web::Params params;
  params.add("table", c.table);
  params.add("row", c.row);
  params.add("field", c.field);
  params.add("version", c.lost_version.to_string());
  CHECK(app.post("/sync/put-back", params).status == 303);
  CHECK(app.inspect().customer(id)->city == "Madrid");
  // Once back, there is nothing more to put back.
  CHECK(app.post("/sync/put-back", params).status == 409);
}

TEST_CASE("app: unknown paths and rows answer 404", "[app]") {
  AppDriver app;
  CHECK(app.get("/nowhere").status == 404);
  CHECK(app.get("/customers/01234567-0000-7000-8000-000000000000").status == 404);
  CHECK(app.get("/assets/missing.js").status == 404);
  CHECK(app.post("/contacts/nope/delete").status == 404);
}

}  // namespace libreta::test
