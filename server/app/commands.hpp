// The commands of the libreta-server program, each returning the process's exit code, and
// what they share: exit codes, store opening, error reporting and time formatting.
// Called from main() on the main thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "config.hpp"
#include "libreta/server/store.hpp"

namespace libreta::server::app {

// The program's exit codes (also in `libreta-server --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;         // unknown command or option, missing argument
inline constexpr int kExitInvalidInput = 3;  // a value that is not acceptable (bad role...)
inline constexpr int kExitStorage = 4;       // the database cannot be opened, read or written
inline constexpr int kExitNetwork = 5;       // the address cannot be listened on

// `serve`: the configuration file, and the flags given on the command line, which override it
// (at start and at each reload).
struct ServeArgs {
  std::string config_file;    // --config FILE; empty: the defaults
  bool print_config = false;  // --print-config: print the configuration and exit
  std::function<void(ServerConfig&)> apply_flags;
};

int run_serve(const ServeArgs& args);
int run_config_check(const std::string& file);
int run_print_default_config();
// `expires`: empty (never), "YYYY-MM-DD" (valid through that day, UTC) or "<N>d" (N days).
int run_token_create(const std::string& db, const std::string& user, const std::string& role,
                     const std::string& expires);
int run_token_list(const std::string& db, bool json);
int run_backup(const std::string& db, const std::string& out);
int run_restore(const std::string& backup, const std::string& db);
int run_token_revoke(const std::string& db, const std::string& id);
int run_conflicts(const std::string& db, bool json, std::size_t limit);

// --- shared by the commands ---

// Reports a failure on stderr ("libreta-server: error: ...") and returns `exit_code`.
int fail(int exit_code, const std::string& message);
// Runs a command, turning what it throws into a message and an exit code: libreta::Error by
// its code's block (input → 3, storage → 4), anything else → 4.
int guarded(const std::function<int()>& command);
// Opens the store of an administration command: the file must exist (a typo must not create
// an empty database and report that it holds nothing), unless `create` is set.
std::unique_ptr<Store> open_store(const std::string& db, bool create);
// Unix milliseconds now, and as "2024-05-01T09:30:00Z".
std::uint64_t now_ms();
std::string format_time(std::uint64_t unix_ms);

}  // namespace libreta::server::app
