// The seller's dates as an iCalendar file (RFC 5545) for a phone's calendar: pending
// follow-ups and lost deals to revisit as all-day events, birthdays and anniversaries of
// customers and contacts as yearly all-day events. Each event has a stable UID (so that a
// re-import updates rather than duplicates), DTSTAMP, escaped and folded lines.
// Runs on the thread that owns the replica.
#pragma once

#include <string>
#include <string_view>

#include "libreta/client/replica.hpp"
#include "messages.hpp"

namespace libreta::cli {

struct IcalStats {
  std::size_t followups = 0, dates = 0, revisits = 0;
};

// `dtstamp` is the UTC time of the export, YYYYMMDDTHHMMSSZ.
std::string export_icalendar(const client::Replica& replica, Lang lang, std::string_view dtstamp,
                             IcalStats* stats = nullptr);

// "2024-03-15" -> "20240315".
std::string ical_date(std::string_view iso);

}  // namespace libreta::cli
