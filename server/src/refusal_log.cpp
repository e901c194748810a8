#include "refusal_log.hpp"

#include <vector>

namespace libreta::server {

void RefusalLog::write(std::string_view event, std::string_view code,
                       std::initializer_list<LogField> fields) const {
  if (!log_ || !log_->enabled(LogLevel::warn)) return;
  std::vector<LogField> line;
  line.reserve(fields.size() + 1);
  line.emplace_back("code", code);
  line.insert(line.end(), fields.begin(), fields.end());
  log_->write(LogLevel::warn, event, line);
}

}  // namespace libreta::server
