// The seller's day: follow-ups due, birthdays and anniversaries coming up, lost deals to
// revisit, current customers gone quiet and old ones due for review; and what keeps them
// quick in a book of 100,000 customers: each customer's last contact kept in a column by
// triggers, month-and-day indexes on the dates, and partial indexes in each list's order, so
// that a list's first items and its count come from an index rather than a pass over the
// book. Dates are compared as text, which orders YYYY-MM-DD correctly.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "libreta/protocol/text.hpp"
#include "replica_query_support.hpp"

namespace libreta::client {
namespace {

using namespace queries;

// Lists longer than this are counted no further (ListHead::counted_all).
constexpr std::size_t kMaxCounted = 1'000;

// Which customers a silent list is of, and the partial index that holds them in the list's
// order. The same text is the index's condition and the query's, as SQLite uses a partial
// index only for a query that states its condition.
struct SilentList {
  std::string_view index;
  std::string_view which;
};
constexpr SilentList kCurrentCustomers{"customers_quiet", "status IN ('active', 'occasional')"};
constexpr SilentList kCustomersToReview{
    "customers_review", "(status IN ('inactive', 'lost') OR relationship = 'inactive')"};

// Keeps customers._last_contact for the rows of a child table (interactions, purchases)
// however they are written: a local edit, a merge from the server, a restore.
std::string last_contact_triggers(std::string_view child) {
  const std::string t(child);
  return "CREATE TRIGGER IF NOT EXISTS " + t + "_last_contact_insert AFTER INSERT ON " + t +
         " WHEN NEW.deleted = 0 AND NEW.date IS NOT NULL BEGIN"
         " UPDATE customers SET _last_contact = substr(NEW.date, 1, 10)"
         " WHERE id = NEW.customer_id AND (_last_contact IS NULL OR"
         " _last_contact < substr(NEW.date, 1, 10)); END;"
         "CREATE TRIGGER IF NOT EXISTS " +
         t + "_last_contact_update AFTER UPDATE ON " + t +
         " WHEN OLD.deleted IS NOT NEW.deleted OR OLD.date IS NOT NEW.date"
         " OR OLD.customer_id IS NOT NEW.customer_id BEGIN"
         " UPDATE customers SET _last_contact = " +
         last_contact_sql("customers.id") +
         " WHERE id IN (OLD.customer_id, NEW.customer_id); END;"
         "CREATE TRIGGER IF NOT EXISTS " +
         t + "_last_contact_delete AFTER DELETE ON " + t +
         " BEGIN UPDATE customers SET _last_contact = " + last_contact_sql("customers.id") +
         " WHERE id = OLD.customer_id; END;";
}

bool is_leap_year(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

struct NextOccurrence {
  std::int64_t day = 0;
  int year = 0;
};

// The first day on or after `today` (a day number in `today_year`) that falls on the
// month and day of `date`; 29 February falls on 28 February in other years.
std::optional<NextOccurrence> next_occurrence(std::string_view date, std::int64_t today,
                                              int today_year) {
  if (!is_valid_date(date)) return std::nullopt;
  const int month = std::stoi(std::string(date.substr(5, 2)));
  const int day = std::stoi(std::string(date.substr(8, 2)));
  for (int year = today_year; year <= today_year + 1; ++year) {
    const int actual_day = month == 2 && day == 29 && !is_leap_year(year) ? 28 : day;
    const std::int64_t number = days_from_civil(year, month, actual_day);
    if (number >= today) return NextOccurrence{number, year};
  }
  return std::nullopt;  // unreachable for a valid date
}

// "MM-DD" ranges, inclusive, of the days from `first` to `last` (day numbers): one, or two
// when they cross a new year, or every day when they span a year.
std::vector<std::pair<std::string, std::string>> month_day_ranges(std::int64_t first,
                                                                  std::int64_t last) {
  if (last - first >= 365) return {{"01-01", "12-31"}};
  const std::string from = civil_from_days(first).substr(5);
  const std::string to = civil_from_days(last).substr(5);
  if (from <= to) return {{from, to}};
  return {{from, "12-31"}, {"01-01", to}};
}

// How many rows `select_one` ("SELECT 1 FROM ... WHERE ...", ?1 bound to `argument`) gives,
// counted up to kMaxCounted: a list longer than that is "many more" to a seller, and
// counting all of it would cost a pass over the book.
template <class Item>
void count_into(const Replica::Impl& impl, const std::string& select_one, std::string_view argument,
                ListHead<Item>& head) {
  auto& count = impl.statement("SELECT count(*) FROM (" + select_one + " LIMIT " +
                               std::to_string(kMaxCounted) + ")");
  ResetOnExit reset(count);
  count.bind(1, argument);
  count.step();
  head.total = static_cast<std::size_t>(count.integer(0));
  head.counted_all = head.total < kMaxCounted;
}

// The first `limit` rows of a child table that `where` keeps, in `order`, each with its
// customer's name, and how many there are. `index` is the child table's partial index that
// holds those rows with their customer; customers_live gives the customer's name, so that
// neither table's rows are read but the first ones'.
template <class Entity, class Make>
auto child_list_head(const Replica::Impl& impl, std::string_view index, std::string_view where,
                     std::string_view order, std::string_view today, std::size_t limit, Make make) {
  const TableSpec& table = impl.table(EntityTable<Entity>::name);
  const std::string from = " FROM " + table.name + " t INDEXED BY " + std::string(index) +
                           " JOIN customers c INDEXED BY customers_live"
                           " ON c.id = t.customer_id AND c.deleted = 0 WHERE t.deleted = 0 AND " +
                           std::string(where);
  std::vector<std::pair<std::string, std::string>> firsts;  // (id, customer name)
  {
    auto& stmt = impl.statement("SELECT t.id, c.name" + from + " ORDER BY " + std::string(order) +
                                " LIMIT ?2");
    ResetOnExit reset(stmt);
    stmt.bind(1, today).bind(2, to_sql_limit(limit));
    while (stmt.step()) firsts.emplace_back(stmt.text(0), stmt.text(1));
  }
  ListHead<decltype(make(Entity{}, std::string()))> head;
  auto& load = impl.statement("SELECT " + select_columns(table, "t") + " FROM " + table.name +
                              " t WHERE t.id = ?1");
  for (auto& [id, customer_name] : firsts) {
    ResetOnExit reset(load);
    load.bind(1, id);
    if (load.step()) head.items.push_back(make(read_entity<Entity>(load, table), customer_name));
  }
  head.total = head.items.size();
  if (head.items.size() == limit) count_into(impl, "SELECT 1" + from, today, head);
  return head;
}

ListHead<DueFollowUp> followups_due_head(const Replica::Impl& impl, std::string_view today,
                                         std::size_t limit) {
  const std::int64_t today_number = day_argument(today, "today");
  return child_list_head<FollowUp>(
      impl, "followups_open", "t.done IS NOT 1 AND t.due <= ?1",
      "t.due, c.name COLLATE NOCASE, t.id", today, limit,
      [&](FollowUp followup, std::string customer_name) {
        DueFollowUp due;
        due.followup = std::move(followup);
        due.customer_name = std::move(customer_name);
        if (const auto due_number = parse_day_number(due.followup.due)) {
          due.days_overdue = std::max<std::int64_t>(0, today_number - *due_number);
        }
        return due;
      });
}

ListHead<LostDeal> lost_deals_head(const Replica::Impl& impl, std::string_view today,
                                   std::size_t limit) {
  day_argument(today, "today");
  return child_list_head<Interaction>(
      impl, "interactions_lost",
      "t.outcome = 'lost' AND t.revisit_on IS NOT NULL AND t.revisit_on <= ?1",
      "t.revisit_on, t.date, t.id", today, limit,
      [](Interaction interaction, std::string customer_name) {
        return LostDeal{std::move(interaction), std::move(customer_name)};
      });
}

// Every birthday and anniversary whose next occurrence falls within `days` of today, soonest
// first, the first `limit` of them.
ListHead<UpcomingDate> upcoming_dates_head(const Replica::Impl& impl, std::string_view today,
                                           int days, std::size_t limit) {
  const std::int64_t today_number = day_argument(today, "today");
  if (days < 0) return {};
  const int today_year = std::stoi(std::string(today.substr(0, 4)));
  const std::int64_t horizon = today_number + days;
  std::vector<UpcomingDate> out;

  // Adds the date when its next occurrence falls within [today, today + days].
  const auto consider = [&](UpcomingDate who, const std::optional<std::string>& date,
                            std::string_view what) {
    if (!date) return;
    const auto next = next_occurrence(*date, today_number, today_year);
    if (!next || next->day > horizon) return;
    who.what = std::string(what);
    who.date = civil_from_days(next->day);
    who.days_until = next->day - today_number;
    const int since = std::stoi(date->substr(0, 4));
    if (since < next->year) who.years = next->year - since;
    out.push_back(std::move(who));
  };

  // The month-day indexes find the dates of the window; a day more on each side takes in a
  // 29 February that falls on the 28th this year. A customer's birthday (a person's) and
  // anniversary (customer since) count whatever the kind of customer, since the seller
  // entered them to be reminded.
  for (const auto& [from, to] : month_day_ranges(today_number - 1, horizon + 1)) {
    for (const std::string_view field : {"birthday", "anniversary"}) {
      const std::string column(field);
      const std::string in_window =
          " AND " + column + " IS NOT NULL AND substr(" + column + ", 6, 5) BETWEEN ?1 AND ?2";
      {
        auto& stmt =
            impl.statement("SELECT id, name, " + column + " FROM customers INDEXED BY customers_" +
                           column + "_in_year WHERE deleted = 0" + in_window);
        ResetOnExit reset(stmt);
        stmt.bind(1, from).bind(2, to);
        while (stmt.step()) {
          UpcomingDate who;
          who.customer_id = stmt.text(0);
          who.customer_name = stmt.text(1);
          who.person = who.customer_name;
          consider(std::move(who), stmt.optional_text(2), field);
        }
      }
      auto& stmt = impl.statement("SELECT k.id, k.name, k." + column +
                                  ", c.id, c.name FROM contacts k INDEXED BY contacts_" + column +
                                  "_in_year JOIN customers c INDEXED BY customers_live"
                                  " ON c.id = k.customer_id AND c.deleted = 0"
                                  " WHERE k.deleted = 0 AND k." +
                                  column + " IS NOT NULL AND substr(k." + column +
                                  ", 6, 5) BETWEEN ?1 AND ?2");
      ResetOnExit reset(stmt);
      stmt.bind(1, from).bind(2, to);
      while (stmt.step()) {
        UpcomingDate who;
        who.contact_id = stmt.text(0);
        who.person = stmt.text(1);
        who.customer_id = stmt.text(3);
        who.customer_name = stmt.text(4);
        consider(std::move(who), stmt.optional_text(2), field);
      }
    }
  }

  ListHead<UpcomingDate> head;
  head.total = out.size();
  // Only the soonest days need their names folded to be put in order.
  if (out.size() > limit) {
    std::nth_element(
        out.begin(), out.begin() + static_cast<std::ptrdiff_t>(limit), out.end(),
        [](const UpcomingDate& a, const UpcomingDate& b) { return a.days_until < b.days_until; });
    const std::int64_t last_day = out[limit].days_until;
    out.erase(std::remove_if(out.begin(), out.end(),
                             [&](const UpcomingDate& u) { return u.days_until > last_day; }),
              out.end());
  }
  sort_by_key(out, [](const UpcomingDate& u) {
    return std::tuple(u.days_until, fold_text(u.person), fold_text(u.customer_name), u.what,
                      u.contact_id.value_or(u.customer_id));
  });
  if (out.size() > limit) out.resize(limit);
  head.items = std::move(out);
  return head;
}

// Customers of `which` with no interaction or purchase in more than `days` up to today:
// never contacted first, then the longest silence, the first `limit` of them. Things dated
// after today (a visit logged ahead) have not happened yet: the few customers whose last
// contact is ahead of today are looked at one by one.
ListHead<QuietCustomer> silent_customers(const Replica::Impl& impl, const SilentList& list,
                                         std::string_view today, int days, std::size_t limit) {
  const std::int64_t today_number = day_argument(today, "today");
  const std::string cutoff = civil_from_days(today_number - days);
  const std::string of_them = " FROM customers INDEXED BY " + std::string(list.index) +
                              " WHERE deleted = 0 AND " + std::string(list.which);
  struct Entry {
    QuietCustomer quiet;
    std::string name_key;
  };
  std::vector<Entry> entries;
  const auto add = [&](sqlite::Statement& stmt, std::optional<std::string> last_contact) {
    Entry entry;
    entry.quiet.customer_id = stmt.text(0);
    entry.quiet.customer_name = stmt.text(1);
    entry.name_key = stmt.text(2);
    if (last_contact) {
      if (const auto last = parse_day_number(*last_contact)) {
        entry.quiet.days_quiet = today_number - *last;
      }
      entry.quiet.last_contact = std::move(last_contact);
    }
    entries.push_back(std::move(entry));
  };

  ListHead<QuietCustomer> head;
  {
    const std::string silent = " AND (_last_contact IS NULL OR _last_contact < ?1)";
    auto& stmt = impl.statement("SELECT id, name, coalesce(_name_key, ''), _last_contact" +
                                of_them + silent + " ORDER BY _last_contact, _name_key, id LIMIT " +
                                std::to_string(to_sql_limit(limit)));
    ResetOnExit reset(stmt);
    stmt.bind(1, cutoff);
    while (stmt.step()) add(stmt, stmt.optional_text(3));
    head.total = entries.size();
    if (entries.size() >= limit) count_into(impl, "SELECT 1" + of_them + silent, cutoff, head);
  }
  const std::size_t in_order = entries.size();
  {
    auto& stmt = impl.statement("SELECT id, name, coalesce(_name_key, ''), " +
                                last_contact_sql("customers.id", "?1") + of_them +
                                " AND _last_contact > ?1");
    ResetOnExit reset(stmt);
    stmt.bind(1, today);
    while (stmt.step()) {
      auto last_contact = stmt.optional_text(3);
      if (last_contact && *last_contact >= cutoff) continue;
      add(stmt, std::move(last_contact));
      ++head.total;
    }
  }
  if (entries.size() > in_order) {
    sort_by_key(entries, [](const Entry& e) {
      return std::tuple(e.quiet.last_contact.has_value(), e.quiet.last_contact.value_or(""),
                        e.name_key, e.quiet.customer_id);
    });
  }
  for (auto& entry : entries) {
    if (head.items.size() == limit) break;
    head.items.push_back(std::move(entry.quiet));
  }
  return head;
}

}  // namespace

void create_day_indexes(sqlite::Database& db) {
  bool filled = true;
  {
    auto info = db.prepare("SELECT 1 FROM pragma_table_info('customers') WHERE name = ?");
    info.bind(1, "_last_contact");
    if (!info.step()) {
      db.exec("ALTER TABLE customers ADD COLUMN _last_contact TEXT");
      filled = false;
    }
  }
  db.exec(last_contact_triggers("interactions") + last_contact_triggers("purchases"));
  db.exec("DROP TRIGGER IF EXISTS customers_last_contact");
  if (!filled) db.exec("UPDATE customers SET _last_contact = " + last_contact_sql("customers.id"));

  // Each list's rows in its order, with what it shows, so that a list's first rows and its
  // count read an index and not the tables.
  std::string indexes =
      "CREATE INDEX IF NOT EXISTS customers_live ON customers(id, name) WHERE deleted = 0;"
      "CREATE INDEX IF NOT EXISTS followups_open ON followups(due, customer_id)"
      " WHERE done IS NOT 1 AND deleted = 0;"
      "CREATE INDEX IF NOT EXISTS interactions_lost ON interactions(revisit_on, customer_id)"
      " WHERE outcome = 'lost' AND deleted = 0;";
  for (const SilentList& list : {kCurrentCustomers, kCustomersToReview}) {
    indexes += "CREATE INDEX IF NOT EXISTS " + std::string(list.index) +
               " ON customers(_last_contact, _name_key, id) WHERE deleted = 0 AND " +
               std::string(list.which) + ";";
  }
  for (const char* field : {"birthday", "anniversary"}) {
    const std::string f(field);
    indexes += "CREATE INDEX IF NOT EXISTS customers_" + f + "_in_year ON customers(substr(" + f +
               ", 6, 5), id, name, " + f + ") WHERE deleted = 0 AND " + f + " IS NOT NULL;";
    indexes += "CREATE INDEX IF NOT EXISTS contacts_" + f + "_in_year ON contacts(substr(" + f +
               ", 6, 5), customer_id, id, name, " + f + ") WHERE deleted = 0 AND " + f +
               " IS NOT NULL;";
  }
  db.exec(indexes);
}

void Replica::Impl::customer_inserted(std::int64_t rowid) {
  // A customer that arrives after its children (a page brings a customer edited after its
  // visits later than them) takes its last contact from them. Done here rather than by a
  // trigger, which would cost a bootstrap as much again as the insert itself.
  auto& fill =
      statement("UPDATE customers SET _last_contact = " + last_contact_sql("customers.id") +
                " WHERE rowid = ?1 AND (EXISTS (SELECT 1 FROM interactions"
                " WHERE customer_id = customers.id) OR EXISTS (SELECT 1 FROM purchases"
                " WHERE customer_id = customers.id))");
  fill.bind(1, rowid).run();
}

std::vector<DueFollowUp> Replica::followups_due(std::string_view today) const {
  return followups_due_head(*impl_, today, SIZE_MAX).items;
}

std::vector<UpcomingDate> Replica::upcoming_dates(std::string_view today, int days) const {
  return upcoming_dates_head(*impl_, today, days, SIZE_MAX).items;
}

std::vector<QuietCustomer> Replica::quiet_customers(std::string_view today, int days) const {
  return silent_customers(*impl_, kCurrentCustomers, today, days, SIZE_MAX).items;
}

std::vector<QuietCustomer> Replica::customers_to_review(std::string_view today, int days) const {
  return silent_customers(*impl_, kCustomersToReview, today, days, SIZE_MAX).items;
}

std::vector<LostDeal> Replica::lost_deals_to_revisit(std::string_view today) const {
  return lost_deals_head(*impl_, today, SIZE_MAX).items;
}

DayLists Replica::day_lists(std::string_view today, const DayWindows& windows) const {
  day_argument(today, "today");
  DayLists lists;
  lists.due = followups_due_head(*impl_, today, windows.shown);
  lists.dates = upcoming_dates_head(*impl_, today, windows.dates_ahead, windows.shown);
  lists.lost = lost_deals_head(*impl_, today, windows.shown);
  lists.quiet =
      silent_customers(*impl_, kCurrentCustomers, today, windows.quiet_days, windows.shown);
  lists.review =
      silent_customers(*impl_, kCustomersToReview, today, windows.review_days, windows.shown);
  return lists;
}

}  // namespace libreta::client
