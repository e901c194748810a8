#include "importer.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "cli_error.hpp"
#include "duplicate_index.hpp"
#include "field_input.hpp"
#include "libreta/protocol/ids.hpp"

namespace libreta::cli {
namespace {

// A Spanish personal tax id (DNI: 8 digits and a letter; NIE: X/Y/Z, 7 digits, a letter)
// says the customer is a person; anything else is taken for a company.
bool is_personal_tax_id(std::string_view key) {
  const auto digits = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      if (key[i] < '0' || key[i] > '9') return false;
    }
    return true;
  };
  if (key.size() != 9 || key[8] < 'A' || key[8] > 'Z') return false;
  if (digits(0, 8)) return true;
  return (key[0] == 'X' || key[0] == 'Y' || key[0] == 'Z') && digits(1, 8);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

TagSet tag_union(const Value& a, const Value& b) {
  TagSet tags = a.is_tags() ? a.as_tags() : TagSet{};
  if (b.is_tags()) tags.insert(tags.end(), b.as_tags().begin(), b.as_tags().end());
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

// The same tax id, email or phone written differently ("B-12.345.678" and "b12345678") is
// not a change worth writing.
bool same_identity(const std::string& field, const Value& a, const Value& b) {
  if (!a.is_text() || !b.is_text()) return false;
  if (field == "tax_id")
    return DuplicateIndex::tax_key(a.as_text()) == DuplicateIndex::tax_key(b.as_text());
  if (field == "email")
    return DuplicateIndex::email_key(a.as_text()) == DuplicateIndex::email_key(b.as_text());
  if (field == "phone" || field == "mobile") {
    const auto key = DuplicateIndex::phone_key(a.as_text());
    return !key.empty() && key == DuplicateIndex::phone_key(b.as_text());
  }
  return false;
}

// Fields that hold the seller's own knowledge of a customer rather than its data: an import
// sets them on a new customer, or where the book has none, and never replaces them.
bool is_sellers_own(std::string_view field) {
  static constexpr std::string_view kOwn[] = {"notes",
                                              "status",
                                              "relationship",
                                              "segment",
                                              "quality_rank",
                                              "owner",
                                              "territory",
                                              "purchase_potential",
                                              "socioeconomic_level",
                                              "products_services",
                                              "birthday",
                                              "anniversary"};
  return std::find(std::begin(kOwn), std::end(kOwn), field) != std::end(kOwn);
}

}  // namespace

std::size_t ImportReport::count(RowResult result) const {
  return static_cast<std::size_t>(std::count_if(
      rows.begin(), rows.end(), [&](const ImportedRow& r) { return r.result == result; }));
}

Importer::Importer(client::Replica& replica, Lang lang) : replica_(replica), lang_(lang) {}

// The book as it is now, and then as the import leaves it (also in a dry run, so that a row
// repeated in the file is reported the same way in both).
struct Importer::Book {
  DuplicateIndex index;
  std::unordered_map<std::string, Record> known;
};

ImportReport Importer::run(const CsvDocument& doc, const ImportOptions& options,
                           ImportProblem& problem, std::string& detail, const Progress& progress) {
  ImportReport report;
  report.encoding = doc.encoding;
  report.separator = doc.separator;
  problem = map_header(doc, options, report, detail);
  if (problem != ImportProblem::none) return report;

  Book book;
  client::CustomerFilter everyone;
  everyone.limit = SIZE_MAX;
  for (const auto& customer : replica_.list_customers(everyone)) {
    Record record = to_record(customer);
    book.index.add(customer.id, record);
    book.known.emplace(customer.id, std::move(record));
  }

  const std::size_t header_size = doc.records.front().fields.size();
  const std::size_t total = doc.records.size() - 1;
  for (std::size_t r = 1; r < doc.records.size(); ++r) {
    ImportedRow row;
    std::string given_id;
    Record fields = read_record(doc.records[r], header_size, report.mapping, row, given_id);
    if (report.preview.size() < options.preview_rows) {
      report.preview.push_back({row.line, row.reasons.empty() ? fields : Record{}, row.reasons});
    }
    if (row.reasons.empty()) {
      try {
        write_row(fields, given_id, options, book, row);
      } catch (const Error& e) {
        if (exit_code_for(e.code()) != kExitValidation) throw;
        row.result = RowResult::rejected;
        row.reasons.push_back(e.what());
      }
    } else {
      row.result = RowResult::rejected;
    }
    report.rows.push_back(std::move(row));
    if (progress) progress(r, total);
  }
  return report;
}

ImportProblem Importer::map_header(const CsvDocument& doc, const ImportOptions& options,
                                   ImportReport& report, std::string& detail) const {
  detail.clear();
  if (doc.status == CsvStatus::not_text) {
    detail = tr(lang_, Msg::import_not_text);
    return ImportProblem::not_text;
  }
  if (doc.status == CsvStatus::empty || doc.records.empty()) {
    detail = tr(lang_, Msg::import_empty);
    return ImportProblem::empty;
  }
  const auto& header = doc.records.front().fields;
  std::vector<std::string> headers_shown;
  for (const auto& h : header) headers_shown.push_back("«" + h + "»");
  MapError map_error;
  report.mapping = map_columns(header, options.maps, map_error);
  switch (map_error.problem) {
    case MapProblem::none:
      break;
    case MapProblem::bad_syntax:
      detail = tr(lang_, Msg::import_map_syntax, {map_error.argument});
      return ImportProblem::bad_map;
    case MapProblem::no_such_column:
      detail =
          tr(lang_, Msg::import_map_no_column, {map_error.argument, join(headers_shown, ", ")});
      return ImportProblem::bad_map;
    case MapProblem::unknown_field:
      detail = tr(lang_, Msg::import_map_unknown_field, {map_error.argument});
      return ImportProblem::bad_map;
  }
  const bool any_column =
      std::any_of(report.mapping.columns.begin(), report.mapping.columns.end(),
                  [](const MappedColumn& c) { return !c.field.empty() && !c.repeated; });
  if (!any_column) {
    detail = tr(lang_, Msg::import_no_columns, {join(headers_shown, ", ")});
    return ImportProblem::no_columns;
  }
  if (!report.mapping.has("name") && !report.mapping.has(kSurnameColumn)) {
    detail = tr(lang_, Msg::import_no_name_column, {join(headers_shown, ", ")});
    return ImportProblem::no_name_column;
  }
  return ImportProblem::none;
}

Record Importer::read_record(const CsvRecord& record, std::size_t header_size,
                             const ColumnMapping& mapping, ImportedRow& row,
                             std::string& given_id) const {
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  row.line = record.line;
  Record fields;
  std::vector<std::string> surnames;
  if (record.unterminated) row.reasons.push_back(tr(lang_, Msg::import_unterminated_quote));
  if (record.fields.size() > header_size) {
    const bool extra = std::any_of(record.fields.begin() + static_cast<std::ptrdiff_t>(header_size),
                                   record.fields.end(),
                                   [](const std::string& cell) { return !trim(cell).empty(); });
    if (extra) {
      row.reasons.push_back(
          tr(lang_, Msg::import_too_many_cells,
             {std::to_string(record.fields.size()), std::to_string(header_size)}));
    }
  }
  for (const auto& column : mapping.columns) {
    if (column.field.empty() || column.repeated || column.index >= record.fields.size()) continue;
    std::string_view cell = trim(record.fields[column.index]);
    // A cell defused against formulas on export ("'=..."): the apostrophe is not data.
    if (cell.size() >= 2 && cell[0] == '\'' &&
        (cell[1] == '=' || cell[1] == '+' || cell[1] == '-' || cell[1] == '@')) {
      cell.remove_prefix(1);
    }
    if (cell.empty()) continue;
    if (column.field == kIdColumn) {
      if (is_valid_row_id(cell)) {
        given_id = std::string(cell);
      } else {
        row.reasons.push_back(tr(lang_, Msg::import_bad_id, {column.header, cell}));
      }
      continue;
    }
    if (column.field == kSurnameColumn) {
      surnames.emplace_back(cell);
      continue;
    }
    FieldInput input = parse_field_input(table, column.field, cell);
    if (!input.ok()) {
      row.reasons.push_back(
          tr(lang_, Msg::import_in_column, {column.header, describe(*input.error, lang_)}));
      continue;
    }
    if (!input.value.is_null()) fields[column.field] = std::move(input.value);
  }
  if (!surnames.empty()) {
    std::string name = fields.count("name") ? fields["name"].as_text() : std::string{};
    for (const auto& s : surnames) name += (name.empty() ? "" : " ") + s;
    FieldInput input = parse_field_input(table, "name", name);
    if (input.ok()) {
      fields["name"] = std::move(input.value);
    } else {
      row.reasons.push_back(describe(*input.error, lang_));
    }
  }
  if (!fields.count("name") && row.reasons.empty()) {
    row.reasons.push_back(tr(lang_, Msg::import_no_name));
  }
  if (fields.count("name")) row.name = fields["name"].as_text();
  return fields;
}

void Importer::write_row(const Record& fields, const std::string& given_id,
                         const ImportOptions& options, Book& book, ImportedRow& row) {
  std::optional<DuplicateMatch> match;
  if (!given_id.empty() && book.known.count(given_id)) match = DuplicateMatch{given_id, "id"};
  if (!match) match = book.index.find(fields);
  if (!match) {
    create_customer(fields, given_id, options, book, row);
    return;
  }
  Record& current = book.known[match->id];
  Record changes;
  for (const auto& [name, value] : fields) {
    auto it = current.find(name);
    const Value& old = it == current.end() ? Value() : it->second;
    if (name == "tags") {
      // An import adds tags; it never takes away the ones the seller set.
      Value merged(tag_union(old, value));
      if (merged != old) changes[name] = std::move(merged);
    } else if (name == "name" && match->key != "id" && !old.is_null()) {
      // Found by tax id, email, phone or a similar name: the book's spelling of the
      // name stays ("FERRETERIA LOPEZ SL" does not replace "Ferretería López S.L.").
    } else if (is_sellers_own(name) && !old.is_null()) {
      // The seller's judgement and notes are not a spreadsheet's to overwrite.
      if (value != old) row.kept.push_back(name);
    } else if (value != old && !same_identity(name, old, value)) {
      changes[name] = value;
    }
  }
  row.customer_id = match->id;
  row.matched_by = match->key;
  if (changes.empty()) {
    row.result = RowResult::unchanged;
    return;
  }
  if (!options.dry_run) replica_.update(tables::customers, match->id, changes);
  for (auto& [name, value] : changes) {
    row.fields.push_back(name);
    current[name] = value;
  }
  book.index.add(match->id, current);
  row.result = RowResult::updated;
}

void Importer::create_customer(const Record& fields, const std::string& given_id,
                               const ImportOptions& options, Book& book, ImportedRow& row) {
  Record create = fields;
  if (!create.count("kind")) {
    const auto tax = create.count("tax_id") ? DuplicateIndex::tax_key(create["tax_id"].as_text())
                                            : std::string{};
    create["kind"] = Value(is_personal_tax_id(tax) ? "person" : "company");
  }
  if (!create.count("status")) {
    create["status"] =
        Value(options.default_status.empty() ? std::string("prospect") : options.default_status);
  }
  if (!create.count("owner") && options.owner && !options.owner->empty()) {
    create["owner"] = Value(*options.owner);
  }
  if (!create.count("created_at") && !options.created_at.empty()) {
    create["created_at"] = Value(options.created_at);
  }
  std::string id = given_id;
  if (options.dry_run) {
    if (id.empty()) id = new_row_id(now_ms());
  } else {
    id = replica_.create(tables::customers, create, id);
  }
  book.index.add(id, create);
  book.known[id] = std::move(create);
  row.customer_id = id;
  row.result = RowResult::created;
}

}  // namespace libreta::cli
