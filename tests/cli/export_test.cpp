// `libreta export`: the CSV reads back to the same book, and the vCard and iCalendar files
// pass a real (small, strict) parser: CRLF, folding at 75 octets, nesting, escaping.
#include <catch2/catch.hpp>

#include <set>

#include "cli/cli_fixture.hpp"
#include "cli/content_parser.hpp"

using libreta::test::CliFixture;
using libreta::test::ContentComponent;
using libreta::test::parse_content;
using libreta::test::split_structured;
using libreta::test::unescape_text;
using nlohmann::json;

namespace {

const std::string kLongNote =
    "Línea uno con acentos: áéíóú ñ ü, comas; puntos y coma y \"comillas\"\n"
    "Línea dos, muy larga para obligar a plegar la línea varias veces: ÁÉÍÓÚ ÑÑÑÑ €€€€ ————";

// A book with the awkward values a real one has.
void fill_book(CliFixture& cli) {
  REQUIRE(cli.run({"init"}).status == 0);
  const auto add = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"customer", "add"});
    const auto result = cli.json(args);
    return result["id"].get<std::string>();
  };
  const std::string lopez = add({"--name",   "López, Pérez; y Cía. \"La Única\"",
                                 "--kind",   "company",
                                 "--status", "active",
                                 "--tax-id", "B12345674",
                                 "--phone",  "+34 923 123 456",
                                 "--email",  "pedidos@lopez.es",
                                 "--city",   "Salamanca",
                                 "--region", "Castilla y León",
                                 "--tag",    "vip,mayorista",
                                 "--notes",  kLongNote,
                                 "--set",    "annual_revenue=1234567.891",
                                 "--set",    "quality_rank=1",
                                 "--set",    "relationship=regular",
                                 "--set",    "purchase_potential=alto",
                                 "--set",    "socioeconomic_level=C1",
                                 "--set",    "anniversary=01/06/2012",
                                 "--set",    "billing_address=Calle Mayor, 1; 2ºB",
                                 "--set",    "postal_code=08001",
                                 "--set",    "country=España",
                                 "--set",    "website=https://lopez.example/a,b"});
  const std::string maria =
      add({"--name", "María José Álvarez", "--kind", "person", "--status", "occasional", "--mobile",
           "600 123 456", "--set", "birthday=29/02/1976", "--set", "trade_name=Mª José", "--notes",
           "=SUMA(A1:A3)", "--segment", "C"});
  add({"--name", "-Guion inicial", "--status", "prospect", "--set", "annual_revenue=0,1"});
  add({"--name", "Sin teléfono S.A.", "--status", "lost", "--set", "notes=@mención"});
  REQUIRE(cli.run({"contact", "add", lopez, "--name", "Ana López Martín", "--role",
                   "Gerente, compras", "--mobile", "611 222 333", "--phone", "923 000 111",
                   "--email", "ana@lopez.es", "--birthday", "15/03/1980", "--address",
                   "Plaza Mayor 3; Salamanca", "--notes", "Dos hijos\nciclismo"})
              .status == 0);
  REQUIRE(cli.run({"contact", "add", maria, "--name", "Pedro", "--set", "anniversary=2000-10-10"})
              .status == 0);
  REQUIRE(cli.run({"log", lopez, "--type", "visit", "--outcome", "positive", "--follow-up",
                   "20/03/2024", "--follow-up-title", "Enviar catálogo, precios; y muestras"})
              .status == 0);
  REQUIRE(cli.run({"followups", "add", maria, "--due", "+2", "--title", "Llamar", "--note",
                   "línea 1\nlínea 2"})
              .status == 0);
  REQUIRE(cli.run({"log", maria, "--type", "quote", "--lost-reason", "Precio", "--revisit",
                   "01/04/2024"})
              .status == 0);
}

json sorted_by_id(json list) {
  std::sort(list.begin(), list.end(),
            [](const json& a, const json& b) { return a["id"] < b["id"]; });
  return list;
}

}  // namespace

