// Helpers of the replica's queries (replica_queries.cpp, replica_reports.cpp): statements
// reset on the way out, date arguments, reading whole entities from a SELECT, and sorting
// by a key computed once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libreta/protocol/text.hpp"
#include "replica_impl.hpp"

namespace libreta::client::queries {

// Prepared statements come from the Impl cache and outlive a query; resetting them on the
// way out ends the read they hold, also when a loop stops early or throws.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite::Statement& stmt) : stmt_(stmt) {}
  ~ResetOnExit() { stmt_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite::Statement& stmt_;
};

inline std::int64_t to_sql_limit(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(limit, kMax));
}

// The day number of a YYYY-MM-DD argument; a malformed one is the caller's error.
inline std::int64_t day_argument(std::string_view date, std::string_view what) {
  if (!is_valid_date(date)) {
    throw Error(ErrorCode::invalid_value,
                std::string(what) + " '" + std::string(date) + "' is not a YYYY-MM-DD date");
  }
  return *parse_day_number(date);
}

// SQL for the day (YYYY-MM-DD) of the latest live interaction or purchase of the customer
// whose id is the SQL `id` ("customers.id", "?1"): any day, or with `until` (a parameter,
// "?1") the latest up to that day; null when there is none.
inline std::string last_contact_sql(std::string_view id, std::string_view until = {}) {
  const std::string day = "substr(date, 1, 10)";
  const std::string bound = until.empty() ? "" : " AND " + day + " <= " + std::string(until);
  const std::string of = " WHERE customer_id = " + std::string(id) + " AND deleted = 0" + bound;
  return "(SELECT max(d) FROM (SELECT max(" + day + ") AS d FROM interactions" + of +
         " UNION ALL SELECT max(" + day + ") FROM purchases" + of + "))";
}

// "alias.id, alias."field1", ..." for every field of the table, in schema order.
inline std::string select_columns(const TableSpec& table, std::string_view alias) {
  std::string out(alias);
  out += ".id";
  for (const auto& field : table.fields) {
    out += ", ";
    out += alias;
    out += ".\"";
    out += field.name;
    out += '"';
  }
  return out;
}

inline int column_count(const TableSpec& table) {
  return 1 + static_cast<int>(table.fields.size());
}

// Reads a row selected with select_columns(), starting at column `first`.
template <class Entity>
Entity read_entity(const sqlite::Statement& stmt, const TableSpec& table, int first = 0) {
  Entity entity;
  entity.id = stmt.text(first);
  Record record;
  for (std::size_t i = 0; i < table.fields.size(); ++i) {
    const auto& field = table.fields[i];
    Value value = read_column(stmt, first + 1 + static_cast<int>(i), field.kind);
    if (!value.is_null()) record.emplace(field.name, std::move(value));
  }
  from_record(record, entity);
  return entity;
}

// Live rows of a child table (aliased `t`) with their live customer's name: those that
// `where_order` keeps ("t.due <= ?1 ORDER BY t.due"), ?1 bound to `argument`; calls
// `add(entity, customer_name)` for each, in order.
template <class Entity, class Add>
void each_with_customer_name(const Replica::Impl& impl, std::string_view where_order,
                             std::string_view argument, Add add) {
  const TableSpec& table = impl.table(EntityTable<Entity>::name);
  const std::string sql = "SELECT " + select_columns(table, "t") + ", c.name FROM " + table.name +
                          " t JOIN customers c ON c.id = t.customer_id AND c.deleted = 0"
                          " WHERE t.deleted = 0 AND " +
                          std::string(where_order);
  auto& stmt = impl.statement(sql);
  ResetOnExit reset(stmt);
  stmt.bind(1, argument);
  while (stmt.step()) add(read_entity<Entity>(stmt, table), stmt.text(column_count(table)));
}

// Live rows of a child table belonging to a live customer, in the given order.
template <class Entity>
std::vector<Entity> live_children(const Replica::Impl& impl, std::string_view customer_id,
                                  std::string_view order_by) {
  std::vector<Entity> out;
  each_with_customer_name<Entity>(
      impl, "t.customer_id = ?1 ORDER BY " + std::string(order_by), customer_id,
      [&](Entity entity, const std::string&) { out.push_back(std::move(entity)); });
  return out;
}

// Sorts by a key computed once per item (names are folded so that a seller reads them in
// order, accents and case aside: "Álamo" before "Zurita"); equal keys keep their order.
template <class T, class KeyOf>
void sort_by_key(std::vector<T>& items, KeyOf key_of) {
  using Key = decltype(key_of(items.front()));
  std::vector<std::pair<Key, std::size_t>> keys;
  keys.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) keys.emplace_back(key_of(items[i]), i);
  std::stable_sort(keys.begin(), keys.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<T> sorted;
  sorted.reserve(items.size());
  for (auto& key : keys) sorted.push_back(std::move(items[key.second]));
  items = std::move(sorted);
}

}  // namespace libreta::client::queries
