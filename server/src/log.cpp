#include "libreta/server/log.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <utility>

#include <nlohmann/json.hpp>

#include "libreta/protocol/hlc.hpp"

namespace libreta::server {
namespace {

void write_to_stderr(std::string_view line) {
  // One write per line, so that lines of different threads do not interleave.
  std::string text(line);
  text.push_back('\n');
  std::cerr.write(text.data(), static_cast<std::streamsize>(text.size()));
  std::cerr.flush();
}

std::uint64_t now_unix_ms() {
  return SystemClock().now_millis();
}

// "2026-12-07T16:30:00.123Z"
std::string format_time(std::uint64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + length, sizeof text - length, ".%03uZ",
                static_cast<unsigned>(unix_ms % 1000));
  return text;
}

// A logfmt value: bare when it is a plain word, else quoted with `"` and `\` escaped and
// control characters written as escapes, so that a value can never start a new line or a
// new key.
void append_logfmt_value(std::string& line, std::string_view value) {
  bool plain = !value.empty();
  for (const char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
        c == 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain) {
    line.append(value);
    return;
  }
  line.push_back('"');
  for (const char c : value) {
    switch (c) {
      case '"':
        line += "\\\"";
        break;
      case '\\':
        line += "\\\\";
        break;
      case '\n':
        line += "\\n";
        break;
      case '\r':
        line += "\\r";
        break;
      case '\t':
        line += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned char>(c));
          line += escaped;
        } else {
          line.push_back(c);
        }
    }
  }
  line.push_back('"');
}

void append_json_string(std::string& line, std::string_view text) {
  // Bytes that are not UTF-8 (a peer's name, a client's message) become U+FFFD: the line
  // stays one valid JSON object.
  line += nlohmann::json(std::string(text))
              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

const char* log_format_name(LogFormat format) {
  return format == LogFormat::json ? "json" : "logfmt";
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (const LogLevel level : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
    if (name == log_level_name(level)) return level;
  }
  return std::nullopt;
}

std::optional<LogFormat> parse_log_format(std::string_view name) {
  if (name == "logfmt") return LogFormat::logfmt;
  if (name == "json") return LogFormat::json;
  return std::nullopt;
}

std::string LogField::format_decimal(double number) {
  if (!std::isfinite(number)) return "0";
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", number);
  return text;
}

Log::Log(LogFormat format, LogLevel level, Sink sink)
    : format_(format), level_(level), sink_(sink ? std::move(sink) : Sink(write_to_stderr)) {}

std::string Log::format_line(std::uint64_t unix_ms, LogLevel level, std::string_view event,
                             const LogField* first, const LogField* last) const {
  const auto fields = [first, last] {
    struct Range {
      const LogField* b;
      const LogField* e;
      const LogField* begin() const { return b; }
      const LogField* end() const { return e; }
    };
    return Range{first, last};
  }();
  std::string line;
  line.reserve(128);
  const std::string time = format_time(unix_ms);
  if (format() == LogFormat::json) {
    line += "{\"time\":\"" + time + "\",\"level\":\"" + log_level_name(level) + "\",\"event\":";
    append_json_string(line, event);
    for (const LogField& field : fields) {
      line.push_back(',');
      append_json_string(line, field.key());
      line.push_back(':');
      if (field.number()) {
        line.append(field.value());
      } else {
        append_json_string(line, field.value());
      }
    }
    line.push_back('}');
  } else {
    line += "time=" + time + " level=" + log_level_name(level) + " event=";
    append_logfmt_value(line, event);
    for (const LogField& field : fields) {
      line.push_back(' ');
      line.append(field.key());
      line.push_back('=');
      append_logfmt_value(line, field.value());
    }
  }
  return line;
}

void Log::write(LogLevel level, std::string_view event,
                std::initializer_list<LogField> fields) const {
  if (!enabled(level)) return;
  sink_(format_line(now_unix_ms(), level, event, fields.begin(), fields.end()));
}

void Log::write(LogLevel level, std::string_view event, const std::vector<LogField>& fields) const {
  if (!enabled(level)) return;
  sink_(format_line(now_unix_ms(), level, event, fields.data(), fields.data() + fields.size()));
}

}  // namespace libreta::server
