// Drives the seller's app as a browser would, without sockets: the SellerApp handler over a
// real replica file in a temporary directory, signed in through its one-time link, with the
// session cookie and the CSRF token of the last page sent along. A second connection to the
// same file (inspect()) checks what the app wrote. Not thread-safe.
#pragma once

#include <memory>
#include <regex>
#include <string>

#include "libreta/client/replica.hpp"
#include "libreta/web/form.hpp"
#include "libreta/web/http.hpp"
#include "seller_app/seller_app.hpp"
#include "support/temp_dir.hpp"

namespace libreta::test {

inline constexpr const char* kAppHost = "127.0.0.1:8484";

class AppDriver {
 public:
  explicit AppDriver(std::string today = "2024-03-15") : today_(std::move(today)) {
    cli::SellerAppOptions options;
    options.today = [this] { return today_; };
    options.now_utc = [this] { return today_ + "T10:00:00Z"; };
    options.nudge = [this] { ++nudges; };
    options.sync_status = [this] { return status; };
    app_ = std::make_unique<cli::SellerApp>(client::Replica::open(book()), std::move(options));
    app_->set_allowed_hosts({kAppHost, "localhost:8484"});
    inspector_ = client::Replica::open(book());
    sign_in();
  }

  std::filesystem::path book() const { return dir_.file("book.db"); }
  // A second connection to the replica file, to check what the app wrote.
  client::Replica& inspect() { return *inspector_; }

  void sign_in() {
    auto response = send(request("GET", "/signin?key=" + app_->new_sign_in_key()));
    const auto set_cookie = response.header("set-cookie");
    if (!set_cookie) throw std::runtime_error("sign-in gave no cookie");
    cookie = std::string(set_cookie->substr(0, set_cookie->find(';')));
  }

  web::Request request(std::string method, std::string_view target) const {
    web::Request r = web::Request::get(target);
    r.method = std::move(method);
    r.headers.push_back({"host", kAppHost});
    r.headers.push_back({"accept-language", language});
    if (!cookie.empty()) r.headers.push_back({"cookie", cookie});
    return r;
  }

  web::Response send(const web::Request& r) {
    web::Response response = app_->handle(r);
    static const std::regex csrf_field("name=\"csrf\" value=\"([^\"]+)\"");
    std::smatch match;
    if (std::regex_search(response.body, match, csrf_field)) csrf = match[1];
    return response;
  }

  web::Response get(std::string_view target) { return send(request("GET", target)); }

  // Posts the form with the session's CSRF token (unless the form sets its own).
  web::Response post(std::string_view target, web::Params form = {}) {
    if (csrf.empty()) get("/customers/new");  // a page that always holds a form
    if (!form.has("csrf")) form.add("csrf", csrf);
    web::Request r = request("POST", target);
    r.headers.push_back({"content-type", "application/x-www-form-urlencoded"});
    r.body = form.encode();
    return send(r);
  }

  cli::SellerApp& app() { return *app_; }
  void set_today(std::string today) { today_ = std::move(today); }

  std::string language = "en-GB,en;q=0.9";
  std::string cookie, csrf;
  int nudges = 0;
  client::SyncStatus status;

 private:
  TempDir dir_;
  std::string today_;
  std::unique_ptr<cli::SellerApp> app_;
  std::unique_ptr<client::Replica> inspector_;
};

// Params from name=value pairs.
inline web::Params form(std::initializer_list<std::pair<std::string, std::string>> fields) {
  web::Params params;
  for (const auto& [name, value] : fields) params.add(name, value);
  return params;
}

}  // namespace libreta::test
