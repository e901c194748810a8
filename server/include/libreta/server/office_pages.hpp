// The office's web pages under /office (docs/office.md): every seller's book, a customer with
// everything the devices hold of it, and the conflict inbox worked through. Server-rendered
// HTML in Spanish or English (the browser's first language), served by libreta-server on the
// sync port; a handler in the web faces' shape, testable without sockets.
//
// Who may come in: a manager's or admin's token, given once on the sign-in page and kept as
// a session cookie (HttpOnly, SameSite=Strict, Secure under TLS, 8 hours idle). Every form
// carries the session's token and must come from the office's own pages; only the server's
// own names are answered (Host).
//
// Threads: handle() may be called from several threads at once; it blocks on the store, and
// a save waits for the writer. Call it off the network threads.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "libreta/server/sync_service.hpp"
#include "libreta/web/http.hpp"

namespace libreta::server {

struct OfficeOptions {
  bool tls = false;                     // cookies Secure, forms from https:// only
  std::set<std::string> allowed_hosts;  // "name:port" the office answers to
  std::chrono::minutes session_idle{8 * 60};
  std::size_t page_rows = 50;
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
};

class OfficePages {
 public:
  OfficePages(std::shared_ptr<SyncService> service, OfficeOptions options);
  ~OfficePages();
  OfficePages(const OfficePages&) = delete;
  OfficePages& operator=(const OfficePages&) = delete;

  // Whether a path is the office's (/office and below).
  static bool owns(std::string_view path);
  web::Response handle(const web::Request& request);
  // The names the office answers to; for a server whose port is known only once listening.
  void set_allowed_hosts(std::set<std::string> hosts);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace libreta::server
