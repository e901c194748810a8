// The seller's day through the binary: logging visits, follow-ups (overdue, today, this
// week, done), reminders (birthdays, quiet customers, lost deals), RFM segments and search.
// The fixture's today is 2024-03-15.
#include <catch2/catch.hpp>

#include "cli/cli_fixture.hpp"

using libreta::test::CliFixture;
using nlohmann::json;

TEST_CASE("followups: overdue, today and this week; done by id or by the start of it",
          "[cli][followups]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  REQUIRE(cli.run({"customer", "add", "--name", "Uno", "--status", "active"}).status == 0);
  REQUIRE(cli.run({"customer", "add", "--name", "Dos", "--status", "active"}).status == 0);
  REQUIRE(
      cli.run({"followups", "add", "Uno", "--due", "10/03/2024", "--title", "Atrasado"}).status ==
      0);
  REQUIRE(cli.run({"followups", "add", "Dos", "--due", "hoy", "--title", "Hoy"}).status == 0);
  const json logged =
      cli.json({"log", "Uno", "--type", "llamada", "--outcome", "pendiente", "--follow-up", "+3"});
  REQUIRE(cli.run({"followups", "add", "Dos", "--due", "2024-03-30", "--title", "Lejos"}).status ==
          0);
  CHECK(logged["interaction"]["type"] == "call");
  CHECK(logged["followup"]["due"] == "2024-03-18");
  CHECK(logged["followup"]["interaction_id"] == logged["interaction"]["id"]);

  const json due = cli.json({"followups"});
  REQUIRE(due.size() == 3);
  CHECK(due[0]["title"] == "Atrasado");
  CHECK(due[0]["when"] == "overdue");
  CHECK(due[0]["days_until"] == -5);
  CHECK(due[1]["when"] == "today");
  CHECK(due[2]["when"] == "this_week");
  CHECK(due[2]["customer_name"] == "Uno");

  const auto text = cli.run({"followups"});
  CHECK(text.out.find("Overdue:") != std::string::npos);
  CHECK(text.out.find("5 days overdue") != std::string::npos);

  CHECK(cli.json({"followups", "done", due[0]["id"].get<std::string>()})["done"] == true);
  const std::string prefix = due[1]["id"].get<std::string>().substr(0, 30);
  CHECK(cli.json({"followups", "done", prefix})["title"] == "Hoy");
  CHECK(cli.json({"followups"}).size() == 1);
  CHECK(cli.run({"followups", "done", "no-such"}).status == 3);
}

TEST_CASE("log: a lost deal with its reason and revisit date becomes a reminder",
          "[cli][reminders]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  REQUIRE(cli.run({"customer", "add", "--name", "Duero", "--status", "prospect"}).status == 0);
  const json lost =
      cli.json({"log", "Duero", "--type", "quote", "--amount", "15.400,00", "--lost-reason",
                "Precio", "--revisit", "01/03/2024", "--date", "01/02/2024 10:30"});
  CHECK(lost["interaction"]["outcome"] == "lost");
  CHECK(lost["interaction"]["amount"].get<double>() == Approx(15400));
  CHECK(lost["interaction"]["date"] == "2024-02-01T10:30:00Z");  // TZ=UTC in the fixture
  CHECK(cli.run({"log", "Duero", "--outcome", "won", "--lost-reason", "x"}).status == 3);

  const json reminders = cli.json({"reminders"});
  REQUIRE(reminders["lost_deals"].size() == 1);
  CHECK(reminders["lost_deals"][0]["lost_reason"] == "Precio");
  CHECK(reminders["lost_deals"][0]["customer_name"] == "Duero");
}

