#include "support/http_client.hpp"

#include <cctype>
#include <stdexcept>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace libreta::test {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace http = beast::http;
using tcp = net::ip::tcp;

HttpResult http_request(std::uint16_t port, std::string_view method, std::string_view target,
                        std::chrono::milliseconds timeout) {
  std::string request;
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  request.append("Host: 127.0.0.1:").append(std::to_string(port)).append("\r\n");
  request.append("Connection: close\r\n\r\n");
  return http_raw(port, request, timeout);
}

HttpResult http_call(std::uint16_t port, std::string_view method, std::string_view target,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     std::string_view body, std::chrono::milliseconds timeout) {
  std::string request;
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  request.append("Host: 127.0.0.1:").append(std::to_string(port)).append("\r\n");
  for (const auto& [name, value] : headers)
    request.append(name).append(": ").append(value).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PATCH")
    request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  request.append("Connection: close\r\n\r\n");
  request.append(body);
  return http_raw(port, request, timeout);
}

HttpResult http_raw(std::uint16_t port, std::string_view bytes, std::chrono::milliseconds timeout) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  beast::error_code result;
  bool failed = false;
  const auto fail = [&](beast::error_code ec) {
    failed = true;
    result = ec;
  };

  // The stream's deadline covers connect, write and read together.
  stream.expires_after(timeout);
  stream.async_connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
        if (ec) return fail(ec);
        // A server may answer (413...) and hang up before the whole
        // request is written: the response is read even if the write fails.
        net::async_write(stream, net::buffer(bytes.data(), bytes.size()),
                         [&](beast::error_code, std::size_t) {
                           http::async_read(stream, buffer, response,
                                            [&](beast::error_code read_ec, std::size_t) {
                                              if (read_ec) fail(read_ec);
                                            });
                         });
      });
  ioc.run();
  if (failed)
    throw std::runtime_error("http to port " + std::to_string(port) + ": " + result.message());
  HttpResult out;
  out.status = static_cast<int>(response.result_int());
  out.content_type = std::string(response[http::field::content_type]);
  out.body = response.body();
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  return out;
}

}  // namespace libreta::test
