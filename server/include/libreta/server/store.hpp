// The server's storage, behind an abstract interface so that the sync logic does not depend
// on the database: SQLite (sqlite_store.hpp) is the embedded default; other backends
// implement the same contract (tests/server/store_contract_test.cpp).
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
#include <vector>

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

  // The part of the row changed after `since` (all of it for 0), as sent to clients.
  RowState state_after(std::uint64_t since) const;
};

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
};

// One write transaction. Destroying it without commit() rolls everything back.
class StoreWriter {
 public:
  virtual ~StoreWriter() = default;
  virtual std::optional<ServerRow> load_row(std::string_view table, std::string_view id) = 0;
  virtual void save_row(const ServerRow& row) = 0;
  // The highest local sequence of a replica that is stored (0 if none), and its user.
  virtual std::uint64_t acked(std::string_view replica) = 0;
  virtual void set_acked(std::string_view replica, std::string_view user, std::uint64_t seq) = 0;
  virtual std::optional<std::string> user_of_replica(std::string_view replica) = 0;
  virtual void add_conflict(const ConflictRecord& conflict) = 0;
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

  // Rows whose seq is above `after`, in seq order, at most `limit`, each reduced to the
  // keys changed after `since` (since <= after).
  virtual std::vector<ServerRow> rows_after(std::uint64_t since, std::uint64_t after,
                                            std::size_t limit) = 0;
  virtual std::uint64_t last_seq() = 0;
  virtual std::uint64_t acked(std::string_view replica) = 0;

  virtual void add_token(const TokenRecord& token) = 0;
  virtual std::optional<TokenRecord> find_token_by_hash(std::string_view hash) = 0;
  virtual std::vector<TokenRecord> tokens() = 0;
  // Marks the token revoked; false if there is no such live token.
  virtual bool revoke_token(std::string_view id, std::uint64_t now_ms) = 0;

  virtual std::vector<ConflictRecord> conflicts(std::size_t limit = 1000) = 0;

  // Every row with its fields and versions in a deterministic text form, comparable with
  // Replica::canonical_dump() of a client holding the same rows.
  virtual std::string canonical_dump() = 0;
};

}  // namespace libreta::server
