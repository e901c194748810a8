// What the app's screens read of the whole book that costs a pass over it (Today's lists, the
// RFM segments), kept until the book changes: computed again only when the replica file has
// a commit from another connection (the sync session's), the app wrote, or the day changed.
// Used on the web server's one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libreta/client/replica.hpp"

namespace libreta::cli::app {

// Today's lists, whole: the screen shows the first of each and counts the rest.
struct TodayLists {
  std::vector<client::DueFollowUp> due;
  std::vector<client::UpcomingDate> dates;
  std::vector<client::LostDeal> lost;
  std::vector<client::QuietCustomer> quiet, review;
};

class BookViews {
 public:
  // Birthdays and anniversaries this many days ahead; a current customer is quiet after this
  // many days without contact; an inactive one comes up for review after this many.
  static constexpr int kDatesAhead = 14;
  static constexpr int kQuietDays = 60;
  static constexpr int kReviewDays = 180;

  // The app wrote to the replica: what was kept is stale.
  void wrote() { ++writes_; }

  const TodayLists& today(const client::Replica& replica, const std::string& today);
  // The customer's RFM segment as of today, or "" when they bought nothing.
  std::string rfm_segment(const client::Replica& replica, const std::string& today,
                          const std::string& customer_id);

 private:
  // Forgets everything when the book or the day changed since it was kept.
  void refresh(const client::Replica& replica, const std::string& today);

  std::int64_t data_version_ = -1;
  std::uint64_t writes_ = 0, writes_seen_ = 0;
  std::string day_;
  std::optional<TodayLists> today_;
  std::optional<std::map<std::string, std::string>> segments_;
};

}  // namespace libreta::cli::app
