// What the server reports back about a replica's changes: refusals, which put the refused
// fields back to the server's state (protocol 3), and conflicts, kept once each and told
// apart by whether this replica's value lost or won. Also the replica file's migration of
// both tables.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "libreta/client/replica.hpp"
#include "support/temp_dir.hpp"
#include "unit/replica_node.hpp"

using namespace libreta;
using namespace libreta::client;
using namespace libreta::client::testing;

namespace {

// The refusal of the outbox entry that changed `field` (and `element`), as an ack says it.
RefusedChange refusal_of(Replica& device, const std::string& field,
                         const std::string& element = {}) {
  for (const auto& entry : device.pending_changes()) {
    if (entry.change.field == field && entry.change.element == element) {
      RefusedChange r;
      r.seq = entry.seq;
      r.table = entry.change.table;
      r.row = entry.change.row;
      r.field = field;
      r.element = element;
      r.code = ErrorCode::forbidden;
      r.message = "only a manager can give a customer to another seller";
      return r;
    }
  }
  FAIL("no pending change of " << field << " " << element);
  return {};
}

Version version_at(std::uint64_t millis, const std::string& replica) {
  return Version{Hlc::from_parts(millis, 0), replica};
}

// A customer the office created, which the device and the server both hold: its id, and
// the office's changes that made it.
struct Shared {
  std::string id;
  std::vector<Change> changes;
  // The version the office gave a key ("owner", "tags+vip").
  Version version_of(const std::string& key) const {
    for (const auto& c : changes) {
      const std::string k = c.element.empty() ? c.field : c.field + "+" + c.element;
      if (k == key) return c.version;
    }
    return {};
  }
};

Shared shared_customer(Node& office, std::initializer_list<Replica*> holders) {
  Customer c;
  c.id = "0190aaaa-0000-7000-8000-000000000001";
  c.name = "Talleres Ana";
  c.status = "active";
  c.owner = "ana";
  c.tags = {"vip"};
  Shared shared{office.replica->create(c), office.drain()};
  for (Replica* holder : holders) holder->apply_remote(shared.changes);
  return shared;
}

}  // namespace

TEST_CASE("refusals: a refused edit is undone on the device: the server's value comes back",
          "[replica][refusals]") {
  test::TempDir dir;
  Node office(dir, "office"), server(dir, "server"), device(dir, "ana-phone");
  const Shared shared = shared_customer(office, {server.replica.get(), device.replica.get()});
  const std::string& id = shared.id;

  device.clock->advance(std::chrono::seconds(5));
  device.replica->update(tables::customers, id, {{"owner", Value("bob")}});
  REQUIRE(device.replica->customer(id)->owner == "bob");

  RefusedChange refused = refusal_of(*device.replica, "owner");
  RowState current;
  current.table = tables::customers;
  current.id = id;
  current.fields.emplace("owner", Value("ana"));
  current.versions.set_field("owner", shared.version_of("owner"));
  refused.current = current;
  device.replica->record_refusals({refused}, true);
  device.replica->acknowledge(refused.seq);

  CHECK(device.replica->customer(id)->owner == "ana");
  // Converged: the device holds exactly what the server holds.
  CHECK(device.replica->canonical_dump() == server.replica->canonical_dump());
  // And the refusal stays, with its reason.
  const auto refusals = device.replica->reported_refusals();
  REQUIRE(refusals.size() == 1);
  CHECK(refusals[0].field == "owner");
  CHECK(refusals[0].code == ErrorCode::forbidden);
  CHECK(refusals[0].message == refused.message);
}

TEST_CASE("refusals: a later local edit of the refused field is kept; other fields go back",
          "[replica][refusals]") {
  test::TempDir dir;
  Node office(dir, "office"), server(dir, "server"), device(dir, "ana-phone");
  const Shared shared = shared_customer(office, {server.replica.get(), device.replica.get()});
  const std::string& id = shared.id;

  device.clock->advance(std::chrono::seconds(5));
  device.replica->update(tables::customers, id,
                         {{"owner", Value("bob")}, {"city", Value("Zamora")}});
  // Both are pushed; before the ack, the seller edits the city again.
  const RefusedChange owner = refusal_of(*device.replica, "owner");
  RefusedChange city = refusal_of(*device.replica, "city");
  city.code = ErrorCode::invalid_value;
  device.clock->advance(std::chrono::seconds(5));
  device.replica->update(tables::customers, id, {{"city", Value("León")}});

  RefusedChange owner_refused = owner;
  owner_refused.current = RowState{tables::customers, id, {{"owner", Value("ana")}}, {}};
  owner_refused.current->versions.set_field("owner", shared.version_of("owner"));
  city.current = RowState{tables::customers, id, {}, {}};
  device.replica->record_refusals({owner_refused, city}, true);
  device.replica->acknowledge(std::max(owner.seq, city.seq));

  const auto customer = device.replica->customer(id);
  CHECK(customer->owner == "ana");
  CHECK(customer->city == "León");  // the later edit is judged by the server on its own
  REQUIRE(device.replica->pending_count() == 1);
  CHECK(device.replica->pending_changes().front().change.value == Value("León"));
}

