// The seller's reports: a customer's purchase behaviour and the RFM segmentation of every
// customer who bought. Read-only; deleted rows and the children of deleted customers are
// skipped; dates are compared as text, which orders YYYY-MM-DD correctly.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "replica_query_support.hpp"

namespace libreta::client {
namespace {

using namespace queries;

// The months of a behaviour window: an average Gregorian month (365.25 / 12 days).
constexpr double kDaysPerMonth = 30.4375;

// ---- RFM -------------------------------------------------------------------------------------

// Segments in report order, best relationship first.
constexpr std::array<std::string_view, 11> kSegments = {"champions",
                                                        "loyal",
                                                        "potential_loyalist",
                                                        "new",
                                                        "promising",
                                                        "need_attention",
                                                        "about_to_sleep",
                                                        "cant_lose",
                                                        "at_risk",
                                                        "hibernating",
                                                        "lost"};

std::string_view rfm_segment(int r, int f) {
  if (r >= 4 && f >= 4) return "champions";
  if (r == 3 && f >= 4) return "loyal";
  if (r >= 4 && f >= 2) return "potential_loyalist";  // f is 2..3 here
  if (r == 5) return "new";                           // f == 1
  if (r == 4) return "promising";                     // f == 1
  if (r == 3 && f >= 2) return "need_attention";
  if (r == 3) return "about_to_sleep";
  if (f == 5) return "cant_lose";  // r <= 2 from here on
  if (f >= 3) return "at_risk";
  if (r == 2) return "hibernating";
  return "lost";
}

std::size_t segment_order(std::string_view segment) {
  return static_cast<std::size_t>(std::find(kSegments.begin(), kSegments.end(), segment) -
                                  kSegments.begin());
}

int fixed_recency_score(std::int64_t days) {
  if (days <= 30) return 5;
  if (days <= 90) return 4;
  if (days <= 180) return 3;
  if (days <= 365) return 2;
  return 1;
}

int fixed_frequency_score(std::size_t orders) {
  if (orders >= 12) return 5;
  if (orders >= 6) return 4;
  if (orders >= 3) return 3;
  return orders == 2 ? 2 : 1;
}

int fixed_monetary_score(double spend) {
  if (spend >= 10000) return 5;
  if (spend >= 5000) return 4;
  if (spend >= 1000) return 3;
  if (spend >= 250) return 2;
  return 1;
}

// Scores 1..5 by quintiles of `values`, where a higher value is better: score =
// 1 + floor(5 * rank / n). Tie rule: a customer's rank is the number of customers with a
// strictly lower value, so equal values always get the same score (the lowest their block
// reaches) and the result does not depend on the order of the input.
std::vector<int> quintile_scores(const std::vector<double>& values) {
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const auto n = static_cast<std::int64_t>(values.size());
  std::vector<int> scores;
  scores.reserve(values.size());
  for (double value : values) {
    const auto rank = static_cast<std::int64_t>(
        std::lower_bound(sorted.begin(), sorted.end(), value) - sorted.begin());
    scores.push_back(static_cast<int>(std::min<std::int64_t>(5, 1 + 5 * rank / n)));
  }
  return scores;
}

}  // namespace

// ---- Purchase behaviour ----------------------------------------------------------------------

Behaviour Replica::behaviour(std::string_view customer_id, std::string_view as_of) const {
  const std::int64_t as_of_number = day_argument(as_of, "as_of");
  Behaviour result;
  result.customer_id = std::string(customer_id);
  // An order is the purchases of one day: several lines bought together count once.
  auto& stmt = impl_->statement(
      "SELECT COUNT(DISTINCT p.date), MIN(p.date), MAX(p.date), TOTAL(p.amount)"
      " FROM purchases p JOIN customers c ON c.id = p.customer_id AND c.deleted = 0"
      " WHERE p.customer_id = ?1 AND p.deleted = 0 AND p.date <= ?2");
  ResetOnExit reset(stmt);
  stmt.bind(1, customer_id);
  stmt.bind(2, as_of);
  if (!stmt.step() || stmt.integer(0) == 0) return result;
  result.purchase_count = static_cast<std::size_t>(stmt.integer(0));
  result.first_purchase = stmt.text(1);
  result.last_purchase = stmt.text(2);
  result.total_spend = stmt.number(3);
  const auto first = parse_day_number(*result.first_purchase);
  const auto last = parse_day_number(*result.last_purchase);
  if (last) result.days_since_last = as_of_number - *last;
  const double window_days = first ? static_cast<double>(as_of_number - *first) : 0.0;
  const double months = std::max(1.0, window_days / kDaysPerMonth);
  result.orders_per_month = static_cast<double>(result.purchase_count) / months;
  result.average_monthly_spend = result.total_spend / months;
  return result;
}

RfmReport Replica::rfm(std::string_view as_of) const {
  const std::int64_t as_of_number = day_argument(as_of, "as_of");
  auto& stmt = impl_->statement(
      "SELECT c.id, c.name, MAX(p.date), COUNT(DISTINCT p.date), TOTAL(p.amount)"
      " FROM customers c JOIN purchases p ON p.customer_id = c.id AND p.deleted = 0"
      " WHERE c.deleted = 0 AND p.date <= ?1"
      " GROUP BY c.id");
  ResetOnExit reset(stmt);
  stmt.bind(1, as_of);
  RfmReport report;
  while (stmt.step()) {
    const auto last = parse_day_number(stmt.text_view(2));
    if (!last) continue;
    RfmScore score;
    score.customer_id = stmt.text(0);
    score.customer_name = stmt.text(1);
    score.recency_days = as_of_number - *last;
    score.frequency = static_cast<std::size_t>(stmt.integer(3));
    score.monetary = stmt.number(4);
    report.customers.push_back(std::move(score));
  }

  auto& customers = report.customers;
  report.quintiles = customers.size() >= kRfmMinCustomersForQuintiles;
  if (report.quintiles) {
    std::vector<double> recency, frequency, monetary;
    for (const auto& c : customers) {
      recency.push_back(-static_cast<double>(c.recency_days));  // fewer days is better
      frequency.push_back(static_cast<double>(c.frequency));
      monetary.push_back(c.monetary);
    }
    const auto r = quintile_scores(recency);
    const auto f = quintile_scores(frequency);
    const auto m = quintile_scores(monetary);
    for (std::size_t i = 0; i < customers.size(); ++i) {
      customers[i].r = r[i];
      customers[i].f = f[i];
      customers[i].m = m[i];
    }
  } else {
    for (auto& c : customers) {
      c.r = fixed_recency_score(c.recency_days);
      c.f = fixed_frequency_score(c.frequency);
      c.m = fixed_monetary_score(c.monetary);
    }
  }
  for (auto& c : customers) c.segment = std::string(rfm_segment(c.r, c.f));

  sort_by_key(customers, [](const RfmScore& c) {
    return std::tuple(segment_order(c.segment), -c.monetary, fold_text(c.customer_name),
                      c.customer_id);
  });
  return report;
}

}  // namespace libreta::client
