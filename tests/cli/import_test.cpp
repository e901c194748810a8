// `libreta import` on spreadsheet exports as Excel writes them, each edge case in its own
// file generated here, the report asserted through --json.
#include <catch2/catch.hpp>

#include <set>

#include "cli/cli_fixture.hpp"

using libreta::test::CliFixture;
using nlohmann::json;

namespace {

struct Imported {
  int status = 0;
  json report;
  std::string err;
};

Imported import_file(CliFixture& cli, const std::string& name, const std::string& bytes,
                     std::vector<std::string> extra = {}) {
  const auto path = cli.write_file(name, bytes);
  std::vector<std::string> args{"--json", "import", path.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto result = cli.run(args);
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  Imported out{result.status, json::parse(result.out, nullptr, false), result.err};
  if (result.status == 0 || result.status == 3) {
    if (!result.out.empty()) REQUIRE_FALSE(out.report.is_discarded());
  }
  return out;
}

json customers(CliFixture& cli) {
  return cli.json({"customer", "list"});
}

json customer_named(CliFixture& cli, const std::string& name) {
  for (const auto& c : customers(cli)) {
    if (c["name"] == name) return c;
  }
  FAIL("no customer named " << name);
  return {};
}

std::vector<std::size_t> rejected_lines(const json& report) {
  std::vector<std::size_t> lines;
  for (const auto& r : report["results"]) {
    if (r["result"] == "rejected") lines.push_back(r["line"].get<std::size_t>());
  }
  return lines;
}

// Windows-1252 bytes of a Latin-1 text given in UTF-8 (enough for Spanish).
std::string to_1252(const std::string& utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c == 0xc3 && i + 1 < utf8.size()) {
      out += static_cast<char>(0xc0 + (static_cast<unsigned char>(utf8[i + 1]) - 0x80));
      ++i;
    } else if (c == 0xc2 && i + 1 < utf8.size()) {
      out += utf8[++i];
    } else if (c == 0xe2 && utf8.compare(i, 3, "\xe2\x82\xac") == 0) {
      out += '\x80';  // €
      i += 2;
    } else {
      out += utf8[i];
    }
  }
  return out;
}

}  // namespace

TEST_CASE("import: a UTF-8 file with BOM maps its first header correctly", "[cli][import]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const auto r = import_file(
      cli, "bom.csv", "\xef\xbb\xbfNombre;Email;Teléfono\r\nAna Ruiz;ana@ruiz.es;600 100 200\r\n");
  REQUIRE(r.status == 0);
  CHECK(r.report["encoding"] == "UTF-8 (BOM)");
  CHECK(r.report["separator"] == ";");
  CHECK(r.report["created"] == 1);
  CHECK(r.report["columns"][0] == json({{"column", "Nombre"}, {"field", "name"}}));
  CHECK(r.report["unknown_columns"].empty());
  const json c = customer_named(cli, "Ana Ruiz");
  CHECK(c["email"] == "ana@ruiz.es");
  CHECK(c["phone"] == "600 100 200");
  CHECK(c["kind"] == "company");
  CHECK(c["status"] == "prospect");
}

TEST_CASE(
    "import: quoted fields hold separators, doubled quotes and line breaks; lines are physical",
    "[cli][import]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const std::string csv =
      "name,notes,email\r\n"  // line 1
      "\"Bar \"\"El Sol\"\", S.L.\",\"primera línea\r\nsegunda, con "
      "coma\r\n\",sol@bar.es\r\n"           // 2-4
      "Otro,\"una\nnota\",no-es-email\r\n"  // 5-6
      "Tercero,,tercero@x.es\r\n";          // 7
  const auto r = import_file(cli, "quoted.csv", csv);
  CHECK(r.status == 3);  // one rejected row
  CHECK(r.report["separator"] == ",");
  CHECK(r.report["rows"] == 3);
  CHECK(r.report["created"] == 2);
  CHECK(rejected_lines(r.report) == std::vector<std::size_t>{5});
  const json sol = customer_named(cli, "Bar \"El Sol\", S.L.");
  CHECK(sol["notes"] == "primera línea\nsegunda, con coma");
  CHECK(customer_named(cli, "Tercero")["email"] == "tercero@x.es");
  CHECK(r.report["results"][1]["reasons"][0].get<std::string>().find("not a valid email") !=
        std::string::npos);
}