TEST_CASE("refusals: a row created on the device and refused whole is removed with its children",
          "[replica][refusals]") {
  test::TempDir dir;
  Node device(dir, "ana-phone");
  Customer c;
  c.name = "Prospecto Fantasma";
  c.status = "prospect";
  c.city = "Soria";
  const std::string id = device.replica->create(c);
  Contact contact;
  contact.customer_id = id;
  contact.name = "Pedro Fantasma";
  device.replica->create(contact);
  REQUIRE(device.replica->search("fantasma").size() == 1);

  std::vector<RefusedChange> refused;
  for (const auto& entry : device.replica->pending_changes()) {
    RefusedChange r;
    r.seq = entry.seq;
    r.table = entry.change.table;
    r.row = entry.change.row;
    r.field = entry.change.field;
    r.element = entry.change.element;
    r.code = ErrorCode::forbidden;
    r.message = "customer " + id + " is not in your customer book";
    // The server holds none of it: no state to go back to.
    refused.push_back(std::move(r));
  }
  device.replica->record_refusals(refused, true);
  device.replica->acknowledge(refused.back().seq);

  CHECK_FALSE(device.replica->customer(id));
  CHECK(device.replica->contacts_of(id).empty());
  CHECK(device.replica->search("fantasma").empty());
  CHECK(device.replica->canonical_dump().empty());
  CHECK(device.replica->reported_refusals().size() == refused.size());
}

TEST_CASE("refusals: a refused tag add and tag remove are undone", "[replica][refusals][tags]") {
  test::TempDir dir;
  Node office(dir, "office"), server(dir, "server"), device(dir, "ana-phone");
  const Shared shared = shared_customer(office, {server.replica.get(), device.replica.get()});
  const std::string& id = shared.id;

  device.clock->advance(std::chrono::seconds(5));
  REQUIRE(device.replica->remove_tag(tables::customers, id, "tags", "vip"));
  REQUIRE(device.replica->add_tag(tables::customers, id, "tags", "moroso"));
  REQUIRE(device.replica->customer(id)->tags == TagSet{"moroso"});

  // The server's state of the field: vip added by the office, nothing else.
  RowState current{tables::customers, id, {{"tags", Value(TagSet{"vip"})}}, {}};
  current.versions.set_field("tags+vip", shared.version_of("tags+vip"));
  std::vector<RefusedChange> refused = {refusal_of(*device.replica, "tags", "vip"),
                                        refusal_of(*device.replica, "tags", "moroso")};
  for (auto& r : refused) r.current = current;
  device.replica->record_refusals(refused, true);
  device.replica->acknowledge(std::max(refused[0].seq, refused[1].seq));

  CHECK(device.replica->customer(id)->tags == TagSet{"vip"});
  CHECK(device.replica->canonical_dump() == server.replica->canonical_dump());
}

TEST_CASE("refusals: a refused delete brings the row back", "[replica][refusals]") {
  test::TempDir dir;
  Node office(dir, "office"), server(dir, "server"), device(dir, "ana-phone");
  const Shared shared = shared_customer(office, {server.replica.get(), device.replica.get()});
  const std::string& id = shared.id;
  device.clock->advance(std::chrono::seconds(5));
  device.replica->remove(tables::customers, id);
  REQUIRE_FALSE(device.replica->customer(id));

  RefusedChange refused = refusal_of(*device.replica, "deleted");
  refused.current = RowState{tables::customers, id, {}, {}};
  device.replica->record_refusals({refused}, true);
  device.replica->acknowledge(refused.seq);

  REQUIRE(device.replica->customer(id));
  CHECK(device.replica->search("talleres").size() == 1);
  CHECK(device.replica->canonical_dump() == server.replica->canonical_dump());
}

TEST_CASE("refusals: without the server's state (protocol 2) the local value stays",
          "[replica][refusals]") {
  test::TempDir dir;
  Node office(dir, "office"), device(dir, "ana-phone");
  const std::string id = shared_customer(office, {device.replica.get()}).id;
  device.clock->advance(std::chrono::seconds(5));
  device.replica->update(tables::customers, id, {{"owner", Value("bob")}});
  const RefusedChange refused = refusal_of(*device.replica, "owner");
  device.replica->record_refusals({refused});
  device.replica->acknowledge(refused.seq);
  CHECK(device.replica->customer(id)->owner == "bob");
  CHECK(device.replica->reported_refusals().size() == 1);
}

