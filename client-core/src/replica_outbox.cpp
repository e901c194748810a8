// Replica: the outbox of local changes not yet acknowledged: appending (coalesced by
// field), reading the next push whole rows at a time, and dropping what the server holds.
#include <algorithm>
#include <map>

#include "libreta/client/replica.hpp"
#include "replica_impl.hpp"

namespace libreta::client {

void Replica::Impl::append_outbox(const Change& change) {
  // Coalesce with a pending change of the same field: the server needs only the latest
  // value, judged against the version the seller saw before the first of these edits.
  auto& previous = statement(
      "DELETE FROM _outbox WHERE tbl = ? AND row_id = ? AND field = ? AND element = ? "
      "RETURNING base");
  previous.bind(1, change.table).bind(2, change.row).bind(3, change.field).bind(4, change.element);
  std::string base = change.base.to_string();
  if (previous.step() && change.element.empty()) base = previous.text(0);
  previous.reset();
  auto& insert = statement(
      "INSERT INTO _outbox(tbl, row_id, field, element, value, version, base) "
      "VALUES(?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, change.table).bind(2, change.row).bind(3, change.field).bind(4, change.element);
  insert.bind(5, value_json(change.value)).bind(6, change.version.to_string()).bind(7, base).run();
}

namespace {

// Up to `limit` outbox entries after `after`, oldest first.
void read_outbox(const Replica::Impl& impl, std::uint64_t after, std::size_t limit,
                 std::vector<OutboxEntry>& entries) {
  auto& stmt = impl.statement(
      "SELECT seq, tbl, row_id, field, element, value, version, base FROM _outbox "
      "WHERE seq > ? ORDER BY seq LIMIT ?");
  stmt.bind(1, static_cast<std::int64_t>(after));
  stmt.bind(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  while (stmt.step()) {
    OutboxEntry entry;
    entry.seq = static_cast<std::uint64_t>(stmt.integer(0));
    entry.change.table = stmt.text(1);
    entry.change.row = stmt.text(2);
    entry.change.field = stmt.text(3);
    entry.change.element = stmt.text(4);
    entry.change.value = value_from_json_text(stmt.text_view(5));
    entry.change.version = Version::parse(stmt.text_view(6)).value_or(Version{});
    entry.change.base = Version::parse(stmt.text_view(7)).value_or(Version{});
    entries.push_back(std::move(entry));
  }
  stmt.reset();
}

}  // namespace

std::vector<OutboxEntry> Replica::pending_changes(std::size_t limit) const {
  auto& impl = *impl_;
  std::vector<OutboxEntry> entries;
  read_outbox(impl, 0, limit, entries);
  // The whole log, or nothing: every row is whole.
  if (entries.size() < limit || entries.empty()) return entries;
  // A row's entries need not be together: an edit of a pending field moves its entry to
  // the end (append_outbox). A prefix keeps every row whole when it reaches the last entry
  // of each row it holds.
  std::map<std::pair<std::string, std::string>, std::uint64_t> last_of_row;
  auto& last = impl.statement("SELECT max(seq) FROM _outbox WHERE tbl = ? AND row_id = ?");
  auto last_entry = [&](const Change& change) {
    auto [it, added] = last_of_row.try_emplace({change.table, change.row}, 0);
    if (added) {
      last.bind(1, change.table).bind(2, change.row);
      last.step();
      it->second = static_cast<std::uint64_t>(last.integer(0));
      last.reset();
    }
    return it->second;
  };
  std::uint64_t reach = 0;  // the last entry of every row seen so far
  std::size_t whole = 0;    // the longest prefix of whole rows so far
  for (std::size_t i = 0; i < entries.size(); ++i) {
    reach = std::max(reach, last_entry(entries[i].change));
    if (reach == entries[i].seq) whole = i + 1;
  }
  if (whole > 0) {
    entries.resize(whole);
    return entries;
  }
  // Not even the first row fits in `limit`: the shortest prefix of whole rows past it.
  // Read in steps, because each row the prefix takes in may have entries further on.
  const std::size_t first_part = entries.size();
  while (entries.size() < kMaxPushChanges) {
    const std::size_t from = entries.size();
    read_outbox(impl, entries.back().seq, std::min(limit, kMaxPushChanges - from), entries);
    for (std::size_t i = from; i < entries.size(); ++i) {
      reach = std::max(reach, last_entry(entries[i].change));
      if (reach == entries[i].seq) {
        entries.resize(i + 1);
        return entries;
      }
    }
    if (entries.size() == from) break;
  }
  // Rows so intertwined that no prefix within the push limit holds them whole.
  entries.resize(first_part);
  return entries;
}

std::size_t Replica::pending_count() const {
  auto& stmt = impl_->statement("SELECT count(*) FROM _outbox");
  stmt.step();
  const auto count = static_cast<std::size_t>(stmt.integer(0));
  stmt.reset();
  return count;
}

std::size_t Replica::pending_rows() const {
  auto& stmt = impl_->statement("SELECT count(*) FROM (SELECT DISTINCT tbl, row_id FROM _outbox)");
  stmt.step();
  const auto count = static_cast<std::size_t>(stmt.integer(0));
  stmt.reset();
  return count;
}

void Replica::acknowledge(std::uint64_t seq) {
  auto& stmt = impl_->statement("DELETE FROM _outbox WHERE seq <= ?");
  stmt.bind(1, static_cast<std::int64_t>(seq)).run();
}

}  // namespace libreta::client
