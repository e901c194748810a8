// The frame of every page of the seller's app: head, sync bar, content and tab bar.
#include <ctime>

#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/json_text.hpp"
#include "screen.hpp"

namespace libreta::cli::app {
namespace {

std::string_view html_lang(Lang lang) {
  return lang == Lang::es ? "es" : "en";
}

std::string tab_link(const Screen& s, Tab tab, Tab current, std::string_view href, Msg label,
                     std::string_view icon) {
  std::string out = "<a href=\"";
  out.append(href).append("\"");
  if (tab == current) out += " aria-current=\"page\"";
  out += "><span class=\"icon\" aria-hidden=\"true\">";
  out.append(icon).append("</span>").append(h(s.tr(label))).append("</a>");
  return out;
}

struct BarState {
  std::string state;  // "alone", "online", "offline", "syncing", "problem"
  std::string text;
};

BarState bar_state(const Screen& s) {
  if (!s.sync) return {"alone", s.tr(Msg::app_sync_alone)};
  const client::SyncStatus& st = *s.sync;
  // Counted in rows from the replica itself: the session's count is of field changes, and
  // lags a write the app just made.
  const std::size_t rows = s.replica.pending_rows();
  const std::string pending = rows == 0 ? s.tr(Msg::app_sync_nothing_pending)
                                        : s.tr(Msg::app_sync_pending, {std::to_string(rows)});
  const std::string last = st.last_sync_ms
                               ? s.tr(Msg::app_sync_last, {local_time(s, *st.last_sync_ms)})
                               : s.tr(Msg::app_sync_never);
  if (st.connected && st.downloading) {
    if (st.rows_expected > 0) {
      return {"syncing", s.tr(Msg::app_sync_downloading_of,
                              {s.format.number(static_cast<double>(st.rows_received)),
                               s.format.number(static_cast<double>(st.rows_expected))})};
    }
    return {"syncing", s.tr(Msg::app_sync_downloading,
                            {s.format.number(static_cast<double>(st.rows_received))})};
  }
  if (st.connected) {
    // Connected with nothing to send: nothing more to tell.
    return {"online",
            s.tr(Msg::app_sync_online) + " · " + pending + (rows == 0 ? "" : " · " + last)};
  }
  if (st.last_error && (st.last_error->code == ErrorCode::bad_token ||
                        st.last_error->code == ErrorCode::unsupported_protocol ||
                        st.last_error->code == ErrorCode::unsupported_schema ||
                        st.last_error->code == ErrorCode::tls)) {
    return {"problem", s.tr(Msg::app_sync_problem) + " · " + pending + " · " + last};
  }
  return {"offline", s.tr(Msg::app_sync_offline) + " · " + pending + " · " + last};
}

// " · 2 conflicts · 1 change refused", or "" when there is nothing to tell.
std::string alerts_text(const Screen& s) {
  std::string out;
  const std::size_t conflicts = my_conflicts(s).size();
  if (conflicts > 0) {
    out += " · " + s.tr(Msg::app_sync_conflicts, {std::to_string(conflicts)});
  }
  const std::size_t refused = s.replica.reported_refusals().size();
  if (refused > 0) {
    out += " · " + s.tr(Msg::app_sync_refused, {std::to_string(refused)});
  }
  return out;
}

}  // namespace

// A Unix time in ms as the seller reads it: local date and time.
std::string local_time(const Screen& s, std::uint64_t ms) {
  const auto seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return s.format.date_time(buffer);
}

std::string sync_bar(const Screen& s) {
  const BarState bar = bar_state(s);
  std::string out = "<a class=\"sync-bar\" id=\"sync-bar\" href=\"/sync\" data-state=\"";
  out.append(bar.state).append(
      "\"><span class=\"dot\" aria-hidden=\"true\"></span><span id=\"sync-text\">");
  out.append(h(bar.text)).append("</span>");
  out += "<span id=\"sync-alerts\">" + h(alerts_text(s));
  out += "</span></a>";
  return out;
}

std::string sync_status_json(const Screen& s) {
  const BarState bar = bar_state(s);
  std::string out = "{\"state\":";
  json_text::append_string(out, bar.state);
  out += ",\"text\":";
  json_text::append_string(out, bar.text);
  out += ",\"alerts\":";
  json_text::append_string(out, alerts_text(s));
  if (s.sync) {
    out += ",\"pending\":" + std::to_string(s.replica.pending_rows());
    out += ",\"connected\":";
    out += s.sync->connected ? "true" : "false";
    out += ",\"cursor\":" + std::to_string(s.sync->cursor);
  }
  out += ",\"data_version\":" + std::to_string(s.replica.data_version());
  out += "}";
  return out;
}

web::Response page(const Screen& s, std::string_view title, std::string_view content, Tab tab,
                   int status) {
  std::string out;
  out.reserve(content.size() + 4096);
  out += "<!doctype html>\n<html lang=\"";
  out.append(html_lang(s.lang)).append("\"><head><meta charset=\"utf-8\">");
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  out += "<meta name=\"color-scheme\" content=\"light\">";
  out += "<title>" + h(title) + " · libreta</title>";
  out += "<link rel=\"icon\" href=\"/assets/icon.svg\" type=\"image/svg+xml\">";
  out += "<link rel=\"stylesheet\" href=\"/assets/app.css\">";
  out += "<script src=\"/assets/app.js\" defer></script></head><body>";
  out += "<header class=\"top\">" + sync_bar(s) + "</header>";
  out += "<main id=\"main\">";
  out.append(content);
  out += "</main><nav class=\"tabs\" aria-label=\"" + h(s.tr(Msg::app_nav)) + "\">";
  out += tab_link(s, Tab::today, tab, "/", Msg::app_tab_today, "&#9728;");
  out += tab_link(s, Tab::customers, tab, "/customers", Msg::app_tab_customers, "&#9776;");
  out += tab_link(s, Tab::add, tab, "/customers/new", Msg::app_tab_add, "+");
  out += tab_link(s, Tab::sync, tab, "/sync", Msg::app_tab_sync_short, "&#8645;");
  out += "</nav></body></html>\n";
  return web::Response::html(std::move(out), status);
}

web::Response message_page(const Screen& s, int status, std::string_view text) {
  std::string content = "<h1>" + h(s.tr(Msg::app_problem_title)) + "</h1><p class=\"notice\">" +
                        h(text) + "</p><p><a class=\"button\" href=\"/\">" +
                        h(s.tr(Msg::app_back_today)) + "</a></p>";
  return page(s, s.tr(Msg::app_problem_title), content, Tab::none, status);
}

web::Response not_found(const Screen& s) {
  return message_page(s, 404, s.tr(Msg::app_not_found));
}

std::string form_start(const Screen& s, std::string_view action, std::string_view css_class) {
  // novalidate: the app checks every field and says what is wrong in the seller's language;
  // the browser's own bubbles would stop some of those messages and not others.
  std::string out = "<form method=\"post\" novalidate action=\"" + h(action) + "\"";
  if (!css_class.empty()) out += " class=\"" + h(css_class) + "\"";
  out += "><input type=\"hidden\" name=\"csrf\" value=\"" + h(s.csrf) + "\">";
  return out;
}

std::string post_button(const Screen& s, std::string_view action, std::string_view label,
                        std::string_view css_class) {
  return form_start(s, action, "inline") + "<button type=\"submit\" class=\"" + h(css_class) +
         "\">" + h(label) + "</button></form>";
}

std::string path_of(std::string_view collection, std::string_view id, std::string_view action) {
  std::string out = "/";
  out.append(collection).append("/").append(web::percent_encode(id));
  if (!action.empty()) out.append("/").append(action);
  return out;
}

std::string relative_day(const Screen& s, std::string_view day) {
  if (day.size() < 10) return s.format.date(day);
  const std::string date(day.substr(0, 10));
  if (date == s.today) return s.tr(Msg::word_today);
  // parse_day_number: the days since 1970 of a YYYY-MM-DD date, as every reminder counts them.
  const auto today = parse_day_number(s.today);
  const auto then = parse_day_number(date);
  if (today && then) {
    const std::int64_t days = *today - *then;
    if (days == 1) return s.tr(Msg::app_yesterday);
    if (days == -1) return s.tr(Msg::app_tomorrow);
    if (days > 1 && days < 31) return s.tr(Msg::days_ago, {std::to_string(days)});
  }
  return s.format.date(date);
}

}  // namespace libreta::cli::app
