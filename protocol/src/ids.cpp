#include "libreta/protocol/ids.hpp"

#include <cstdio>
#include <random>

namespace libreta {
namespace {

std::uint64_t random_u64() {
  // One generator per thread, seeded from the OS: ids need uniqueness, not secrecy.
  thread_local std::mt19937_64 generator{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
  return generator();
}

bool all_of_charset(std::string_view text, bool allow_upper) {
  for (char c : text) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '_' ||
                    (allow_upper && c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string new_row_id(std::uint64_t unix_millis) {
  const std::uint64_t high = (unix_millis << 16) | 0x7000 | (random_u64() & 0x0fff);
  const std::uint64_t low = (random_u64() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return uuid_text(high, low);
}

std::string uuid_text(std::uint64_t high, std::uint64_t low) {
  char buffer[37];
  std::snprintf(buffer, sizeof buffer, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(high >> 32),
                static_cast<unsigned long long>((high >> 16) & 0xffff),
                static_cast<unsigned long long>(high & 0xffff),
                static_cast<unsigned long long>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return std::string(buffer, 36);
}

std::string new_replica_id() {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(random_u64()));
  return std::string(buffer, 16);
}

bool is_valid_row_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && all_of_charset(id, true);
}

bool is_valid_replica_id(std::string_view id) {
  return !id.empty() && id.size() <= 32 && all_of_charset(id, false);
}

}  // namespace libreta
