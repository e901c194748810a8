#include "process_metrics.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

namespace libreta::server {
namespace {

// When the process started, taken when the library is loaded: close enough for a gauge
// that says whether it restarted.
const double kStartTime =
    std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

struct ProcessStat {
  double cpu_seconds = 0;
  double resident_bytes = 0;
};

ProcessStat read_stat() {
  ProcessStat stat;
  std::ifstream file("/proc/self/stat");
  std::string text;
  if (!std::getline(file, text)) return stat;
  // The command name is in parentheses and may hold spaces: fields are counted after it.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return stat;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  // After the name: state is field 3; utime 14, stime 15, rss 24 (man 5 proc).
  double utime = 0, stime = 0, rss = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) utime = std::stod(field);
    if (index == 15) stime = std::stod(field);
    if (index == 24) {
      rss = std::stod(field);
      break;
    }
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  stat.cpu_seconds = ticks > 0 ? (utime + stime) / ticks : 0;
  stat.resident_bytes = rss * page;
  return stat;
}

double open_descriptors() {
  std::error_code ec;
  double count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++count;
  }
  return count;
}

}  // namespace

void write_process_metrics(MetricsText& metrics) {
  ProcessStat stat;
  try {
    stat = read_stat();
  } catch (const std::exception&) {
    // A /proc that does not read as expected leaves the figures at 0.
  }
  metrics.gauge("libreta_process_resident_memory_bytes", "Resident memory of the server process",
                stat.resident_bytes);
  metrics.counter("libreta_process_cpu_seconds_total",
                  "CPU time of the server process, user and system", stat.cpu_seconds);
  metrics.gauge("libreta_process_open_fds", "File descriptors open (connections included)",
                open_descriptors());
  metrics.gauge("libreta_process_start_time_seconds", "When the server started, Unix seconds",
                kStartTime);
  metrics.family("libreta_build_info", "gauge", "The server's version, as a label");
  metrics.sample("libreta_build_info", 1, {{"version", LIBRETA_VERSION}});
}

}  // namespace libreta::server
