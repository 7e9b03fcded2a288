#include "bgp/types.h"

#include "absl/strings/str_cat.h"

namespace ferry::bgp {

AfiSafi UnicastFamily(IpFamily family) {
  return family == IpFamily::kIPv4 ? kIpv4Unicast : kIpv6Unicast;
}

std::string FamilyName(AfiSafi family) {
  if (family == kIpv4Unicast) return "IPv4 unicast";
  if (family == kIpv6Unicast) return "IPv6 unicast";
  return absl::StrCat("AFI ", family.afi, " SAFI ", family.safi);
}

std::ostream& operator<<(std::ostream& out, const AfiSafi& family) {
  return out << FamilyName(family);
}

}  // namespace ferry::bgp
