// One-shot HTTP requests to a local test server, blocking with a timeout. Thread-safe free
// functions (each call has its own io_context).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libreta::test {

struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case

  // The first header of that name (lower case), or "".
  std::string header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return {};
  }
};

// `METHOD TARGET HTTP/1.1` to 127.0.0.1:port with Connection: close. Throws
// std::runtime_error on a network failure or timeout.
HttpResult http_request(std::uint16_t port, std::string_view method, std::string_view target,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

// `METHOD TARGET` with these headers ("Name", "value") and body (with its Content-Length).
HttpResult http_call(std::uint16_t port, std::string_view method, std::string_view target,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     std::string_view body = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Writes `bytes` as they are (a malformed request, say) and reads one response.
HttpResult http_raw(std::uint16_t port, std::string_view bytes,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace libreta::test
