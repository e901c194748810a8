// The seller's app: the web pages `libreta serve` shows over the local replica (Today, the
// customers, a customer's card, the forms, the sync bar), as one web::Handler. It runs on
// the web server's one thread and owns its replica connection; the sync session runs beside
// it on its own connection to the same file.
//
// Who may use it: a browser that opened the one-time sign-in link `libreta serve` prints, or
// gave the password it was started with (either becomes an HttpOnly, SameSite=Strict session
// cookie); requests naming another Host are refused (DNS rebinding), and every form carries
// the session's CSRF token.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libreta/client/replica.hpp"
#include "libreta/client/sync_types.hpp"
#include "libreta/web/http.hpp"

namespace libreta::cli {

struct SellerAppOptions {
  // The sync session's status; unset when the book has no server (it works alone).
  std::function<client::SyncStatus()> sync_status;
  // Called after every write, so that the session pushes at once.
  std::function<void()> nudge;
  // Today in the seller's time zone (YYYY-MM-DD) and now in UTC (YYYY-MM-DDTHH:MM:SSZ).
  std::function<std::string()> today;
  std::function<std::string()> now_utc;
  // Whether the app is reached over TLS (cookies are then Secure).
  bool tls = false;
  // A password that signs a browser in at /signin, as the one-time link does; empty: only
  // the link. For a device on the network that cannot be handed a link.
  std::string password;
};

class SellerApp {
 public:
  SellerApp(std::unique_ptr<client::Replica> replica, SellerAppOptions options);
  ~SellerApp();
  SellerApp(const SellerApp&) = delete;
  SellerApp& operator=(const SellerApp&) = delete;

  // The Host header values the app answers to ("127.0.0.1:8080", "localhost:8080").
  void set_allowed_hosts(std::vector<std::string> hosts);
  // A new one-time key for the sign-in link (/signin?key=...); each works once.
  std::string new_sign_in_key();

  web::Response handle(const web::Request& request);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace libreta::cli
