// Writes that are not a device's push: the office's pages and the REST API. They go through
// the sync service (SyncService::write) and so through the same validation, merge, conflict
// detection, sequence numbers, scope rules and live fan-out as a push; nothing writes the
// store behind its back.
//
// Each change is attributed to its user and origin: its version names a replica id of the
// server's own ("office-…" or "api-…", one per user and origin, which no device may use),
// bound to the user like a device's, and is dated by the server's clock when the writer
// applies it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libreta/protocol/change.hpp"
#include "libreta/protocol/error.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/protocol/row_versions.hpp"
#include "libreta/server/store.hpp"

namespace libreta::server {

enum class WriteOrigin { office, api };
const char* origin_name(WriteOrigin origin);

// The replica id of a user's writes from an origin: "office-" or "api-" and 16 hex digits of
// a hash of the user.
std::string direct_replica_id(WriteOrigin origin, std::string_view user);
// Whether a replica id is one of the server's own ("server", "office-…", "api-…"): a device
// may not use it.
bool is_reserved_replica_id(std::string_view replica);

// The entity tag of a row's state: it changes whenever any field of the row changes (its
// versions). A row never written has the tag of empty versions.
std::string row_etag(const RowVersions& versions);

// The write applies only if the row still has this entity tag (HTTP If-Match).
struct RowPrecondition {
  std::string table;
  std::string row;
  std::string etag;
};

// The write resolves an open conflict of the inbox, in the same transaction: "kept",
// "took_lost" or "restored". Resolved already: nothing is applied (the result is stale).
struct ConflictResolution {
  std::uint64_t id = 0;
  std::string resolution;
};

struct DirectWrite {
  std::string user;
  Role role = Role::manager;
  WriteOrigin origin = WriteOrigin::api;
  // Table, row, field (element for a tag), value and base (the version the writer saw; a
  // version other than the stored one records a conflict). The version is the service's.
  std::vector<Change> changes;
  std::optional<RowPrecondition> precondition;
  std::optional<ConflictResolution> resolves;
};

struct DirectWriteResult {
  // Stored (durable) and announced to the devices; false when refused or failed.
  bool stored = false;
  // The precondition did not hold, or the conflict it resolves was resolved already: nothing
  // was applied.
  bool stale = false;
  // Changes refused (validation, scope, bounds); the others were applied.
  std::vector<RefusedChange> refused;
  // Conflicts the write found: a field changed since the base the writer gave.
  std::vector<ConflictNotice> conflicts;
  // Not stored at all (storage, shutting down): the code and why.
  std::optional<ErrorCode> error;
  std::string message;
};

}  // namespace libreta::server
