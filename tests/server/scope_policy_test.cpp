// The seller's scope as the schema declares it (ScopePolicy), without a store: the rows as
// merged so far and the evictions the server recorded come from a small fake.
#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

#include "libreta/protocol/customer_book.hpp"
#include "scope_policy.hpp"

using namespace libreta;
using namespace libreta::server;

namespace {

Version version_of(const std::string& replica) {
  return Version{Hlc::from_parts(1'700'000'000'000, 0), replica};
}

// Rows by (table, id), and evictions; a row never added exists with empty versions.
class FakeRows final : public ScopePolicy::Rows {
 public:
  void add(const std::string& table, const std::string& id, Record fields) {
    ServerRow& row = rows_[{table, id}];
    row.table = table;
    row.id = id;
    for (auto& [name, value] : fields) {
      row.versions.set_field(name, version_of("office"));
      row.fields[name] = std::move(value);
    }
  }
  void add_customer(const std::string& id, const std::string& owner) {
    add(tables::customers, id, {{"name", Value("Cliente " + id)}, {"owner", Value(owner)}});
  }
  void add_contact(const std::string& id, const std::string& customer) {
    add(tables::contacts, id, {{"name", Value("Rep " + id)}, {"customer_id", Value(customer)}});
  }
  void evict(std::uint64_t seq, const std::string& user, const std::string& customer) {
    evictions_.push_back(Eviction{seq, user, tables::customers, customer, version_of("office")});
  }

  const ServerRow& row(const std::string& table, const std::string& id) override {
    ServerRow& row = rows_[{table, id}];
    row.table = table;
    row.id = id;
    return row;
  }
  std::optional<Eviction> last_eviction(const std::string& user, const std::string& table,
                                        const std::string& id) override {
    std::optional<Eviction> last;
    for (const auto& e : evictions_) {
      if (e.user == user && e.table == table && e.row == id && (!last || last->seq < e.seq))
        last = e;
    }
    return last;
  }

 private:
  std::map<std::pair<std::string, std::string>, ServerRow> rows_;
  std::vector<Eviction> evictions_;
};

PushedChange change(std::uint64_t seq, const std::string& table, const std::string& row,
                    const std::string& field, Value value) {
  return PushedChange{
      seq, Change{table, row, field, "", std::move(value), version_of("ana-phone"), Version{}}};
}

// Ana's and Luis's customers, each with a contact.
struct Book {
  FakeRows rows;
  ScopePolicy policy{customer_book_schema(), rows};
  ReplicaRecord ana_phone{"ana", 0, 1, 1};  // first seen at 1, sent rows up to 1

  Book() {
    rows.add_customer("a1", "ana");
    rows.add_contact("a1-rep", "a1");
    rows.add_customer("l1", "luis");
    rows.add_contact("l1-rep", "l1");
  }
  // Why Ana's device may not push `changes` (the first refusal), or nothing.
  std::optional<std::string> refusal(const std::vector<PushedChange>& changes) {
    ScopePolicy::SellerPush push(policy, "ana", ana_phone, changes);
    for (const auto& pushed : changes) {
      if (auto why = push.refusal(pushed.change)) return why;
    }
    return std::nullopt;
  }
};

}  // namespace

TEST_CASE("scope policy: the scope table, its owner field and the links come from the schema",
          "[scope]") {
  Book book;
  CHECK(book.policy.scope_table() == tables::customers);
  CHECK(book.policy.owner_field() == "owner");
  CHECK(book.policy.scope_field(tables::customers) == "owner");
  CHECK(book.policy.scope_field(tables::followups) == "customer_id");
  CHECK(book.policy.link_of(tables::customers) == nullptr);
  REQUIRE(book.policy.link_of(tables::contacts) != nullptr);
  CHECK(*book.policy.link_of(tables::contacts) == "customer_id");
}

TEST_CASE("scope policy: a schema without a scope table has no seller's scope", "[scope]") {
  const Schema schema(1, {TableSpec{"notes", {}, "", "", {}}});
  FakeRows rows;
  CHECK_THROWS_AS(ScopePolicy(schema, rows), std::invalid_argument);
}

TEST_CASE("scope policy: a seller reads their customers and the rows linked to them", "[scope]") {
  Book book;
  CHECK(book.policy.seller_of("a1") == "ana");
  CHECK(book.policy.seller_of("nobody").empty());
  CHECK(book.policy.may_read("ana", book.rows.row(tables::customers, "a1")));
  CHECK(book.policy.may_read("ana", book.rows.row(tables::contacts, "a1-rep")));
  CHECK_FALSE(book.policy.may_read("ana", book.rows.row(tables::customers, "l1")));
  CHECK_FALSE(book.policy.may_read("ana", book.rows.row(tables::contacts, "l1-rep")));
}

TEST_CASE("scope policy: a seller writes their customers' rows and no one else's", "[scope]") {
  Book book;
  CHECK_FALSE(book.refusal({change(1, tables::contacts, "a1-rep", "role", Value("Compras"))}));
  CHECK(book.refusal({change(1, tables::contacts, "l1-rep", "role", Value("Compras"))}) ==
        "customer l1 is not in your customer book");
  CHECK(book.refusal({change(1, tables::customers, "l1", "city", Value("Lima"))}) ==
        "customer l1 is not in your customer book");
  // Moving a contact to another seller's customer.
  CHECK(book.refusal({change(1, tables::contacts, "a1-rep", "customer_id", Value("l1"))}) ==
        "customer l1 is not in your customer book");
}

TEST_CASE("scope policy: a new row names its customer, in any change of the push", "[scope]") {
  Book book;
  CHECK(book.refusal({change(1, tables::contacts, "new-rep", "name", Value("Rosa"))}) ==
        "a new contacts row must name its customer (customer_id)");
  CHECK_FALSE(book.refusal({change(1, tables::contacts, "new-rep", "name", Value("Rosa")),
                            change(2, tables::contacts, "new-rep", "customer_id", Value("a1"))}));
}

TEST_CASE("scope policy: only a manager gives a customer to another seller", "[scope]") {
  Book book;
  CHECK(book.refusal({change(1, tables::customers, "a1", "owner", Value("luis"))}) ==
        "only a manager can give a customer to another seller");
  // A new customer is the seller's: its owner may be left for the server to write.
  const std::vector<PushedChange> created{
      change(1, tables::customers, "a2", "name", Value("Nuevo")),
      change(2, tables::customers, "a2", "owner", Value()),
      change(3, tables::contacts, "a2-rep", "customer_id", Value("a2"))};
  ScopePolicy::SellerPush push(book.policy, "ana", book.ana_phone, created);
  for (const auto& pushed : created) CHECK_FALSE(push.refusal(pushed.change));
  CHECK(push.created() == std::set<std::string>{"a2"});
}

TEST_CASE("scope policy: a customer taken from a seller stays writable by a device not yet told",
          "[scope]") {
  Book book;
  book.rows.add_customer("a9", "luis");
  book.rows.evict(10, "ana", "a9");
  const std::vector<PushedChange> edit{change(1, tables::customers, "a9", "city", Value("Quito"))};
  // Sent rows up to 1, before the eviction at 10: the edit was made while a9 was Ana's.
  CHECK_FALSE(book.refusal(edit));
  book.ana_phone.sent_seq = 10;
  CHECK(book.refusal(edit) ==
        "customer a9 was given to another seller, and this device had been told; ask the office");
}
