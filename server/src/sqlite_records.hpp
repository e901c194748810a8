// The server store's records as read from its SQLite statements: each reader takes the
// columns of its query, listed beside it. Pure over a statement positioned on a row.
#pragma once

#include <cstdint>
#include <string>

#include "libreta/server/store.hpp"
#include "libreta/sqlite/sqlite.hpp"

namespace libreta::server {

// The columns of a row, as read_row takes them.
inline constexpr char kRowColumns[] =
    "tbl, id, fields, versions, key_seqs, seq, customer, scope, scope_seq";
// The columns of a conflict, as read_conflict takes them.
inline constexpr const char* kConflictColumns =
    "id, kind, tbl, row_id, field, kept_value, kept_version, kept_user, lost_value, "
    "lost_version, lost_user, detected_ms, resolved_ms, resolved_by, resolution";
// The columns of a token, as read_token takes them.
inline constexpr const char* kTokenColumns =
    "id, hash, user, role, created_ms, revoked_ms, expires_ms, last_used_ms";
// A replica by id, as read_replica takes it.
inline constexpr const char* kReplicaQuery =
    "SELECT user, acked, first_seq, sent_seq FROM replicas WHERE replica = ?";

std::uint64_t read_last_seq(const sqlite::Database& db);
// The statement of Store::list_rows, and its parameters. Field names must be the schema's
// (they are written into JSON paths): anything else throws Error(unknown_field).
std::string list_rows_sql(const RowQuery& query);
// The statement of Store::list_conflicts, and its parameters.
std::string list_conflicts_sql(const ConflictQuery& query);
void bind_list_conflicts(sqlite::Statement& stmt, const ConflictQuery& query);
void bind_list_rows(sqlite::Statement& stmt, const RowQuery& query);
ServerRow read_row(const sqlite::Statement& stmt);
// Columns: seq, user, tbl, row_id, until
Eviction read_eviction(const sqlite::Statement& stmt);
TokenRecord read_token(const sqlite::Statement& stmt);
ConflictRecord read_conflict(const sqlite::Statement& stmt);
ReplicaRecord read_replica(const sqlite::Statement& stmt);

}  // namespace libreta::server
