// Hoy / Today: what the seller should do today, each item opening its customer.
#include "screen.hpp"

namespace libreta::cli::app {
namespace {

// Items listed per section; the rest are counted.
constexpr std::size_t kShown = client::DayWindows{}.shown;

// A list's section: its title with how many it holds ("1000+" past what was counted), its
// first items, and how many more.
template <class Item>
std::string section(const Screen& s, std::string_view id, Msg title,
                    const client::ListHead<Item>& list, const std::string& items) {
  const std::string count = std::to_string(list.total) + (list.counted_all ? "" : "+");
  std::string out = "<section class=\"card\" id=\"" + std::string(id) + "\"><h2>" + h(s.tr(title)) +
                    " <span class=\"count\">" + count + "</span></h2>";
  out += items.empty() ? "<p class=\"empty\">" + h(s.tr(Msg::app_nothing_here)) + "</p>"
                       : "<ul class=\"items\">" + items + "</ul>";
  if (!list.counted_all) {
    out += "<p class=\"more\">" + h(s.tr(Msg::app_and_many_more)) + "</p>";
  } else if (list.total > kShown) {
    out += "<p class=\"more\">" + h(s.tr(Msg::and_more, {std::to_string(list.total - kShown)})) +
           "</p>";
  }
  return out + "</section>";
}

std::string customer_item(std::string_view customer_id, std::string_view name,
                          std::string_view detail, std::string_view css_class = "") {
  std::string out = "<li";
  if (!css_class.empty()) out += " class=\"" + std::string(css_class) + "\"";
  out += "><a class=\"item\" href=\"" + path_of("customers", customer_id) + "\"><strong>" +
         h(name) + "</strong><span class=\"detail\">" + h(detail) + "</span></a></li>";
  return out;
}

}  // namespace

web::Response today_screen(Screen& s) {
  const client::DayLists& lists = s.views.today(s.replica, s.today);
  std::string content = "<h1>" + h(s.tr(Msg::app_today_title)) + " <small>" +
                        h(s.format.date(s.today)) + "</small></h1>";

  const auto& due = lists.due.items;
  std::string items;
  for (std::size_t i = 0; i < due.size() && i < kShown; ++i) {
    const auto& d = due[i];
    const std::string when = d.days_overdue > 0
                                 ? s.tr(Msg::days_overdue, {std::to_string(d.days_overdue)})
                                 : s.tr(Msg::word_today);
    items += "<li class=\"followup";
    if (d.days_overdue > 0) items += " overdue";
    items += "\"><a class=\"item\" href=\"" + path_of("customers", d.followup.customer_id) +
             "\"><strong>" + h(d.followup.title) + "</strong><span class=\"detail\">" +
             h(d.customer_name) + " · " + h(when) + "</span></a>" +
             post_button(s, path_of("followups", d.followup.id, "done") + "?back=/",
                         s.tr(Msg::app_mark_done), "done") +
             "</li>";
  }
  content += section(s, "followups", Msg::app_today_followups, lists.due, items);

  const auto& dates = lists.dates.items;
  items.clear();
  for (std::size_t i = 0; i < dates.size() && i < kShown; ++i) {
    const auto& d = dates[i];
    std::string what(choice_label("date_kind", d.what, s.lang));
    std::string detail = d.person + " · " + what;
    if (d.years) detail += " (" + std::to_string(*d.years) + ")";
    detail += " · " + (d.days_until == 0   ? s.tr(Msg::word_today)
                       : d.days_until == 1 ? s.tr(Msg::app_tomorrow)
                                           : s.tr(Msg::in_days, {std::to_string(d.days_until)}));
    items += customer_item(d.customer_id, d.customer_name, detail);
  }
  content += section(s, "dates", Msg::app_today_dates, lists.dates, items);

  const auto& lost = lists.lost.items;
  items.clear();
  for (std::size_t i = 0; i < lost.size() && i < kShown; ++i) {
    const auto& l = lost[i];
    std::string detail = l.interaction.lost_reason.value_or(s.tr(Msg::app_no_reason));
    if (l.interaction.revisit_on) detail += " · " + relative_day(s, *l.interaction.revisit_on);
    items += customer_item(l.interaction.customer_id, l.customer_name, detail);
  }
  content += section(s, "lost", Msg::app_today_lost, lists.lost, items);

  // Customers gone quiet, and inactive ones due for review: each with its last contact.
  const auto silent = [&](const std::vector<client::QuietCustomer>& list) {
    std::string out;
    for (std::size_t i = 0; i < list.size() && i < kShown; ++i) {
      const auto& q = list[i];
      out += customer_item(q.customer_id, q.customer_name,
                           q.last_contact
                               ? s.tr(Msg::last_contact, {s.format.date(*q.last_contact),
                                                          std::to_string(q.days_quiet.value_or(0))})
                               : s.tr(Msg::never_contacted));
    }
    return out;
  };
  content += section(s, "quiet", Msg::app_today_quiet, lists.quiet, silent(lists.quiet.items));
  content += section(s, "review", Msg::app_today_review, lists.review, silent(lists.review.items));

  return page(s, s.tr(Msg::app_tab_today), content, Tab::today);
}

}  // namespace libreta::cli::app
