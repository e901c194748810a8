// The sync protocol's messages (docs/protocol.md) and their JSON codec. Every message is one
// JSON object with a "type" member, in one WebSocket text frame or, compressed, one binary
// frame (compression.hpp). Decoding returns a Result
// and never throws, and checks the text against JsonLimits before parsing it. Plain data,
// thread-safe functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "libreta/protocol/change.hpp"
#include "libreta/protocol/error.hpp"
#include "libreta/protocol/json_limits.hpp"
#include "libreta/protocol/row_state.hpp"

namespace libreta {

// The wire protocol's version. A server speaks every version from kMinProtocolVersion; the
// session uses the lower of the two sides' versions. Version 2 adds compressed binary
// frames (compression.hpp); version 3 the server's state in refusals, the conflicts a
// replica lost (conflicts_pull, conflicts) and who wrote each side of a conflict; version 4
// the store's epoch in the welcome; version 5 the devices and their users in the welcome,
// and the rows still to come in the page answering a pull that asks for a count.
inline constexpr int kProtocolVersion = 5;
inline constexpr int kMinProtocolVersion = 1;
// The first version whose refusals carry `current` and whose devices learn the conflicts
// they lost.
inline constexpr int kRefusalStateProtocol = 3;
// The first version whose welcome carries the store's epoch.
inline constexpr int kStoreEpochProtocol = 4;
// The first version whose welcome lists devices and whose pulls may ask for a count.
inline constexpr int kPullTotalProtocol = 5;

// Largest sequence number on the wire: sequences travel as JSON numbers, exact up to 2^53.
inline constexpr std::uint64_t kMaxWireSequence = (1ULL << 53) - 1;

// Bounds on a message's text, checked before it is parsed (json_limits.hpp). Legal messages
// nest 5 deep at most (a page, its rows, a row, its values, a tag set) and hold about ten
// values per change or row; the largest are a device's pages (64 MiB, its frame limit) and
// a push of kMaxChangesPerBatch changes. A text is at most kMaxLongTextLength characters,
// which a peer may write escaped, up to 12 bytes for a 4-byte character.
inline constexpr JsonLimits kMessageJsonLimits{.max_bytes = 64u << 20,
                                               .max_depth = 8,
                                               .max_values = 1'000'000,
                                               .max_string_bytes = 256u << 10};
// What a server reads before it has accepted a hello: a hello is one flat object of five
// members under 1 KiB (nesting 2 lets a small message of another type be told it is out of
// order). An anonymous peer's message then costs a few KB to refuse or decode.
inline constexpr JsonLimits kHelloJsonLimits{
    .max_bytes = 4u << 10, .max_depth = 2, .max_values = 16, .max_string_bytes = 1u << 10};

// Client -> server, first message: who is connecting.
struct Hello {
  int protocol = kProtocolVersion;
  int schema = 0;       // the client's customer book schema version
  std::string replica;  // the device's replica id
  std::string token;
};

// Server -> client, answer to a good hello.
// A device and who uses it: the user its token belongs to.
struct DeviceUser {
  std::string replica;
  std::string user;

