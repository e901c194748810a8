// A list of IP addresses and networks ("127.0.0.0/8", "::1", "10.1.2.3"), and whether a peer's
// address is in it. An IPv4 peer reached over IPv6 (::ffff:a.b.c.d) matches as IPv4.
// Immutable once parsed: thread-safe.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

namespace libreta::server {

class AddressFilter {
 public:
  // Throws std::invalid_argument naming the entry that does not parse.
  static AddressFilter parse(const std::vector<std::string>& entries);

  // Empty: no entry, which callers read as "any address".
  bool empty() const { return v4_.empty() && v6_.empty(); }
  bool contains(boost::asio::ip::address address) const;

 private:
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
};

}  // namespace libreta::server
