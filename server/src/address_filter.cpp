#include "address_filter.hpp"

#include <stdexcept>

#include "libreta/server/server_options.hpp"

namespace libreta::server {

namespace net = boost::asio;

AddressFilter AddressFilter::parse(const std::vector<std::string>& entries) {
  AddressFilter filter;
  for (const std::string& entry : entries) {
    boost::system::error_code ec;
    const bool network = entry.find('/') != std::string::npos;
    const bool v6 = entry.find(':') != std::string::npos;
    if (network && v6) {
      auto parsed = net::ip::make_network_v6(entry, ec);
      if (!ec) filter.v6_.push_back(parsed.canonical());
    } else if (network) {
      auto parsed = net::ip::make_network_v4(entry, ec);
      if (!ec) filter.v4_.push_back(parsed.canonical());
    } else if (v6) {
      auto parsed = net::ip::make_address_v6(entry, ec);
      if (!ec) filter.v6_.emplace_back(parsed, 128);
    } else {
      auto parsed = net::ip::make_address_v4(entry, ec);
      if (!ec) filter.v4_.emplace_back(parsed, 32);
    }
    if (ec) {
      throw std::invalid_argument("\"" + entry +
                                  "\" is not an IP address or network (e.g. 10.0.0.0/8, ::1)");
    }
  }
  return filter;
}

std::optional<std::string> check_address_list(const std::vector<std::string>& entries) {
  try {
    AddressFilter::parse(entries);
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

bool AddressFilter::contains(net::ip::address address) const {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  }
  if (address.is_v4()) {
    const auto v4 = address.to_v4();
    for (const auto& network : v4_) {
      if ((v4.to_uint() & network.netmask().to_uint()) == network.network().to_uint()) return true;
    }
    return false;
  }
  const auto v6 = address.to_v6();
  for (const auto& network : v6_) {
    if (net::ip::network_v6(v6, network.prefix_length()).canonical() == network) return true;
  }
  return false;
}

}  // namespace libreta::server
