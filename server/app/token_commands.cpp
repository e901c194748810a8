// `libreta-server token create|list|revoke`: access tokens, administered offline on the
// database file.

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

}  // namespace

int run_token_create(const std::string& db, const std::string& user, const std::string& role) {
  const std::optional<Role> parsed_role = parse_role(role);
  if (!parsed_role) {
    return fail(kExitInvalidInput,
                "unknown role \"" + role + "\": expected seller, manager or admin");
  }
  if (!valid_user(user)) {
    return fail(kExitInvalidInput, "--user must be 1 to " + std::to_string(kMaxUserBytes) +
                                       " bytes without control characters");
  }
  return guarded([&] {
    auto store = open_store(db, /*create=*/true);
    const NewToken token = make_token(user, *parsed_role, now_ms());
    store->add_token(token.record);
    // The secret alone on stdout, so that a script can capture it; it is never shown again.
    std::cout << token.secret << std::endl;
    log_line("event=token_created id=" + token.record.id + " user=" + quote(user) + " role=" +
             role_name(*parsed_role) + " note=\"the secret above is shown only this once\"");
    return kExitOk;
  });
}

int run_token_list(const std::string& db, bool json) {
  return guarded([&] {
    auto store = open_store(db, /*create=*/false);
    const auto tokens = store->tokens();
    if (json) {
      auto array = nlohmann::json::array();
      for (const auto& token : tokens) {
        array.push_back({{"id", token.id},
                         {"user", token.user},
                         {"role", role_name(token.role)},
                         {"created_ms", token.created_ms},
                         {"revoked_ms", token.revoked_ms ? nlohmann::json(*token.revoked_ms)
                                                         : nlohmann::json(nullptr)}});
      }
      std::cout << array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
      return kExitOk;
    }
    if (tokens.empty()) {
      std::cout << "no tokens" << std::endl;
      return kExitOk;
    }
    TextTable table({"ID", "USER", "ROLE", "CREATED", "REVOKED"});
    for (const auto& token : tokens) {
      table.add_row({token.id, token.user, role_name(token.role), format_time(token.created_ms),
                     token.revoked_ms ? format_time(*token.revoked_ms) : "-"});
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
    log_line("event=token_revoked id=" + quote(id) +
             " note=\"new connections with it are refused; open ones last until they reconnect\"");
    return kExitOk;
  });
}

}  // namespace libreta::server::app
