// The REST API under /api/v1 (docs/rest-api.md): the customer book's tables as JSON
// resources for the company's other systems, with the same roles and scope as sync. A
// handler in the web faces' shape (plain request in, plain response out), put on the
// server's port by the HTTP session and testable without sockets.
//
// Threads: handle() may be called from several threads at once. It blocks: reads query the
// store, and a write waits until the sync service has stored it (durably) and announced it
// to the devices. Call it off the network threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "libreta/server/sync_service.hpp"
#include "libreta/web/http.hpp"

namespace libreta::server {

struct RestApiOptions {
  std::size_t default_page = 50;  // rows in a page when the request does not say
  std::size_t max_page = 500;     // the most a request may ask for
  // Requests one token may make a second, sustained and in a burst; past them, 429.
  double requests_per_second = 50;
  double request_burst = 200;
  // How long a write waits for the writer before answering 503 (it may still be stored).
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
};

class RestApi {
 public:
  explicit RestApi(std::shared_ptr<SyncService> service, RestApiOptions options = {});
  ~RestApi();
  RestApi(const RestApi&) = delete;
  RestApi& operator=(const RestApi&) = delete;

  // Whether a request path is the API's (/api/v1 and below).
  static bool owns(std::string_view path);
  web::Response handle(const web::Request& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace libreta::server
