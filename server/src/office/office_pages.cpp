// The office's door: the Host and method checks, sign-in with a manager's token and
// sign-out, the session and its form token, and which page answers which path.
#include <chrono>

#include "libreta/server/tokens.hpp"
#include "libreta/web/cookies.hpp"
#include "libreta/web/guard.hpp"
#include "office_impl.hpp"

namespace libreta::server {

namespace {

using office::Text;

constexpr const char* kSessionCookie = "libreta_office";
constexpr std::string_view kRoot = "/office";
// Wrong tokens allowed within a minute, from everyone together; past them, sign-in waits.
constexpr std::size_t kMaxSignInFailures = 10;
constexpr std::chrono::minutes kFailureWindow{1};

std::vector<std::string> path_parts(std::string_view path) {
  std::vector<std::string> parts;
  path.remove_prefix(kRoot.size());
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    parts.push_back(web::percent_decode(path.substr(0, slash), false));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return parts;
}

web::Response plain(int status, const std::string& message) {
  return web::Response::text(message + "\n", status);
}

web::Response sign_in_page(bool spanish, int status, std::optional<Text> problem) {
  using office::h;
  std::string body = "<!doctype html><html lang=\"" + std::string(spanish ? "es" : "en") +
                     "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
                     "content=\"width=device-width, initial-scale=1\"><title>" +
                     h(office::text(spanish, Text::sign_in_title)) +
                     "</title><link rel=\"stylesheet\" href=\"/office/assets/office.css\">"
                     "</head><body><main class=\"signin\"><h1>" +
                     h(office::text(spanish, Text::sign_in_title)) + "</h1>";
  if (problem) {
    body +=
        "<p class=\"notice error\" role=\"alert\">" + h(office::text(spanish, *problem)) + "</p>";
  }
  body += "<form method=\"post\" action=\"/office/signin\"><label for=\"token\">" +
          h(office::text(spanish, Text::token)) +
          "</label><input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" "
          "required autofocus><button type=\"submit\">" +
          h(office::text(spanish, Text::sign_in)) + "</button></form></main></body></html>";
  return web::Response::html(std::move(body), status);
}

}  // namespace

OfficePages::OfficePages(std::shared_ptr<SyncService> service, OfficeOptions options)
    : impl_(std::make_unique<Impl>(std::move(service), std::move(options))) {}

OfficePages::~OfficePages() = default;

bool OfficePages::owns(std::string_view path) {
  return path == kRoot || path.starts_with("/office/");
}

void OfficePages::set_allowed_hosts(std::set<std::string> hosts) {
  std::lock_guard lock(impl_->hosts_mutex);
  impl_->options.allowed_hosts = std::move(hosts);
}

web::Response OfficePages::handle(const web::Request& request) {
  web::Response response = impl_->handle(request);
  web::add_security_headers(response);
  return response;
}

web::Response OfficePages::Impl::handle(const web::Request& request) {
  const bool spanish = web::prefers_spanish(request);
  std::set<std::string> hosts;
  {
    std::lock_guard lock(hosts_mutex);
    hosts = options.allowed_hosts;
  }
  if (!web::allowed_host(request, hosts))
    return plain(421, office::text(spanish, Text::wrong_host));
  if (request.method != "GET" && request.method != "POST") {
    web::Response response = plain(405, office::text(spanish, Text::bad_method));
    response.add("Allow", "GET, POST");
    return response;
  }
  const std::vector<std::string> parts = path_parts(request.path);
  if (parts.size() == 2 && parts[0] == "assets" && parts[1] == "office.css") {
    web::Response response;
    response.body = std::string(office::stylesheet());
    response.add("Content-Type", "text/css; charset=utf-8");
    response.add("Cache-Control", "max-age=3600");
    return response;
  }
  if (request.method == "POST") {
    if (!web::same_origin(request, options.tls, hosts))
      return plain(403, office::text(spanish, Text::bad_csrf));
    const auto type = request.header("content-type");
    if (!type || !type->starts_with("application/x-www-form-urlencoded"))
      return plain(415, office::text(spanish, Text::bad_form));
  }
  if (parts.size() == 1 && parts[0] == "signin") return sign_in(request, spanish);

  const auto cookie = web::cookie(request, kSessionCookie);
  const auto session = cookie ? sessions.find(*cookie) : std::nullopt;
  if (!session) {
    if (request.method == "GET") return web::Response::redirect("/office/signin");
    return plain(401, office::text(spanish, Text::session_needed));
  }
  office::Visit v{request, spanish,       web::Params::parse(request.query),
                  {},      session->data, session->csrf};
  if (request.method == "POST") {
    v.form = web::Params::parse(request.body);
    if (!web::constant_time_equal(v.form.value("csrf"), session->csrf))
      return plain(403, office::text(spanish, Text::bad_csrf));
    if (parts.size() == 1 && parts[0] == "signout") {
      sessions.close(*cookie);
      web::Response response = web::Response::redirect("/office/signin");
      web::CookieOptions expired;
      expired.secure = options.tls;
      expired.path = std::string(kRoot);
      expired.max_age = std::chrono::seconds(0);
      response.add("Set-Cookie", web::set_cookie(kSessionCookie, "", expired));
      return response;
    }
  }
  try {
    return route(v, parts);
  } catch (const Error& e) {
    return office::message_page(v, e.code() == ErrorCode::not_found ? 404 : 422, e.what());
  }
}

web::Response OfficePages::Impl::sign_in(const web::Request& request, bool spanish) {
  if (request.method == "GET") return sign_in_page(spanish, 200, std::nullopt);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(failures_mutex);
    std::erase_if(sign_in_failures, [&](auto at) { return now - at > kFailureWindow; });
    if (sign_in_failures.size() >= kMaxSignInFailures) {
      web::Response response = sign_in_page(spanish, 429, Text::too_many_attempts);
      response.add("Retry-After", "60");
      return response;
    }
  }
  const std::string secret = web::Params::parse(request.body).value("token");
  std::optional<TokenRecord> token;
  if (!secret.empty() && secret.size() <= 256) token = store.find_token_by_hash(hash_token(secret));
  const bool valid = token && !token->revoked_ms && token->role != Role::seller &&
                     !(token->expires_ms && *token->expires_ms <= SystemClock().now_millis());
  if (!valid) {
    std::lock_guard lock(failures_mutex);
    sign_in_failures.push_back(now);
    return sign_in_page(spanish, 403, Text::token_refused);
  }
  const std::string id = sessions.open(office::Officer{token->user, token->role, token->id});
  web::Response response = web::Response::redirect("/office");
  web::CookieOptions cookie;
  cookie.secure = options.tls;
  cookie.path = std::string(kRoot);
  response.add("Set-Cookie", web::set_cookie(kSessionCookie, id, cookie));
  return response;
}

