// What every screen of the seller's app works with (the request, the replica, the seller's
// language and formats, the session's CSRF token, the sync status) and the frame each page
// is drawn in: head, sync bar, content, tab bar. Screens are functions from a Screen to a
// web::Response, one group per file.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "book_views.hpp"
#include "libreta/client/replica.hpp"
#include "libreta/client/sync_types.hpp"
#include "libreta/web/form.hpp"
#include "libreta/web/html.hpp"
#include "libreta/web/http.hpp"
#include "locale_format.hpp"
#include "messages.hpp"

namespace libreta::cli::app {

struct Screen {
  client::Replica& replica;
  const web::Request& request;
  web::Params query;  // the URL's parameters
  web::Params form;   // a POST's form fields
  Lang lang;
  LocaleFormat format;
  std::string csrf;  // the session's token, for the forms drawn
  std::string today, now_utc;
  std::optional<client::SyncStatus> sync;  // unset: the book has no server
  std::function<void()> wrote;             // after a write: the session pushes now
  BookViews& views;                        // Today's lists and RFM, kept until the book changes

  std::string tr(Msg id, std::initializer_list<std::string_view> args = {}) const {
    return cli::tr(lang, id, args);
  }
  bool is_post() const { return request.method == "POST"; }
};

enum class Tab { today, customers, add, sync, none };

// The whole page around `content`, titled `title`.
web::Response page(const Screen& s, std::string_view title, std::string_view content, Tab tab,
                   int status = 200);
// A short page saying what went wrong, with a way back.
web::Response message_page(const Screen& s, int status, std::string_view text);
web::Response not_found(const Screen& s);
// <form method="post" action="..."> with the CSRF token; close with "</form>".
std::string form_start(const Screen& s, std::string_view action, std::string_view css_class = "");
// A button that posts to `action` (a form of its own).
std::string post_button(const Screen& s, std::string_view action, std::string_view label,
                        std::string_view css_class = "");
// The sync bar's text and state, also served alone as JSON for the page to refresh it.
std::string sync_bar(const Screen& s);
std::string sync_status_json(const Screen& s);

// Escaped text.
inline std::string h(std::string_view text) {
  return web::escape(text);
}
// "/customers/ID": ids are made by libreta, but whatever a link carries is encoded.
std::string path_of(std::string_view collection, std::string_view id, std::string_view action = "");
// A Unix time in milliseconds as the seller reads it: local date and time.
std::string local_time(const Screen& s, std::uint64_t ms);
// A day as the seller reads it: "hoy", "mañana", "hace 3 días" or the date.
std::string relative_day(const Screen& s, std::string_view day);

// The conflicts in which a value of this seller lost, oldest first; those of automatic
// fields (created_at, updated_at), which both sides stamp, are left out.
std::vector<ConflictNotice> my_conflicts(const Screen& s);

// ---- Screens (one file each) ------------------------------------------------------------------
web::Response today_screen(Screen& s);                        // today_screen.cpp
web::Response customers_screen(Screen& s);                    // customers_screen.cpp
web::Response customer_card(Screen& s, std::string_view id);  // customer_card.cpp
// The values each field of a customer or contact had (history_screen.cpp).
web::Response history_screen(Screen& s, std::string_view table, std::string_view id);
// Who set a value: this device, or the user of another device when known, and the device.
std::string author_text(const Screen& s, const Version& version, const std::string& user);
// customer_forms.cpp: a new customer, an edit, a delete (asked first) and its undo.
web::Response customer_form(Screen& s, std::optional<std::string> id);
web::Response customer_delete(Screen& s, std::string_view id);
web::Response customer_restore(Screen& s, std::string_view id);
// contact_forms.cpp
web::Response contact_form(Screen& s, std::string_view customer_id,
                           std::optional<std::string> contact_id);
web::Response contact_delete(Screen& s, std::string_view id);
// activity_forms.cpp: visits and other interactions, purchases, follow-ups.
web::Response visit_form(Screen& s, std::string_view customer_id);
web::Response interaction_form(Screen& s, std::string_view id);
web::Response purchase_form(Screen& s, std::string_view customer_id,
                            std::optional<std::string> purchase_id);
web::Response followup_form(Screen& s, std::string_view customer_id,
                            std::optional<std::string> followup_id);
web::Response followup_done(Screen& s, std::string_view id);
web::Response child_delete(Screen& s, std::string_view table, std::string_view id);
// sync_screen.cpp: the sync state, the seller's conflicts and refused changes.
web::Response sync_screen(Screen& s);
web::Response put_back(Screen& s);

}  // namespace libreta::cli::app
