// Access tokens: a random secret shown once to the admin who creates it; the server keeps
// only its SHA-256. Thread-safe functions.
#pragma once

#include <string>
#include <string_view>

#include "libreta/server/store.hpp"

namespace libreta::server {

struct NewToken {
  std::string secret;  // "lbt_" + 43 base64url characters (256 random bits)
  TokenRecord record;
};

NewToken make_token(std::string_view user, Role role, std::uint64_t now_ms);
std::string hash_token(std::string_view secret);  // lowercase hex SHA-256

}  // namespace libreta::server
