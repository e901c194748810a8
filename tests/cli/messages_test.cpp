// The message catalog and the seller's locale: Spanish or English by LANG, LC_MESSAGES and
// LC_ALL; dates and amounts as each expects. Also the pieces of libreta_cli that turn typed
// text into values, called directly.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <set>

#include "cli/cli_fixture.hpp"
#include "cli_error.hpp"
#include "column_mapping.hpp"
#include "content_line.hpp"
#include "csv_reader.hpp"
#include "duplicate_index.hpp"
#include "field_input.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "locale_format.hpp"
#include "messages.hpp"

using namespace libreta::cli;
using libreta::test::CliFixture;

namespace {

std::set<std::string> placeholders(std::string_view text) {
  std::set<std::string> out;
  for (std::size_t i = 0; i + 2 < text.size(); ++i) {
    if (text[i] == '{' && text[i + 2] == '}') out.insert(std::string(text.substr(i, 3)));
  }
  return out;
}

}  // namespace

TEST_CASE("messages: every id has its row, in order, with both texts and the same placeholders",
          "[cli][messages]") {
  const auto catalog = message_catalog();
  REQUIRE_FALSE(catalog.empty());
  std::set<std::string> names;
  for (std::size_t i = 0; i < catalog.size(); ++i) {
    const auto& entry = catalog[i];
    INFO(entry.name);
    CHECK(static_cast<std::size_t>(entry.id) == i);
    CHECK(names.insert(entry.name).second);
    CHECK(std::string_view(entry.es).size() > 0);
    CHECK(std::string_view(entry.en).size() > 0);
    CHECK(placeholders(entry.es) == placeholders(entry.en));
  }
  CHECK(tr(Lang::es, Msg::customers_listed, {"3"}) == "3 clientes");
  CHECK(tr(Lang::en, Msg::customers_listed, {"3"}) == "3 customers");
}

TEST_CASE("messages: a count of one takes the singular, any other the plural", "[cli][messages]") {
  for (const auto& entry : message_catalog()) {
    INFO(entry.name);
    // Both languages have the two forms or neither; each form has the same placeholders.
    const std::string_view es = entry.es, en = entry.en;
    REQUIRE((es.find('|') == std::string_view::npos) == (en.find('|') == std::string_view::npos));
    if (es.find('|') == std::string_view::npos) continue;
    CHECK(es.find("{0}") != std::string_view::npos);
    CHECK(placeholders(es.substr(0, es.find('|'))) == placeholders(es.substr(es.find('|') + 1)));
  }
  CHECK(tr(Lang::es, Msg::customers_listed, {"1"}) == "1 cliente");
  CHECK(tr(Lang::en, Msg::customers_listed, {"1"}) == "1 customer");
  CHECK(tr(Lang::es, Msg::search_results, {"1"}) == "1 resultado");
  CHECK(tr(Lang::es, Msg::search_results, {"0"}) == "0 resultados");
  CHECK(tr(Lang::es, Msg::purchases_listed, {"1", "3,00 €"}) == "1 compra, total 3,00 €");
  CHECK(tr(Lang::en, Msg::days_overdue, {"1"}) == "1 day overdue");
}

TEST_CASE("messages: every customer field has labels, and its labels name it back on import",
          "[cli][messages][import]") {
  const auto& customers = *libreta::customer_book_schema().table(libreta::tables::customers);
  for (const auto& field : customers.fields) {
    INFO(field.name);
    for (Lang lang : {Lang::es, Lang::en}) {
      CHECK(field_label(field.name, lang) != field.name);
      CHECK(field_for_header(field_label(field.name, lang)) == field.name);
    }
    CHECK(field_for_header(field.name) == field.name);
    for (const auto& choice : field.choices) {
      for (Lang lang : {Lang::es, Lang::en}) {
        CHECK(match_choice(field, choice_label(field.name, choice, lang)) == choice);
      }
    }
  }
  CHECK(field_for_header("Razón social") == "name");
  CHECK(field_for_header("NIF/CIF") == "tax_id");
  CHECK(field_for_header("TELÉFONO") == "phone");
  CHECK(field_for_header("Móvil") == "mobile");
  CHECK(field_for_header("Correo electrónico") == "email");
  CHECK(field_for_header("e-mail") == "email");
  CHECK(field_for_header("Provincia") == "region");
  CHECK(field_for_header("Región") == "region");
  CHECK(field_for_header("Etiquetas") == "tags");
  CHECK(field_for_header("Dirección") == "billing_address");
  CHECK(field_for_header("Apellidos") == kSurnameColumn);
  CHECK_FALSE(field_for_header("Color favorito"));
}

