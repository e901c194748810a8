#include "fault/write_log.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "libreta/protocol/value_json.hpp"

namespace libreta::fault {

namespace {

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto tab = line.find('\t', start);
    parts.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) return parts;
    start = tab + 1;
  }
}

}  // namespace

std::string format_logged_write(const LoggedWrite& write) {
  const std::string base =
      write.base ? (write.base->is_none() ? "-" : write.base->to_string()) : "?";
  return "w\t" + write.table + "\t" + write.row + "\t" + write.key + "\t" +
         write.version.to_string() + "\t" + base + "\t" + value_to_json(write.value).dump() + "\n";
}

std::optional<LoggedWrite> parse_logged_write(std::string_view line) {
  const auto parts = split_tabs(line);
  if (parts.size() != 7 || parts[0] != "w") return std::nullopt;
  LoggedWrite write;
  write.table = parts[1];
  write.row = parts[2];
  write.key = parts[3];
  auto version = Version::parse(parts[4]);
  if (!version || version->is_none()) return std::nullopt;
  write.version = *version;
  if (parts[5] == "-") {
    write.base = Version{};
  } else if (parts[5] != "?") {
    auto base = Version::parse(parts[5]);
    if (!base) return std::nullopt;
    write.base = *base;
  }
  const auto json = nlohmann::json::parse(parts[6], nullptr, false);
  if (json.is_discarded()) return std::nullopt;
  auto value = value_from_json(json);
  if (!value) return std::nullopt;
  write.value = std::move(value).value();
  return write;
}

WriteLog::WriteLog(const std::filesystem::path& file) {
  fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error("cannot open " + file.string() + ": " + std::strerror(errno));
}

WriteLog::~WriteLog() {
  if (fd_ >= 0) ::close(fd_);
}

void WriteLog::append(const std::vector<LoggedWrite>& writes) {
  std::string text;
  for (const auto& write : writes) text += format_logged_write(write);
  if (text.empty()) return;
  // One write(): a SIGKILL leaves whole lines (at worst a torn last one, skipped on reading).
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error(std::string("cannot append to the write log: ") +
                               std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  ::fdatasync(fd_);
}

std::vector<LoggedWrite> read_write_log(const std::filesystem::path& file) {
  std::vector<LoggedWrite> writes;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (auto write = parse_logged_write(line)) writes.push_back(std::move(*write));
  }
  return writes;
}

}  // namespace libreta::fault
