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

#include "libreta/server/store.hpp"

namespace libreta::server::app {

// The program's exit codes (also in `libreta-server --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;         // unknown command or option, missing argument
inline constexpr int kExitInvalidInput = 3;  // a value that is not acceptable (bad role...)
inline constexpr int kExitStorage = 4;       // the database cannot be opened, read or written
inline constexpr int kExitNetwork = 5;       // the address cannot be listened on

inline constexpr const char* kDefaultListen = "127.0.0.1:8080";
inline constexpr const char* kDefaultDb = "./libreta-server.db";

struct ServeArgs {
  std::string listen = kDefaultListen;
  std::string db = kDefaultDb;
  int threads = 1;
  std::string tls_cert;      // --tls-cert FILE: PEM certificate chain; with --tls-key, wss:// only
  std::string tls_key;       // --tls-key FILE: its PEM private key
  bool allow_plain = false;  // --allow-plain: plain ws:// on an address that is not loopback
  std::size_t page_cache_mib = 32;         // --page-cache-mib N: memory for shared pages (0: none)
  std::size_t max_group_changes = 10'000;  // --max-group-changes N: changes in one commit
};

int run_serve(const ServeArgs& args);
int run_token_create(const std::string& db, const std::string& user, const std::string& role);
int run_token_list(const std::string& db, bool json);
int run_token_revoke(const std::string& db, const std::string& id);
int run_conflicts(const std::string& db, bool json, std::size_t limit);

// --- shared by the commands ---

// One "libreta-server: key=value..." line on stderr.
void log_line(const std::string& line);
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
// Quotes a value for a key=value log line when it needs it.
std::string quote(const std::string& text);

}  // namespace libreta::server::app
