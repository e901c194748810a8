// The customer commands through the real binary: add, edit, show, list, delete; bad input
// refused with a clear message and its exit code, and the book left as it was.
#include <catch2/catch.hpp>

#include "cli/cli_fixture.hpp"

using libreta::test::CliFixture;
using nlohmann::json;

namespace {

// The customers of the book, as `customer list --json` shows them.
json book_of(CliFixture& cli) {
  return cli.json({"customer", "list"});
}

std::size_t pending_of(CliFixture& cli) {
  return cli.json({"status"})["pending_changes"].get<std::size_t>();
}

std::string add_customer(CliFixture& cli, const std::vector<std::string>& args) {
  std::vector<std::string> full{"customer", "add"};
  full.insert(full.end(), args.begin(), args.end());
  return cli.json(full)["id"].get<std::string>();
}

}  // namespace

TEST_CASE("cli: a customer is added with every kind of field, converted from what a seller types",
          "[cli][customer]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const json c = cli.json({"customer", "add",
                           "--name",   "Ferretería López S.L.",
                           "--city",   "Salamanca",
                           "--phone",  "+34 923 123 456",
                           "--email",  "pedidos@lopez.es",
                           "--tax-id", "B12345674",
                           "--status", "activo",
                           "--kind",   "empresa",
                           "--tag",    "vip,mayorista",
                           "--tag",    "norte",
                           "--set",    "annual_revenue=1.234,56",
                           "--set",    "birthday=15/03/1980",
                           "--set",    "anniversary=2012-06-01",
                           "--set",    "quality_rank=2",
                           "--set",    "purchase_potential=high",
                           "--set",    "segment=A"});
  CHECK(c["name"] == "Ferretería López S.L.");
  CHECK(c["status"] == "active");
  CHECK(c["kind"] == "company");
  CHECK(c["annual_revenue"].get<double>() == Approx(1234.56));
  CHECK(c["birthday"] == "1980-03-15");
  CHECK(c["anniversary"] == "2012-06-01");
  CHECK(c["quality_rank"] == 2);
  CHECK(c["purchase_potential"] == "alto");
  CHECK(c["tags"] == json({"mayorista", "norte", "vip"}));
  CHECK(c.contains("created_at"));
}

TEST_CASE(
    "cli: edit changes only the fields given, clears with an empty value, adds and removes tags",
    "[cli][customer]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const std::string id = add_customer(cli, {"--name", "Bar Pepe", "--city", "Zamora", "--notes",
                                            "paga tarde", "--tag", "bar,hostelería"});
  const json edited =
      cli.json({"customer", "edit", id, "--set", "status=occasional", "--set", "notes=", "--untag",
                "bar", "--tag", "terraza", "--mobile", "600 111 222"});
  CHECK(edited["changed"] == 4);
  const json& c = edited["customer"];
  CHECK(c["status"] == "occasional");
  CHECK_FALSE(c.contains("notes"));
  CHECK(c["tags"] == json({"hostelería", "terraza"}));
  CHECK(c["mobile"] == "600 111 222");
  CHECK(c["city"] == "Zamora");
  CHECK(c.contains("updated_at"));

  // By search text rather than id.
  CHECK(cli.json({"customer", "edit", "bar pepe", "--city", "León"})["customer"]["city"] == "León");
}