TEST_CASE("export: the CSV is what Excel opens and re-imports to the same book", "[cli][export]") {
  for (const std::string lang : {"es_ES.UTF-8", "C"}) {
    DYNAMIC_SECTION("locale " << lang) {
      CliFixture cli;
      cli.lang = lang;
      fill_book(cli);
      const json book = sorted_by_id(cli.json({"customer", "list"}));
      REQUIRE(book.size() == 4);

      const auto path = cli.file("book.csv");
      REQUIRE(cli.json({"export", "csv", "--out", path.string()})["customers"] == 4);
      const std::string csv = cli.read_file(path);
      REQUIRE(csv.substr(0, 3) == "\xef\xbb\xbf");
      const char separator = lang == "C" ? ',' : ';';
      CHECK(csv.substr(3, 3) == std::string("id") + separator);
      CHECK(csv.find("\r\n") != std::string::npos);
      if (lang != "C") CHECK(csv.find("1234567,891") != std::string::npos);
      CHECK(csv.find("'=SUMA(A1:A3)") != std::string::npos);  // defused for Excel

      // Into an empty book: the same customers, field for field, ids included.
      CliFixture other;
      other.lang = lang;
      REQUIRE(other.run({"init"}).status == 0);
      const auto imported = other.json({"import", path.string()});
      CHECK(imported["created"] == 4);
      CHECK(imported["unknown_columns"].empty());
      CHECK(sorted_by_id(other.json({"customer", "list"})) == book);

      // Into the same book: nothing to do.
      const auto again = cli.json({"import", path.string()});
      CHECK(again["created"] == 0);
      CHECK(again["updated"] == 0);
      CHECK(again["unchanged"] == 4);
      CHECK(sorted_by_id(cli.json({"customer", "list"})) == book);
    }
  }
}

TEST_CASE("export: the vCards parse, with escaping, folding and the phone's fields",
          "[cli][export]") {
  CliFixture cli;
  fill_book(cli);
  const auto path = cli.file("contacts.vcf");
  const json stats = cli.json({"export", "vcard", "--out", path.string()});
  // Every contact (2), the person customer (1), and the companies with a phone or email (1).
  CHECK(stats["cards"] == 4);
  const auto cards = parse_content(cli.read_file(path));
  REQUIRE(cards.size() == 4);
  std::map<std::string, const ContentComponent*> by_name;
  std::set<std::string> uids;
  for (const auto& card : cards) {
    CHECK(card.name == "VCARD");
    CHECK(card.children.empty());
    REQUIRE_FALSE(card.properties.empty());
    CHECK(card.properties.front().name == "VERSION");
    CHECK(card.properties.front().raw == "3.0");
    REQUIRE(card.find("FN"));
    REQUIRE(card.find("N"));
    CHECK(split_structured(card.find("N")->raw).size() == 5);
    REQUIRE(card.find("UID"));
    CHECK(uids.insert(card.find("UID")->raw).second);
    const std::string fn = unescape_text(card.find("FN")->raw);
    CHECK_FALSE(fn.empty());
    by_name[fn] = &card;
  }
  REQUIRE(by_name.count("Ana López Martín"));
  const ContentComponent& ana = *by_name["Ana López Martín"];
  CHECK(split_structured(ana.find("N")->raw) ==
        std::vector<std::string>{"López Martín", "Ana", "", "", ""});
  CHECK(unescape_text(ana.find("ORG")->raw) == "López, Pérez; y Cía. \"La Única\"");
  CHECK(unescape_text(ana.find("TITLE")->raw) == "Gerente, compras");
  CHECK(ana.find("BDAY")->raw == "1980-03-15");
  CHECK(unescape_text(ana.find("NOTE")->raw) == "Dos hijos\nciclismo");
  CHECK(split_structured(ana.find("ADR")->raw)[2] == "Plaza Mayor 3; Salamanca");
  std::set<std::string> tel_types;
  for (const auto* tel : ana.all("TEL")) {
    REQUIRE(tel->params.count("TYPE"));
    for (const auto& t : tel->params.at("TYPE")) tel_types.insert(t);
  }
  CHECK(tel_types.count("CELL"));
  CHECK(tel_types.count("WORK"));
  CHECK(ana.find("EMAIL")->raw == "ana@lopez.es");

  REQUIRE(by_name.count("María José Álvarez"));
  CHECK(by_name["María José Álvarez"]->find("BDAY")->raw == "1976-02-29");
  CHECK(unescape_text(by_name["María José Álvarez"]->find("NOTE")->raw) == "=SUMA(A1:A3)");

  // The company card: its long notes were folded and come back whole.
  const ContentComponent* company = nullptr;
  for (const auto& card : cards) {
    if (card.find("X-ABSHOWAS")) company = &card;
  }
  REQUIRE(company);
  CHECK(unescape_text(company->find("NOTE")->raw) == kLongNote);
  const auto adr = split_structured(company->find("ADR")->raw);
  CHECK(adr == std::vector<std::string>{"", "", "Calle Mayor, 1; 2ºB", "Salamanca",
                                        "Castilla y León", "08001", "España"});
}

