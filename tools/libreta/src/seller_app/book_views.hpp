// What the app's screens read of the whole book (Today's lists, the RFM segments), kept until the
// book changes: computed again only when the replica file has a commit from another connection (the
// sync session's), the app wrote, or the day changed. Used on the web server's one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libreta/client/replica.hpp"

namespace libreta::cli::app {

class BookViews {
 public:
  // The app wrote to the replica: what was kept is stale.
  void wrote() { ++writes_; }

  const client::DayLists& today(const client::Replica& replica, const std::string& today);
  // The customer's RFM segment as of today, or "" when they bought nothing.
  std::string rfm_segment(const client::Replica& replica, const std::string& today,
                          const std::string& customer_id);

 private:
  // Forgets everything when the book or the day changed since it was kept.
  void refresh(const client::Replica& replica, const std::string& today);

  std::int64_t data_version_ = -1;
  std::uint64_t writes_ = 0, writes_seen_ = 0;
  std::string day_;
  std::optional<client::DayLists> today_;
  std::optional<std::map<std::string, std::string>> segments_;
};

}  // namespace libreta::cli::app
