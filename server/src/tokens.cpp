#include "libreta/server/tokens.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>

#include "libreta/protocol/error.hpp"

namespace libreta::server {
namespace {

std::array<unsigned char, 32> random_bytes() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw Error(ErrorCode::internal, "no randomness available for a token");
  }
  return bytes;
}

std::string base64url(const unsigned char* data, std::size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < size; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3f];
  return out;
}

std::string hex(const unsigned char* data, std::size_t size) {
  std::string out;
  char digits[3];
  for (std::size_t i = 0; i < size; ++i) {
    std::snprintf(digits, sizeof digits, "%02x", data[i]);
    out += digits;
  }
  return out;
}

}  // namespace

std::string hash_token(std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(secret.data(), secret.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::internal, "cannot hash a token");
  }
  return hex(digest, length);
}

NewToken make_token(std::string_view user, Role role, std::uint64_t now_ms) {
  const auto secret_bytes = random_bytes();
  const auto id_bytes = random_bytes();
  NewToken token;
  token.secret = "lbt_" + base64url(secret_bytes.data(), secret_bytes.size());
  token.record.id = "tok_" + hex(id_bytes.data(), 6);
  token.record.hash = hash_token(token.secret);
  token.record.user = std::string(user);
  token.record.role = role;
  token.record.created_ms = now_ms;
  return token;
}

const char* role_name(Role role) {
  switch (role) {
    case Role::seller:
      return "seller";
    case Role::manager:
      return "manager";
    case Role::admin:
      return "admin";
  }
  return "seller";
}

std::optional<Role> parse_role(std::string_view name) {
  if (name == "seller") return Role::seller;
  if (name == "manager") return Role::manager;
  if (name == "admin") return Role::admin;
  return std::nullopt;
}

}  // namespace libreta::server
