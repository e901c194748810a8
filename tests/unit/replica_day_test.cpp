// The seller's day (Replica::day_lists) against a model worked out from the book's rows: random
// books edited at random (dates moved, children moved between customers, deleted and restored,
// visits logged ahead of today), written locally and merged into a second replica in shuffled
// order, so that the customers' last contact kept by triggers and the month-day indexes are
// checked on every path a row takes. Fixed seeds; LIBRETA_LONG_TESTS runs many more.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <sqlite3.h>

#include "libreta/client/replica.hpp"
#include "libreta/protocol/schema.hpp"
#include "libreta/protocol/text.hpp"
#include "unit/replica_node.hpp"

using namespace libreta;
using namespace libreta::client;
using libreta::client::testing::Node;

namespace {

bool long_mode() {
  return std::getenv("LIBRETA_LONG_TESTS") != nullptr;
}

// A day between 2023 and 2025, as YYYY-MM-DD.
std::string random_day(std::mt19937_64& random) {
  const std::int64_t first = days_from_civil(2023, 1, 1);
  return civil_from_days(first + static_cast<std::int64_t>(random() % (3 * 365)));
}

// What the lists must hold, worked out from every live row of the book.
struct Model {
  std::map<std::string, Customer> customers;
  std::map<std::string, Interaction> interactions;
  std::map<std::string, Purchase> purchases;
  std::map<std::string, Contact> contacts;

  static Model of(const Replica& replica) {
    Model m;
    for (const auto& c : replica.list_customers({})) {
      m.customers[c.id] = c;
      for (const auto& i : replica.interactions_of(c.id)) m.interactions[i.id] = i;
      for (const auto& p : replica.purchases_of(c.id)) m.purchases[p.id] = p;
      for (const auto& k : replica.contacts_of(c.id)) m.contacts[k.id] = k;
    }
    return m;
  }

