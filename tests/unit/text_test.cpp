// Text normalization for search and duplicate detection: accent and case folding, and the
// digits-only forms of phones and tax ids.
#include <catch2/catch.hpp>

#include <string>

#include "libreta/protocol/text.hpp"

namespace libreta {
namespace {

TEST_CASE("text: folding removes accents and case of Spanish names", "[text]") {
  CHECK(fold_text("Peña Núñez JOSÉ Çà") == "pena nunez jose ca");
  CHECK(fold_text("ÁÉÍÓÚÜÑ áéíóúüñ") == "aeiouun aeiouun");
  CHECK(fold_text("Ferretería El Águila, S.A.") == "ferreteria el aguila, s.a.");
}

TEST_CASE("text: folding covers Latin-1 and Latin Extended-A", "[text]") {
  CHECK(fold_text("ÀÂÄÅàâäåÈËèëÌÏìïÒÔÖØòôöøÙÛùûÝýÿ") == "aaaaaaaaeeeeiiiioooooooouuuuyyy");
  CHECK(fold_text("Straße") == "strasse");
  CHECK(fold_text("Łódź Kraków") == "lodz krakow");
  CHECK(fold_text("Šťastný Žluťoučký") == "stastny zlutoucky");
  CHECK(fold_text("İstanbul Ğ ş") == "istanbul g s");
  CHECK(fold_text("Œuvre Ŧ ſ") == "ouvre t s");
}

TEST_CASE("text: folding keeps ASCII punctuation, digits and other scripts as they are", "[text]") {
  CHECK(fold_text("") == "");
  CHECK(fold_text("ACME-42 (Lima) #1 & co.") == "acme-42 (lima) #1 & co.");
  CHECK(fold_text("× ÷") == "× ÷");  // not letters: no base letter to fold to
  CHECK(fold_text("Ωμέγα 東京 €5 😀") == "Ωμέγα 東京 €5 😀");
}

TEST_CASE("text: folding a broken UTF-8 sequence does not swallow the next character", "[text]") {
  // "\xc3" is the first byte of a two-byte sequence with its second byte missing.
  CHECK(fold_text(std::string("\xc3"
                              "A")) == std::string("\xc3"
                                                   "a"));
  CHECK(fold_text(std::string("Pe\xc3")) == std::string("pe\xc3"));
  CHECK(fold_text(std::string("\xe2\x82")) == std::string("\xe2\x82"));
}

TEST_CASE("text: folding is idempotent", "[text]") {
  for (const char* text : {"Peña Núñez JOSÉ Çà", "Straße", "Łódź", "plain ascii"}) {
    INFO(text);
    CHECK(fold_text(fold_text(text)) == fold_text(text));
  }
}

TEST_CASE("text: digits_only keeps only ASCII digits", "[text]") {
  CHECK(digits_only("+34 912-345 678") == "34912345678");
  CHECK(digits_only("(01) 555.1234 ext. 9") == "0155512349");
  CHECK(digits_only("no digits") == "");
  CHECK(digits_only("٣ 3") == "3");  // Arabic-Indic digits are not ASCII digits
  CHECK(digits_only("") == "");
}

TEST_CASE("text: normalize_tax_id keeps uppercase letters and digits", "[text]") {
  CHECK(normalize_tax_id(" b-12.345.678 ") == "B12345678");
  CHECK(normalize_tax_id("20-12345678-9") == "20123456789");
  CHECK(normalize_tax_id("X1234567l") == "X1234567L");
  CHECK(normalize_tax_id("ñ-1") == "1");  // only ASCII letters survive
  CHECK(normalize_tax_id("") == "");
  CHECK(normalize_tax_id("b12345678") == normalize_tax_id("B-12 345 678"));
}

}  // namespace
}  // namespace libreta
