// The text of a row's stored parts in the server's SQLite file: its fields and its versions
// with the server sequence of each key's last change, JSON readable with SQLite's json
// functions (as the version 1 to 2 migration does). Written and read by json_text, not by a
// general JSON library: the writer loads and saves a row for every change it applies.
// Anything but what these encoders write is corrupt. Pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "libreta/protocol/row_versions.hpp"
#include "libreta/protocol/value.hpp"

namespace libreta::server {

using KeySeqs = std::map<std::string, std::uint64_t, std::less<>>;

// {"field": value, ...}, in field order.
std::string encode_fields(const Record& fields);
// Throws Error(storage) when the text is not what encode_fields writes.
Record decode_fields(std::string_view text);

// The `versions` text since file version 3: each key's version with the server sequence of
// its last change (encode_versions in sqlite_row_text.cpp says how).
std::string encode_versions(const RowVersions& versions, const KeySeqs& seqs);
// Reads what encode_versions writes; false when the text is anything else.
bool decode_versions(std::string_view text, RowVersions& versions, KeySeqs& seqs);

// Version 2's key_seqs, read until such a row is written again; throws Error(storage) when
// corrupt.
KeySeqs decode_key_seqs(std::string_view text);

}  // namespace libreta::server