TEST_CASE(
    "export: the iCalendar parses: follow-ups, revisits, and yearly birthdays and anniversaries",
    "[cli][export]") {
  CliFixture cli;
  cli.lang = "es_ES.UTF-8";
  fill_book(cli);
  const auto path = cli.file("agenda.ics");
  const json stats = cli.json({"export", "ics", "--out", path.string()});
  CHECK(stats["followups"] == 2);
  CHECK(stats["revisits"] == 1);
  CHECK(stats["dates"] ==
        4);  // lopez anniversary, maría's birthday, ana's birthday, pedro's anniversary
  const auto top = parse_content(cli.read_file(path));
  REQUIRE(top.size() == 1);
  const ContentComponent& calendar = top.front();
  CHECK(calendar.name == "VCALENDAR");
  REQUIRE(calendar.find("VERSION"));
  CHECK(calendar.find("VERSION")->raw == "2.0");
  REQUIRE(calendar.find("PRODID"));
  REQUIRE(calendar.children.size() == 7);

  std::set<std::string> uids;
  std::map<std::string, const ContentComponent*> by_summary;
  for (const auto& event : calendar.children) {
    CHECK(event.name == "VEVENT");
    REQUIRE(event.find("UID"));
    CHECK(uids.insert(event.find("UID")->raw).second);
    REQUIRE(event.find("DTSTAMP"));
    const std::string stamp = event.find("DTSTAMP")->raw;
    CHECK(stamp.size() == 16);
    CHECK(stamp[8] == 'T');
    CHECK(stamp.back() == 'Z');
    const auto* start = event.find("DTSTART");
    REQUIRE(start);
    REQUIRE(start->params.count("VALUE"));
    CHECK(start->params.at("VALUE") == std::vector<std::string>{"DATE"});
    CHECK(start->raw.size() == 8);
    REQUIRE(event.find("SUMMARY"));
    by_summary[unescape_text(event.find("SUMMARY")->raw)] = &event;
  }
  const auto* followup = by_summary
      ["Seguimiento: Enviar catálogo, precios; y muestras (López, Pérez; y Cía. \"La Única\")"];
  REQUIRE(followup);
  CHECK(followup->find("DTSTART")->raw == "20240320");
  CHECK(followup->find("DTEND")->raw == "20240321");
  CHECK_FALSE(followup->find("RRULE"));

  const auto* call = by_summary["Seguimiento: Llamar (María José Álvarez)"];
  REQUIRE(call);
  CHECK(call->find("DTSTART")->raw == "20240317");  // +2 from the fixture's today
  CHECK(unescape_text(call->find("DESCRIPTION")->raw) == "línea 1\nlínea 2");

  const auto* birthday = by_summary["Cumpleaños: María José Álvarez"];
  REQUIRE(birthday);
  CHECK(birthday->find("DTSTART")->raw == "19760229");
  CHECK(birthday->find("RRULE")->raw == "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1");

  const auto* ana = by_summary["Cumpleaños: Ana López Martín (López, Pérez; y Cía. \"La Única\")"];
  REQUIRE(ana);
  CHECK(ana->find("RRULE")->raw == "FREQ=YEARLY");
  CHECK(by_summary.count("Aniversario: López, Pérez; y Cía. \"La Única\" (desde 2012)"));
  const auto* revisit = by_summary["Revisar oferta perdida: María José Álvarez"];
  REQUIRE(revisit);
  CHECK(revisit->find("DTSTART")->raw == "20240401");
  CHECK(unescape_text(revisit->find("DESCRIPTION")->raw) == "Precio");
}

TEST_CASE("export: without --out the data goes to standard output", "[cli][export]") {
  CliFixture cli;
  fill_book(cli);
  const auto r = cli.run({"export", "vcard"});
  REQUIRE(r.status == 0);
  CHECK(parse_content(r.out).size() == 4);
  CHECK(cli.run({"export", "pdf"}).status == 2);
}
