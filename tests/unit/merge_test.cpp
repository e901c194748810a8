// Merging remote changes: the later version wins per field, ties break by replica id, and
// replicas that receive the same changes in any order, with repeats, end identical.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "libreta/client/replica.hpp"
#include "support/temp_dir.hpp"
#include "unit/replica_node.hpp"

using namespace libreta;
using namespace libreta::client;
using namespace libreta::client::testing;

namespace {

Change change(const std::string& field, Value value, std::uint64_t millis,
              const std::string& replica, const std::string& row = "c1") {
  return Change{tables::customers,
                row,
                field,
                {},
                std::move(value),
                Version{Hlc::from_parts(millis, 0), replica},
                Version{}};
}

bool long_mode() {
  return std::getenv("LIBRETA_LONG_TESTS") != nullptr;
}

// One randomized run: writers edit overlapping fields of shared customers, exchanging some
// changes on the way; then fresh replicas get every change shuffled, repeated and batched
// at random. Returns the number of changes exchanged.
std::size_t run_convergence(std::uint64_t seed, int writers_count, int receivers_count,
                            int operations) {
  std::mt19937_64 random(seed);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
  test::TempDir dir;
  std::vector<std::unique_ptr<Node>> writers;
  for (int i = 0; i < writers_count; ++i) {
    writers.push_back(std::make_unique<Node>(dir, "w" + std::to_string(i)));
  }

  std::vector<Change> pool;
  // Writer 0 creates the shared customers; everyone starts from them.
  std::vector<std::string> customers;
  for (int i = 0; i < 4; ++i) {
    Customer c;
    c.id = "cust-" + std::to_string(i);
    c.name = "Cliente " + std::to_string(i);
    c.status = "active";
    c.tags = {"vip"};
    customers.push_back(writers[0]->replica->create(c));
  }
  auto initial = writers[0]->drain();
  pool.insert(pool.end(), initial.begin(), initial.end());
  for (int i = 1; i < writers_count; ++i) writers[i]->replica->apply_remote(initial);

  const std::vector<std::string> statuses = {"prospect", "active", "occasional", "inactive"};
  const std::vector<std::string> cities = {"Sevilla", "Málaga", "León", "Cádiz", "Ourense"};
  const std::vector<std::string> tags = {"vip", "moroso", "pago-60d", "feria"};
  for (int op = 0; op < operations; ++op) {
    Node& w = *writers[pick(writers.size())];
    // Clocks sometimes stand still across writers, so equal timestamps do happen.
    if (pick(3) == 0) w.clock->advance(std::chrono::milliseconds(pick(5)));
    const std::string& id = customers[pick(customers.size())];
    if (!w.replica->customer(id)) continue;  // deleted here; a later restore may revive it
    switch (pick(8)) {
      case 0:
        w.replica->update(tables::customers, id, {{"status", Value(statuses[pick(4)])}});
        break;
      case 1:
        w.replica->update(tables::customers, id, {{"city", Value(cities[pick(5)])}});
        break;
      case 2:
        w.replica->update(tables::customers, id,
                          {{"annual_revenue", Value(static_cast<double>(pick(100000)) / 100)},
                           {"notes", pick(4) ? Value("nota " + std::to_string(op)) : Value()}});
        break;
      case 3:
        w.replica->add_tag(tables::customers, id, "tags", tags[pick(4)]);
        break;
      case 4:
        w.replica->remove_tag(tables::customers, id, "tags", tags[pick(4)]);
        break;
      case 5:
        if (pick(10) == 0) w.replica->remove(tables::customers, id);
        break;
      case 6: {
        Contact contact;
        contact.customer_id = id;
        contact.name = "Contacto " + std::to_string(op);
        w.replica->create(contact);
        break;
      }
      case 7: {
        // A new customer: the others can edit it once they have heard of it.
        Customer c;
        c.name = "Nuevo " + std::to_string(op);
        customers.push_back(w.replica->create(c));
        break;
      }
    }
    auto produced = w.drain();
    pool.insert(pool.end(), produced.begin(), produced.end());
    // Now and then a writer hears part of what others did (a partial sync).
    if (pick(4) == 0 && !pool.empty()) {
      std::vector<Change> some;
      for (std::size_t k = pick(pool.size()); k < pool.size(); k += 1 + pick(3))
        some.push_back(pool[k]);
      w.replica->apply_remote(some);
    }
  }

  std::vector<std::unique_ptr<Node>> receivers;
  for (int i = 0; i < receivers_count; ++i) {
    receivers.push_back(std::make_unique<Node>(dir, "z" + std::to_string(i)));
  }
  std::vector<Replica*> everyone;
  for (auto& w : writers) everyone.push_back(w->replica.get());
  for (auto& r : receivers) everyone.push_back(r->replica.get());
  for (Replica* replica : everyone) {
    std::vector<Change> delivery = pool;
    for (std::size_t k = 0; k < pool.size() / 4; ++k) delivery.push_back(pool[pick(pool.size())]);
    std::shuffle(delivery.begin(), delivery.end(), random);
    for (std::size_t at = 0; at < delivery.size();) {
      const std::size_t n = std::min(delivery.size() - at, 1 + pick(40));
      replica->apply_remote({delivery.begin() + at, delivery.begin() + at + n});
      at += n;
    }
  }
  const std::string expected = everyone.front()->canonical_dump();
  REQUIRE_FALSE(expected.empty());
  for (Replica* replica : everyone) {
    INFO("seed " << seed << ", replica " << replica->replica_id());
    REQUIRE(replica->canonical_dump() == expected);
  }
  return pool.size();
}

}  // namespace

