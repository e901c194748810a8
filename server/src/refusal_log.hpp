// The operator's record of refusals and hostile acts (SyncServiceOptions::log): one warn line
// each, saying who, which device and why, never a token or a value; each one counted, by
// its code, for GET /metrics. Thread-safe: called from any of the service's threads.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "libreta/server/log.hpp"
#include "sync_counters.hpp"

namespace libreta::server {

class RefusalLog {
 public:
  RefusalLog(std::shared_ptr<Log> log, SyncCounters& counters)
      : log_(std::move(log)), counters_(counters) {}

  // A hello refused with `code` (bad_token, forbidden...): an authentication failure.
  void hello_refused(std::string_view code, std::initializer_list<LogField> fields) const {
    ++counters_.refusals;
    counters_.hellos_refused.add({std::string(code)});
    write("hello_refused", code, fields);
  }
  // A change, push or message refused with `code`.
  void refused(std::string_view code, std::initializer_list<LogField> fields) const {
    ++counters_.refusals;
    counters_.changes_refused.add({std::string(code)});
    write("refused", code, fields);
  }

 private:
  void write(std::string_view event, std::string_view code,
             std::initializer_list<LogField> fields) const;

  const std::shared_ptr<Log> log_;  // null: no log
  SyncCounters& counters_;
};

}  // namespace libreta::server
