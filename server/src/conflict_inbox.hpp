// The conflicts one group commit finds, kept as values (docs/protocol.md, "Conflicts"): each
// is written to the store's inbox for the office, added to the ack of the push that found
// it, and the replica whose value lost is remembered so that its device hears of it live.
//
// Ownership: writes through the transaction's StoreWriter, which outlives it.
// Threads: the writer thread only; one per transaction.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "libreta/protocol/messages.hpp"
#include "libreta/server/store.hpp"

namespace libreta::server {

class ConflictInbox {
 public:
  ConflictInbox(StoreWriter& writer, std::uint64_t now_ms) : writer_(writer), now_ms_(now_ms) {}

  // The user of a job's replica, known without reading the store.
  void note_user(const std::string& replica, const std::string& user) { users_[replica] = user; }
  // Two concurrent edits of one field with different values: `user`'s change, which won or
  // not, and the value and version it met.
  void concurrent_edit(const Change& change, const std::string& user, bool won,
                       const Value& old_value, const Version& current, Ack& ack);
  // `user`'s edit reached a row another device deleted: kept under the tombstone, and put in
  // the inbox so that the office can restore the row with it.
  void edit_of_deleted(const Change& change, const std::string& user, const Version& deleted,
                       Ack& ack);

  std::uint64_t recorded() const { return recorded_; }
  // The replicas whose value lost a conflict recorded here.
  const std::set<std::string>& losers() const { return losers_; }

 private:
  // One side of a conflict: a value, its version and the user who wrote it.
  struct Side {
    Value value;
    Version version;
    std::string user;
  };
  std::string user_of(const std::string& replica);
  void record(const Change& change, const char* kind, const Side& kept, const Side& lost, Ack& ack);

  StoreWriter& writer_;
  const std::uint64_t now_ms_;
  std::map<std::string, std::string> users_;  // replica -> user, cached
  std::uint64_t recorded_ = 0;
  std::set<std::string> losers_;
};

}  // namespace libreta::server
