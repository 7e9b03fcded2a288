// Text forms of the datapath's addresses, ports and protocols. Everything in
// the maps is in network byte order; these helpers are the one place where
// text and host-order ports become map bytes and back.
#ifndef FERRY_AGENT_DATAPATH_ADDR_H_
#define FERRY_AGENT_DATAPATH_ADDR_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "layout.h"

namespace ferry::datapath {

// An address with its family. It is the key of `vips` and `endpoints` too,
// so it doubles as the user-space address type.
using IpAddress = ferry_addr_key;

// "198.18.0.1" or "2001:db8::1" (no brackets, no prefix length).
absl::StatusOr<IpAddress> ParseAddress(absl::string_view text);
// Empty for a family other than FERRY_FAMILY_IPV4/IPV6.
std::string FormatAddress(const ferry_addr& addr, uint8_t family);
std::string FormatAddress(const IpAddress& address);
// "198.18.0.1:80", "[2001:db8::1]:80"; port in network byte order.
std::string FormatEndpoint(const ferry_addr& addr, uint8_t family, uint16_t port_be);

// AF_INET/AF_INET6 for a FERRY_FAMILY_*, AF_UNSPEC otherwise.
int ToAddressFamily(uint8_t family);

// "tcp", "udp", or the number for anything else.
std::string ProtocolName(uint8_t proto);
// Accepts "tcp" and "udp".
absl::StatusOr<uint8_t> ParseProtocol(absl::string_view name);

// port is in host byte order.
ferry_frontend_key MakeFrontendKey(const IpAddress& vip, uint16_t port, uint8_t proto);

}  // namespace ferry::datapath

#endif  // FERRY_AGENT_DATAPATH_ADDR_H_
