#include "sqlite_records.hpp"

#include <algorithm>

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

// A name safe inside a JSON path: what the schema's field names are made of.
const std::string& checked_field(const std::string& field) {
  const bool plain =
      !field.empty() && field.size() <= 64 && std::all_of(field.begin(), field.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      });
  if (!plain) throw Error(ErrorCode::unknown_field, "no field named \"" + field + "\"");
  return field;
}

}  // namespace

std::string list_rows_sql(const RowQuery& query) {
  std::string sql = std::string("SELECT ") + kRowColumns +
                    " FROM rows WHERE tbl = ?1 AND id > ?2"
                    " AND json_extract(fields, '$.deleted') IS NOT 1";
  if (query.seller) sql += " AND scope = ?3";
  if (!query.customer.empty()) sql += " AND customer = ?4";
  int parameter = 5;
  for (const auto& [field, value] : query.equals) {
    sql += " AND json_extract(fields, '$." + checked_field(field) + "') = ?" +
           std::to_string(parameter++);
  }
  for (const auto& [field, tag] : query.tags) {
    sql += " AND EXISTS (SELECT 1 FROM json_each(fields, '$." + checked_field(field) +
           "') WHERE value = ?" + std::to_string(parameter++) + ")";
  }
  sql += " ORDER BY id LIMIT ?" + std::to_string(parameter);
  return sql;
}

void bind_list_rows(sqlite::Statement& stmt, const RowQuery& query) {
  stmt.bind(1, query.table).bind(2, query.after_id);
  if (query.seller) stmt.bind(3, *query.seller);
  if (!query.customer.empty()) stmt.bind(4, query.customer);
  int parameter = 5;
  for (const auto& [field, value] : query.equals) {
    const int i = parameter++;
    if (value.is_bool())
      stmt.bind(i, static_cast<std::int64_t>(value.as_bool() ? 1 : 0));
    else if (value.is_integer())
      stmt.bind(i, value.as_integer());
    else if (value.is_number())
      stmt.bind(i, value.as_number());
    else if (value.is_text())
      stmt.bind(i, value.as_text());
    else
      stmt.bind_null(i);
  }
  for (const auto& [field, tag] : query.tags) stmt.bind(parameter++, tag);
  stmt.bind(parameter, static_cast<std::int64_t>(query.limit));
}

std::string list_conflicts_sql(const ConflictQuery& query) {
  std::string sql = std::string("SELECT ") + kConflictColumns + " FROM conflicts";
  // The open ones through their partial index, in id order; resolved ones by the rowid.
  if (query.state == ConflictQuery::State::open) sql += " INDEXED BY conflicts_open";
  sql += " WHERE id > ?1";
  if (query.state == ConflictQuery::State::open) sql += " AND resolved_ms IS NULL";
  if (query.state == ConflictQuery::State::resolved) sql += " AND resolved_ms IS NOT NULL";
  if (!query.table.empty()) sql += " AND tbl = ?2";
  if (!query.row.empty()) sql += " AND row_id = ?3";
  if (query.seller) {
    sql +=
        " AND EXISTS (SELECT 1 FROM rows r WHERE r.tbl = conflicts.tbl"
        " AND r.id = conflicts.row_id AND r.scope = ?4)";
  }
  sql += " ORDER BY id LIMIT ?5";
  return sql;
}

void bind_list_conflicts(sqlite::Statement& stmt, const ConflictQuery& query) {
  stmt.bind(1, static_cast<std::int64_t>(query.after));
  if (!query.table.empty()) stmt.bind(2, query.table);
  if (!query.row.empty()) stmt.bind(3, query.row);
  if (query.seller) stmt.bind(4, *query.seller);
  stmt.bind(5, static_cast<std::int64_t>(query.limit));
}

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
                        .kind = stmt.text(1),
                        .resolved_ms = stmt.is_null(12)
                                           ? std::nullopt
                                           : std::optional<std::uint64_t>(
                                                 static_cast<std::uint64_t>(stmt.integer(12))),
                        .resolved_by = stmt.text(13),
                        .resolution = stmt.text(14)};
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
