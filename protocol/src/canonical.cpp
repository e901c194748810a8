#include "libreta/protocol/canonical.hpp"

#include <nlohmann/json.hpp>

#include "libreta/protocol/value_json.hpp"

namespace libreta {

std::string canonical_row(std::string_view table, std::string_view id, const Record& values,
                          const RowVersions& versions) {
  nlohmann::json v = nlohmann::json::object();
  for (const auto& [name, value] : values) {
    if (!value.is_null() && !(value.is_tags() && value.as_tags().empty())) {
      v[name] = value_to_json(value);
    }
  }
  std::string line(table);
  line += ' ';
  line += id;
  line += ' ';
  line += nlohmann::json{{"v", std::move(v)}, {"ver", versions.encode()}}.dump();
  line += '\n';
  return line;
}

}  // namespace libreta
