// A declared schema: tables, their fields and each field's kind and rules. The sync engine
// is generic over a Schema; the customer book (customer_book.hpp) is one Schema.
// Schemas are immutable after construction and safe to share between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libreta/protocol/error.hpp"
#include "libreta/protocol/value.hpp"

namespace libreta {

enum class FieldKind {
  text,       // one line of text
  long_text,  // free text, may span lines (notes)
  integer,
  decimal,    // a number with decimals (amounts, quantities)
  date,       // YYYY-MM-DD
  date_time,  // YYYY-MM-DDTHH:MM:SSZ (UTC)
  choice,     // one of a fixed list of values
  tag_set,    // a set of short labels; merged per element, an add wins over a concurrent remove
  boolean,
  reference,  // the id of a row in another table
  email,
  phone,
};

const char* field_kind_name(FieldKind kind);

struct FieldSpec {
  std::string name;
  FieldKind kind = FieldKind::text;
  bool required = false;             // must be set when a row is created
  std::vector<std::string> choices;  // for FieldKind::choice
  std::string references;            // for FieldKind::reference: the table
  std::size_t max_length = 0;        // for texts; 0 means the kind's default
  bool searchable = false;           // indexed for full-text search
  // Set by the software on every write (created_at, updated_at), not by a person: it keeps no
  // history, and its conflicts are not a person's.
  bool automatic = false;

  // Checks `value` against this field's rules and returns it in canonical form
  // (trimmed text, sorted tags, normalized date). Null is always accepted here;
  // `required` is enforced when a row is created.
  Result<Value> validate(const Value& value) const;
};

struct TableSpec {
  std::string name;
  std::vector<FieldSpec> fields;
  // The field naming the row of the scope table this row belongs to ("customer_id"), which
  // decides a seller's scope; empty for the scope table itself and for unscoped tables.
  std::string owner_link;
  // On the scope table alone (the customers): the field naming the seller whose scope a row
  // of it, and every row linked to it by owner_link, is in ("owner").
  std::string owner_field;
  // Position of each field by name, filled by Schema; lookups are on the merge's hot path.
  std::map<std::string, std::size_t, std::less<>> field_positions;

  const FieldSpec* field(std::string_view field_name) const;
};

class Schema {
 public:
  Schema(int version, std::vector<TableSpec> tables);
  int version() const { return version_; }
  const std::vector<TableSpec>& tables() const { return tables_; }
  const TableSpec* table(std::string_view name) const;
  // The table whose rows decide a seller's scope (the one declaring owner_field); null when
  // the schema has no scopes.
  const TableSpec* scope_table() const;

 private:
  int version_;
  std::vector<TableSpec> tables_;
  std::optional<std::size_t> scope_table_;  // its position in tables_
};

// Limits on untrusted sizes, shared by validation and codec.
inline constexpr std::size_t kMaxTextLength = 1'000;
inline constexpr std::size_t kMaxLongTextLength = 20'000;
inline constexpr std::size_t kMaxTagLength = 64;
inline constexpr std::size_t kMaxTagsPerSet = 64;

// Date helpers shared by validation and queries.
bool is_valid_date(std::string_view text);                     // YYYY-MM-DD, a real calendar day
bool is_valid_date_time(std::string_view text);                // YYYY-MM-DDTHH:MM:SS(.fff)?Z
std::int64_t days_from_civil(int year, int month, int day);    // days since 1970-01-01
std::string civil_from_days(std::int64_t days);                // "YYYY-MM-DD"
std::string date_time_from_millis(std::uint64_t unix_millis);  // "YYYY-MM-DDTHH:MM:SSZ"
// Days since 1970-01-01 of a YYYY-MM-DD (or the date part of a date-time) text.
std::optional<std::int64_t> parse_day_number(std::string_view text);

}  // namespace libreta
