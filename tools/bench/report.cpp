#include "report.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace libreta::bench {

namespace fs = std::filesystem;

void fail(const std::string& what) {
  throw std::runtime_error("check failed: " + what);
}

void system_error(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

double milliseconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

ArgReader::ArgReader(int argc, char** argv, std::function<void(int)> usage)
    : argc_(argc), argv_(argv), usage_(std::move(usage)) {}

bool ArgReader::next() {
  if (++index_ >= argc_) return false;
  arg_ = argv_[index_];
  if (arg_ == "--help" || arg_ == "-h") usage_(0);
  return true;
}

const char* ArgReader::value() {
  if (index_ + 1 >= argc_) {
    std::fprintf(stderr, "%s needs a value\n", arg_.c_str());
    usage_(2);
  }
  return argv_[++index_];
}

std::uint64_t ArgReader::number() {
  const std::string name = arg_;
  std::uint64_t out = 0;
  if (!parse_number(name.c_str(), value(), out)) usage_(2);
  return out;
}

void ArgReader::unknown() {
  std::fprintf(stderr, "unknown argument '%s'\n", arg_.c_str());
  usage_(2);
  std::exit(2);  // usage() exits; this only keeps [[noreturn]] true
}

bool parse_number(const char* name, const char* text, std::uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 0);
  if (*text == '\0' || *text == '-' || *end != '\0' || errno != 0) {
    std::fprintf(stderr, "%s: '%s' is not a number\n", name, text);
    return false;
  }
  out = value;
  return true;
}

Summary summarize(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  const double median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return {median, values.front(), values.back()};
}

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

nlohmann::json to_json(const Summary& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

void print_line(const char* what, const Summary& s, const char* unit, const char* note) {
  std::printf("%-38s %10.2f %-4s (%.2f - %.2f)   %s\n", what, s.median, unit, s.min, s.max, note);
}

double mb(double bytes) {
  return bytes / 1e6;
}

double mib(double bytes) {
  return bytes / (1024.0 * 1024.0);
}

double load_average() {
  std::ifstream file("/proc/loadavg");
  double load = -1;
  if (!(file >> load)) return -1;
  return load;
}

double self_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

TempDir::TempDir(const fs::path& parent, const std::string& prefix) {
  std::string pattern = (parent / (prefix + "-XXXXXX")).string();
  if (!mkdtemp(pattern.data())) system_error("cannot create a directory in " + parent.string());
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void remove_database(const fs::path& file) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ignored;
    fs::remove(file.string() + suffix, ignored);
  }
}

namespace {

void flush_to_disk(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot flush " + path.string() + ": " + std::strerror(error));
  }
  ::close(fd);
}

}  // namespace

void copy_database(const fs::path& from, const fs::path& to) {
  remove_database(to);
  std::vector<fs::path> copied{to};
  fs::copy_file(from, to);
  if (fs::exists(from.string() + "-wal")) {
    fs::copy_file(from.string() + "-wal", to.string() + "-wal");
    copied.push_back(to.string() + "-wal");
  }
  // A copy's pages stay dirty in the kernel's cache until written back: the server's first
  // WAL checkpoint, which fsyncs the database file, would write out the whole copy inside
  // a commit (a stall of 100 - 200 ms early in the live day, which was its p99).
  for (const auto& file : copied) flush_to_disk(file);
  flush_to_disk(to.parent_path().empty() ? fs::path(".") : to.parent_path());
}

std::uintmax_t database_bytes(const fs::path& file) {
  std::uintmax_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code error;
    const auto size = fs::file_size(file.string() + suffix, error);
    if (!error) total += size;
  }
  return total;
}

}  // namespace libreta::bench
