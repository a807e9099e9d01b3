#include "tools/gateway_sim/listen_address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace redrive::gateway_sim {

boost::system::result<ListenAddress, std::string> ParseListenAddress(std::string_view text) {
  using Result = boost::system::result<ListenAddress, std::string>;
  const auto fail = [&](std::string why) {
    return Result(boost::system::in_place_error,
                  "--listen " + std::string(text) + ": " + std::move(why));
  };
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail("expected HOST:PORT");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }

  ListenAddress address;
  address.host = std::string(host);
  unsigned char scratch[sizeof(in6_addr)];
  if (inet_pton(AF_INET, address.host.c_str(), scratch) != 1 &&
      inet_pton(AF_INET6, address.host.c_str(), scratch) != 1) {
    return fail("host must be an IPv4 or IPv6 address");
  }
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return fail("port must be a number between 0 and 65535");
  }
  address.port = static_cast<std::uint16_t>(port);
  return address;
}

}  // namespace redrive::gateway_sim
