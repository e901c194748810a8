// The seller's scope (docs/security.md), read from the schema: the scope table (the
// customers) names in its owner field the seller whose scope a row of it is in, and every
// other scoped table links each row to one of those rows (TableSpec::owner_link). A seller
// reads and writes the scope rows they own and the rows linked to them. A scope row taken
// from a seller may still be written by a device of theirs that existed while it was theirs
// and has not been sent the eviction yet (work done offline): decided by what the server
// knows, never by a version the device chose.
//
// Ownership: reads rows through ScopePolicy::Rows, which the caller keeps alive.
// Threads: one thread, the writer's (rows are loaded and merged as the policy reads them).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "libreta/protocol/messages.hpp"
#include "libreta/protocol/schema.hpp"
#include "libreta/server/store.hpp"

namespace libreta::server {

class ScopePolicy {
 public:
  // What the policy reads: rows as merged so far, and the evictions the server recorded.
  class Rows {
   public:
    virtual ~Rows() = default;
    // The row as merged so far; its versions are empty when it does not exist.
    virtual const ServerRow& row(const std::string& table, const std::string& id) = 0;
    // The latest time `user` lost the row, if ever.
    virtual std::optional<Eviction> last_eviction(const std::string& user, const std::string& table,
                                                  const std::string& id) = 0;
  };

  // Throws std::invalid_argument when the schema declares no scope table.
  ScopePolicy(const Schema& schema, Rows& rows);

  const std::string& scope_table() const { return scope_table_->name; }
  const std::string& owner_field() const { return scope_table_->owner_field; }
  bool is_scope_table(const std::string& table) const { return table == scope_table_->name; }
  // The field whose change moves a row of `table` to another scope: the owner field of the
  // scope table, the link of the others.
  const std::string& scope_field(const std::string& table) const;
  // The link of a scoped table other than the scope table; null for the others.
  const std::string* link_of(const std::string& table) const;

  // The seller a scope row names as its owner; empty if none.
  std::string owner_of(const ServerRow& scope_row) const;
  // The scope row a row of a linked table names; empty if none.
  std::string linked_scope_row(const ServerRow& row, const std::string& link) const;
  // The seller the scope row `id` belongs to now (its owner as merged so far); empty if it
  // does not exist or has none.
  std::string seller_of(const std::string& id) const;
  // Whether `seller` may read the row (as stored on the server, versions not empty).
  bool may_read(const std::string& seller, const ServerRow& row) const;

  // One seller's push, checked change by change in the order they apply. Remembers the scope
  // rows the push creates: the seller's before the server writes their owner (created()).
  class SellerPush {
   public:
    // `replica`: what the server knows of the pushing device (its first and sent sequences).
    SellerPush(const ScopePolicy& policy, std::string user, const ReplicaRecord& replica,
               const std::vector<PushedChange>& changes);
    // Why the change is refused, or nothing if it may be applied.
    std::optional<std::string> refusal(const Change& change);
    // The scope rows this push created.
    const std::set<std::string>& created() const { return created_; }

   private:
    std::optional<std::string> scope_row_refusal(const Change& change);
    std::optional<std::string> linked_row_refusal(const Change& change, const std::string& link);
    // Whether the seller's device may write to the scope row `id`: it is theirs, or it was
    // taken from them and this device cannot have known yet.
    bool may_write(const std::string& id, std::string& why) const;

    const ScopePolicy& policy_;
    const std::string user_;
    const ReplicaRecord replica_;
    // The scope row each new linked row of the push names, for rows whose first change comes
    // before their link.
    std::map<std::pair<std::string, std::string>, std::string> named_;
    std::set<std::string> created_;
  };

 private:
  const Schema& schema_;
  const TableSpec* scope_table_;
  Rows& rows_;
};

}  // namespace libreta::server
