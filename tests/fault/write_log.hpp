// The side log of a fault-test worker: every field it wrote, appended (and fsynced) right
// after the write committed to its replica, so that the checker knows what each device
// committed even if the replica file were to lose it. One tab-separated line per field;
// a line torn by a SIGKILL is skipped when reading.
// Not thread-safe: one worker thread appends; the checker reads after the worker is gone.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libreta/protocol/value.hpp"
#include "libreta/protocol/version.hpp"

namespace libreta::fault {

struct LoggedWrite {
  std::string table;
  std::string row;
  // The field, or for a tag set "field+tag" (an add) or "field-tag" (a remove).
  std::string key;
  Version version;
  // The version the writer saw before editing, as the change log will send it; unknown when
  // the change had left the log (acknowledged) before it could be read.
  std::optional<Version> base;
  Value value;  // for a tag: true (add) or false (remove)
};

std::string format_logged_write(const LoggedWrite& write);
std::optional<LoggedWrite> parse_logged_write(std::string_view line);

// Appends lines with O_APPEND, one write() and one fdatasync() per batch.
class WriteLog {
 public:
  explicit WriteLog(const std::filesystem::path& file);
  ~WriteLog();
  WriteLog(const WriteLog&) = delete;
  WriteLog& operator=(const WriteLog&) = delete;
  void append(const std::vector<LoggedWrite>& writes);

 private:
  int fd_ = -1;
};

std::vector<LoggedWrite> read_write_log(const std::filesystem::path& file);

}  // namespace libreta::fault
