// A seller's local replica of the customer book: one SQLite file (WAL) holding the rows,
// their per-field versions and the change log (outbox) of local writes not yet sent.
// A Replica owns one SQLite connection and is not thread-safe: one thread (or one serial
// executor) calls it. Writes and merges throw libreta::Error and change nothing on failure.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libreta/client/queries.hpp"
#include "libreta/client/sync_replica.hpp"
#include "libreta/protocol/change.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/hlc.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/protocol/row_state.hpp"
#include "libreta/protocol/value.hpp"

namespace libreta::client {

struct ReplicaOptions {
  // Physical time for the hybrid clock; the system clock when null.
  std::shared_ptr<ClockSource> clock;
  std::chrono::milliseconds max_clock_skew = HybridClock::kDefaultMaxSkew;
  // The replica id to give a new file; a random one when empty. Ignored for an existing
  // file, which keeps its own.
  std::string new_replica_id;
};

// The most changes Replica::pending_changes() gathers to keep one row's pending changes
// together when they alone are more than its limit. It must stay within the server's limit
// on changes in one push (10,000, docs/protocol.md), or that push is refused whole.
inline constexpr std::size_t kMaxPushChanges = 10'000;

// Which conflicts reported_conflicts() lists: those this replica's value lost, or won.
enum class ConflictSide { any, lost, won };

// The text the replica's full-text search indexes for a row of `table` with `fields`: each
// searchable field's text, with its folded form, a phone's runs of digits and a compact tax
// id. Pure; the benchmarks build their search baseline with it.
std::string search_document(const TableSpec& table, const Record& fields);

class Replica {
 public:
  // Opens the replica file, creating it if missing, and migrates its schema.
  static std::unique_ptr<Replica> open(const std::filesystem::path& file,
                                       ReplicaOptions options = {});
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  const std::string& replica_id() const;
  int schema_version() const;
  const std::filesystem::path& path() const;

  // ---- Generic access by table and field name --------------------------------------------
  // Creates a row (a new id when `id` is empty) and returns its id.
  std::string create(std::string_view table, const Record& fields, std::string id = {});
  // The live row's fields (not deleted), or nullopt.
  std::optional<Record> get(std::string_view table, std::string_view id) const;
  // The row's fields whether deleted or not (a delete keeps them under the tombstone), or
  // nullopt when this replica does not hold the row.
  std::optional<Record> get_with_deleted(std::string_view table, std::string_view id) const;
  // The row as this replica holds it, deleted or not ("deleted" is one of its fields), with
  // the version of each key: when each field was last written and by which replica. nullopt
  // when this replica does not hold the row.
  std::optional<RowState> row_state(std::string_view table, std::string_view id) const;
  // Sets the given fields (null clears one); returns how many actually changed.
  std::size_t update(std::string_view table, std::string_view id, const Record& fields);
  void remove(std::string_view table, std::string_view id);
  // Undoes a delete: the row is live again with the fields it had (a new version of its
  // "deleted" field). not_found when this replica does not hold it, or it is not deleted.
  void restore(std::string_view table, std::string_view id);
  // Adds or removes one tag of a tag-set field; returns whether the set changed.
  bool add_tag(std::string_view table, std::string_view id, std::string_view field,
               std::string_view tag);
  bool remove_tag(std::string_view table, std::string_view id, std::string_view field,
                  std::string_view tag);

  // ---- Typed access ------------------------------------------------------------------------
  // create() returns the new id (entity.id is used when set); update() writes the fields
  // that differ from the stored row and returns how many did.
  std::string create(const Customer& e) { return create(tables::customers, to_record(e), e.id); }
  std::string create(const Contact& e) { return create(tables::contacts, to_record(e), e.id); }
  std::string create(const Interaction& e) {
    return create(tables::interactions, to_record(e), e.id);
  }
  std::string create(const Purchase& e) { return create(tables::purchases, to_record(e), e.id); }
  std::string create(const FollowUp& e) { return create(tables::followups, to_record(e), e.id); }
  std::size_t update(const Customer& e) {
    return update_entity(tables::customers, e.id, to_record(e));
  }
  std::size_t update(const Contact& e) {
    return update_entity(tables::contacts, e.id, to_record(e));
  }
  std::size_t update(const Interaction& e) {
    return update_entity(tables::interactions, e.id, to_record(e));
  }
  std::size_t update(const Purchase& e) {
    return update_entity(tables::purchases, e.id, to_record(e));
  }
  std::size_t update(const FollowUp& e) {
    return update_entity(tables::followups, e.id, to_record(e));
  }
  std::optional<Customer> customer(std::string_view id) const { return typed<Customer>(id); }
  std::optional<Contact> contact(std::string_view id) const { return typed<Contact>(id); }
  std::optional<Interaction> interaction(std::string_view id) const {
    return typed<Interaction>(id);
  }
  std::optional<Purchase> purchase(std::string_view id) const { return typed<Purchase>(id); }
  std::optional<FollowUp> followup(std::string_view id) const { return typed<FollowUp>(id); }