TEST_CASE("exit codes: every error code of the libraries maps to its documented exit status",
          "[cli][errors]") {
  for (const auto code : libreta::kAllErrorCodes) {
    const int value = static_cast<int>(code);
    INFO(libreta::error_code_name(code));
    const int expected = value < 300   ? kExitValidation
                         : value < 400 ? kExitStorage
                         : value < 500 ? kExitNetwork
                                       : kExitInternal;
    CHECK(exit_code_for(code) == expected);
  }
  CHECK(exit_code_for(libreta::ErrorCode::not_found) == kExitValidation);
  CHECK(exit_code_for(libreta::ErrorCode::storage_full) == kExitStorage);
  CHECK(exit_code_for(libreta::ErrorCode::bad_token) == kExitNetwork);
}

TEST_CASE("input: numbers, dates, booleans and choices as sellers type them", "[cli][input]") {
  CHECK(parse_number("1.234,56") == Approx(1234.56));
  CHECK(parse_number("1,234.56") == Approx(1234.56));
  CHECK(parse_number("12,5") == Approx(12.5));
  CHECK(parse_number("-3") == Approx(-3));
  CHECK(parse_number("1.234.567") == Approx(1234567));
  CHECK(parse_number("1.500") == Approx(1500));
  CHECK(parse_number("1,500") == Approx(1500));
  CHECK(parse_number("0,125") == Approx(0.125));
  CHECK(parse_number("1234.567") == Approx(1234.567));
  CHECK(parse_number("1 234,5 €") == Approx(1234.5));
  CHECK_FALSE(parse_number("12,34,5"));
  CHECK_FALSE(parse_number("doce"));
  CHECK_FALSE(parse_number(""));
  CHECK(parse_date("15/03/2024") == "2024-03-15");
  CHECK(parse_date("5/3/2024") == "2024-03-05");
  CHECK(parse_date("2024-03-15") == "2024-03-15");
  CHECK(parse_date("15.03.2024") == "2024-03-15");
  CHECK(parse_date("15/03/85") == "1985-03-15");
  CHECK(parse_date("15/03/2024 10:30") == "2024-03-15");
  CHECK_FALSE(parse_date("29/02/2023"));
  CHECK_FALSE(parse_date("2024-13-01"));
  CHECK_FALSE(parse_date("15-03/2024"));
  CHECK(parse_date_time("15/03/2024 10:30") == "2024-03-15T10:30:00Z");
  CHECK(parse_boolean("Sí") == true);
  CHECK(parse_boolean("no") == false);
  const auto& customers = *libreta::customer_book_schema().table(libreta::tables::customers);
  CHECK(match_choice(*customers.field("status"), "Activo") == "active");
  CHECK(match_choice(*customers.field("kind"), "Particular") == "person");
  CHECK(parse_tags("vip, norte;  ,sur") == libreta::TagSet{"vip", "norte", "sur"});
  const auto bad = parse_field_input(customers, "email", "x@");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error->problem == InputProblem::bad_email);
  CHECK(parse_field_input(customers, "colour", "red").error->problem ==
        InputProblem::unknown_field);
}

TEST_CASE("locale: dates and amounts as Spanish and English sellers read them", "[cli][messages]") {
  const LocaleFormat es(Lang::es), en(Lang::en);
  CHECK(es.date("2024-03-15") == "15/03/2024");
  CHECK(en.date("2024-03-15") == "2024-03-15");
  CHECK(es.amount(1234.56) == "1.234,56 €");
  CHECK(en.amount(1234.56) == "1,234.56");
  CHECK(es.amount(-0.5) == "-0,50 €");
  CHECK(es.amount(1234567) == "1.234.567,00 €");
  CHECK(es.number(2.5) == "2,5");
  CHECK(en.number(2.0) == "2");
  CHECK(es.exact_number(1234567.891) == "1234567,891");
  CHECK(parse_number(es.exact_number(0.1)) == 0.1);
  for (double value : {1.125, -12.5, 999.999, 1234.5678, 0.001, 1e-3, 42.0}) {
    CHECK(parse_number(es.exact_number(value)) == value);
    CHECK(parse_number(en.exact_number(value)) == value);
  }
  CHECK(es.csv_separator() == ';');
  CHECK(en.csv_separator() == ',');
}

TEST_CASE("csv: separators, quotes, line breaks and line numbers", "[cli][import]") {
  CHECK(detect_separator("a;b;c\n1,5;2;3") == ';');
  CHECK(detect_separator("a,b,\"c;d\"\n") == ',');
  CHECK(detect_separator("a\tb\n") == '\t');
  CHECK(detect_separator("name\n") == ',');
  const auto records = parse_csv("a,b\r\n\"x\r\ny\",\"he said \"\"hi\"\"\"\r\n\r\nlast,\r", ',');
  REQUIRE(records.size() == 3);
  CHECK(records[1].line == 2);
  CHECK(records[1].fields == std::vector<std::string>{"x\ny", "he said \"hi\""});
  CHECK(records[2].line == 5);
  CHECK(records[2].fields == std::vector<std::string>{"last", ""});
  const auto open = parse_csv("a\n\"never closed\n", ',');
  CHECK(open.back().unterminated);
  const auto doc = read_csv("sep=;\nNombre;Ciudad\nAna;Soria\n");
  CHECK(doc.separator == ';');
  CHECK(doc.records.front().line == 2);
  CHECK(read_csv("Nombre\r\nPe\xf1"
                 "a\r\n")
            .records[1]
            .fields[0] == "Peña");
  CHECK(read_csv("").status == CsvStatus::empty);
  CHECK(read_csv(std::string("PK\3\4\0\0", 6)).status == CsvStatus::not_text);
}

