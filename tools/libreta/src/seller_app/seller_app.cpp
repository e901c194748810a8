// The seller's app: who may come in (Host, sign-in key, session cookie, CSRF token), which
// screen answers which path, and the notice a screen leaves after a redirect.
#include "seller_app.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <variant>

#include "assets.hpp"
#include "libreta/web/cookies.hpp"
#include "libreta/web/guard.hpp"
#include "libreta/web/session_store.hpp"
#include "screen.hpp"

namespace libreta::cli {
namespace {

constexpr const char* kSessionCookie = "libreta_session";
// A signed-in browser stays signed in this long after its last request.
constexpr std::chrono::hours kSessionIdle{12};
// Sessions kept at most; the oldest goes first.
constexpr std::size_t kMaxSessions = 32;
// An unused sign-in key expires after this long.
constexpr std::chrono::minutes kKeyLifetime{30};
// Wrong passwords allowed within kPasswordWindow; past them, every sign-in by password waits.
constexpr std::size_t kMaxPasswordFailures = 5;
constexpr std::chrono::minutes kPasswordWindow{1};

using Clock = std::chrono::steady_clock;

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return out;
}

// A salted SHA-256 of a password: what the app keeps, and compares in constant time.
std::string password_digest(std::string_view salt, std::string_view password) {
  std::string input(salt);
  input.append(password);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  OPENSSL_cleanse(input.data(), input.size());
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

// Spanish when the browser's first language is; English otherwise.
Lang lang_of(const web::Request& request) {
  return web::prefers_spanish(request) ? Lang::es : Lang::en;
}

web::Response plain(int status, std::string text) {
  web::Response response = web::Response::text(std::move(text) + "\n", status);
  web::add_security_headers(response);
  return response;
}

}  // namespace

struct SellerApp::Impl {
  using Session = web::SessionStore<std::monostate>::Session;

  std::unique_ptr<client::Replica> replica;
  SellerAppOptions options;
  std::set<std::string> allowed_hosts;
  std::map<std::string, Clock::time_point> sign_in_keys;  // key → when it was made
  web::SessionStore<std::monostate> sessions{kSessionIdle, kMaxSessions};
  std::mutex keys_mutex;                     // new_sign_in_key() may come from another thread
  std::string password_salt, password_hash;  // empty: no sign-in by password
  std::vector<Clock::time_point> password_failures;
  app::BookViews views;

