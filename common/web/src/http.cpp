#include "libreta/web/http.hpp"

#include <algorithm>
#include <cctype>

namespace libreta::web {
namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::string_view> find_header(const std::vector<Header>& headers,
                                            std::string_view name) {
  for (const Header& header : headers) {
    if (same_name(header.name, name)) return std::string_view(header.value);
  }
  return std::nullopt;
}

Response with_body(std::string body, int status, std::string content_type) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.add("Content-Type", std::move(content_type));
  return response;
}

}  // namespace

std::optional<std::string_view> Request::header(std::string_view name) const {
  return find_header(headers, name);
}

Request Request::get(std::string_view target) {
  Request request;
  request.method = "GET";
  const auto question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  return request;
}

Response& Response::add(std::string name, std::string value) {
  headers.push_back({std::move(name), std::move(value)});
  return *this;
}

std::optional<std::string_view> Response::header(std::string_view name) const {
  return find_header(headers, name);
}

Response Response::html(std::string body, int status) {
  return with_body(std::move(body), status, "text/html; charset=utf-8");
}

Response Response::text(std::string body, int status) {
  return with_body(std::move(body), status, "text/plain; charset=utf-8");
}

Response Response::json(std::string body, int status) {
  return with_body(std::move(body), status, "application/json");
}

Response Response::redirect(std::string location) {
  Response response;
  response.status = 303;
  response.add("Location", std::move(location));
  return response;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

}  // namespace libreta::web
