#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace redrive::gateway_sim {

struct ListenAddress {
  std::string host;        // an IPv4 or IPv6 literal, without brackets
  std::uint16_t port = 0;  // 0: the kernel picks one (the log line says which)
};

// Parses "HOST:PORT" or "[V6]:PORT". Hostnames are refused: a simulator bound to a name
// that resolves differently on another machine is a surprise nobody needs in a test.
boost::system::result<ListenAddress, std::string> ParseListenAddress(std::string_view text);

}  // namespace redrive::gateway_sim
