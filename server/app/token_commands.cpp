// `libreta-server token create|list|revoke`: access tokens, administered offline on the
// database file.

#include <charconv>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "libreta/server/tokens.hpp"
#include "text_table.hpp"

namespace libreta::server::app {

namespace {

constexpr std::size_t kMaxUserBytes = 200;

bool valid_user(const std::string& user) {
  if (user.empty() || user.size() > kMaxUserBytes) return false;
  for (const char c : user) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// When a token made now with `--expires TEXT` stops working, or a message saying why TEXT
// is not a date. Empty TEXT: never.
std::optional<std::uint64_t> parse_expiry(const std::string& text, std::uint64_t now,
                                          std::string& problem) {
  constexpr std::uint64_t kDayMs = 24ull * 3600 * 1000;
  if (text.empty()) return std::nullopt;
  if (text.back() == 'd') {
    std::uint64_t days = 0;
    const char* end = text.data() + text.size() - 1;
    const auto parsed = std::from_chars(text.data(), end, days);
    if (parsed.ec == std::errc() && parsed.ptr == end && days >= 1 && days <= 36'500)
      return now + days * kDayMs;
  } else {
    std::tm date{};
    const char* end = strptime(text.c_str(), "%Y-%m-%d", &date);
    if (end && *end == '\0') {
      // Valid through the day named: it expires when the next one begins, in UTC.
      const auto expires = static_cast<std::uint64_t>(timegm(&date)) * 1000 + kDayMs;
      if (expires > now) return expires;
      problem = "--expires " + text + " is in the past";
      return std::nullopt;
    }
  }
  problem = "--expires must be YYYY-MM-DD or a number of days such as 90d, not \"" + text + "\"";
  return std::nullopt;
}

std::string token_status(const TokenRecord& token, std::uint64_t now) {
  if (token.revoked_ms) return "revoked";
  if (token.expires_ms && *token.expires_ms <= now) return "expired";
  return "live";
}

nlohmann::json optional_ms(const std::optional<std::uint64_t>& ms) {
  return ms ? nlohmann::json(*ms) : nlohmann::json(nullptr);
}

}  // namespace

int run_token_create(const std::string& db, const std::string& user, const std::string& role,
                     const std::string& expires) {
  const std::optional<Role> parsed_role = parse_role(role);
  if (!parsed_role) {
    return fail(kExitInvalidInput,
                "unknown role \"" + role + "\": expected seller, manager or admin");
  }
  if (!valid_user(user)) {
    return fail(kExitInvalidInput, "--user must be 1 to " + std::to_string(kMaxUserBytes) +
                                       " bytes without control characters");
  }
  const std::uint64_t now = now_ms();
  std::string problem;
  const auto expires_ms = parse_expiry(expires, now, problem);
  if (!problem.empty()) return fail(kExitInvalidInput, problem);
  return guarded([&] {
    auto store = open_store(db, /*create=*/true);
    NewToken token = make_token(user, *parsed_role, now);
    token.record.expires_ms = expires_ms;
    store->add_token(token.record);
    // The secret alone on stdout, so that a script can capture it; it is never shown again.
    std::cout << token.secret << std::endl;
    std::cerr << "libreta-server: token " << token.record.id << " created for " << user << " ("
              << role_name(*parsed_role) << "), "
              << (expires_ms ? "valid until " + format_time(*expires_ms) : "never expires")
              << ". The secret above is shown only this once." << std::endl;
    return kExitOk;
  });
}

int run_token_list(const std::string& db, bool json) {
  return guarded([&] {
    auto store = open_store(db, /*create=*/false);
    const auto tokens = store->tokens();
    const std::uint64_t now = now_ms();
    if (json) {
      auto array = nlohmann::json::array();
      for (const auto& token : tokens) {
        array.push_back({{"id", token.id},
                         {"user", token.user},
                         {"role", role_name(token.role)},
                         {"status", token_status(token, now)},
                         {"created_ms", token.created_ms},
                         {"expires_ms", optional_ms(token.expires_ms)},
                         {"last_used_ms", optional_ms(token.last_used_ms)},
                         {"revoked_ms", optional_ms(token.revoked_ms)}});
      }
      std::cout << array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
      return kExitOk;
    }
    if (tokens.empty()) {
      std::cout << "no tokens" << std::endl;
      return kExitOk;
    }
    auto time_or_dash = [](const std::optional<std::uint64_t>& ms) {
      return ms ? format_time(*ms) : std::string("-");
    };
    TextTable table({"ID", "USER", "ROLE", "STATUS", "CREATED", "EXPIRES", "LAST USED", "REVOKED"});
    for (const auto& token : tokens) {
      table.add_row({token.id, token.user, role_name(token.role), token_status(token, now),
                     format_time(token.created_ms), time_or_dash(token.expires_ms),
                     time_or_dash(token.last_used_ms), time_or_dash(token.revoked_ms)});
    }
    table.print(std::cout);
    return kExitOk;
  });
}

int run_token_revoke(const std::string& db, const std::string& id) {
  return guarded([&] {
    auto store = open_store(db, /*create=*/false);
    if (!store->revoke_token(id, now_ms())) {
      return fail(kExitInvalidInput, "no live token with id \"" + id + "\"");
    }
    std::cerr << "libreta-server: token " << id
              << " revoked. New connections with it are refused, and a running server closes "
                 "the ones open within a second."
              << std::endl;
    return kExitOk;
  });
}

}  // namespace libreta::server::app