  // A customer's children, newest first for interactions and purchases.
  std::vector<Contact> contacts_of(std::string_view customer_id) const;
  std::vector<Interaction> interactions_of(std::string_view customer_id) const;
  std::vector<Purchase> purchases_of(std::string_view customer_id) const;
  std::vector<FollowUp> followups_of(std::string_view customer_id) const;

  // ---- Queries for the road (replica_queries.cpp) ------------------------------------------
  // Full-text search, case- and accent-insensitive, over names, tax ids, emails, phones,
  // cities and notes of customers, contacts and interactions. Terms are prefixes; all must
  // match. Results are grouped by customer, best first.
  std::vector<SearchHit> search(std::string_view text, std::size_t limit = 50) const;
  // Rows merged from elsewhere are indexed for search in one go rather than row by row
  // during a download: search() does it first when needed. An app may call this when it is
  // idle after a download, so that the first search is quick. Returns how many rows it
  // indexed.
  std::size_t update_search_index();
  std::vector<Customer> list_customers(const CustomerFilter& filter) const;
  // A page of the customers matching `query` in its order, with each one's last contact up
  // to `today` (YYYY-MM-DD), and how many match in all. A search text matches as search()
  // does.
  CustomerListing customer_listing(const CustomerQuery& query, std::string_view today) const;
  // `today` is YYYY-MM-DD in the seller's time zone.
  std::vector<DueFollowUp> followups_due(std::string_view today) const;  // today and overdue
  std::vector<UpcomingDate> upcoming_dates(std::string_view today, int days) const;
  // Current customers (not prospects, not past) with no interaction or purchase in `days`.
  std::vector<QuietCustomer> quiet_customers(std::string_view today, int days) const;
  // The periodic review of old customers: inactive or lost ones (by status, or an inactive
  // relationship) with no interaction or purchase in `days`, to call back or to let go.
  std::vector<QuietCustomer> customers_to_review(std::string_view today, int days) const;
  std::vector<LostDeal> lost_deals_to_revisit(std::string_view today) const;
  // The five lists above at once, the first `windows.shown` of each and its count: what
  // reads only indexes, quick in a book of any size (replica_day.cpp).
  DayLists day_lists(std::string_view today, const DayWindows& windows = {}) const;
  Behaviour behaviour(std::string_view customer_id, std::string_view as_of) const;
  RfmReport rfm(std::string_view as_of) const;

  // ---- Sync seams --------------------------------------------------------------------------
  // Local changes not yet acknowledged, oldest first: the next push. At most `limit` of
  // them, and no row's pending changes split between this push and a later one, so that a
  // new row reaches the server with all its required fields at once (the server refuses it
  // otherwise): the longest such prefix of the change log within `limit`, or when even the
  // first row does not fit, the shortest one past it, up to kMaxPushChanges (beyond that,
  // `limit` changes as they come). A prefix, because the server's ack covers every change
  // up to the last one pushed.
  std::vector<OutboxEntry> pending_changes(std::size_t limit = SIZE_MAX) const;
  std::size_t pending_count() const;
  // The rows those changes are of: what a seller counts as "changes to send" (an edit of a
  // customer that also stamps its updated_at is one).
  std::size_t pending_rows() const;
  // Drops outbox entries up to and including `seq` (the server has them).
  void acknowledge(std::uint64_t seq);
  // Merges changes from elsewhere field by field: the greater version wins. One
  // transaction: a change that fails validation refuses the whole batch.
  ApplyResult apply_remote(const std::vector<Change>& changes);
  // The same, inside a transaction the caller opened (apply_page).
  ApplyResult apply_remote_in_transaction(const std::vector<Change>& changes);

  // Merges a page of rows from the server and stores the new cursor in the same
  // transaction, so that an interrupted download resumes after the last page applied.
  // First removes the `evicted` rows (they left this seller's scope; an evicted customer
  // takes its contacts, interactions, purchases and follow-ups along). Local changes to
  // them not yet acknowledged stay in the outbox: the server accepts or refuses them.
  ApplyResult apply_page(const std::vector<RowState>& rows, SyncCursor next,
                         const std::vector<RowRef>& evicted = {});
  SyncCursor sync_cursor() const;

