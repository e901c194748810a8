#include "live_update.hpp"

#include <deque>
#include <utility>

#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/messages.hpp"

namespace libreta::server {

SharedMessage::SharedMessage(std::string encoded)
    : text(std::make_shared<const Frame>(Frame{std::move(encoded), false})) {
  if (auto bytes = compress_message(text->bytes, kServerCompressionLevel))
    compressed = std::make_shared<const Frame>(Frame{std::move(*bytes), true});
}

std::map<std::string, std::uint64_t> SellerCursors::since(std::uint64_t from, std::uint64_t to,
                                                          const std::vector<const GroupRow*>& saved,
                                                          const std::vector<Eviction>& evictions) {
  std::map<std::string, std::uint64_t> since;
  auto touch = [&](const std::string& seller) {
    if (seller.empty() || since.count(seller)) return;
    auto& last = last_update_.try_emplace(seller, from - 1).first->second;
    since.emplace(seller, last);
    last = to;
  };
  for (const GroupRow* entry : saved) touch(entry->row.scope);
  for (const Eviction& eviction : evictions) touch(eviction.user);
  return since;
}

std::shared_ptr<const CommitNotice> live_update(std::uint64_t from, std::uint64_t to,
                                                const std::vector<const GroupRow*>& saved,
                                                const std::vector<Eviction>& evictions,
                                                const std::map<std::string, std::uint64_t>& since,
                                                std::set<std::string> losers) {
  std::deque<std::string> encoded;  // every row state's text; a deque keeps their addresses
  auto encode = [&](const RowState& state) {
    return &encoded.emplace_back(encode_row_state(state));
  };
  // Everything, for managers: the keys this commit changed.
  Rows everything;
  everything.live = true;
  everything.since = from - 1;
  everything.after = to;
  std::vector<const std::string*> everything_rows;
  // Each seller's part: their rows (all of a row that just entered their scope) and the
  // rows they lost.
  struct SellerPart {
    Rows rows;
    std::vector<const std::string*> encoded;
  };
  std::map<std::string, SellerPart> by_seller;
  auto seller_part = [&](const std::string& seller) -> SellerPart& {
    auto it = by_seller.find(seller);
    if (it == by_seller.end()) {
      SellerPart part;
      part.rows.live = true;
      part.rows.after = to;
      // Nothing of this seller's changed since: a connection that has it may apply this
      // one.
      part.rows.since = since.at(seller);
      it = by_seller.emplace(seller, std::move(part)).first;
    }
    return it->second;
  };
  for (const GroupRow* entry : saved) {
    const ServerRow& row = entry->row;
    const std::string* changed = nullptr;
    if (!entry->changed.empty()) {
      changed = encode(row.state_after(from - 1));
      everything_rows.push_back(changed);
    }
    if (row.scope.empty()) continue;
    const std::string* for_seller = row.scope_seq < from ? changed : nullptr;
    if (!for_seller) {
      RowState state = row.state_after(row.scope_seq >= from ? 0 : from - 1);
      if (!state.versions.empty()) for_seller = encode(state);
    }
    if (for_seller) seller_part(row.scope).encoded.push_back(for_seller);
  }
  for (const Eviction& eviction : evictions) {
    seller_part(eviction.user).rows.evicted.push_back({eviction.table, eviction.row});
  }
  auto notice = std::make_shared<CommitNotice>(
      CommitNotice{from,
                   to,
                   SharedMessage(encode_rows_message(everything, everything_rows)),
                   {},
                   std::move(losers)});
  for (auto& [seller, part] : by_seller) {
    notice->by_seller.emplace(
        seller,
        SellerUpdate{part.rows.since, SharedMessage(encode_rows_message(part.rows, part.encoded))});
  }
  return notice;
}

}  // namespace libreta::server
