#include "book_csv.hpp"

#include "column_mapping.hpp"
#include "csv_writer.hpp"
#include "output.hpp"

namespace libreta::cli {

std::string csv_cell_value(const FieldSpec& field, const Value& value, const LocaleFormat& format) {
  if (value.is_null()) return {};
  // A cell reads as the seller reads the field, except that numbers keep every digit and
  // date-times stay in ISO form.
  if (field.kind == FieldKind::decimal && value.is_number()) {
    return format.exact_number(value.as_number());
  }
  if (field.kind == FieldKind::date_time && value.is_text()) return value.as_text();
  return display_value(field, value, format);
}

std::string export_customers_csv(const client::Replica& replica, const LocaleFormat& format,
                                 std::size_t* rows) {
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  CsvWriter writer(format.csv_separator());
  std::vector<std::string> header{kIdColumn};
  for (const auto& field : table.fields)
    header.emplace_back(field_label(field.name, format.lang()));
  writer.add_row(header);

  client::CustomerFilter everyone;
  everyone.limit = SIZE_MAX;
  const auto customers = replica.list_customers(everyone);
  if (rows) *rows = customers.size();
  for (const auto& customer : customers) {
    const Record record = to_record(customer);
    std::vector<std::string> cells{customer.id};
    for (const auto& field : table.fields) {
      auto it = record.find(field.name);
      cells.push_back(it == record.end() ? std::string{}
                                         : csv_cell_value(field, it->second, format));
    }
    writer.add_row(cells);
  }
  return writer.text();
}

}  // namespace libreta::cli