  // Conflicts the server reported, each kept once (by table, row, field and both versions:
  // the same conflict may come in an ack and again in `conflicts`); a conflict told again
  // fills in what an earlier telling lacked (inbox id, kind, users). Returns the conflicts
  // not stored before, in the order given.
  std::vector<ConflictNotice> record_conflicts(const std::vector<ConflictNotice>& conflicts);
  // The same, and moves the position reached in the server's list of the conflicts this
  // replica lost (`conflicts_pull`) to `cursor`, in one transaction.
  std::vector<ConflictNotice> record_conflicts(const std::vector<ConflictNotice>& conflicts,
                                               std::uint64_t cursor);
  std::uint64_t conflicts_cursor() const;

  // The epoch of the server store this replica last synced with (empty: none yet).
  std::string server_epoch() const;
  // The server's store is `epoch` now. When this replica knew another one, the store went
  // back in time (restored from a backup): in one transaction the replica forgets where it
  // stood in the server's change stream and in its list of lost conflicts (everything is
  // pulled again), and puts back into its outbox what it wrote last of every row
  // (changes_to_resend) unless a pending change of that key is there already. Returns the
  // changes put back (0 when the epoch is the one it knew, or the first it hears of).
  std::size_t adopt_server_epoch(const std::string& epoch);

  // Conflicts the server reported, oldest first: all of them, those in which a value of this
  // replica lost (its lost version is this replica's), or those it won. A conflict told
  // without a kind (before protocol 3) is "edit_of_deleted" when its kept value is a delete
  // (true, for a field that is not boolean), else "concurrent_edit".
  std::vector<ConflictNotice> reported_conflicts(ConflictSide side = ConflictSide::any) const;

  // Pushed changes the server refused (out of scope, invalid), newest last. With
  // `undo` (the server sends its state of each refused field, protocol 3), each refused
  // change that no later local edit superseded is undone in the same transaction: its
  // version keys and value go back to the server's state, and a row left with no versions
  // (created here, refused whole) is removed with its children. Call it before
  // acknowledge(): the refused change is read from the change log. A change put back by
  // adopt_server_epoch that is refused with missing_field (the server lost the row, and this
  // replica did not create it) is not undone: the replica writes the row's required fields
  // again under its own new version and puts its changes back, so that the row is created.
  void record_refusals(const std::vector<RefusedChange>& refused, bool undo = false);
  std::vector<RefusedChange> reported_refusals() const;

  // ---- The history of each field (replica_history.cpp) -----------------------------------
  // The values a field of a row had as this replica saw them, newest first: the current one
  // (when the field was ever set), then each one a later change replaced here, up to
  // `limit`. A row received whole in a download starts its history there. Automatic fields
  // (created_at, updated_at) keep none.
  std::vector<FieldValue> field_history(std::string_view table, std::string_view id,
                                        std::string_view field, std::size_t limit = 50) const;
  // The fields of a row that have values in their history besides the current one.
  std::vector<std::string> fields_with_history(std::string_view table, std::string_view id) const;
  // Who uses each device (from the server's welcome and its conflicts), for the history's
  // "who"; and the user of one device, when known.
  void note_device_users(const std::vector<DeviceUser>& devices);
  std::optional<std::string> device_user(std::string_view replica) const;

  // Changes whenever another connection commits to the file: a cheap way to notice writes
  // made elsewhere (SQLite's data_version).
  std::int64_t data_version() const;

  // Small named values kept in the replica file (server address, last sync time...).
  std::optional<std::string> setting(std::string_view key) const;
  void set_setting(std::string_view key, std::string_view value);

  // Every row of every table with its values and versions, in a deterministic text form:
  // two replicas holding the same state produce the same bytes.
  std::string canonical_dump() const;

  HybridClock& clock();

  // Private state, opaque outside client-core/src.
  struct Impl;

 private:
  explicit Replica(std::unique_ptr<Impl> impl);
  std::size_t update_entity(std::string_view table, std::string_view id, const Record& fields);
  void set_deleted(std::string_view table, std::string_view id, bool deleted);
  template <class Entity>
  std::optional<Entity> typed(std::string_view id) const {
    auto record = get(EntityTable<Entity>::name, id);
    if (!record) return std::nullopt;
    Entity e;
    e.id = std::string(id);
    from_record(*record, e);
    return e;
  }

  std::unique_ptr<Impl> impl_;
};

}  // namespace libreta::client