TEST_CASE("import: decimal commas and dd/mm/yyyy dates are read as a Spanish Excel writes them",
          "[cli][import]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const auto r = import_file(cli, "decimal.csv",
                             "Razón social;Facturación;Cumpleaños;Cliente desde;Etiquetas\n"
                             "Uno;1.234,56;05/11/1970;1/2/2015;vip, norte\n"
                             "Dos;12,5 €;1970-11-05;;\n"
                             "Tres;1234.5;31/04/2020;;\n");
  CHECK(r.status == 3);
  CHECK(customer_named(cli, "Uno")["annual_revenue"].get<double>() == Approx(1234.56));
  CHECK(customer_named(cli, "Uno")["birthday"] == "1970-11-05");
  CHECK(customer_named(cli, "Uno")["anniversary"] == "2015-02-01");
  CHECK(customer_named(cli, "Uno")["tags"] == json({"norte", "vip"}));
  CHECK(customer_named(cli, "Dos")["annual_revenue"].get<double>() == Approx(12.5));
  CHECK(rejected_lines(r.report) == std::vector<std::size_t>{4});  // 31 April does not exist
  CHECK(customers(cli).size() == 2);
}

TEST_CASE("import: a Windows-1252 file with semicolons keeps ñ and á", "[cli][import]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const auto r = import_file(cli, "ansi.csv",
                             to_1252("Nombre;Ciudad;Provincia;Notas\r\n"
                                     "Peña Muñoz;Málaga;Andalucía;Café € 1\r\n"));
  REQUIRE(r.status == 0);
  CHECK(r.report["encoding"] == "Windows-1252");
  CHECK(r.report["separator"] == ";");
  const json c = customer_named(cli, "Peña Muñoz");
  CHECK(c["city"] == "Málaga");
  CHECK(c["region"] == "Andalucía");
  CHECK(c["notes"] == "Café € 1");
  // Found by search without accents.
  CHECK(cli.json({"search", "pena"}).size() == 1);
}

TEST_CASE("import: duplicate rows, in the file and against the book, are recognized",
          "[cli][import]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  REQUIRE(cli.run({"customer", "add", "--name", "Ferretería López", "--tax-id", "B-12.345.674",
                   "--city", "Soria"})
              .status == 0);
  REQUIRE(cli.run({"customer", "add", "--name", "Casa Pepe", "--email", "Pepe@Casa.es"}).status ==
          0);
  REQUIRE(
      cli.run({"customer", "add", "--name", "Bodega Sur", "--phone", "+34 956 111 222"}).status ==
      0);
  const auto r = import_file(cli, "dups.csv",
                             "Nombre;NIF;Email;Teléfono;Ciudad;Notas\n"
                             "FERRETERIA LOPEZ SL;b12345674;;;Soria;por NIF\n"  // 2: tax id
                             "Casa Pepe (centro);;pepe@casa.es;;;\n"            // 3: email
                             "Bodega del Sur;;;956111222;;\n"                   // 4: phone
                             "Nueva;;nueva@x.es;;Soria;\n"                      // 5: new
                             "Nueva;;nueva@x.es;;Soria;\n"                      // 6: repeats 5
                             "Ferretería López S.L.;;;;Soria;\n"                // 7: by name
                             "Ferretería López S.L.;;;;Burgos;\n");             // 8: other city
  REQUIRE(r.status == 0);
  CHECK(r.report["created"] == 2);  // "Nueva" and the Burgos one
  CHECK(r.report["duplicates"] == 5);
  const auto& results = r.report["results"];
  CHECK(results[0]["matched_by"] == "tax_id");
  CHECK(results[0]["result"] == "updated");  // it brought notes
  CHECK(results[1]["matched_by"] == "email");
  CHECK(results[1]["result"] == "unchanged");  // the same email in other case, the book's name kept
  CHECK(results[2]["matched_by"] == "phone");
  CHECK(results[2]["result"] == "unchanged");
  CHECK(results[3]["result"] == "created");
  CHECK(results[4]["result"] == "unchanged");
  CHECK(results[4]["id"] == results[3]["id"]);
  CHECK(results[5]["matched_by"] == "name");
  CHECK(results[6]["result"] == "created");
  CHECK(customers(cli).size() == 5);
  // A match by tax id, email, phone or name keeps the book's spelling of the name and of
  // the identifying fields; the new fields arrive.
  const json lopez = customer_named(cli, "Ferretería López");
  CHECK(lopez["notes"] == "por NIF");
  CHECK(lopez["tax_id"] == "B-12.345.674");
  CHECK(customer_named(cli, "Bodega Sur")["phone"] == "+34 956 111 222");
}

