#include "agent/datapath/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ferry::datapath {

uint8_t ToMapFamily(net::IpFamily family) {
  return family == net::IpFamily::kIPv4 ? FERRY_FAMILY_IPV4 : FERRY_FAMILY_IPV6;
}

ferry_addr_key ToMapKey(const net::IpAddress& address) {
  ferry_addr_key key{};
  static_assert(sizeof(key.addr.bytes) == sizeof(address.bytes));
  std::memcpy(key.addr.bytes, address.bytes.data(), sizeof(key.addr.bytes));
  key.family = ToMapFamily(address.family);
  return key;
}

absl::StatusOr<net::IpAddress> FromMap(const ferry_addr& addr, uint8_t family) {
  net::IpAddress address;
  std::memcpy(address.bytes.data(), addr.bytes, address.bytes.size());
  switch (family) {
    case FERRY_FAMILY_IPV4:
      address.family = net::IpFamily::kIPv4;
      if (std::any_of(address.bytes.begin() + 4, address.bytes.end(),
                      [](uint8_t byte) { return byte != 0; })) {
        return absl::DataLossError(absl::StrCat("IPv4 map address ", FormatAddress(addr, family),
                                                " has bytes set past its fourth"));
      }
      return address;
    case FERRY_FAMILY_IPV6: {
      address.family = net::IpFamily::kIPv6;
      static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      if (std::memcmp(address.bytes.data(), kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
        return absl::DataLossError(absl::StrCat("map address ", FormatAddress(addr, family),
                                                " is IPv4-mapped, which Ferry never writes"));
      }
      return address;
    }
    default:
      return absl::DataLossError(absl::StrCat("map address of unknown family ", family));
  }
}

absl::StatusOr<net::IpAddress> FromMapKey(const ferry_addr_key& key) {
  return FromMap(key.addr, key.family);
}

std::string FormatAddress(const ferry_addr& addr, uint8_t family) {
  const int af = ToAddressFamily(family);
  if (af == AF_UNSPEC) return "";
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(af, addr.bytes, text, sizeof(text)) == nullptr) return "";
  return text;
}

std::string FormatEndpoint(const ferry_addr& addr, uint8_t family, uint16_t port_be) {
  const std::string host = FormatAddress(addr, family);
  const uint16_t port = ntohs(port_be);
  if (family == FERRY_FAMILY_IPV6) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

std::string FormatEndpoint(const net::IpAddress& address, uint16_t port) {
  if (address.family == net::IpFamily::kIPv6) {
    return absl::StrCat("[", address.ToString(), "]:", port);
  }
  return absl::StrCat(address.ToString(), ":", port);
}

int ToAddressFamily(uint8_t family) {
  switch (family) {
    case FERRY_FAMILY_IPV4:
      return AF_INET;
    case FERRY_FAMILY_IPV6:
      return AF_INET6;
    default:
      return AF_UNSPEC;
  }
}

std::string ProtocolName(uint8_t proto) {
  switch (proto) {
    case IPPROTO_TCP:
      return "tcp";
    case IPPROTO_UDP:
      return "udp";
    default:
      return absl::StrCat(proto);
  }
}

absl::StatusOr<uint8_t> ParseProtocol(absl::string_view name) {
  if (name == "tcp") return IPPROTO_TCP;
  if (name == "udp") return IPPROTO_UDP;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown protocol '", name, "': expected tcp or udp"));
}

ferry_frontend_key MakeFrontendKey(const net::IpAddress& vip, uint16_t port, uint8_t proto) {
  const ferry_addr_key address = ToMapKey(vip);
  ferry_frontend_key key{};
  key.vip = address.addr;
  key.port = htons(port);
  key.proto = proto;
  key.family = address.family;
  return key;
}

}  // namespace ferry::datapath
