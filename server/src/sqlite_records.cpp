#include "sqlite_records.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "libreta/protocol/value_json.hpp"
#include "sqlite_row_text.hpp"

namespace libreta::server {
namespace {

Value parse_value(std::string_view text) {
  auto decoded = value_from_json(nlohmann::json::parse(text, nullptr, false));
  return decoded ? std::move(decoded).value() : Value();
}

}  // namespace

std::uint64_t read_last_seq(const sqlite::Database& db) {
  auto stmt = db.prepare("SELECT value FROM meta WHERE key = 'last_seq'");
  return stmt.step() ? std::stoull(stmt.text(0)) : 0;
}

ServerRow read_row(const sqlite::Statement& stmt) {
  // Columns: kRowColumns
  ServerRow row;
  row.table = stmt.text(0);
  row.id = stmt.text(1);
  row.fields = decode_fields(stmt.text_view(2));
  if (const std::string_view key_seqs = stmt.text_view(4); key_seqs.empty()) {
    if (!decode_versions(stmt.text_view(3), row.versions, row.key_seqs))
      throw Error(ErrorCode::storage, "corrupt versions in the server store");
  } else {
    // A row last written by version 2, until it is written again.
    auto versions = RowVersions::decode(stmt.text_view(3));
    if (!versions) throw Error(ErrorCode::storage, "corrupt versions in the server store");
    row.versions = std::move(*versions);
    row.key_seqs = decode_key_seqs(key_seqs);
  }
  row.seq = static_cast<std::uint64_t>(stmt.integer(5));
  row.customer = stmt.text(6);
  row.scope = stmt.text(7);
  row.scope_seq = static_cast<std::uint64_t>(stmt.integer(8));
  return row;
}

Eviction read_eviction(const sqlite::Statement& stmt) {
  // Columns: seq, user, tbl, row_id, until
  return Eviction{static_cast<std::uint64_t>(stmt.integer(0)), stmt.text(1), stmt.text(2),
                  stmt.text(3), Version::parse(stmt.text_view(4)).value_or(Version{})};
}

TokenRecord read_token(const sqlite::Statement& stmt) {
  TokenRecord token;
  token.id = stmt.text(0);
  token.hash = stmt.text(1);
  token.user = stmt.text(2);
  token.role = parse_role(stmt.text_view(3)).value_or(Role::seller);
  token.created_ms = static_cast<std::uint64_t>(stmt.integer(4));
  if (!stmt.is_null(5)) token.revoked_ms = static_cast<std::uint64_t>(stmt.integer(5));
  if (!stmt.is_null(6)) token.expires_ms = static_cast<std::uint64_t>(stmt.integer(6));
  if (!stmt.is_null(7)) token.last_used_ms = static_cast<std::uint64_t>(stmt.integer(7));
  return token;
}

ConflictRecord read_conflict(const sqlite::Statement& stmt) {
  // Columns: kConflictColumns
  auto version = [&](int column) {
    return Version::parse(stmt.text_view(column)).value_or(Version{});
  };
  return ConflictRecord{.id = static_cast<std::uint64_t>(stmt.integer(0)),
                        .table = stmt.text(2),
                        .row = stmt.text(3),
                        .field = stmt.text(4),
                        .kept_value = parse_value(stmt.text_view(5)),
                        .kept_version = version(6),
                        .kept_user = stmt.text(7),
                        .lost_value = parse_value(stmt.text_view(8)),
                        .lost_version = version(9),
                        .lost_user = stmt.text(10),
                        .detected_ms = static_cast<std::uint64_t>(stmt.integer(11)),
                        .kind = stmt.text(1)};
}

ReplicaRecord read_replica(const sqlite::Statement& stmt) {
  ReplicaRecord record;
  record.user = stmt.text(0);
  record.acked = static_cast<std::uint64_t>(stmt.integer(1));
  record.first_seq = static_cast<std::uint64_t>(stmt.integer(2));
  record.sent_seq = static_cast<std::uint64_t>(stmt.integer(3));
  return record;
}

}  // namespace libreta::server