TEST_CASE("import: the seller's own notes and status are kept, and the report says so",
          "[cli][import]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  REQUIRE(cli.run({"customer", "add", "--name", "Talleres Vega", "--tax-id", "B-11.222.333",
                   "--status", "active", "--notes", "Paga a 30 días; llamar a Marta"})
              .status == 0);
  const std::string file =
      "Nombre;NIF;Estado;Notas;Teléfono;Ciudad\n"
      "TALLERES VEGA SL;B11222333;prospect;importado del ERP;+34 941 000 111;Logroño\n";
  const auto r = import_file(cli, "vega.csv", file);
  REQUIRE(r.status == 0);
  const auto& row = r.report["results"][0];
  CHECK(row["result"] == "updated");
  CHECK(row["fields"] == json::array({"city", "phone"}));
  CHECK(row["kept"] == json::array({"notes", "status"}));
  const json vega = customer_named(cli, "Talleres Vega");
  CHECK(vega["status"] == "active");
  CHECK(vega["notes"] == "Paga a 30 días; llamar a Marta");
  CHECK(vega["phone"] == "+34 941 000 111");

  // The text report lists what changed and what was kept, in the seller's language.
  cli.lang = "es_ES.UTF-8";
  const auto path = cli.write_file(
      "vega2.csv", "Nombre;NIF;Estado;Ciudad\nTALLERES VEGA SL;B11222333;lost;Haro\n");
  const auto text = cli.run({"import", path.string()});
  INFO(text.out);
  CHECK(text.out.find("cambiado: Ciudad") != std::string::npos);
  CHECK(text.out.find("se conserva lo suyo: Estado") != std::string::npos);
  CHECK(customer_named(cli, "Talleres Vega")["status"] == "active");
}

TEST_CASE("import: unknown columns are reported and ignored, or mapped with --map",
          "[cli][import]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const std::string csv = "Nombre,Color favorito,E-mail,Código interno\nAna,azul,ana@x.es,A-7\n";
  const auto first = import_file(cli, "unknown.csv", csv, {"--dry-run"});
  REQUIRE(first.status == 0);
  CHECK(first.report["unknown_columns"] == json({"Color favorito", "Código interno"}));
  CHECK(first.report["dry_run"] == true);
  CHECK(first.report["created"] == 1);
  CHECK(customers(cli).empty());  // a dry run writes nothing

  const auto mapped = import_file(cli, "unknown.csv", csv,
                                  {"--map", "color favorito=notes", "--map", "Código interno=-"});
  REQUIRE(mapped.status == 0);
  CHECK(mapped.report["unknown_columns"].empty());
  CHECK(customer_named(cli, "Ana")["notes"] == "azul");

  const auto bad_map = import_file(cli, "unknown.csv", csv, {"--map", "Color favorito=colour"});
  CHECK(bad_map.status == 3);
  CHECK(bad_map.err.find("unknown field") != std::string::npos);
}

TEST_CASE("import: an empty file, a BOM alone and a binary file are clear errors",
          "[cli][import]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const auto empty = import_file(cli, "empty.csv", "");
  CHECK(empty.status == 3);
  CHECK(empty.err.find("the file is empty") != std::string::npos);
  CHECK(import_file(cli, "bom-only.csv", "\xef\xbb\xbf\r\n\r\n").status == 3);

  std::string png = "\x89PNG\r\n\x1a\n";
  static constexpr char kHeader[] = "\0\0\0\rIHDR\0\0\x01\0\0\0\x01\0\x08\x06\0\0\0";
  png += std::string(kHeader, sizeof kHeader - 1);  // the chunk, with its NUL bytes
  for (int i = 0; i < 200; ++i) png += static_cast<char>((i * 37) & 0xff);
  const auto binary = import_file(cli, "photo.csv", png);
  CHECK(binary.status == 3);
  CHECK(binary.err.find("not a CSV file") != std::string::npos);

  const auto prose = import_file(cli, "letter.csv", "Dear customer\nthank you for your order\n");
  CHECK(prose.status == 3);
  CHECK(prose.err.find("no column matches a known field") != std::string::npos);
  CHECK(customers(cli).empty());
}

TEST_CASE("import: importing the same file twice creates no duplicates", "[cli][import]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const std::string csv =
      "Nombre;NIF;Email;Móvil;Ciudad;Etiquetas\n"
      "Uno S.L.;B11111111;uno@x.es;600000001;Soria;a\n"
      "Dos;;dos@x.es;;Soria;b\n"
      "Tres;;;600000003;Soria;\n"
      "Cuatro;;;;Soria;\n";
  const auto first = import_file(cli, "twice.csv", csv);
  REQUIRE(first.status == 0);
  CHECK(first.report["created"] == 4);
  const json book = customers(cli);
  const auto second = import_file(cli, "twice.csv", csv);
  REQUIRE(second.status == 0);
  CHECK(second.report["created"] == 0);
  CHECK(second.report["updated"] == 0);
  CHECK(second.report["unchanged"] == 4);
  CHECK(customers(cli) == book);
}

