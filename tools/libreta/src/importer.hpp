// Importing customers from a spreadsheet's CSV: maps the columns, converts and validates
// every row in full before writing it (a rejected row leaves nothing behind), recognizes
// customers already in the book (or earlier in the file) and updates them instead of adding
// duplicates, so importing the same file twice changes nothing. An update fills in and
// refreshes company and contact data, adds tags, and never replaces what is the seller's own
// (notes, status, relationship, segment, rank, owner...): those it reports as kept. With dry_run
// nothing is written and the report says what would happen. Runs on the thread that owns the
// replica.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "column_mapping.hpp"
#include "csv_reader.hpp"
#include "libreta/client/replica.hpp"
#include "messages.hpp"

namespace libreta::cli {

struct ImportOptions {
  bool dry_run = false;
  std::vector<std::string> maps;     // --map COLUMN=field
  std::string default_status;        // for new customers without a status; "prospect" if empty
  std::optional<std::string> owner;  // for new customers without an owner
  std::string created_at;            // for new customers without one (UTC date-time)
  std::size_t preview_rows = 5;
};

enum class RowResult { created, updated, unchanged, rejected };

struct ImportedRow {
  std::size_t line = 0;  // physical line where the record starts
  RowResult result = RowResult::rejected;
  std::string customer_id;
  std::string name;
  std::string matched_by;  // for updated/unchanged: "id", "tax_id", "email", "phone", "name"
  std::vector<std::string> fields;  // for updated: the fields that changed
  // For updated and unchanged: the seller's own fields (notes, status, classification...) the
  // file had other values for, kept as the book has them.
  std::vector<std::string> kept;
  std::vector<std::string> reasons;  // for rejected
};

struct PreviewRow {
  std::size_t line = 0;
  Record fields;                     // as converted (empty when rejected)
  std::vector<std::string> reasons;  // why it is rejected
};

struct ImportReport {
  SourceEncoding encoding = SourceEncoding::utf8;
  char separator = ',';
  ColumnMapping mapping;
  std::vector<PreviewRow> preview;
  std::vector<ImportedRow> rows;  // one per data record, in file order
  std::size_t count(RowResult result) const;
};

// A file-level problem that stops the import before any row (no CSV, no name column...).
enum class ImportProblem { none, empty, not_text, bad_map, no_columns, no_name_column };

class Importer {
 public:
  using Progress = std::function<void(std::size_t done, std::size_t total)>;

  Importer(client::Replica& replica, Lang lang);

  // Imports the parsed document. A file-level problem is returned in `problem` (with
  // `detail`) and nothing is written. Storage errors propagate (libreta::Error).
  ImportReport run(const CsvDocument& doc, const ImportOptions& options, ImportProblem& problem,
                   std::string& detail, const Progress& progress = {});

 private:
  struct Book;
  // Checks the document and maps its header row to fields (into report.mapping).
  ImportProblem map_header(const CsvDocument& doc, const ImportOptions& options,
                           ImportReport& report, std::string& detail) const;
  // One data record's fields as converted; its problems go to row.reasons.
  Record read_record(const CsvRecord& record, std::size_t header_size, const ColumnMapping& mapping,
                     ImportedRow& row, std::string& given_id) const;
  // Updates the customer the row matches, or creates one.
  void write_row(const Record& fields, const std::string& given_id, const ImportOptions& options,
                 Book& book, ImportedRow& row);
  void create_customer(const Record& fields, const std::string& given_id,
                       const ImportOptions& options, Book& book, ImportedRow& row);

  client::Replica& replica_;
  Lang lang_;
};

}  // namespace libreta::cli