  // (customer id, last contact) of the silent customers whose status passes `which`, in
  // the lists' order.
  template <class Which>
  std::vector<std::pair<std::string, std::optional<std::string>>> silent(const std::string& today,
                                                                         int days,
                                                                         Which which) const {
    std::map<std::string, std::string> last;
    const auto seen = [&](const std::string& id, const std::string& day) {
      if (day > today) return;
      if (last[id] < day) last[id] = day;
    };
    for (const auto& [id, i] : interactions) seen(i.customer_id, i.date.substr(0, 10));
    for (const auto& [id, p] : purchases) seen(p.customer_id, p.date);
    std::vector<std::tuple<bool, std::string, std::string, std::string>> keys;
    const std::int64_t today_number = *parse_day_number(today);
    for (const auto& [id, c] : customers) {
      if (!which(c)) continue;
      const auto it = last.find(id);
      const bool contacted = it != last.end();
      if (contacted && today_number - *parse_day_number(it->second) <= days) continue;
      keys.emplace_back(contacted, contacted ? it->second : "", fold_text(c.name), id);
    }
    std::sort(keys.begin(), keys.end());
    std::vector<std::pair<std::string, std::optional<std::string>>> out;
    for (const auto& [contacted, day, name, id] : keys) {
      out.emplace_back(id, contacted ? std::optional<std::string>(day) : std::nullopt);
    }
    return out;
  }
};

// "id@day" (or "id@never") of each, for a readable failure.
std::vector<std::string> ids_and_days(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& list) {
  std::vector<std::string> out;
  for (const auto& [id, day] : list)
    out.push_back(id.substr(id.size() - 6) + "@" + day.value_or("never"));
  return out;
}
std::vector<std::string> ids_and_days(const std::vector<QuietCustomer>& list) {
  std::vector<std::string> out;
  for (const auto& q : list) {
    out.push_back(q.customer_id.substr(q.customer_id.size() - 6) + "@" +
                  q.last_contact.value_or("never"));
  }
  return out;
}

bool is_current(const Customer& c) {
  return c.status == "active" || c.status == "occasional";
}
bool is_for_review(const Customer& c) {
  return c.status == "inactive" || c.status == "lost" || c.relationship == "inactive";
}

// Checks every list of `replica` on `today` against the model of its rows.
void check_day(const Replica& replica, const std::string& today) {
  INFO("today " << today);
  const Model model = Model::of(replica);
  DayWindows windows;
  windows.shown = 5;
  const DayLists lists = replica.day_lists(today, windows);

  const auto quiet = model.silent(today, windows.quiet_days, is_current);
  CHECK(ids_and_days(replica.quiet_customers(today, windows.quiet_days)) == ids_and_days(quiet));
  CHECK(lists.quiet.total == quiet.size());
  CHECK(ids_and_days(lists.quiet.items) ==
        ids_and_days(decltype(quiet)(quiet.begin(),
                                     quiet.begin() + std::min<std::size_t>(5, quiet.size()))));

  const auto review = model.silent(today, windows.review_days, is_for_review);
  CHECK(ids_and_days(replica.customers_to_review(today, windows.review_days)) ==
        ids_and_days(review));
  CHECK(lists.review.total == review.size());

  // Birthdays of contacts within the window, by a day-by-day walk through it.
  std::multiset<std::pair<std::int64_t, std::string>> dates;
  const std::int64_t today_number = *parse_day_number(today);
  for (const auto& [id, k] : model.contacts) {
    if (!k.birthday) continue;
    for (int ahead = 0; ahead <= windows.dates_ahead; ++ahead) {
      const std::string day = civil_from_days(today_number + ahead);
      std::string month_day = k.birthday->substr(5);
      const int year = std::stoi(day.substr(0, 4));
      const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
      if (month_day == "02-29" && !leap) month_day = "02-28";
      if (day.substr(5) == month_day) {
        dates.emplace(ahead, id);
        break;
      }
    }
  }
  const auto all_dates = replica.upcoming_dates(today, windows.dates_ahead);
  std::multiset<std::pair<std::int64_t, std::string>> found;
  for (const auto& d : all_dates) found.emplace(d.days_until, d.contact_id.value_or(""));
  CHECK(found == dates);
  CHECK(lists.dates.total == dates.size());
  REQUIRE(lists.dates.items.size() == std::min<std::size_t>(5, dates.size()));
  for (std::size_t i = 0; i < lists.dates.items.size(); ++i) {
    CHECK(lists.dates.items[i].contact_id == all_dates[i].contact_id);
  }

  const auto due = replica.followups_due(today);
  CHECK(lists.due.total == due.size());
  for (std::size_t i = 0; i < lists.due.items.size(); ++i) {
    CHECK(lists.due.items[i].followup.id == due[i].followup.id);
  }
  const auto lost = replica.lost_deals_to_revisit(today);
  CHECK(lists.lost.total == lost.size());
  for (std::size_t i = 0; i < lists.lost.items.size(); ++i) {
    CHECK(lists.lost.items[i].interaction.id == lost[i].interaction.id);
  }
}

// One random book, edited at random, checked as written and as merged elsewhere.
void run_day(std::uint64_t seed, const test::TempDir& dir) {
  INFO("seed " << seed);
  std::mt19937_64 random(seed);
  Node writer(dir, "writer-" + std::to_string(seed));
  Replica& book = *writer.replica;
  const std::vector<std::string> statuses = {"active", "occasional", "inactive", "lost",
                                             "prospect"};
  const std::vector<std::string> names = {"Álamo", "alamo", "Peña", "Zurita", "Ñandú", "Oca"};
  std::vector<std::string> customers, interactions, purchases;
  for (int i = 0; i < 30; ++i) {
    Customer c;
    c.name = names[random() % names.size()] + " " + std::to_string(random() % 5);
    c.status = statuses[random() % statuses.size()];
    if (random() % 4 == 0) c.relationship = "inactive";
    customers.push_back(book.create(c));
    if (random() % 2 == 0) {
      Contact k;
      k.customer_id = customers.back();
      k.name = names[random() % names.size()];
      k.birthday = random() % 6 == 0 ? "2000-02-29" : random_day(random);
      book.create(k);
    }
  }
  const auto any_customer = [&] { return customers[random() % customers.size()]; };
  for (int step = 0; step < 150; ++step) {
    switch (random() % 8) {
      case 0:
      case 1: {
        Interaction i;
        i.customer_id = any_customer();
        i.type = "visit";
        i.date = random_day(random) + "T10:00:00Z";
        if (random() % 3 == 0) {
          i.outcome = "lost";
          i.lost_reason = "price";
          i.revisit_on = random_day(random);
        }
        interactions.push_back(book.create(i));
        break;
      }
      case 2: {
        Purchase p;
        p.customer_id = any_customer();
        p.date = random_day(random);
        p.amount = 10;
        p.product = "aceite";
        purchases.push_back(book.create(p));
        break;
      }
      case 3:  // a date moved
        if (!interactions.empty()) {
          const auto& id = interactions[random() % interactions.size()];
          if (book.interaction(id)) {
            book.update(tables::interactions, id,
                        {{"date", Value(random_day(random) + "T09:00:00Z")}});
          }
        }
        break;
      case 4:  // a purchase moved to another customer
        if (!purchases.empty()) {
          book.update(tables::purchases, purchases[random() % purchases.size()],
                      {{"customer_id", Value(any_customer())}});
        }
        break;
      case 5:  // deleted, or put back
        if (!interactions.empty()) {
          const auto& id = interactions[random() % interactions.size()];
          if (book.interaction(id)) {
            book.remove(tables::interactions, id);
          } else {
            book.restore(tables::interactions, id);
          }
        }
        break;
      case 6:
        book.update(tables::customers, any_customer(),
                    {{"status", Value(statuses[random() % statuses.size()])}});
        break;
      case 7: {
        FollowUp f;
        f.customer_id = any_customer();
        f.due = random_day(random);
        f.title = "llamar";
        book.create(f);
        break;
      }
    }
  }
  const std::vector<std::string> days = {"2024-02-27", "2025-02-20", "2024-12-25", "2024-06-30",
                                         random_day(random)};
  for (const auto& today : days) check_day(book, today);

  // The same changes merged into another replica, children before their customers.
  auto changes = writer.drain();
  std::shuffle(changes.begin(), changes.end(), random);
  Node reader(dir, "reader-" + std::to_string(seed));
  for (std::size_t at = 0; at < changes.size(); at += 7) {
    reader.replica->apply_remote(std::vector<Change>(
        changes.begin() + static_cast<std::ptrdiff_t>(at),
        changes.begin() + static_cast<std::ptrdiff_t>(std::min(at + 7, changes.size()))));
  }
  for (const auto& today : days) check_day(*reader.replica, today);
}

}  // namespace

