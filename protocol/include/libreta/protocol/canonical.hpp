// The canonical text of a row, shared by replicas and server so that two holders of the same
// state print the same bytes: tests compare whole stores with it. Pure function.
#pragma once

#include <string>
#include <string_view>

#include "libreta/protocol/row_versions.hpp"
#include "libreta/protocol/value.hpp"

namespace libreta {

// One line: "<table> <id> {"v":{...},"ver":...}\n". `values` holds every set field (known to
// the schema or not, and "deleted" when the row has a delete version), tags as sets.
// A dump is these lines sorted.
std::string canonical_row(std::string_view table, std::string_view id, const Record& values,
                          const RowVersions& versions);

}  // namespace libreta
