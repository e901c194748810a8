// What the office's files share: the signed-in person, one request's context (its language,
// query, form, session), the page shell, and the pages (office_book.cpp,
// office_customer.cpp, office_inbox.cpp).
#pragma once

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "libreta/server/office_pages.hpp"
#include "libreta/web/form.hpp"
#include "libreta/web/html.hpp"
#include "libreta/web/session_store.hpp"
#include "office_text.hpp"

namespace libreta::server::office {

// Who signed in: a manager or an admin, by their token.
struct Officer {
  std::string user;
  Role role = Role::manager;
  std::string token_id;
};

// One request as a page sees it.
struct Visit {
  const web::Request& request;
  bool spanish = false;
  web::Params query;
  web::Params form;  // a POST's fields, CSRF checked
  const Officer& officer;
  std::string csrf;

  std::string t(Text id, std::initializer_list<std::string_view> args = {}) const {
    return text(spanish, id, args);
  }
};

inline std::string h(std::string_view text) {
  return web::escape(text);
}

// The page shell: head, the office's bar (book, conflicts, sign out) and `content`.
web::Response page(const Visit& v, std::string_view title, const std::string& content,
                   int status = 200);
// A page that says one thing (not found, refused).
web::Response message_page(const Visit& v, int status, const std::string& message);
// A form's hidden CSRF field.
std::string csrf_field(const Visit& v);
// The office's stylesheet.
std::string_view stylesheet();
// A value as the office shows it: choices by their label, tags joined, the rest as text.
std::string shown_value(const Visit& v, std::string_view field, const Value& value);
// "2026-12-07 16:30" from Unix milliseconds.
std::string shown_time(std::uint64_t unix_ms);

}  // namespace libreta::server::office

namespace libreta::server {

struct OfficePages::Impl {
  Impl(std::shared_ptr<SyncService> service_in, OfficeOptions options_in)
      : service(std::move(service_in)),
        store(service->store()),
        schema(service->schema()),
        options(std::move(options_in)),
        sessions(options.session_idle, kMaxSessions) {}

  static constexpr std::size_t kMaxSessions = 1'000;

  std::shared_ptr<SyncService> service;
  Store& store;
  const Schema& schema;
  OfficeOptions options;
  std::mutex hosts_mutex;
  web::SessionStore<office::Officer> sessions;
  std::mutex failures_mutex;
  std::vector<std::chrono::steady_clock::time_point> sign_in_failures;

  web::Response handle(const web::Request& request);
  web::Response sign_in(const web::Request& request, bool spanish);
  web::Response route(office::Visit& v, const std::vector<std::string>& parts);

  web::Response book(const office::Visit& v);
  web::Response book_csv(const office::Visit& v);
  web::Response customer(const office::Visit& v, const std::string& id, std::string notice = {});
  web::Response save_customer(const office::Visit& v, const std::string& id);
  web::Response inbox(const office::Visit& v, std::string notice = {});
  web::Response devices(const office::Visit& v);
  web::Response reassign_page(const office::Visit& v, std::string notice = {}, int status = 200);
  web::Response reassign(const office::Visit& v);
  web::Response resolve(const office::Visit& v, const std::string& id);

  // The customers the book's filters select, from `after` on.
  RowQuery book_query(const office::Visit& v, std::size_t limit) const;
  // Writes as the office, waiting for the writer; the failure's words, or nothing.
  std::optional<std::string> write(const office::Visit& v, std::vector<Change> changes,
                                   std::optional<ConflictResolution> resolves = std::nullopt);
  // The name of the customer a row belongs to ("" when it has none).
  std::string customer_name_of(const ServerRow& row);
};

}  // namespace libreta::server