TEST_CASE("day_lists: the seller's day agrees with the book's rows, written and merged",
          "[queries][reminders][random]") {
  test::TempDir dir;
  const std::uint64_t runs = long_mode() ? 200 : 6;
  for (std::uint64_t seed = 1; seed <= runs; ++seed) run_day(seed, dir);
}

TEST_CASE("day_lists: a book from before the last-contact column gets it filled on open",
          "[queries][reminders]") {
  test::TempDir dir;
  std::string quiet, recent;
  {
    Node node(dir, "old-file");
    Customer c;
    c.status = "active";
    c.name = "Quiet";
    quiet = node.replica->create(c);
    c.name = "Recent";
    recent = node.replica->create(c);
    Interaction visit;
    visit.customer_id = recent;
    visit.type = "visit";
    visit.date = "2024-06-20T10:00:00Z";
    node.replica->create(visit);
  }
  // What an older libreta left: no column, and none of the triggers and indexes that keep it.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(dir.file("old-file.db").c_str(), &db) == SQLITE_OK);
  const auto exec = [&](const std::string& sql) {
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  };
  std::vector<std::string> drops;
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT type, name FROM sqlite_master WHERE type = 'trigger'"
                             " OR name IN ('customers_quiet', 'customers_review')",
                             -1, &stmt, nullptr) == SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    drops.push_back(std::string("DROP ") +
                    reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)) + " " +
                    reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
  }
  sqlite3_finalize(stmt);
  REQUIRE(drops.size() == 8);  // six triggers, two indexes
  for (const auto& drop : drops) exec(drop);
  exec("ALTER TABLE customers DROP COLUMN _last_contact");
  sqlite3_close(db);

  Node node(dir, "old-file");
  const auto ids = [](const std::vector<QuietCustomer>& list) {
    std::vector<std::string> out;
    for (const auto& q : list) out.push_back(q.customer_id);
    return out;
  };
  CHECK(ids(node.replica->quiet_customers("2024-06-30", 60)) == std::vector<std::string>{quiet});
  const auto later = node.replica->quiet_customers("2024-12-31", 60);
  CHECK(ids(later) == std::vector<std::string>{quiet, recent});
  CHECK(later.back().last_contact == "2024-06-20");
}

TEST_CASE(
    "day_lists: a list of more than a thousand is counted to a thousand, the whole list "
    "still whole",
    "[queries][reminders]") {
  test::TempDir dir;
  Node node(dir, "many");
  for (int i = 0; i < 1'005; ++i) {
    Customer c;
    c.name = "Cliente " + std::to_string(i);
    c.status = "active";
    node.replica->create(c);
  }
  const DayLists lists = node.replica->day_lists("2024-06-30");
  CHECK(lists.quiet.total == 1'000);
  CHECK_FALSE(lists.quiet.counted_all);
  CHECK(lists.quiet.items.size() == DayWindows{}.shown);
  CHECK(lists.review.total == 0);
  CHECK(lists.review.counted_all);
  CHECK(node.replica->quiet_customers("2024-06-30", 60).size() == 1'005);
}