TEST_CASE("reminders: birthdays and anniversaries soon, and customers quiet for N days",
          "[cli][reminders]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const std::string ana = cli.json({"customer", "add", "--name", "Ana", "--kind", "person",
                                    "--status", "active", "--set", "birthday=20/03/1980"})["id"];
  REQUIRE(cli.run({"customer", "add", "--name", "Callado", "--status", "active"}).status == 0);
  REQUIRE(cli.run({"customer", "add", "--name", "Reciente", "--status", "active"}).status == 0);
  REQUIRE(cli.run({"purchase", "add", "Reciente", "--date", "01/03/2024", "--product", "X",
                   "--amount", "10"})
              .status == 0);
  REQUIRE(cli.run({"purchase", "add", "Callado", "--date", "01/10/2023", "--product", "X",
                   "--amount", "10"})
              .status == 0);
  REQUIRE(cli.run({"contact", "add", ana, "--name", "Luis", "--set", "anniversary=2010-04-10"})
              .status == 0);
  REQUIRE(cli.run({"log", "Ana", "--type", "call", "--date", "2024-03-10"}).status == 0);

  const json r = cli.json({"reminders", "--days", "30", "--quiet-days", "60"});
  REQUIRE(r["dates"].size() == 2);
  CHECK(r["dates"][0]["person"] == "Ana");
  CHECK(r["dates"][0]["what"] == "birthday");
  CHECK(r["dates"][0]["days_until"] == 5);
  CHECK(r["dates"][0]["years"] == 44);
  CHECK(r["dates"][1]["person"] == "Luis");
  CHECK(r["dates"][1]["what"] == "anniversary");
  REQUIRE(r["quiet"].size() == 1);
  CHECK(r["quiet"][0]["customer_name"] == "Callado");
  CHECK(r["quiet"][0]["days_quiet"] == 166);
  CHECK(cli.json({"reminders", "--days", "3"})["dates"].empty());

  cli.lang = "es_ES.UTF-8";
  const auto text = cli.run({"reminders"});
  CHECK(text.out.find("20/03/2024") != std::string::npos);
  CHECK(text.out.find("cumpleaños (44)") != std::string::npos);
  CHECK(text.out.find("Callado") != std::string::npos);
}

TEST_CASE("segments: who to reward and who is at risk", "[cli][segments]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  REQUIRE(cli.run({"customer", "add", "--name", "Fiel", "--status", "active"}).status == 0);
  REQUIRE(cli.run({"customer", "add", "--name", "Olvidado", "--status", "active"}).status == 0);
  for (int month = 1; month <= 12; ++month) {
    const std::string recent =
        "2024-03-" + std::string(month < 10 ? "0" : "") + std::to_string(month);
    REQUIRE(cli.run({"purchase", "add", "Fiel", "--date", recent, "--product", "P", "--amount",
                     "1.000"})
                .status == 0);
    const std::string old =
        "2023-" + std::string(month < 10 ? "0" : "") + std::to_string(month) + "-01";
    if (month <= 8) {
      REQUIRE(cli.run({"purchase", "add", "Olvidado", "--date", old, "--product", "P", "--amount",
                       "900"})
                  .status == 0);
    }
  }
  const json s = cli.json({"segments"});
  CHECK(s["method"] == "fixed_thresholds");
  REQUIRE(s["customers"].size() == 2);
  CHECK(s["customers"][0]["customer_name"] == "Fiel");
  CHECK(s["customers"][0]["segment"] == "champions");
  CHECK(s["customers"][1]["customer_name"] == "Olvidado");
  CHECK(s["customers"][1]["segment"] == "at_risk");
  cli.lang = "es_ES.UTF-8";
  const auto text = cli.run({"segments"});
  CHECK(text.out.find("Para premiar") != std::string::npos);
  CHECK(text.out.find("campeones") != std::string::npos);
  CHECK(text.out.find("en riesgo") != std::string::npos);
}

TEST_CASE("search: accents and case aside, in names, phones, notes and contacts", "[cli][search]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const std::string id = cli.json({"customer", "add", "--name", "Peña Núñez", "--phone",
                                   "923 123 456", "--notes", "Cliente de toda la vida"})["id"];
  REQUIRE(cli.run({"contact", "add", id, "--name", "Begoña Ruiz"}).status == 0);
  CHECK(cli.json({"search", "pena", "nunez"})[0]["customer_id"] == id);
  CHECK(cli.json({"search", "923123456"}).size() == 1);
  CHECK(cli.json({"search", "toda", "vida"}).size() == 1);
  CHECK(cli.json({"search", "begona"})[0]["table"] == "contacts");
  CHECK(cli.json({"search", "inexistente"}).empty());
}
