#include "support.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "libreta/client/replica.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/value_json.hpp"

namespace libreta::bench {

namespace fs = std::filesystem;

void fail(const std::string& what) {
  throw std::runtime_error("check failed: " + what);
}

void system_error(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

double seconds_since(Clock::time_point start) {
  return seconds_between(start, Clock::now());
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

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
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
  // WAL checkpoint, which fsyncs the database file, would write out the whole copy inside a
  // commit, a stall of a few hundred milliseconds early in a run.
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

void bind_value(sqlite::Statement& statement, int index, const Value& value) {
  switch (value.type()) {
    case Value::Type::null:
      statement.bind_null(index);
      return;
    case Value::Type::integer:
      statement.bind(index, value.as_integer());
      return;
    case Value::Type::number:
      statement.bind(index, value.as_number());
      return;
    case Value::Type::text:
      statement.bind(index, value.as_text());
      return;
    case Value::Type::tags:
      statement.bind(index, nlohmann::json(value.as_tags()).dump());
      return;
    case Value::Type::boolean:
      statement.bind(index, std::int64_t{value.as_bool() ? 1 : 0});
      return;
  }
}

std::string describe(const Value& value) {
  return value_to_json(value).dump();
}

void check_replica_customer(const client::Replica& replica, const std::string& id,
                            const Record& expected) {
  const auto stored = replica.get(tables::customers, id);
  if (!stored) fail("customer " + id + " is missing from the replica");
  if (*stored == expected) return;
  std::set<std::string> names;
  for (const auto& [name, value] : expected) names.insert(name);
  for (const auto& [name, value] : *stored) names.insert(name);
  for (const auto& name : names) {
    auto a = expected.find(name);
    auto b = stored->find(name);
    const Value want = a == expected.end() ? Value() : a->second;
    const Value got = b == stored->end() ? Value() : b->second;
    if (!(want == got)) {
      fail("customer " + id + " field " + name + ": expected " + describe(want) + ", replica has " +
           describe(got));
    }
  }
  fail("customer " + id + " differs from what was written");
}

void check_replica_holds_book(const client::Replica& replica, std::size_t n, std::uint64_t seed) {
  // Every row is there (a count on the file, read through a second connection)...
  {
    sqlite::Database db(replica.path().string(), false);
    auto mode = db.prepare("PRAGMA journal_mode");
    if (!mode.step() || mode.text(0) != "wal") {
      fail("the replica is not in WAL mode: the baselines would not be comparable");
    }
    auto count_rows = db.prepare("SELECT count(*) FROM customers WHERE deleted = 0");
    count_rows.step();
    if (const auto count = count_rows.integer(0); count != static_cast<std::int64_t>(n)) {
      fail("the replica holds " + std::to_string(count) + " customers, not " + std::to_string(n));
    }
  }
  // ...and a spread sample reads back exactly as generated.
  const auto check = [&](std::size_t i) {
    const Customer customer = workload::make_customer(i, seed);
    check_replica_customer(replica, customer.id, to_record(customer));
  };
  for (std::size_t i = 0; i < n; i += std::max<std::size_t>(1, n / 256)) check(i);
  if (n > 0) check(n - 1);
}

EditPlan plan_edits(const std::vector<workload::Edit>& edits, std::uint64_t seed) {
  const TableSpec& table = *customer_book_schema().table(tables::customers);
  EditPlan plan;
  for (const auto& edit : edits) {
    auto [it, inserted] = plan.expected.try_emplace(edit.customer);
    if (inserted) it->second = to_record(workload::make_customer(edit.customer, seed));
    Record& state = it->second;
    const bool is_tags = table.field(edit.field)->kind == FieldKind::tag_set;
    auto current = state.find(edit.field);
    const Value before = current != state.end() ? current->second
                         : is_tags              ? Value(TagSet{})
                                                : Value();
    plan.changes.push_back(!(before == edit.value));
    plan.changing += plan.changes.back();
    plan.edited[edit.customer].insert(edit.field);
    if (is_tags && edit.value.as_tags().empty()) {
      state.erase(edit.field);
    } else {
      state[edit.field] = edit.value;
    }
  }
  return plan;
}

}  // namespace libreta::bench
