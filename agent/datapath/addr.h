// The datapath's addresses, ports and protocols as map bytes and as text.
// Everything in the maps is in network byte order; these helpers are the one
// place where Ferry's addresses and host-order ports become map bytes and
// back.
#ifndef FERRY_AGENT_DATAPATH_ADDR_H_
#define FERRY_AGENT_DATAPATH_ADDR_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "layout.h"
#include "net/address.h"

namespace ferry::datapath {

// The one conversion between Ferry's address type and the maps' bytes: an
// IPv4 address fills the first 4 bytes of union ferry_addr, the rest zero.
uint8_t ToMapFamily(net::IpFamily family);
ferry_addr_key ToMapKey(const net::IpAddress& address);
// Map bytes back. A family other than FERRY_FAMILY_IPV4/IPV6, or an
// IPv4-mapped IPv6 address (the agent never writes one: net::IpAddress
// refuses them, so such bytes are damage), is an error.
absl::StatusOr<net::IpAddress> FromMap(const ferry_addr& addr, uint8_t family);
absl::StatusOr<net::IpAddress> FromMapKey(const ferry_addr_key& key);

// The text of map bytes as they are, for tables of what a map holds; empty
// for a family other than FERRY_FAMILY_IPV4/IPV6.
std::string FormatAddress(const ferry_addr& addr, uint8_t family);
// "198.18.0.1:80", "[2001:db8::1]:80"; port in network byte order.
std::string FormatEndpoint(const ferry_addr& addr, uint8_t family, uint16_t port_be);
// The same for an address of Ferry's own; port in host byte order.
std::string FormatEndpoint(const net::IpAddress& address, uint16_t port);

// AF_INET/AF_INET6 for a FERRY_FAMILY_*, AF_UNSPEC otherwise.
int ToAddressFamily(uint8_t family);

// "tcp", "udp", or the number for anything else.
std::string ProtocolName(uint8_t proto);
// Accepts "tcp" and "udp".
absl::StatusOr<uint8_t> ParseProtocol(absl::string_view name);

// port is in host byte order.
ferry_frontend_key MakeFrontendKey(const net::IpAddress& vip, uint16_t port, uint8_t proto);

}  // namespace ferry::datapath

#endif  // FERRY_AGENT_DATAPATH_ADDR_H_