TEST_CASE("cli: show gives contacts, interactions, purchases, follow-ups and behaviour",
          "[cli][customer]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const std::string id = add_customer(cli, {"--name", "Librería Ávila", "--status", "active"});
  REQUIRE(cli.run({"contact", "add", id, "--name", "Eva Gil", "--role", "Gerente", "--mobile",
                   "611 222 333"})
              .status == 0);
  REQUIRE(cli.run({"purchase", "add", id, "--date", "01/02/2024", "--product", "Estantería",
                   "--qty", "2", "--amount", "1.200,50"})
              .status == 0);
  REQUIRE(cli.run({"purchase", "add", id, "--date", "2024-03-01", "--product", "Lámpara",
                   "--amount", "99,5"})
              .status == 0);
  REQUIRE(cli.run({"log", id, "--type", "visita", "--outcome", "positivo", "--note",
                   "Quiere más estanterías", "--follow-up", "20/03/2024", "--contact", "eva"})
              .status == 0);

  const json shown = cli.json({"customer", "show", id});
  CHECK(shown["customer"]["name"] == "Librería Ávila");
  REQUIRE(shown["contacts"].size() == 1);
  CHECK(shown["contacts"][0]["name"] == "Eva Gil");
  REQUIRE(shown["interactions"].size() == 1);
  CHECK(shown["interactions"][0]["type"] == "visit");
  CHECK(shown["interactions"][0]["contact_id"] == shown["contacts"][0]["id"]);
  CHECK(shown["purchases"].size() == 2);
  REQUIRE(shown["followups"].size() == 1);
  CHECK(shown["followups"][0]["due"] == "2024-03-20");
  const json& b = shown["behaviour"];
  CHECK(b["purchase_count"] == 2);
  CHECK(b["last_purchase"] == "2024-03-01");
  CHECK(b["days_since_last"] == 14);  // today is 2024-03-15 in the fixture
  CHECK(b["total_spend"].get<double>() == Approx(1300.0));
  CHECK_FALSE(b["rfm_segment"].is_null());

  const auto text = cli.run({"customer", "show", "librería"});
  REQUIRE(text.status == 0);
  CHECK(text.out.find("Eva Gil") != std::string::npos);
  CHECK(text.out.find("1,200.50") != std::string::npos);
  CHECK(text.out.find("2024-03-20") != std::string::npos);
}

TEST_CASE("cli: list filters by status, relationship, segment, city, region, owner and tag",
          "[cli][customer]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  add_customer(
      cli, {"--name", "Álamo", "--status", "active", "--city", "Málaga", "--region", "Andalucía",
            "--owner", "ana", "--segment", "A", "--tag", "vip", "--set", "relationship=regular"});
  add_customer(cli,
               {"--name", "Zurita", "--status", "prospect", "--city", "Madrid", "--owner", "luis"});
  add_customer(cli,
               {"--name", "Bravo", "--status", "active", "--city", "malaga", "--segment", "B"});

  const auto names = [](const json& list) {
    std::vector<std::string> out;
    for (const auto& c : list) out.push_back(c["name"]);
    return out;
  };
  CHECK(names(book_of(cli)) == std::vector<std::string>{"Álamo", "Bravo", "Zurita"});
  CHECK(names(cli.json({"customer", "list", "--status", "activo"})) ==
        std::vector<std::string>{"Álamo", "Bravo"});
  CHECK(names(cli.json({"customer", "list", "--city", "MALAGA"})) ==
        std::vector<std::string>{"Álamo", "Bravo"});
  CHECK(names(cli.json({"customer", "list", "--region", "andalucia"})) ==
        std::vector<std::string>{"Álamo"});
  CHECK(names(cli.json({"customer", "list", "--owner", "luis"})) ==
        std::vector<std::string>{"Zurita"});
  CHECK(names(cli.json({"customer", "list", "--tag", "VIP"})) == std::vector<std::string>{"Álamo"});
  CHECK(names(cli.json({"customer", "list", "--segment", "B"})) ==
        std::vector<std::string>{"Bravo"});
  CHECK(names(cli.json({"customer", "list", "--relationship", "habitual"})) ==
        std::vector<std::string>{"Álamo"});
  CHECK(cli.run({"customer", "list", "--status", "dormido"}).status == 3);
}

TEST_CASE("cli: delete removes the customer; it can no longer be shown", "[cli][customer]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const std::string id = add_customer(cli, {"--name", "Borrable"});
  add_customer(cli, {"--name", "Se queda"});
  CHECK(cli.json({"customer", "delete", id})["deleted"] == id);
  CHECK(book_of(cli).size() == 1);
  const auto shown = cli.run({"customer", "show", id});
  CHECK(shown.status == 3);
  CHECK(shown.err.find(id) != std::string::npos);
}

