// Identifiers created without coordination: row ids (time-ordered UUIDv7 text) and
// replica ids (16 random hex digits). Thread-safe: each call uses its own entropy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace libreta {

// A UUIDv7 in its canonical 36-character text form, ordered by `unix_millis`.
std::string new_row_id(std::uint64_t unix_millis);
// The canonical 36-character text of the UUID whose bits are `high` then `low`.
std::string uuid_text(std::uint64_t high, std::uint64_t low);
std::string new_replica_id();

bool is_valid_row_id(std::string_view id);      // 1..64 chars of [0-9A-Za-z_-]
bool is_valid_replica_id(std::string_view id);  // 1..32 chars of [0-9a-z_-]

}  // namespace libreta