  web::Response handle(const web::Request& request);
  web::Response sign_in(const web::Request& request, Lang lang);
  web::Response sign_in_with_password(const web::Request& request, Lang lang);
  web::Response new_session();
  bool same_origin(const web::Request& request) const;
  std::optional<Session> session_of(const web::Request& request);
  web::Response route(app::Screen& s, const std::vector<std::string_view>& parts);
  std::string notice(const app::Screen& s);
};

SellerApp::SellerApp(std::unique_ptr<client::Replica> replica, SellerAppOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->replica = std::move(replica);
  impl_->options = std::move(options);
  if (!impl_->options.password.empty()) {
    impl_->password_salt = web::random_token();
    impl_->password_hash = password_digest(impl_->password_salt, impl_->options.password);
    OPENSSL_cleanse(impl_->options.password.data(), impl_->options.password.size());
    impl_->options.password.clear();
  }
}

SellerApp::~SellerApp() = default;

void SellerApp::set_allowed_hosts(std::vector<std::string> hosts) {
  impl_->allowed_hosts = {hosts.begin(), hosts.end()};
}

std::string SellerApp::new_sign_in_key() {
  std::lock_guard lock(impl_->keys_mutex);
  std::string key = web::random_token();
  impl_->sign_in_keys[key] = Clock::now();
  return key;
}

web::Response SellerApp::handle(const web::Request& request) {
  web::Response response = impl_->handle(request);
  web::add_security_headers(response);
  return response;
}

std::optional<SellerApp::Impl::Session> SellerApp::Impl::session_of(const web::Request& request) {
  const auto value = web::cookie(request, kSessionCookie);
  if (!value) return std::nullopt;
  return sessions.find(*value);
}

namespace {

// The sign-in page where a password is asked for.
web::Response password_page(Lang lang, int status, std::optional<Msg> problem) {
  using app::h;
  std::string body = "<!doctype html><html lang=\"" + std::string(lang == Lang::es ? "es" : "en") +
                     "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
                     "content=\"width=device-width, initial-scale=1\"><title>libreta</title>"
                     "<link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body>"
                     "<main id=\"main\" class=\"signin\"><h1>libreta</h1>";
  if (problem) body += "<p class=\"notice error\" role=\"alert\">" + h(tr(lang, *problem)) + "</p>";
  body += "<form method=\"post\" action=\"/signin\"><div class=\"field\"><label for=\"password\">" +
          h(tr(lang, Msg::app_password)) +
          "</label><input type=\"password\" id=\"password\" name=\"password\" "
          "autocomplete=\"current-password\" required autofocus></div>"
          "<div class=\"form-actions\"><button type=\"submit\">" +
          h(tr(lang, Msg::app_sign_in)) + "</button></div></form></main></body></html>";
  return web::Response::html(std::move(body), status);
}

}  // namespace

web::Response SellerApp::Impl::new_session() {
  const std::string id = sessions.open({});
  web::Response response = web::Response::redirect("/");
  web::CookieOptions cookie;
  cookie.secure = options.tls;
  response.add("Set-Cookie", web::set_cookie(kSessionCookie, id, cookie));
  return response;
}

bool SellerApp::Impl::same_origin(const web::Request& request) const {
  return web::same_origin(request, options.tls, allowed_hosts);
}

web::Response SellerApp::Impl::sign_in_with_password(const web::Request& request, Lang lang) {
  if (request.method == "GET") return password_page(lang, 200, std::nullopt);
  if (!same_origin(request)) return plain(403, tr(lang, Msg::app_bad_csrf));
  const auto now = Clock::now();
  std::erase_if(password_failures,
                [&](Clock::time_point at) { return now - at > kPasswordWindow; });
  if (password_failures.size() >= kMaxPasswordFailures) {
    web::Response response = password_page(lang, 429, Msg::app_password_wait);
    response.add("Retry-After", std::to_string(kPasswordWindow.count() * 60));
    return response;
  }
  const std::string given = web::Params::parse(request.body).value("password");
  if (!web::constant_time_equal(password_digest(password_salt, given), password_hash)) {
    password_failures.push_back(now);
    return password_page(lang, 403, Msg::app_password_wrong);
  }
  password_failures.clear();
  return new_session();
}

web::Response SellerApp::Impl::sign_in(const web::Request& request, Lang lang) {
  const auto query = web::Params::parse(request.query);
  if (!query.has("key") && !password_hash.empty()) return sign_in_with_password(request, lang);
  if (request.method != "GET") return plain(403, tr(lang, Msg::app_sign_in_refused));
  const std::string key = query.value("key");
  bool valid = false;
  {
    std::lock_guard lock(keys_mutex);
    const auto it = sign_in_keys.find(key);
    if (it != sign_in_keys.end()) {
      valid = Clock::now() - it->second < kKeyLifetime;
      sign_in_keys.erase(it);  // once, whether in time or not
    }
  }
  if (!valid) return plain(403, tr(lang, Msg::app_sign_in_refused));
  return new_session();
}

web::Response SellerApp::Impl::handle(const web::Request& request) {
  const Lang lang = lang_of(request);
  // DNS rebinding: a page of another site that made its name point here names that site.
  if (!web::allowed_host(request, allowed_hosts)) {
    return plain(421, tr(lang, Msg::app_wrong_host));
  }
  if (request.method != "GET" && request.method != "POST") {
    web::Response response = plain(405, tr(lang, Msg::app_bad_method));
    response.add("Allow", "GET, POST");
    return response;
  }
  const auto parts = segments(request.path);
  // Assets hold nothing of the book: served without a session, cached.
  if (parts.size() == 2 && parts[0] == "assets") {
    if (auto asset = app::asset(parts[1])) {
      web::Response response;
      response.body = std::string(asset->body);
      response.add("Content-Type", std::string(asset->content_type));
      response.add("Cache-Control", "max-age=3600");
      return response;
    }
    return plain(404, tr(lang, Msg::app_not_found));
  }
  if (parts.size() == 1 && parts[0] == "signin") return sign_in(request, lang);

  const auto session = session_of(request);
  if (!session) {
    // With a password, a browser without a session is shown where to give it.
    if (!password_hash.empty() && request.method == "GET")
      return web::Response::redirect("/signin");
    return plain(401, tr(lang, Msg::app_sign_in_needed));
  }

  app::Screen s{*replica,
                request,
                web::Params::parse(request.query),
                {},
                lang,
                LocaleFormat(lang),
                session->csrf,
                options.today ? options.today() : std::string(),
                options.now_utc ? options.now_utc() : std::string(),
                options.sync_status ? std::optional(options.sync_status()) : std::nullopt,
                [this] {
                  views.wrote();
                  if (options.nudge) options.nudge();
                },
                views};
  if (request.method == "POST") {
    // Forms are posted by the app's own pages: same origin, the session's token.
    if (!same_origin(request)) return plain(403, tr(lang, Msg::app_bad_csrf));
    const auto type = request.header("content-type");
    if (!type || !(*type).starts_with("application/x-www-form-urlencoded")) {
      return plain(415, tr(lang, Msg::app_bad_form));
    }
    s.form = web::Params::parse(request.body);
    if (!web::constant_time_equal(s.form.value("csrf"), session->csrf)) {
      return plain(403, tr(lang, Msg::app_bad_csrf));
    }
  }
  try {
    return route(s, parts);
  } catch (const Error& e) {
    // A write the replica refused changed nothing; the seller reads why.
    return app::message_page(s, e.code() == ErrorCode::not_found ? 404 : 422,
                             tr(lang, Msg::app_write_refused, {e.what()}));
  }
}

web::Response SellerApp::Impl::route(app::Screen& s, const std::vector<std::string_view>& p) {
  using namespace app;
  const bool post = s.is_post();
  const auto n = p.size();
  const auto id = [&](std::size_t i) { return web::percent_decode(p[i], false); };
  web::Response response;
  if (n == 0) {
    response = today_screen(s);
  } else if (n == 1 && p[0] == "status") {
    response = web::Response::json(sync_status_json(s));
  } else if (n == 1 && p[0] == "sync") {
    response = sync_screen(s);
  } else if (n == 2 && p[0] == "sync" && p[1] == "put-back" && post) {
    response = put_back(s);
  } else if (n == 1 && p[0] == "customers") {
    response = customers_screen(s);
  } else if (n == 2 && p[0] == "customers" && p[1] == "new") {
    response = customer_form(s, std::nullopt);
  } else if (n == 2 && p[0] == "customers") {
    response = customer_card(s, id(1));
  } else if (n == 3 && p[0] == "customers") {
    const std::string customer = id(1);
    if (p[2] == "edit")
      response = customer_form(s, customer);
    else if (p[2] == "delete")
      response = customer_delete(s, customer);
    else if (p[2] == "restore" && post)
      response = customer_restore(s, customer);
    else if (p[2] == "visit")
      response = visit_form(s, customer);
    else if (p[2] == "contact")
      response = contact_form(s, customer, std::nullopt);
    else if (p[2] == "purchase")
      response = purchase_form(s, customer, std::nullopt);
    else if (p[2] == "followup")
      response = followup_form(s, customer, std::nullopt);
    else
      response = not_found(s);
  } else if (n == 3 && p[0] == "history" && (p[1] == "customers" || p[1] == "contacts")) {
    response = history_screen(s, p[1], id(2));
  } else if (n == 3 && (p[2] == "edit" || p[2] == "delete" || p[2] == "done")) {
    const std::string row = id(1);
    if (p[0] == "contacts" && p[2] == "edit")
      response = contact_form(s, "", row);
    else if (p[0] == "interactions" && p[2] == "edit")
      response = interaction_form(s, row);
    else if (p[0] == "purchases" && p[2] == "edit")
      response = purchase_form(s, "", row);
    else if (p[0] == "followups" && p[2] == "edit")
      response = followup_form(s, "", row);
    else if (p[0] == "followups" && p[2] == "done" && post)
      response = followup_done(s, row);
    else if (p[2] == "delete" && post &&
             (p[0] == "contacts" || p[0] == "interactions" || p[0] == "purchases" ||
              p[0] == "followups")) {
      response = child_delete(s, p[0], row);
    } else {
      response = not_found(s);
    }
  } else {
    response = not_found(s);
  }
  // The notice a redirect asked for, above the content.
  if (response.status == 200 && !post && s.query.has("notice")) {
    const std::string text = notice(s);
    const auto at = response.body.find("<main id=\"main\">");
    if (!text.empty() && at != std::string::npos) {
      response.body.insert(at + std::string_view("<main id=\"main\">").size(), text);
    }
  }
  return response;
}

std::string SellerApp::Impl::notice(const app::Screen& s) {
  using app::h;
  const std::string which = s.query.value("notice");
  Msg message;
  if (which == "saved")
    message = Msg::app_notice_saved;
  else if (which == "visit_logged")
    message = Msg::app_notice_visit;
  else if (which == "done")
    message = Msg::app_notice_done;
  else if (which == "restored")
    message = Msg::app_notice_restored;
  else if (which == "put_back")
    message = Msg::app_notice_put_back;
  else if (which == "deleted_item")
    message = Msg::app_notice_deleted_item;
  else if (which == "deleted")
    message = Msg::app_notice_deleted;
  else
    return {};
  std::string out = "<div class=\"notice success\" role=\"status\"><p>" + h(s.tr(message)) + "</p>";
  const std::string undo = s.query.value("undo");
  if (which == "deleted" && !undo.empty()) {
    out += app::post_button(s, app::path_of("customers", undo, "restore"), s.tr(Msg::app_undo),
                            "secondary");
  }
  return out + "</div>";
}

}  // namespace libreta::cli
