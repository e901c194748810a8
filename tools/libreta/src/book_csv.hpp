// The customer book as a CSV a spreadsheet opens and `libreta import` reads back to the
// same customers: an id column and every customer field, headers and values in the
// seller's language (choices by label, dates dd/mm/yyyy and decimal commas in Spanish), UTF-8
// with BOM, `;` in Spanish and `,` in English. Runs on the thread that owns the replica.
#pragma once

#include <string>

#include "libreta/client/replica.hpp"
#include "locale_format.hpp"

namespace libreta::cli {

std::string export_customers_csv(const client::Replica& replica, const LocaleFormat& format,
                                 std::size_t* rows = nullptr);

// One customer field as a CSV cell in this locale (before quoting).
std::string csv_cell_value(const FieldSpec& field, const Value& value, const LocaleFormat& format);

}  // namespace libreta::cli