TEST_CASE("cli: bad input is refused with a clear message and its exit code, and changes nothing",
          "[cli][customer][errors]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const std::string id = add_customer(cli, {"--name", "Intacto", "--city", "Soria"});
  const json before = book_of(cli);
  const std::size_t pending_before = pending_of(cli);

  SECTION("an unknown field") {
    const auto r = cli.run({"customer", "edit", id, "--set", "city=Burgos", "--set", "color=rojo"});
    CHECK(r.status == 3);
    CHECK(r.err.find("unknown field 'color'") != std::string::npos);
  }
  SECTION("a date that does not exist") {
    const auto r = cli.run({"customer", "edit", id, "--set", "birthday=31/02/2024"});
    CHECK(r.status == 3);
    CHECK(r.err.find("'31/02/2024' is not a date") != std::string::npos);
  }
  SECTION("a bad email on add") {
    const auto r = cli.run({"customer", "add", "--name", "Nuevo", "--email", "no-es-un-email"});
    CHECK(r.status == 3);
    CHECK(r.err.find("not a valid email") != std::string::npos);
  }
  SECTION("a choice that is not one") {
    const auto r = cli.run({"customer", "edit", id, "--status", "dormido"});
    CHECK(r.status == 3);
    CHECK(r.err.find("prospect, active, occasional, inactive, lost") != std::string::npos);
  }
  SECTION("an unknown customer id") {
    const auto r =
        cli.run({"customer", "edit", "01890000-0000-7000-8000-000000000000", "--city", "Burgos"});
    CHECK(r.status == 3);
    CHECK(r.err.find("no customer with id or name") != std::string::npos);
  }
  SECTION("a required field cleared") {
    const auto r = cli.run({"customer", "edit", id, "--set", "name="});
    CHECK(r.status == 3);
    CHECK(r.err.find("name (Name): is required") != std::string::npos);
  }
  SECTION("a malformed --set is a usage error") {
    const auto r = cli.run({"customer", "edit", id, "--set", "city"});
    CHECK(r.status == 2);
  }
  SECTION("an unknown option is a usage error") {
    const auto r = cli.run({"customer", "add", "--name", "X", "--colour", "red"});
    CHECK(r.status == 2);
    CHECK(r.err.find("usage error") != std::string::npos);
  }
  SECTION("a purchase with a bad amount") {
    const auto r = cli.run({"purchase", "add", id, "--product", "Mesa", "--amount", "doce"});
    CHECK(r.status == 3);
    CHECK(r.err.find("'doce' is not a number") != std::string::npos);
  }
  SECTION("a log with a bad follow-up date") {
    const auto r = cli.run({"log", id, "--type", "call", "--follow-up", "30/02/2024"});
    CHECK(r.status == 3);
    CHECK(cli.json({"customer", "show", id})["interactions"].empty());
  }
  CHECK(book_of(cli) == before);
  CHECK(pending_of(cli) == pending_before);
}

TEST_CASE("cli: a customer named by search text must be unambiguous", "[cli][customer]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  add_customer(cli, {"--name", "Bar Pepe", "--city", "Soria"});
  add_customer(cli, {"--name", "Bar Pepe Dos", "--city", "Soria"});
  add_customer(cli, {"--name", "Bar Luis", "--city", "Soria"});

  const auto ambiguous = cli.run({"customer", "show", "bar"});
  CHECK(ambiguous.status == 3);
  CHECK(ambiguous.err.find("matches 3 customers") != std::string::npos);
  CHECK(ambiguous.err.find("Bar Luis") != std::string::npos);
  // An exact name wins over longer ones.
  CHECK(cli.json({"customer", "show", "bar pepe"})["customer"]["name"] == "Bar Pepe");
  CHECK(cli.json({"customer", "show", "luis"})["customer"]["name"] == "Bar Luis");
}

TEST_CASE("cli: commands before init, or with no command, are usage errors", "[cli][errors]") {
  CliFixture cli;
  const auto no_book = cli.run({"customer", "list"});
  CHECK(no_book.status == 2);
  CHECK(no_book.err.find("libreta init") != std::string::npos);
  CHECK(cli.run({}).status == 2);
  CHECK(cli.run({"customer"}).status == 2);
  const auto help = cli.run({"customer", "add", "--help"});
  CHECK(help.status == 0);
  CHECK(help.out.find("--set") != std::string::npos);
  CHECK(help.out.find("--tax-id") != std::string::npos);
}
