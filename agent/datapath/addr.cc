#include "agent/datapath/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"

namespace ferry::datapath {

absl::StatusOr<IpAddress> ParseAddress(absl::string_view text) {
  const std::string copy(text);  // inet_pton needs a terminated string
  IpAddress result{};
  if (inet_pton(AF_INET, copy.c_str(), &result.addr.v4) == 1) {
    result.family = FERRY_FAMILY_IPV4;
    return result;
  }
  if (inet_pton(AF_INET6, copy.c_str(), result.addr.bytes) == 1) {
    result.family = FERRY_FAMILY_IPV6;
    return result;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not an IPv4 or IPv6 address"));
}

std::string FormatAddress(const ferry_addr& addr, uint8_t family) {
  const int af = ToAddressFamily(family);
  if (af == AF_UNSPEC) return "";
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(af, addr.bytes, text, sizeof(text)) == nullptr) return "";
  return text;
}

std::string FormatAddress(const IpAddress& address) {
  return FormatAddress(address.addr, address.family);
}

std::string FormatEndpoint(const ferry_addr& addr, uint8_t family, uint16_t port_be) {
  const std::string host = FormatAddress(addr, family);
  const uint16_t port = ntohs(port_be);
  if (family == FERRY_FAMILY_IPV6) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
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

ferry_frontend_key MakeFrontendKey(const IpAddress& vip, uint16_t port, uint8_t proto) {
  ferry_frontend_key key{};
  key.vip = vip.addr;
  key.port = htons(port);
  key.proto = proto;
  key.family = vip.family;
  return key;
}

}  // namespace ferry::datapath
