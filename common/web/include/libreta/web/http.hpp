// Plain HTTP requests and responses: what a web face of libreta (the seller's app, the
// office pages, the REST API) reads and writes. No Beast types: a handler is a function
// from Request to Response, testable without sockets; http_server.hpp puts one on a port.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libreta::web {

struct Header {
  std::string name;  // lower case in a Request; as written in a Response
  std::string value;
};

struct Request {
  std::string method;  // "GET", "POST"...
  std::string path;    // the target before '?', percent-encoded as sent
  std::string query;   // the target after '?', without it
  std::vector<Header> headers;
  std::string body;
  std::string peer;  // the client's address

  // The first header of that name (any case), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
  // "GET /path?query": for building requests in tests.
  static Request get(std::string_view target);
};

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;

  // Adds a header (a second Set-Cookie is a second header).
  Response& add(std::string name, std::string value);
  std::optional<std::string_view> header(std::string_view name) const;

  static Response html(std::string body, int status = 200);
  static Response text(std::string body, int status = 200);
  static Response json(std::string body, int status = 200);
  // 303 See Other: after a form's POST, the browser loads `location` with a GET.
  static Response redirect(std::string location);
};

using Handler = std::function<Response(const Request&)>;

// "OK", "Not Found"... for a status code.
std::string_view reason_phrase(int status);

}  // namespace libreta::web