TEST_CASE("import: a name of punctuation only is not imported twice", "[cli][import]") {
  // Found by fuzz_csv_import (tests/fuzz/corpus/csv_import/punctuation_only_name.csv).
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  const std::string csv = "Nombre;Ciudad\n[;Zamora\n¿?;\n";
  const auto first = import_file(cli, "signs.csv", csv);
  REQUIRE(first.status == 0);
  CHECK(first.report["created"] == 2);
  const auto second = import_file(cli, "signs.csv", csv);
  REQUIRE(second.status == 0);
  CHECK(second.report["created"] == 0);
  CHECK(second.report["unchanged"] == 2);
}

TEST_CASE("import: 500 semicolon Windows-1252 rows with some bad ones", "[cli][import]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  std::string csv =
      "Razón social;NIF;Teléfono;Email;Población;Provincia;Facturación anual;Estado;Fecha de "
      "alta\r\n";
  std::set<std::size_t> bad;
  for (int i = 1; i <= 500; ++i) {
    const std::size_t line = static_cast<std::size_t>(i) + 1;
    std::string name = "Compañía Ñandú " + std::to_string(i);
    std::string email = "c" + std::to_string(i) + "@ejemplo.es";
    std::string revenue = std::to_string(i) + "." + std::to_string(100 + i % 900) + ",50";
    std::string status = i % 2 ? "Activo" : "Potencial";
    std::string date = std::to_string(1 + i % 28) + "/" + std::to_string(1 + i % 12) + "/2019";
    if (i % 97 == 0) {
      email = "sin-arroba-" + std::to_string(i);
      bad.insert(line);
    }
    if (i % 131 == 0) {
      date = "32/13/2019";
      bad.insert(line);
    }
    if (i == 250) {
      name = "";
      bad.insert(line);
    }
    if (i == 333) {
      status = "Dormido";
      bad.insert(line);
    }
    csv += name + ";B" + std::to_string(10000000 + i) + ";9" + std::to_string(10000000 + i) + ";" +
           email + ";Málaga;Andalucía;" + revenue + ";" + status + ";" + date + "\r\n";
  }
  const auto r = import_file(cli, "big.csv", to_1252(csv));
  CHECK(r.status == 3);
  CHECK(r.report["encoding"] == "Windows-1252");
  CHECK(r.report["rows"] == 500);
  CHECK(r.report["rejected"] == bad.size());
  CHECK(r.report["created"] == 500 - bad.size());
  const auto lines = rejected_lines(r.report);
  CHECK(std::set<std::size_t>(lines.begin(), lines.end()) == bad);
  CHECK(r.report["preview"].size() == 5);
  CHECK(r.report["preview"][0]["fields"]["name"] == "Compañía Ñandú 1");

  const json book = customers(cli);
  CHECK(book.size() == 500 - bad.size());
  // No half-imported customer: every rejected row's tax id is absent from the book.
  std::set<std::string> tax_ids;
  for (const auto& c : book) tax_ids.insert(c["tax_id"]);
  for (const auto line : bad) CHECK(tax_ids.count("B" + std::to_string(10000000 + line - 1)) == 0);
  const json& some = book[0];
  CHECK(some["city"] == "Málaga");
  CHECK(some["anniversary"].get<std::string>().substr(0, 4) == "2019");
  // Importing it again adds nothing.
  CHECK(import_file(cli, "big.csv", to_1252(csv)).report["created"] == 0);
}

TEST_CASE("import: the text report shows the preview, columns and rejected lines",
          "[cli][import]") {
  CliFixture cli;
  cli.lang = "es_ES.UTF-8";
  REQUIRE(cli.run({"init"}).status == 0);
  const auto path = cli.write_file("es.csv", "Nombre;Email;Otra\nAna;ana@x.es;1\nLuis;mal;2\n");
  const auto r = cli.run({"import", path.string()});
  CHECK(r.status == 3);
  CHECK(r.out.find("Vista previa") != std::string::npos);
  CHECK(r.out.find("«Otra»") != std::string::npos);
  CHECK(r.out.find("línea 3") != std::string::npos);
  CHECK(r.out.find("1 creados") != std::string::npos);
}
