// Accepts TCP connections and starts an HttpSession on each, on a strand of its own; with a
// TLS context, each connection starts with a TLS handshake.
//
// Ownership: kept alive by its pending accept and by the Server; shares the TLS context with
// the Server (a session's TLS stream keeps what it needs of it alive by itself).
// Threads: the constructor and port() on the owner's thread; stop() from any thread (it
// posts to the acceptor's strand).
#pragma once

#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

namespace libreta::server {

class SharedState;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Opens, binds (with SO_REUSEADDR) and listens; throws boost::system::system_error.
  // Each connection speaks TLS when the state has a TLS context at its accept.
  Listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
           std::shared_ptr<SharedState> state);

  std::uint16_t port() const { return port_; }
  void run();
  // Closes the acceptor: the pending accept ends, no connection is accepted after.
  void stop();

 private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  const std::shared_ptr<SharedState> state_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace libreta::server
