#include <ctime>
#include <iostream>
#include <system_error>

#include "commands.hpp"
#include "libreta/protocol/error.hpp"
#include "libreta/protocol/hlc.hpp"
#include "libreta/server/sqlite_store.hpp"

namespace libreta::server::app {

int fail(int exit_code, const std::string& message) {
  std::cerr << "libreta-server: error: " << message << std::endl;
  return exit_code;
}

int guarded(const std::function<int()>& command) {
  try {
    return command();
  } catch (const Error& e) {
    const int block = static_cast<int>(e.code()) / 100;
    return fail(block == 1 || block == 2 ? kExitInvalidInput : kExitStorage,
                std::string(e.what()) + " (" + std::string(error_code_name(e.code())) + ")");
  } catch (const std::exception& e) {
    return fail(kExitStorage, e.what());
  }
}

std::unique_ptr<Store> open_store(const std::string& db, bool create) {
  std::error_code ec;
  if (!create && !std::filesystem::exists(db, ec)) {
    throw Error(ErrorCode::storage, "no database at " + db);
  }
  return open_sqlite_store(db);
}

std::uint64_t now_ms() {
  return SystemClock().now_millis();
}

std::string format_time(std::uint64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  if (gmtime_r(&seconds, &utc) == nullptr) return std::to_string(unix_ms);
  char text[32];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, length);
}

}  // namespace libreta::server::app
