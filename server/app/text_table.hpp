// A plain-text table for terminal output: a header row, aligned columns, long cells cut.
// A value type, used by one thread.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace libreta::server::app {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header, std::size_t max_cell_width = 40);

  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::size_t max_cell_width_;
};

}  // namespace libreta::server::app
