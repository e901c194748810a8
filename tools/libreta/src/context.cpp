#include "context.hpp"

#include <cstdlib>
#include <ctime>
#include <ostream>
#include <system_error>

#include <sys/stat.h>
#include <unistd.h>

#include "cli_error.hpp"
#include "libreta/protocol/schema.hpp"

namespace libreta::cli {

Context::Context(Lang lang, std::ostream& out, std::ostream& err)
    : lang_(lang), format_(lang), out_(out), err_(err) {}

Context::~Context() = default;

std::filesystem::path Context::home() const {
  if (!home_option.empty()) return home_option;
  if (const char* env = std::getenv("LIBRETA_HOME"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "libreta";
  }
  if (const char* user_home = std::getenv("HOME"); user_home && *user_home) {
    return std::filesystem::path(user_home) / ".local" / "share" / "libreta";
  }
  throw CliError(kExitUsage, tr(Msg::no_home));
}

bool Context::book_exists() const {
  std::error_code ec;
  return std::filesystem::is_regular_file(book_path(), ec);
}

client::Replica& Context::replica() {
  if (!replica_) {
    if (!book_exists()) throw CliError(kExitUsage, tr(Msg::no_book, {home().string()}));
    replica_ = client::Replica::open(book_path());
  }
  return *replica_;
}

client::Replica& Context::create_replica() {
  if (replica_) return *replica_;
  const auto dir = home();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw CliError(kExitStorage, tr(Msg::cannot_create_home, {dir.string(), ec.message()}));
  // The book holds customers' personal data and the sync token: only the seller reads it.
  ::chmod(dir.c_str(), 0700);
  const bool existed = book_exists();
  const mode_t old_mask = ::umask(077);
  try {
    replica_ = client::Replica::open(book_path());
  } catch (...) {
    ::umask(old_mask);
    throw;
  }
  ::umask(old_mask);
  if (!existed) ::chmod(book_path().c_str(), 0600);
  return *replica_;
}

void Context::close_replica() {
  replica_.reset();
}

std::string Context::today() const {
  if (const char* env = std::getenv("LIBRETA_TODAY"); env && *env) {
    if (!is_valid_date(env)) throw CliError(kExitUsage, tr(Msg::bad_today, {env}));
    return env;
  }
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &local);
  return buffer;
}

std::string Context::now_utc() const {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  std::string text = buffer;
  if (const char* env = std::getenv("LIBRETA_TODAY"); env && *env) text.replace(0, 10, today());
  return text;
}

bool Context::stdout_is_terminal() const {
  return ::isatty(STDOUT_FILENO) == 1;
}

}  // namespace libreta::cli