  friend bool operator==(const DeviceUser&, const DeviceUser&) = default;
};

struct Welcome {
  int protocol = kProtocolVersion;
  int schema = 0;  // the server's schema version
  std::string user;
  std::string role;
  std::uint64_t acked = 0;  // highest local sequence of this replica the server holds
  // The store's identity (protocol 4): another one than the device last saw means the store
  // went back in time (a restored backup): the device sends its writes again and pulls
  // everything again. Empty before protocol 4.
  std::string epoch;
  // The devices the server knows and their users, the ones seen last first (protocol 5):
  // who changed a field, in its history on the device.
  std::vector<DeviceUser> devices;
};

// A local change with the sequence number it has in the sending replica's change log.
struct PushedChange {
  std::uint64_t seq = 0;
  Change change;
};

// Client -> server: a batch from the change log, in sequence order.
struct Push {
  std::vector<PushedChange> changes;
};

// The two sides of a concurrent edit: told to the writer whose push met it (in its ack),
// and, from protocol 3, to the replica whose value lost (in `conflicts`).
struct ConflictNotice {
  std::string table, row, field;
  Value kept, lost;
  Version kept_version, lost_version;
  // Protocol 3 (empty or 0 before): the conflict inbox's id (0 in an ack), "concurrent_edit"
  // or "edit_of_deleted" (the kept side is the row's delete: `kept` is true), and the users
  // who wrote each side.
  std::uint64_t id = 0;
  std::string kind;
  std::string kept_user, lost_user;
};

// A pushed change the server would not take (invalid, outside the writer's scope...). It is
// acknowledged all the same, so that it leaves the change log instead of blocking it; the
// client keeps the refusal to show the seller.
struct RefusedChange {
  std::uint64_t seq = 0;
  std::string table, row, field;
  ErrorCode code = ErrorCode::invalid_value;
  std::string message;
  // Protocol 3: the refused change's element (a tag), and the server's state of the field
  // when the writer may read the row: its value and every version key of the field (tag
  // sets: all their elements' keys), or no values and versions when the server holds none.
  // Absent: the row is not the writer's to read, or not on the server at all. The device
  // puts the refused keys back to this state (docs/protocol.md, "Refusals").
  std::string element;
  std::optional<RowState> current;
};

// Server -> client: every change up to `upto` is durably stored, or refused.
struct Ack {
  std::uint64_t upto = 0;
  std::vector<ConflictNotice> conflicts;
  std::vector<RefusedChange> refused;
};

// Client -> server: send rows changed after `since`, continuing a scan at `after` (equal to
// `since` when a new scan starts). See docs/protocol.md, "Pull".
struct Pull {
  std::uint64_t since = 0;
  std::uint64_t after = 0;
  // Protocol 5: count the rows from `after` to the end, in the page's `remaining` (a first
  // download's progress). Such a page is this device's own, never a shared one.
  bool count = false;
};

// A row named by table and id.
struct RowRef {
  std::string table, id;
  bool operator==(const RowRef&) const = default;
};

// Server -> client: a page of a pull, or a live update (live = true).
struct Rows {
  std::uint64_t since = 0;
  std::uint64_t after = 0;  // where the next page starts; the new cursor when !more
  bool more = false;
  bool live = false;
  // In answer to a pull with `count` (protocol 5): the rows this page and the ones after it
  // go through, counted when it was read; 0 in any other page.
  std::uint64_t remaining = 0;
  std::vector<RowState> rows;
  // Rows that left the receiver's scope in this range (a customer reassigned to another
  // seller): the device removes them, and for a customer its contacts, interactions,
  // purchases and follow-ups too. Applied before `rows`, which may bring a row back.
  std::vector<RowRef> evicted;
};

// Client -> server (protocol 3): send the conflicts in which a value of this replica lost,
// after the conflict inbox id `after` (the device's cursor, 0 at first).
struct ConflictsPull {
  std::uint64_t after = 0;
};

// Server -> client (protocol 3): conflicts this replica lost, in inbox id order, at most a
// page. `upto` is the device's new cursor; `more`: ask again from it. Sent as an answer to
// conflicts_pull, and unsolicited once the device has asked, when a commit records a new
// one (`live`).
struct Conflicts {
  std::uint64_t upto = 0;
  bool more = false;
  bool live = false;
  std::vector<ConflictNotice> conflicts;
};

// Either way: something went wrong. `fatal` errors close the connection.
struct ProtocolError {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  bool fatal = false;
};

using Message =
    std::variant<Hello, Welcome, Push, Ack, Pull, Rows, ProtocolError, ConflictsPull, Conflicts>;

std::string encode_message(const Message& message);
// The text of a Rows message whose rows are given already encoded, each by
// encode_row_state(row): the same text as encode_message(rows) with those rows
// (`rows.rows` itself is not read). For the server's live updates, where one row state goes
// into several messages and is encoded once.
std::string encode_rows_message(const Rows& rows, std::span<const std::string* const> encoded);
// Refuses a text beyond `limits` (too_large, or malformed) before parsing it.
Result<Message> decode_message(std::string_view text,
                               const JsonLimits& limits = kMessageJsonLimits);
// The "type" name of a message ("hello", "push"...).
std::string_view message_type(const Message& message);

}  // namespace libreta
