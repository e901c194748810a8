// The plain-SQLite baselines the benchmarks measure in the same run as the figure they
// stand beside: what SQLite alone takes for the same rows or edits on the same disk, with
// none of libreta's work. Each opens its own file; single-threaded.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "libreta/protocol/customer_book.hpp"
#include "workload.hpp"

namespace libreta::bench {

// One customer as the baselines bind it: a value per column of the customers table in
// schema order (tag sets bound as JSON array text, as the replica stores them); with
// `replica_like`, also the replica's versions blob and a search document as the replica's.
struct BaselineRow {
  std::string id;
  std::vector<Value> columns;
  std::string versions;
  std::string search_body;
};
std::vector<BaselineRow> baseline_rows(const std::vector<Customer>& customers, bool replica_like);

enum class BaselineKind {
  plain,      // id TEXT PRIMARY KEY + one column per field: the reference of the ratios
  indexed,    // plus a _versions column and the replica's three indexes on customers
  search,     // plus one FTS5 document per customer, as the replica keeps
  returning,  // as search, with the replica's statement: INSERT .. ON CONFLICT .. RETURNING
  deferred,   // as search, but the indexes are created after the rows (same transaction)
};
// Its key in the figures ("indexed") and its line in the table ("+versions+indexes").
const char* baseline_key(BaselineKind kind);
const char* baseline_name(BaselineKind kind);

// The replica's connection settings (Replica::open) and the server's durability.
inline constexpr const char* kReplicaSynchronous = "NORMAL";
inline constexpr const char* kServerSynchronous = "FULL";

// Bulk-inserts `rows` into a new `file` (WAL, synchronous NORMAL, as the replica) in one
// transaction with one prepared statement; returns the seconds from BEGIN to COMMIT.
// Creating the file and the table is not timed. The file is left for plain_updates().
double bulk_insert(const std::filesystem::path& file, const std::vector<BaselineRow>& rows,
                   BaselineKind kind = BaselineKind::plain);

// The same edits as UPDATEs of bulk_insert()'s plain table, in transactions of `batch` with
// the server's durability (synchronous FULL): the least a server that stores the pushes
// durably in the same batches has to do. Returns the seconds.
double plain_updates(const std::filesystem::path& file, const std::vector<workload::Edit>& edits,
                     std::size_t batch);

// The median latency in seconds of `count` single-row durable commits (WAL, synchronous
// FULL) in a new `file`, as the server makes one per live edit.
double durable_commit_latency(const std::filesystem::path& file, std::size_t count);

}  // namespace libreta::bench
