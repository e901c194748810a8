// How dates and amounts are shown to the seller: dd/mm/yyyy and "1.234,56 €" in Spanish,
// yyyy-mm-dd and "1,234.56" in English. Also the plain number form used in exported CSV
// (decimal comma in Spanish, no grouping, so that it reads back exactly). Immutable,
// thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "messages.hpp"

namespace libreta::cli {

// A date-time typed in the seller's time zone ("YYYY-MM-DDTHH:MM:SS", no Z) as UTC
// "YYYY-MM-DDTHH:MM:SSZ"; the text unchanged when it is not one.
std::string local_to_utc(std::string_view local_iso);

class LocaleFormat {
 public:
  explicit LocaleFormat(Lang lang) : lang_(lang) {}
  Lang lang() const { return lang_; }

  // A YYYY-MM-DD date (or the date part of a date-time); other text is returned as is.
  std::string date(std::string_view iso) const;
  // A UTC date-time "YYYY-MM-DDTHH:MM:SSZ" in the seller's time zone, "dd/mm/yyyy hh:mm";
  // midnight UTC exactly is a date entered without a time, shown as the date alone.
  std::string date_time(std::string_view iso) const;
  // Money with two decimals and grouping: "1.234,56 €" / "1,234.56".
  std::string amount(double value) const;
  // A number with up to two decimals, trailing zeros dropped: "2,5" / "2.5".
  std::string number(double value) const;
  // The shortest text that reads back to the same double, with the locale's decimal mark
  // and no grouping: "1234,5678" / "1234.5678". For CSV export.
  std::string exact_number(double value) const;
  // The CSV separator a spreadsheet in this locale expects: `;` where the decimal mark is
  // a comma (Spanish), `,` otherwise.
  char csv_separator() const { return lang_ == Lang::es ? ';' : ','; }

 private:
  Lang lang_;
};

}  // namespace libreta::cli