TEST_CASE("duplicates: keys normalize the way the same customer gets written", "[cli][import]") {
  CHECK(DuplicateIndex::tax_key(" b-12.345.674 ") == "B12345674");
  CHECK(DuplicateIndex::tax_key("ESB12345674") == "B12345674");
  CHECK(DuplicateIndex::phone_key("+34 923 12 34 56") == "923123456");
  CHECK(DuplicateIndex::phone_key("923123456") == "923123456");
  CHECK(DuplicateIndex::phone_key("123").empty());
  CHECK(DuplicateIndex::name_key("Ferretería López, S.L.") ==
        DuplicateIndex::name_key("FERRETERIA LOPEZ SL"));
  CHECK(DuplicateIndex::name_key("Casa") == "casa");
  CHECK(DuplicateIndex::name_key("Hnos. Pérez S. L. U.") == "hnosperez");
  // Punctuation only still has a key (found by fuzz_csv_import: such a name was imported
  // again on every run of the same file).
  CHECK(DuplicateIndex::name_key("[") == "[");
  CHECK(DuplicateIndex::name_key(" - ") == DuplicateIndex::name_key("-"));
  CHECK(DuplicateIndex::name_key("   ").empty());
}

TEST_CASE("content lines: escaping and folding at 75 octets without splitting characters",
          "[cli][export]") {
  CHECK(escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne");
  const std::string line = "NOTE:" + std::string(100, 'x') + "ñññ" + std::string(70, 'y');
  const std::string folded = content_line(line);
  std::string unfolded;
  std::size_t start = 0;
  while (start < folded.size()) {
    const auto end = folded.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    const std::string physical = folded.substr(start, end - start);
    CHECK(physical.size() <= 75);
    unfolded += start == 0 ? physical : physical.substr(1);
    start = end + 2;
  }
  CHECK(unfolded == line);
}

TEST_CASE("cli: messages follow LC_ALL, LC_MESSAGES and LANG", "[cli][messages]") {
  CliFixture cli;
  cli.lang = "es_ES.UTF-8";
  REQUIRE(cli.run({"init"}).status == 0);
  const auto es = cli.run({"customer", "show", "nadie"});
  CHECK(es.status == 3);
  CHECK(es.err.find("no hay ningún cliente con id o nombre «nadie»") != std::string::npos);

  cli.lang = "en_US.UTF-8";
  const auto en = cli.run({"customer", "show", "nadie"});
  CHECK(en.err.find("no customer with id or name 'nadie'") != std::string::npos);

  CHECK(cli.run({"customer", "show", "nadie"}, {{"LC_ALL", "es_ES.UTF-8"}})
            .err.find("no hay ningún") != std::string::npos);
  CHECK(cli.run({"customer", "show", "nadie"}, {{"LC_MESSAGES", "es_MX.UTF-8"}})
            .err.find("no hay ningún") != std::string::npos);
  CHECK(cli.run({"customer", "show", "nadie"}, {{"LC_ALL", "C"}, {"LANG", "es_ES.UTF-8"}})
            .err.find("no customer") != std::string::npos);

  cli.lang = "es_ES.UTF-8";
  const auto help = cli.run({"--help"});
  CHECK(help.out.find("Uso:") != std::string::npos);
  CHECK(help.out.find("Órdenes:") != std::string::npos);
  CHECK(help.out.find("Códigos de salida") != std::string::npos);
}

TEST_CASE("cli: dates and amounts are shown as the locale expects", "[cli][messages]") {
  CliFixture cli;
  REQUIRE(cli.run({"init"}).status == 0);
  REQUIRE(cli.run({"customer", "add", "--name", "Ana", "--status", "active"}).status == 0);
  REQUIRE(cli.run({"purchase", "add", "Ana", "--date", "2024-03-01", "--product", "Mesa",
                   "--amount", "1234.5"})
              .status == 0);

  cli.lang = "es_ES.UTF-8";
  const auto es = cli.run({"purchase", "list", "Ana"});
  CHECK(es.out.find("01/03/2024") != std::string::npos);
  CHECK(es.out.find("1.234,50 €") != std::string::npos);
  CHECK(es.out.find("1 compra,") != std::string::npos);  // singular

  cli.lang = "C";
  const auto en = cli.run({"purchase", "list", "Ana"});
  CHECK(en.out.find("2024-03-01") != std::string::npos);
  CHECK(en.out.find("1,234.50") != std::string::npos);
}
