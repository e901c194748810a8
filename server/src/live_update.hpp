// A commit's live update (docs/protocol.md, "Live updates"): one Rows frame for every
// connection that reads everything, and one per seller whose scope the commit touched, each
// encoded (and compressed) once and shared by every connection that sends it. Built on the
// publisher thread from what the writer committed; sent by the SessionRegistry's fan-out.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "group_rows.hpp"
#include "libreta/server/frame.hpp"
#include "libreta/server/store.hpp"

namespace libreta::server {

// A message encoded once for many connections: its text frame, and the compressed frame
// when compressing gains (compressed once, not once per connection).
struct SharedMessage {
  SharedFrame text;
  SharedFrame compressed;  // null: not worth it

  explicit SharedMessage(std::string encoded);  // a message's text (encode_message...)
  const SharedFrame& for_connection(bool compressed_frames) const {
    return compressed_frames && compressed ? compressed : text;
  }
};

// A seller's part of a commit: a live Rows frame carrying every change to their scope
// after `since` (their previous update), so it applies on any connection at or past it.
struct SellerUpdate {
  std::uint64_t since = 0;
  SharedMessage frame;
};

// What a commit changed, for the live connections: seqs (from, to] and the encoded live
// Rows messages, each made once and shared by every connection that sends it.
struct CommitNotice {
  std::uint64_t from = 0;                         // first sequence of the commit
  std::uint64_t to = 0;                           // last sequence
  SharedMessage everything;                       // for managers and admins
  std::map<std::string, SellerUpdate> by_seller;  // only sellers whose scope changed
  std::set<std::string> losers;  // replicas whose value lost a conflict this commit recorded
};

// Where each seller's last live update ended, so that their next one says from which
// sequence it applies. Writer thread only: it moves in commit order.
class SellerCursors {
 public:
  bool knows(const std::string& seller) const { return last_update_.count(seller) > 0; }
  // For a seller's first update since the server started: the last sequence at which their
  // scope changed before this commit (read before its saves).
  void start(const std::string& seller, std::uint64_t seq) { last_update_.emplace(seller, seq); }
  // Where each seller's part of the live update of commit (from, to] starts: the end of
  // their previous update. Moves the cursor of every seller the commit touched (every
  // seller whose scope a saved row is in, and every seller who lost a row) to `to`.
  std::map<std::string, std::uint64_t> since(std::uint64_t from, std::uint64_t to,
                                             const std::vector<const GroupRow*>& saved,
                                             const std::vector<Eviction>& evictions);

 private:
  std::map<std::string, std::uint64_t> last_update_;
};

// The live update of one commit of sequences (from, to]: one frame for the readers of
// everything, and one per seller whose scope the commit touched, starting where
// SellerCursors::since says. Each row state is encoded once: a row that did not just enter
// its seller's scope goes into the managers' update and its seller's with the same state.
std::shared_ptr<const CommitNotice> live_update(std::uint64_t from, std::uint64_t to,
                                                const std::vector<const GroupRow*>& saved,
                                                const std::vector<Eviction>& evictions,
                                                const std::map<std::string, std::uint64_t>& since,
                                                std::set<std::string> losers);

}  // namespace libreta::server
