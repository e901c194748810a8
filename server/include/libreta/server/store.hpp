// The server's storage, behind an abstract interface so that the sync logic does not depend
// on the database: SQLite (sqlite_store.hpp) is the embedded default, and the only backend
// so far (tests/server/store_test.cpp and the sync service's tests hold it to this contract).
//
// Threads: read methods of Store may be called from any thread at once. begin_write() is
// called by one thread at a time (the sync service's writer), and its StoreWriter is used
// by that thread only. Storage failures throw libreta::Error (storage, storage_full).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libreta/protocol/messages.hpp"
#include "libreta/protocol/row_state.hpp"
#include "libreta/protocol/row_versions.hpp"
#include "libreta/protocol/value.hpp"

namespace libreta::server {

// A row as the server keeps it: every field (known to the schema or not, "deleted"
// included), their versions, and the server sequence of the last change of each version key.
struct ServerRow {
  std::string table;
  std::string id;
  Record fields;
  RowVersions versions;
  std::map<std::string, std::uint64_t, std::less<>> key_seqs;
  std::uint64_t seq = 0;  // the greatest of key_seqs: when the row last changed

  // Scope (docs/security.md): the customer the row belongs to (its own id for a customer),
  // the seller whose scope it is in (the customer's owner; empty: managers only), and the
  // sequence at which it entered that scope. A seller whose cursor is below scope_seq has
  // never had the row and receives all of it.
  std::string customer;
  std::string scope;
  std::uint64_t scope_seq = 0;

  // The part of the row changed after `since` (all of it for 0), as sent to clients.
  RowState state_after(std::uint64_t since) const;
};

// A row that left a seller's scope at `seq` (its customer was given to another seller, or
// a child moved to another customer). `until` is the version of the change that moved it:
// that seller's edits older than it were made while the row was theirs and are accepted.
struct Eviction {
  std::uint64_t seq = 0;
  std::string user;
  std::string table, row;
  Version until;
};

// One page of a pull, read from one consistent snapshot of the store.
struct RowsPage {
  std::vector<ServerRow> rows;      // seq above the pull's `after`, in seq order
  std::vector<Eviction> evictions;  // of the reader's scope, seq in (after, end]
  std::uint64_t end = 0;            // the page covers (after, end]: the next page starts here
  bool more = false;                // the page is full; the scan goes on from `end`
  std::uint64_t snapshot_seq = 0;   // the store's last sequence in the page's snapshot
};

// seller: their customers and those customers' rows; manager: everything, and may give a
// customer to another seller; admin: a manager who also manages tokens.
enum class Role { seller, manager, admin };
const char* role_name(Role role);
std::optional<Role> parse_role(std::string_view name);

struct TokenRecord {
  std::string id;    // short public id, for listing and revoking
  std::string hash;  // SHA-256 of the secret, hex; the secret itself is never stored
  std::string user;
  Role role = Role::seller;
  std::uint64_t created_ms = 0;
  std::optional<std::uint64_t> revoked_ms;
  std::optional<std::uint64_t> expires_ms;    // refused from then on; none: never expires
  std::optional<std::uint64_t> last_used_ms;  // its last accepted hello (written each second)
};

// Two concurrent edits of one field: the value that was kept and the one that lost, with
// who wrote each (user and device) and when (the versions' clocks).
struct ConflictRecord {
  std::uint64_t id = 0;
  std::string table, row, field;
  Value kept_value;
  Version kept_version;
  std::string kept_user;
  Value lost_value;
  Version lost_version;
  std::string lost_user;
  std::uint64_t detected_ms = 0;
  // "concurrent_edit", or "edit_of_deleted" when the kept side is a delete of the row.
  std::string kind = "concurrent_edit";
  // Once someone in the office (or a seller) dealt with it: when, who, and how ("kept",
  // "took_lost", "restored"). An open conflict has none.
  std::optional<std::uint64_t> resolved_ms;
  std::string resolved_by;
  std::string resolution;
};

// A listing of the conflict inbox, in id order.
struct ConflictQuery {
  enum class State { open, resolved, any };
  State state = State::open;
  const std::string* seller = nullptr;  // only conflicts on rows of that seller's scope
  std::string table, row;               // only those of a table, of a row, when set
  std::uint64_t after = 0;              // ids above it: where the previous page ended
  std::size_t limit = 50;
};

// A device's replica as the server knows it. Its id belongs to the user who first used it
// (docs/security.md): another user's hello with it is refused.
struct ReplicaRecord {
  std::string user;
  std::uint64_t acked = 0;      // the highest local sequence of it that is stored
  std::uint64_t first_seq = 0;  // the server's last sequence when it was first seen
  // The highest server sequence the server had sent it rows up to, as last recorded: a
  // row that left its user's scope at or before this was evicted on that device.
  std::uint64_t sent_seq = 0;
};

// A listing of one table's rows (the office's pages, the REST API), in id order.
struct RowQuery {
  std::string table;
  const std::string* seller = nullptr;  // only rows of that seller's scope; all when null
  std::string customer;                 // when set, only the rows that belong to it
  // Only rows whose field has this value; field names are the table's, as the schema says.
  std::vector<std::pair<std::string, Value>> equals;
  // Only rows whose tag-set field holds this tag.
  std::vector<std::pair<std::string, std::string>> tags;
  std::string after_id;  // only ids above it: where the previous page ended
  std::size_t limit = 50;
};

// A device as the server knows it, for the office: its replica record and when it last
// pushed or was recorded.
struct DeviceRecord {
  std::string replica;
  ReplicaRecord record;
  std::uint64_t updated_ms = 0;
};

// One write transaction. Destroying it without commit() rolls everything back.
class StoreWriter {
 public:
  virtual ~StoreWriter() = default;
  virtual std::optional<ServerRow> load_row(std::string_view table, std::string_view id) = 0;
  virtual void save_row(const ServerRow& row) = 0;
  // The rows of other tables that belong to a customer (contacts, interactions...).
  virtual std::vector<ServerRow> children_of(std::string_view customer) = 0;
  virtual void add_eviction(const Eviction& eviction) = 0;
  // The last sequence at which a row entered, changed in or left the seller's scope (0 if
  // none): a seller's pull after it finds nothing.
  virtual std::uint64_t last_change_of_scope(std::string_view seller) = 0;
  // The latest time `user` lost the row, if ever.
  virtual std::optional<Eviction> last_eviction(std::string_view user, std::string_view table,
                                                std::string_view row) = 0;
  // The highest local sequence of a replica that is stored (0 if none), and its user.
  virtual std::uint64_t acked(std::string_view replica) = 0;
  virtual void set_acked(std::string_view replica, std::string_view user, std::uint64_t seq) = 0;
  virtual std::optional<std::string> user_of_replica(std::string_view replica) = 0;
  virtual std::optional<ReplicaRecord> replica(std::string_view replica) = 0;
  // Binds a replica id nobody has used to `user`, first seen at `first_seq`; nothing if
  // the id is known already.
  virtual void claim_replica(std::string_view replica, std::string_view user,
                             std::uint64_t first_seq) = 0;
  // Raises the replica's sent_seq to `seq` (never lowers it).
  virtual void set_sent(std::string_view replica, std::uint64_t seq) = 0;
  virtual void add_conflict(const ConflictRecord& conflict) = 0;
  // Marks an open conflict resolved; false when there is no such open conflict.
  virtual bool resolve_conflict(std::uint64_t id, std::string_view user,
                                std::string_view resolution, std::uint64_t now_ms) = 0;
  virtual std::uint64_t last_seq() = 0;
  virtual void set_last_seq(std::uint64_t seq) = 0;
  // Makes everything durable; throws (storage_full on a full disk) and leaves nothing
  // written when it cannot.
  virtual void commit() = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual std::unique_ptr<StoreWriter> begin_write() = 0;

