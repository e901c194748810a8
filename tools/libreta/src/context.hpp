// What every command of `libreta` shares: the seller's language and formats, the home
// directory and its replica, today's date, the output streams and the --json switch.
// One Context per process, used by the main thread only.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "libreta/client/replica.hpp"
#include "locale_format.hpp"
#include "messages.hpp"

namespace libreta::cli {

// Names of the replica settings the tool keeps (Replica::setting).
inline constexpr const char* kServerUrlSetting = "server_url";
inline constexpr const char* kTokenSetting = "token";
inline constexpr const char* kCaFileSetting = "ca_file";          // absolute path, PEM
inline constexpr const char* kAllowPlainSetting = "allow_plain";  // "1": ws:// off loopback
inline constexpr const char* kOwnerSetting = "owner";

class Context {
 public:
  Context(Lang lang, std::ostream& out, std::ostream& err);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Set by the command line before any command runs.
  std::string home_option;  // --home (or $LIBRETA_HOME through CLI11)
  bool json = false;        // --json

  Lang lang() const { return lang_; }
  const LocaleFormat& format() const { return format_; }
  std::string tr(Msg id, std::initializer_list<std::string_view> args = {}) const {
    return cli::tr(lang_, id, args);
  }

  // --home, else $LIBRETA_HOME, else $XDG_DATA_HOME/libreta, else ~/.local/share/libreta.
  std::filesystem::path home() const;
  std::filesystem::path book_path() const { return home() / "book.db"; }
  bool book_exists() const;

  // The replica in the home directory; a usage error (run `libreta init`) when there is none.
  client::Replica& replica();
  // Creates the home directory (mode 0700) and the replica (mode 0600) when missing.
  client::Replica& create_replica();
  // Closes the replica, e.g. before a sync session opens its own connection.
  void close_replica();

  // Today in the seller's time zone, YYYY-MM-DD; $LIBRETA_TODAY overrides it (for tests
  // and for planning ahead).
  std::string today() const;
  // Now, UTC, YYYY-MM-DDTHH:MM:SSZ; with $LIBRETA_TODAY, that day at the current time, so
  // that what is logged "now" falls on the day the seller is working on.
  std::string now_utc() const;

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  // Whether stdout is a terminal, so that progress bars make sense.
  bool stdout_is_terminal() const;

 private:
  Lang lang_;
  LocaleFormat format_;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<client::Replica> replica_;
};

}  // namespace libreta::cli
