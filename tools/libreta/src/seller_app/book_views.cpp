#include "book_views.hpp"

namespace libreta::cli::app {

void BookViews::refresh(const client::Replica& replica, const std::string& today) {
  const std::int64_t version = replica.data_version();
  if (version == data_version_ && writes_ == writes_seen_ && today == day_) return;
  data_version_ = version;
  writes_seen_ = writes_;
  day_ = today;
  today_.reset();
  segments_.reset();
}

const client::DayLists& BookViews::today(const client::Replica& replica, const std::string& today) {
  refresh(replica, today);
  if (!today_) {
    today_ = replica.day_lists(today);
  }
  return *today_;
}

std::string BookViews::rfm_segment(const client::Replica& replica, const std::string& today,
                                   const std::string& customer_id) {
  refresh(replica, today);
  if (!segments_) {
    segments_.emplace();
    for (auto& score : replica.rfm(today).customers) {
      (*segments_)[score.customer_id] = std::move(score.segment);
    }
  }
  const auto it = segments_->find(customer_id);
  return it == segments_->end() ? std::string() : it->second;
}

}  // namespace libreta::cli::app
