// The operator's log: one line per event, as logfmt (`key=value ...`) or one JSON object,
// each with its time, level and event name, at or above a level chosen by the config.
// Callers pass fields they know are safe to log: never a token, never a customer's value.
//
// Ownership: shared (std::shared_ptr<Log>) by the server's parts that write to it.
// Threads: every method is thread-safe; the format and level may change while others write
// (SIGHUP reloads them), and each line reaches the sink in one call, never interleaved.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace libreta::server {

enum class LogLevel { debug, info, warn, error };
enum class LogFormat { logfmt, json };

const char* log_level_name(LogLevel level);
const char* log_format_name(LogFormat format);
std::optional<LogLevel> parse_log_level(std::string_view name);
std::optional<LogFormat> parse_log_format(std::string_view name);

// One key and its value, text or number (a number is written unquoted in JSON).
class LogField {
 public:
  LogField(std::string_view key, std::string_view text) : key_(key), value_(text) {}
  LogField(std::string_view key, const std::string& text) : key_(key), value_(text) {}
  LogField(std::string_view key, const char* text) : key_(key), value_(text) {}
  template <
      class Number,
      std::enable_if_t<std::is_arithmetic_v<Number> && !std::is_same_v<Number, bool>, int> = 0>
  LogField(std::string_view key, Number number)
      : key_(key), value_(to_text(number)), number_(true) {}
  LogField(std::string_view key, bool flag) : key_(key), value_(flag ? "true" : "false") {}

  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }
  bool number() const { return number_; }

 private:
  template <class Number>
  static std::string to_text(Number number) {
    if constexpr (std::is_floating_point_v<Number>) {
      return format_decimal(static_cast<double>(number));
    } else {
      return std::to_string(number);
    }
  }
  static std::string format_decimal(double number);

  std::string_view key_;
  std::string value_;
  bool number_ = false;
};

class Log {
 public:
  // Receives each line, without its newline. The default writes it to stderr.
  using Sink = std::function<void(std::string_view line)>;

  explicit Log(LogFormat format = LogFormat::logfmt, LogLevel level = LogLevel::info,
               Sink sink = {});

  void set_format(LogFormat format) { format_.store(format, std::memory_order_relaxed); }
  void set_level(LogLevel level) { level_.store(level, std::memory_order_relaxed); }
  LogFormat format() const { return format_.load(std::memory_order_relaxed); }
  LogLevel level() const { return level_.load(std::memory_order_relaxed); }
  bool enabled(LogLevel level) const { return level >= this->level(); }

  // Writes one line if `level` is enabled: time, level, event, then the fields in order.
  void write(LogLevel level, std::string_view event,
             std::initializer_list<LogField> fields = {}) const;
  void write(LogLevel level, std::string_view event, const std::vector<LogField>& fields) const;
  void debug(std::string_view event, std::initializer_list<LogField> fields = {}) const {
    write(LogLevel::debug, event, fields);
  }
  void info(std::string_view event, std::initializer_list<LogField> fields = {}) const {
    write(LogLevel::info, event, fields);
  }
  void warn(std::string_view event, std::initializer_list<LogField> fields = {}) const {
    write(LogLevel::warn, event, fields);
  }
  void error(std::string_view event, std::initializer_list<LogField> fields = {}) const {
    write(LogLevel::error, event, fields);
  }

  // The line write() would produce at `unix_ms`, whatever the level (for tests and tools).
  std::string format_line(std::uint64_t unix_ms, LogLevel level, std::string_view event,
                          std::initializer_list<LogField> fields) const {
    return format_line(unix_ms, level, event, fields.begin(), fields.end());
  }

 private:
  std::string format_line(std::uint64_t unix_ms, LogLevel level, std::string_view event,
                          const LogField* first, const LogField* last) const;

  std::atomic<LogFormat> format_;
  std::atomic<LogLevel> level_;
  const Sink sink_;
};

}  // namespace libreta::server