  // Rows whose seq is above `after`, in seq order, at most `limit`: of the scope of `seller`
  // (with that seller's evictions), or every row when `seller` is null.
  virtual RowsPage read_page(std::uint64_t after, std::size_t limit, const std::string* seller) = 0;
  virtual std::uint64_t last_seq() = 0;
  virtual std::uint64_t acked(std::string_view replica) = 0;
  // One row as stored, deleted or not; nothing when the row was never written.
  virtual std::optional<ServerRow> find_row(std::string_view table, std::string_view id) = 0;
  // The rows the query selects, deleted ones left out, at most `query.limit`.
  virtual std::vector<ServerRow> list_rows(const RowQuery& query) = 0;

  virtual void add_token(const TokenRecord& token) = 0;
  virtual std::optional<TokenRecord> find_token_by_hash(std::string_view hash) = 0;
  virtual std::vector<TokenRecord> tokens() = 0;
  // Marks the token revoked; false if there is no such live token.
  virtual bool revoke_token(std::string_view id, std::uint64_t now_ms) = 0;
  // Ids of the tokens revoked, or expired at `now_ms` (revocations may come from another
  // process: the server looks here to close their sessions).
  virtual std::vector<std::string> revoked_token_ids(std::uint64_t now_ms) = 0;
  // Records when tokens were last used (token id → unix ms); never moves a time back.
  virtual void record_token_uses(const std::map<std::string, std::uint64_t>& last_used_ms) = 0;

  virtual std::vector<ConflictRecord> conflicts(std::size_t limit = 1000) = 0;
  // The conflicts in which a value of `replica` lost, with an id above `after`, in id order.
  virtual std::vector<ConflictRecord> conflicts_lost_by(std::string_view replica,
                                                        std::uint64_t after, std::size_t limit) = 0;
  virtual std::vector<ConflictRecord> list_conflicts(const ConflictQuery& query) = 0;
  virtual std::optional<ConflictRecord> find_conflict(std::uint64_t id) = 0;
  virtual std::optional<ReplicaRecord> replica(std::string_view replica) = 0;
  // The `limit` devices seen last, most recent first.
  virtual std::vector<DeviceRecord> devices(std::size_t limit) = 0;
  // Who uses each device: the `limit` devices seen last, most recent first.
  virtual std::vector<DeviceUser> device_users(std::size_t limit) = 0;
  // How many rows a page read from `after` onwards would go through, to the end: of the
  // scope of `seller`, or every row when `seller` is null.
  virtual std::uint64_t count_rows_after(std::uint64_t after, const std::string* seller) = 0;

  // What the store takes on disk, in bytes (for the operator's metrics).
  virtual std::uint64_t size_bytes() = 0;
  // The store's identity, told to devices in the welcome: a new one when the store is made,
  // and each time it is restored from a backup (sqlite_backup.hpp).
  virtual std::string epoch() = 0;

  // Every row with its fields and versions in a deterministic text form, comparable with
  // Replica::canonical_dump() of a client holding the same rows.
  virtual std::string canonical_dump() = 0;
  // The same, of the rows in a seller's scope: what that seller's replica must hold.
  virtual std::string canonical_dump_of_scope(std::string_view seller) = 0;
};

}  // namespace libreta::server
