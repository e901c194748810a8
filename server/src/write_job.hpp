// Work for the writer thread from one connection (WriteQueue, CommitWriter): a validated
// push, or the replica's bookkeeping alone. Made on the connection's executor, then owned by
// the queue and the writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/server/direct_write.hpp"
#include "libreta/server/store.hpp"
#include "libreta/server/sync_connection.hpp"

namespace libreta::server {

// What the writer answers a job: its ack, or an error that closes the connection; for a
// direct write, whether its precondition failed.
struct JobOutcome {
  Ack ack;
  std::optional<ProtocolError> error;
  bool stale = false;
};

// A push (its batch, already validated; an empty push is answered with the replica's
// acknowledged sequence), or, without `out`, the replica's bookkeeping alone: binding a new
// replica id to its user (`claim`), recording how far it was sent rows (`sent_seq`).
struct WriteJob {
  std::string replica;
  std::string user;
  std::string token_id;
  std::string peer;  // for log lines
  Role role = Role::seller;
  int protocol = kProtocolVersion;  // the session's
  std::vector<PushedChange> changes;
  std::uint64_t upto = 0;              // the batch's last sequence, acknowledged when done
  std::vector<RefusedChange> refused;  // found while validating, before the writer
  std::size_t admitted = 0;            // changes counted against the token (TokenAdmission)
  // The server sequence up to which the connection had sent the replica rows when the push
  // arrived (and earlier connections, as recorded): decides the reassignment rule.
  std::uint64_t sent_seq = 0;
  bool claim = false;              // the replica id is new: bind it to `user`
  std::uint64_t first_seq = 0;     // for a claim: the server's last sequence at hello
  std::shared_ptr<Outbound> out;   // null: bookkeeping only, nothing to answer
  bool compressed_frames = false;  // the connection's protocol takes compressed frames
  // A write that is not a device's push (direct_write.hpp): the writer versions and numbers
  // its changes when it applies them, checks its precondition, and answers through `done`
  // (on the publisher's thread, once the commit is durable; on the writer's when it fails).
  bool direct = false;
  std::optional<RowPrecondition> precondition;
  std::optional<ConflictResolution> resolves;
  std::function<void(JobOutcome)> done;
};

// Versions a direct write's changes with the server's clock and its replica id, and numbers
// them after what the store holds of that replica (`acked`).
void stamp_direct_write(WriteJob& job, HybridClock& clock, std::uint64_t acked);

// A refusal of one pushed change, for its ack.
inline RefusedChange refusal_of(const PushedChange& pushed, ErrorCode code, std::string why) {
  const Change& change = pushed.change;
  return RefusedChange{.seq = pushed.seq,
                       .table = change.table,
                       .row = change.row,
                       .field = change.field,
                       .code = code,
                       .message = std::move(why),
                       .element = change.element,
                       .current = std::nullopt};
}

// The replica id of the server's own writes (a customer's owner when a seller creates it);
// no device may use it.
inline constexpr std::string_view kServerReplica = "server";

}  // namespace libreta::server
