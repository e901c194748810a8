#include "book_csv.hpp"

#include "column_mapping.hpp"
#include "csv_writer.hpp"

namespace libreta::cli {

std::string csv_cell_value(const FieldSpec& field, const Value& value, const LocaleFormat& format) {
  if (value.is_null()) return {};
  switch (field.kind) {
    case FieldKind::decimal:
      return format.exact_number(value.as_number());
    case FieldKind::integer:
      return std::to_string(value.as_integer());
    case FieldKind::date:
      return format.date(value.as_text());
    case FieldKind::choice:
      return std::string(choice_label(field.name, value.as_text(), format.lang()));
    case FieldKind::boolean:
      return std::string(
          choice_label("boolean", value.as_bool() ? "true" : "false", format.lang()));
    case FieldKind::tag_set: {
      std::string text;
      for (const auto& tag : value.as_tags()) text += (text.empty() ? "" : ", ") + tag;
      return text;
    }
    default:
      return value.is_text() ? value.as_text() : std::string{};
  }
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
