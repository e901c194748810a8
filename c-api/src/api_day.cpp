// The seller's day (follow-ups, dates, quiet customers, lost deals, behaviour, RFM) and the
// conflicts and refusals the server reported.
#include "boundary.hpp"
#include "json_out.hpp"
#include "replica_handle.hpp"

using namespace libreta;
using namespace libreta::capi;

namespace {

// A day as the queries take it: YYYY-MM-DD, a real calendar day.
std::string_view require_day(const char* text, const char* what) {
  const auto day = require_text(text, what);
  if (!is_valid_date(day)) {
    throw Error(ErrorCode::invalid_value, std::string(what) + " must be a date YYYY-MM-DD");
  }
  return day;
}

int require_days(int days) {
  if (days < 0 || days > 3660) {
    throw Error(ErrorCode::invalid_value, "days must be from 0 to 3660");
  }
  return days;
}

// Runs `query` on the open replica and hands its JSON text to the caller.
template <class Query>
int query_json(libreta_replica* replica, char** json, libreta_error* error, Query&& query) {
  return guarded(error, [&] {
    require(json, "json");
    std::string text;
    with_replica(replica, [&](client::Replica& r) { text = to_text(query(r)); });
    *json = copy_out(text);
  });
}

}  // namespace

extern "C" {

int libreta_followups_due(libreta_replica* replica, const char* today, char** json,
                          libreta_error* error) {
  return query_json(replica, json, error, [&](client::Replica& r) {
    return due_json(r.followups_due(require_day(today, "today")));
  });
}

int libreta_upcoming_dates(libreta_replica* replica, const char* today, int days, char** json,
                           libreta_error* error) {
  return query_json(replica, json, error, [&](client::Replica& r) {
    return upcoming_json(r.upcoming_dates(require_day(today, "today"), require_days(days)));
  });
}

int libreta_quiet_customers(libreta_replica* replica, const char* today, int days, char** json,
                            libreta_error* error) {
  return query_json(replica, json, error, [&](client::Replica& r) {
    return quiet_json(r.quiet_customers(require_day(today, "today"), require_days(days)));
  });
}

int libreta_lost_deals(libreta_replica* replica, const char* today, char** json,
                       libreta_error* error) {
  return query_json(replica, json, error, [&](client::Replica& r) {
    return lost_deals_json(r.lost_deals_to_revisit(require_day(today, "today")));
  });
}

int libreta_behaviour(libreta_replica* replica, const char* customer_id, const char* as_of,
                      char** json, libreta_error* error) {
  return query_json(replica, json, error, [&](client::Replica& r) {
    const auto id = require_text(customer_id, "customer_id");
    if (!r.get(tables::customers, id)) {
      throw Error(ErrorCode::not_found, "no customer " + std::string(id));
    }
    return behaviour_json(r.behaviour(id, require_day(as_of, "as_of")));
  });
}

int libreta_rfm(libreta_replica* replica, const char* as_of, char** json, libreta_error* error) {
  return query_json(replica, json, error, [&](client::Replica& r) {
    return rfm_json(r.rfm(require_day(as_of, "as_of")));
  });
}

int libreta_conflicts(libreta_replica* replica, int side, char** json, libreta_error* error) {
  return query_json(replica, json, error, [&](client::Replica& r) {
    switch (side) {
      case LIBRETA_CONFLICTS_ANY:
        return conflicts_json(r.reported_conflicts(client::ConflictSide::any));
      case LIBRETA_CONFLICTS_LOST:
        return conflicts_json(r.reported_conflicts(client::ConflictSide::lost));
      case LIBRETA_CONFLICTS_WON:
        return conflicts_json(r.reported_conflicts(client::ConflictSide::won));
    }
    throw Error(ErrorCode::invalid_value, "unknown conflict side " + std::to_string(side));
  });
}

int libreta_refusals(libreta_replica* replica, char** json, libreta_error* error) {
  return query_json(replica, json, error,
                    [&](client::Replica& r) { return refusals_json(r.reported_refusals()); });
}

}  // extern "C"
