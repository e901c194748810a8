// Result types of the replica's queries for a seller on the road: search, filters,
// reminders, purchase behaviour and RFM. Plain data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/version.hpp"

namespace libreta::client {

// Which customers to list. Unset members do not filter.
struct CustomerFilter {
  std::optional<std::string> status, relationship, segment, city, region, owner, tag;
  std::size_t limit = 1000;
};

// The order of a customer listing.
enum class CustomerSort {
  name,          // by name, accents and case aside
  last_contact,  // the longest without an interaction or purchase first (never: first of all)
  revenue,       // the largest annual revenue first (none: last)
  relevance,     // best search match first (with a text; by name without one)
};

// One page of customers for a list screen: a filter, an optional search text and an order.
struct CustomerQuery {
  CustomerFilter filter;  // its limit is ignored: offset and limit below page the result
  std::string text;       // words the customer, a contact or an interaction must match
  CustomerSort sort = CustomerSort::name;
  std::size_t offset = 0;
  std::size_t limit = 50;
};

struct ListedCustomer {
  Customer customer;
  std::optional<std::string> last_contact;  // last interaction or purchase up to today
};

struct CustomerListing {
  std::vector<ListedCustomer> customers;  // the page
  std::size_t total = 0;                  // customers matching, on every page
  // The search text was too short or matched too much of the book to rank: the listing
  // holds the customers whose name starts with it, by name.
  bool by_name_start = false;
};

struct SearchHit {
  std::string customer_id;
  std::string customer_name;
  std::string table;    // where the match is: customers, contacts or interactions
  std::string row_id;   // the matching row
  std::string snippet;  // the matching text, for display
};

struct DueFollowUp {
  FollowUp followup;
  std::string customer_name;
  std::int64_t days_overdue = 0;  // 0 when due today
};

// A birthday or anniversary coming up.
struct UpcomingDate {
  std::string customer_id;
  std::string customer_name;
  std::optional<std::string> contact_id;  // set when it is a contact's date
  std::string person;                     // whose date it is
  std::string what;                       // "birthday" or "anniversary"
  std::string date;                       // the next occurrence, YYYY-MM-DD
  std::int64_t days_until = 0;
  std::optional<int> years;  // age or years since, when the original year is known
};

struct QuietCustomer {
  std::string customer_id;
  std::string customer_name;
  std::optional<std::string> last_contact;  // last interaction or purchase, YYYY-MM-DD
  std::optional<std::int64_t> days_quiet;   // unset when never contacted
};

struct LostDeal {
  Interaction interaction;
  std::string customer_name;
};

// One value of a field in its history.
struct FieldValue {
  Value value;       // null: the field was cleared
  Version version;   // when, and on which device, it was set
  std::string user;  // who uses that device, when the replica knows; else empty
  bool current = false;
};

// The first items of a list that can be long, and how many it holds in all.
template <typename Item>
struct ListHead {
  std::vector<Item> items;
  std::size_t total = 0;
  // False when counting stopped at `total` (a thousand): there are at least that many.
  bool counted_all = true;
};

// How far ahead and back the seller's day looks, and how many of each list it shows.
struct DayWindows {
  int dates_ahead = 14;    // birthdays and anniversaries this many days ahead
  int quiet_days = 60;     // a current customer is quiet after this many days without contact
  int review_days = 180;   // an inactive or lost one comes up for review after this many
  std::size_t shown = 20;  // items of each list
};

// What a seller has to do today (Replica::day_lists), each list in the order of its query.
struct DayLists {
  ListHead<DueFollowUp> due;
  ListHead<UpcomingDate> dates;
  ListHead<LostDeal> lost;
  ListHead<QuietCustomer> quiet, review;
};

// What a customer's purchases say about them, as of a given day.
struct Behaviour {
  std::string customer_id;
  std::size_t purchase_count = 0;  // distinct purchase days (orders)
  std::optional<std::string> first_purchase, last_purchase;
  std::optional<std::int64_t> days_since_last;
  double total_spend = 0;
  double orders_per_month = 0;       // over the months from the first purchase to as_of
  double average_monthly_spend = 0;  // same window
};

struct RfmScore {
  std::string customer_id;
  std::string customer_name;
  std::int64_t recency_days = 0;
  std::size_t frequency = 0;  // orders
  double monetary = 0;        // total spend
  int r = 0, f = 0, m = 0;    // 1 (worst) .. 5 (best)
  std::string segment;        // champions, loyal, potential_loyalist, new, promising,
                              // need_attention, about_to_sleep, cant_lose, at_risk,
                              // hibernating, lost (the report's order)
};

struct RfmReport {
  bool quintiles = false;  // true: scores by quintiles of the book; false: fixed thresholds
  std::vector<RfmScore> customers;
};

// With fewer customers who bought than this, quintiles are meaningless: fixed thresholds.
inline constexpr std::size_t kRfmMinCustomersForQuintiles = 50;

}  // namespace libreta::client