TEST_CASE("merge: the later version wins on one field, whatever the order of arrival", "[merge]") {
  test::TempDir dir;
  Node a(dir, "ra"), b(dir, "rb");
  const auto older = change("city", Value("Sevilla"), kStart - 10, "zz");
  const auto newer = change("city", Value("Málaga"), kStart - 5, "aa");
  const auto name = change("name", Value("Bar Pepe"), kStart - 20, "aa");
  a.replica->apply_remote({name, older, newer});
  b.replica->apply_remote({newer, name});
  CHECK(b.replica->apply_remote({older}).ignored == 1);
  CHECK(a.replica->get(tables::customers, "c1")->at("city") == Value("Málaga"));
  CHECK(a.replica->canonical_dump() == b.replica->canonical_dump());
}

TEST_CASE("merge: equal clocks are broken by replica id", "[merge]") {
  test::TempDir dir;
  Node a(dir, "ra"), b(dir, "rb");
  const auto from_a = change("city", Value("Huelva"), kStart - 10, "aaa");
  const auto from_b = change("city", Value("Jaén"), kStart - 10, "bbb");
  a.replica->apply_remote({from_a, from_b});
  b.replica->apply_remote({from_b, from_a});
  CHECK(a.replica->get(tables::customers, "c1")->at("city") == Value("Jaén"));
  CHECK(a.replica->canonical_dump() == b.replica->canonical_dump());
}

TEST_CASE("merge: a local edit loses to a later remote one and wins over an older one", "[merge]") {
  test::TempDir dir;
  Node a(dir, "ra");
  a.replica->apply_remote({change("name", Value("Bar Pepe"), kStart - 100, "zz"),
                           change("status", Value("active"), kStart - 100, "zz")});
  a.replica->update(tables::customers, "c1", {{"status", Value("lost")}});
  CHECK(a.replica->apply_remote({change("status", Value("inactive"), kStart - 50, "zz")}).ignored ==
        1);
  CHECK(a.replica->customer("c1")->status == "lost");
  a.replica->apply_remote({change("status", Value("occasional"), kStart + 50, "zz")});
  CHECK(a.replica->customer("c1")->status == "occasional");
  // The local edit is still in the outbox: the server decides and records the conflict.
  CHECK(a.replica->pending_count() == 1);
}

TEST_CASE("merge: fields from a newer schema are kept, not dropped", "[merge]") {
  test::TempDir dir;
  Node a(dir, "ra"), b(dir, "rb");
  const std::vector<Change> changes = {change("name", Value("Bar Pepe"), kStart - 9, "zz"),
                                       change("loyalty_card", Value("LC-778"), kStart - 9, "zz")};
  a.replica->apply_remote(changes);
  b.replica->apply_remote({changes[1], changes[0]});
  CHECK(a.replica->canonical_dump().find("LC-778") != std::string::npos);
  CHECK(a.replica->canonical_dump() == b.replica->canonical_dump());
  CHECK(a.replica->get(tables::customers, "c1")->count("loyalty_card") == 0);
}

TEST_CASE("merge: a batch with one bad change is refused whole", "[merge][validation]") {
  test::TempDir dir;
  Node a(dir, "ra");
  const std::string before = a.replica->canonical_dump();
  SECTION("an invalid value") {
    CHECK_THROWS_AS(a.replica->apply_remote({change("name", Value("Bar Pepe"), kStart - 9, "zz"),
                                             change("status", Value("??"), kStart - 9, "zz")}),
                    Error);
  }
  SECTION("an unknown table") {
    Change bad = change("name", Value("x"), kStart - 9, "zz");
    bad.table = "spaceships";
    CHECK_THROWS_AS(
        a.replica->apply_remote({change("name", Value("Bar Pepe"), kStart - 9, "zz"), bad}), Error);
  }
  SECTION("a clock too far in the future") {
    try {
      a.replica->apply_remote({change("name", Value("Bar Pepe"), kStart + 86'400'000, "zz")});
      FAIL("accepted a change from tomorrow");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::clock_skew);
    }
  }
  CHECK(a.replica->canonical_dump() == before);
}

TEST_CASE("merge: a concurrent tag add survives a remove that did not see it", "[merge][tags]") {
  test::TempDir dir;
  Node a(dir, "ra"), b(dir, "rb");
  Customer c;
  c.id = "c1";
  c.name = "Bar Pepe";
  c.tags = {"vip"};
  a.replica->create(c);
  b.replica->apply_remote(a.drain());
  // a removes "vip" while b, not knowing, adds "vip" again (a newer add) and "feria".
  a.clock->advance(std::chrono::milliseconds(5));
  b.clock->advance(std::chrono::milliseconds(9));
  a.replica->remove_tag(tables::customers, "c1", "tags", "vip");
  b.replica->remove_tag(tables::customers, "c1", "tags", "vip");
  b.replica->add_tag(tables::customers, "c1", "tags", "vip");
  b.replica->add_tag(tables::customers, "c1", "tags", "feria");
  const auto from_a = a.drain();
  const auto from_b = b.drain();
  a.replica->apply_remote(from_b);
  b.replica->apply_remote(from_a);
  CHECK(a.replica->customer("c1")->tags == TagSet{"feria", "vip"});
  CHECK(a.replica->canonical_dump() == b.replica->canonical_dump());
}

TEST_CASE(
    "merge: replicas receiving the same changes in different orders, with repeats, "
    "end byte-identical",
    "[merge][convergence]") {
  std::vector<std::uint64_t> seeds = {1, 2, 3, 42, 2024, 31337};
  int operations = 150;
  if (long_mode()) {
    for (std::uint64_t s = 100; s < 300; ++s) seeds.push_back(s);
    operations = 600;
  }
  for (const auto seed : seeds) {
    const std::size_t exchanged = run_convergence(seed, 3, 3, operations);
    CHECK(exchanged > static_cast<std::size_t>(operations) / 2);  // the run did real work
  }
}