web::Response OfficePages::Impl::route(office::Visit& v, const std::vector<std::string>& parts) {
  const bool post = v.request.method == "POST";
  if (parts.empty()) return post ? office::message_page(v, 405, v.t(Text::bad_method)) : book(v);
  if (parts.size() == 1 && parts[0] == "book.csv" && !post) return book_csv(v);
  if (parts.size() == 2 && parts[0] == "customers")
    return post ? save_customer(v, parts[1]) : customer(v, parts[1]);
  if (parts.size() == 1 && parts[0] == "conflicts" && !post) return inbox(v);
  if (parts.size() == 1 && parts[0] == "devices" && !post) return devices(v);
  if (parts.size() == 1 && parts[0] == "reassign") return post ? reassign(v) : reassign_page(v);
  if (parts.size() == 2 && parts[0] == "conflicts" && post) return resolve(v, parts[1]);
  return office::message_page(v, 404, v.t(Text::not_found));
}

std::optional<std::string> OfficePages::Impl::write(const office::Visit& v,
                                                    std::vector<Change> changes,
                                                    std::optional<ConflictResolution> resolves) {
  DirectWrite write;
  write.user = v.officer.user;
  write.role = v.officer.role;
  write.origin = WriteOrigin::office;
  write.changes = std::move(changes);
  write.resolves = std::move(resolves);
  const auto result =
      service->write_and_wait(std::move(write), v.officer.token_id, options.write_timeout);
  if (!result) return std::string("the server is busy; the change may still be saved");
  if (result->error) return result->message;
  if (result->stale) return v.t(Text::resolved_already);
  if (!result->refused.empty())
    return result->refused.front().field + ": " + result->refused.front().message;
  return std::nullopt;
}

std::string OfficePages::Impl::customer_name_of(const ServerRow& row) {
  const TableSpec* scope = schema.scope_table();
  if (!scope || row.customer.empty()) return {};
  const auto customer = row.table == scope->name ? std::optional<ServerRow>(row)
                                                 : store.find_row(scope->name, row.customer);
  if (!customer) return {};
  const auto name = customer->fields.find("name");
  return name != customer->fields.end() && name->second.is_text() ? name->second.as_text() : "";
}

}  // namespace libreta::server
