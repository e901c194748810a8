// Which customer field each column of a spreadsheet holds, from its header: Spanish and
// English names, any case, accents, spaces or punctuation ("Razón social", "NIF/CIF",
// "Teléfono móvil", "E-mail"), plus the seller's own --map COLUMN=field. Pure, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libreta::cli {

// Column targets besides the customer fields.
inline constexpr const char* kIdColumn = "id";             // the row id, for re-imports
inline constexpr const char* kSurnameColumn = "+surname";  // appended to the name

// A header reduced to what identifies it: folded, letters and digits only ("razonsocial").
std::string header_key(std::string_view header);

// The field a header names, or nullopt.
std::optional<std::string> field_for_header(std::string_view header);

struct MappedColumn {
  std::size_t index = 0;
  std::string header;
  std::string field;      // a customer field, kIdColumn or kSurnameColumn; empty when ignored
  bool from_map = false;  // decided by --map
  bool repeated = false;  // its field was already taken by an earlier column: ignored
};

struct ColumnMapping {
  std::vector<MappedColumn> columns;
  std::vector<std::string> unknown;   // headers not recognized (ignored)
  std::vector<std::string> repeated;  // headers whose field an earlier column took
  bool has(std::string_view field) const;
};

enum class MapProblem { none, bad_syntax, no_such_column, unknown_field };
struct MapError {
  MapProblem problem = MapProblem::none;
  std::string argument;
};

// Maps the header cells; `overrides` are --map pairs (column header, field or alias;
// "" or "-" ignores the column). Returns the first bad override in `error`.
ColumnMapping map_columns(const std::vector<std::string>& headers,
                          const std::vector<std::string>& overrides, MapError& error);

}  // namespace libreta::cli
