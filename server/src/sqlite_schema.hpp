// The tables of the server's SQLite file and their migrations from earlier file versions.
//
// Tables:
//   rows(tbl, id, fields JSON, versions JSON, key_seqs, seq, customer, scope, scope_seq)
//       one row per synced row; versions holds each key's version and the server sequence
//       of its last change (encode_versions; key_seqs is empty, or a version 2 row's
//       sequences until the row is written again); seq is the greatest, indexed for pulls;
//       scope (the owning seller) with seq is indexed for a seller's pulls, customer for
//       finding a customer's rows when it is reassigned
//   evictions(seq, user, tbl, row_id, until)     rows that left a seller's scope
//   replicas(replica, user, acked, updated_ms, first_seq, sent_seq)
//       push idempotency and authorship: the user a replica id belongs to (the first to
//       use it), the server sequence when it was first seen, and how far the server has
//       sent it rows (for the reassignment rule, docs/security.md)
//   tokens(id, hash, user, role, created_ms, revoked_ms, expires_ms, last_used_ms)
//   conflicts(..., lost_replica)                  the conflict inbox, with the replica whose
//       value lost, indexed so that each replica learns the conflicts it lost
//   meta(key, value)                              last_seq, file_version, epoch (the store's
//       identity: new at creation, at each backup and at each restore), backup_of
#pragma once

#include <string>

#include "libreta/server/sqlite_store.hpp"
#include "libreta/sqlite/sqlite.hpp"

namespace libreta::server {

// Sets up the write connection of the file `name` (WAL, durable commits, its page cache and
// size limit), and creates or brings its tables to the current file version. Throws
// Error(schema_too_new) for a file written by a newer server.
void prepare_store_file(sqlite::Database& writer, const std::string& name,
                        const SqliteStoreOptions& options);

// The file format this server writes (and the newest it reads).
int current_store_file_version();

// A new store epoch: 32 random hex digits.
std::string new_store_epoch();

}  // namespace libreta::server
