#include "locale_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "libreta/protocol/schema.hpp"

namespace libreta::cli {
namespace {

std::string group_thousands(const std::string& digits, char mark) {
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += mark;
    out += digits[i];
  }
  return out;
}

// "YYYY-MM-DDTHH:MM:SS..." into a struct tm (no time zone applied).
bool parse_tm(std::string_view iso, std::tm& out) {
  if (iso.size() < 19) return false;
  const auto number = [&](std::size_t at, std::size_t n) {
    int value = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (iso[i] < '0' || iso[i] > '9') return -1;
      value = value * 10 + (iso[i] - '0');
    }
    return value;
  };
  out = {};
  out.tm_year = number(0, 4) - 1900;
  out.tm_mon = number(5, 2) - 1;
  out.tm_mday = number(8, 2);
  out.tm_hour = number(11, 2);
  out.tm_min = number(14, 2);
  out.tm_sec = number(17, 2);
  out.tm_isdst = -1;
  return out.tm_year >= 0 && out.tm_mon >= 0 && out.tm_mday > 0 && out.tm_hour >= 0 &&
         out.tm_min >= 0 && out.tm_sec >= 0;
}

}  // namespace

std::string local_to_utc(std::string_view local_iso) {
  std::tm local{};
  if (!parse_tm(local_iso, local)) return std::string(local_iso);
  const std::time_t t = std::mktime(&local);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string LocaleFormat::date(std::string_view iso) const {
  if (iso.size() < 10 || !is_valid_date(iso.substr(0, 10))) return std::string(iso);
  if (lang_ == Lang::en) return std::string(iso.substr(0, 10));
  return std::string(iso.substr(8, 2)) + "/" + std::string(iso.substr(5, 2)) + "/" +
         std::string(iso.substr(0, 4));
}

std::string LocaleFormat::date_time(std::string_view iso) const {
  if (!is_valid_date_time(iso) || iso.substr(11, 8) == "00:00:00") return date(iso);
  std::tm utc{};
  if (!parse_tm(iso, utc)) return date(iso);
  const std::time_t t = ::timegm(&utc);
  std::tm local{};
  ::localtime_r(&t, &local);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M", &local);
  const std::string_view text(buffer);
  return date(text.substr(0, 10)) + " " + std::string(text.substr(11));
}

std::string LocaleFormat::amount(double value) const {
  const bool negative = value < 0;
  const long long cents = std::llround(std::fabs(value) * 100.0);
  const std::string whole = std::to_string(cents / 100);
  char fraction[4];
  std::snprintf(fraction, sizeof fraction, "%02lld", cents % 100);
  std::string text = negative && cents != 0 ? "-" : "";
  if (lang_ == Lang::es) {
    text += group_thousands(whole, '.') + "," + fraction + " €";
  } else {
    text += group_thousands(whole, ',') + "." + fraction;
  }
  return text;
}

std::string LocaleFormat::number(double value) const {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  std::string text = buffer;
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  if (text == "-0") text = "0";
  if (lang_ == Lang::es) {
    for (char& c : text) {
      if (c == '.') c = ',';
    }
  }
  return text;
}

std::string LocaleFormat::exact_number(double value) const {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, result.ptr);
  // to_chars may choose exponent notation for very large or small values; fixed reads back
  // with any spreadsheet.
  if (text.find('e') != std::string::npos) {
    std::snprintf(buffer, sizeof buffer, "%.6f", value);
    text = buffer;
  }
  // "1.125" would read back as 1125 (a thousands mark, see parse_number): "1.1250".
  if (const auto dot = text.find('.'); dot != std::string::npos && text.size() - dot - 1 == 3) {
    const std::size_t digits_before = dot - (text[0] == '-' ? 1 : 0);
    if (digits_before >= 1 && digits_before <= 3 && text[text[0] == '-' ? 1 : 0] != '0')
      text += '0';
  }
  if (lang_ == Lang::es) {
    for (char& c : text) {
      if (c == '.') c = ',';
    }
  }
  return text;
}

}  // namespace libreta::cli