TEST_CASE("conflicts: each is kept once, and told apart as lost or won by this replica",
          "[replica][conflicts]") {
  test::TempDir dir;
  Node device(dir, "ana-phone");
  ConflictNotice lost;  // Ana's phone lost to Ben's
  lost.table = tables::customers;
  lost.row = "c1";
  lost.field = "phone";
  lost.kept = Value("+34 222 222 222");
  lost.kept_version = version_at(kStart + 2000, "ben-phone");
  lost.lost = Value("+34 111 111 111");
  lost.lost_version = version_at(kStart + 1000, "ana-phone");
  ConflictNotice won = lost;  // Ana's city won over Ben's
  won.field = "city";
  won.kept = Value("León");
  won.kept_version = version_at(kStart + 3000, "ana-phone");
  won.lost = Value("Zamora");
  won.lost_version = version_at(kStart + 2500, "ben-phone");

  // First in an ack (before protocol 3: no id, kind or users)...
  CHECK(device.replica->record_conflicts({lost, won}).size() == 2);
  // ...then again from `conflicts`, with what the inbox knows.
  ConflictNotice told = lost;
  told.id = 7;
  told.kind = "concurrent_edit";
  told.kept_user = "ben";
  told.lost_user = "ana";
  CHECK(device.replica->record_conflicts({told}, 7).empty());
  CHECK(device.replica->conflicts_cursor() == 7);

  CHECK(device.replica->reported_conflicts().size() == 2);
  const auto mine_lost = device.replica->reported_conflicts(ConflictSide::lost);
  REQUIRE(mine_lost.size() == 1);
  CHECK(mine_lost[0].field == "phone");
  CHECK(mine_lost[0].id == 7);
  CHECK(mine_lost[0].kept_user == "ben");
  CHECK(mine_lost[0].lost_user == "ana");
  CHECK(mine_lost[0].kept == Value("+34 222 222 222"));
  const auto mine_won = device.replica->reported_conflicts(ConflictSide::won);
  REQUIRE(mine_won.size() == 1);
  CHECK(mine_won[0].field == "city");
  CHECK(mine_won[0].kind == "concurrent_edit");

  // The cursor survives a restart.
  device.replica.reset();
  ReplicaOptions options;
  options.clock = device.clock;
  device.replica = Replica::open(dir.file("ana-phone.db"), options);
  CHECK(device.replica->conflicts_cursor() == 7);
}

TEST_CASE("conflicts: an edit of a deleted row told without a kind is known by its kept delete",
          "[replica][conflicts]") {
  test::TempDir dir;
  Node device(dir, "ben-phone");
  ConflictNotice c;
  c.table = tables::customers;
  c.row = "c1";
  c.field = "notes";
  c.kept = Value(true);
  c.kept_version = version_at(kStart + 1000, "ana-phone");
  c.lost = Value("llamar el lunes");
  c.lost_version = version_at(kStart + 2000, "ben-phone");
  device.replica->record_conflicts({c});
  const auto lost = device.replica->reported_conflicts(ConflictSide::lost);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].kind == "edit_of_deleted");
}

TEST_CASE("replica file: a version 1 file keeps its conflicts, once each, and its refusals",
          "[replica][migration]") {
  test::TempDir dir;
  const auto file = dir.file("old.db");
  {
    ReplicaOptions options;
    options.new_replica_id = "ben-phone";
    Replica::open(file, options);
  }
  // Back to the layout of file version 1, holding a conflict told twice and a refusal.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.string().c_str(), &db) == SQLITE_OK);
  const char* sql = R"sql(
    DROP TABLE _conflicts;
    CREATE TABLE _conflicts (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
      kept TEXT NOT NULL, kept_version TEXT NOT NULL,
      lost TEXT NOT NULL, lost_version TEXT NOT NULL);
    INSERT INTO _conflicts(tbl, row_id, field, kept, kept_version, lost, lost_version) VALUES
      ('customers', 'c1', 'notes', 'true', '018bcfe5681c0000:ana-phone',
       '"llamar"', '018bcfe5a2100003:ben-phone'),
      ('customers', 'c1', 'notes', 'true', '018bcfe5681c0000:ana-phone',
       '"llamar"', '018bcfe5a2100003:ben-phone');
    DROP TABLE _refusals;
    CREATE TABLE _refusals (
      id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER NOT NULL,
      tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
      code TEXT NOT NULL, message TEXT NOT NULL);
    INSERT INTO _refusals(seq, tbl, row_id, field, code, message)
      VALUES(3, 'customers', 'c1', 'owner', 'forbidden', 'only a manager');
    UPDATE _meta SET value = '1' WHERE key = 'file_version';
  )sql";
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);

  auto replica = Replica::open(file);
  const auto conflicts = replica->reported_conflicts(ConflictSide::lost);
  REQUIRE(conflicts.size() == 1);
  CHECK(conflicts[0].kind == "edit_of_deleted");
  CHECK(conflicts[0].lost == Value("llamar"));
  REQUIRE(replica->reported_refusals().size() == 1);
  CHECK(replica->reported_refusals()[0].field == "owner");
  CHECK(replica->conflicts_cursor() == 0);
  // Told again, it is still one.
  ConflictNotice again = conflicts[0];
  again.kind = "edit_of_deleted";
  again.kept_user = "ana";
  CHECK(replica->record_conflicts({again}).empty());
  CHECK(replica->reported_conflicts().size() == 1);
  CHECK(replica->reported_conflicts()[0].kept_user == "ana");
}
