#include "ipam/service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ferry::ipam {
namespace {

std::string FamiliesText(const std::vector<IpFamily>& families) {
  return absl::StrCat("[", absl::StrJoin(families, ", ", [](std::string* out, IpFamily f) {
                        absl::StrAppend(out, net::FamilyName(f));
                      }), "]");
}

bool Has(const std::vector<IpFamily>& families, IpFamily family) {
  return std::find(families.begin(), families.end(), family) != families.end();
}

// The families the Service's spec allows, before requested addresses
// narrow them. An empty spec.ipFamilies (manifest mode; the API server
// always fills it) means IPv4, or both for the dual-stack policies, or the
// first requested address's family for SingleStack.
std::vector<IpFamily> SpecFamilies(const Service& service) {
  std::vector<IpFamily> families;
  for (IpFamily family : service.ip_families) {
    if (!Has(families, family)) families.push_back(family);
  }
  const bool dual = service.ip_family_policy != IpFamilyPolicy::kSingleStack;
  if (families.empty()) {
    if (dual) return {IpFamily::kIPv4, IpFamily::kIPv6};
    return {service.requested_ips.empty() ? IpFamily::kIPv4 : service.requested_ips[0].family};
  }
  if (!dual) families.resize(1);
  if (service.ip_family_policy == IpFamilyPolicy::kRequireDualStack) {
    for (IpFamily family : kFamilies) {
      if (!Has(families, family)) families.push_back(family);
    }
  }
  return families;
}

}  // namespace

absl::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kTCP:
      return "TCP";
    case Protocol::kUDP:
      return "UDP";
    case Protocol::kSCTP:
      return "SCTP";
  }
  return "?";
}

Wishes WishesOf(const Service& service) {
  Wishes wishes;
  wishes.require_all = service.ip_family_policy == IpFamilyPolicy::kRequireDualStack;
  const std::vector<IpFamily> allowed = SpecFamilies(service);
  wishes.families = allowed;
  if (service.requested_ips.empty()) return wishes;

  wishes.has_request = true;
  for (const IpAddress& address : service.requested_ips) {
    std::optional<IpAddress>& slot = wishes.requested[FamilyIndex(address.family)];
    if (slot && *slot != address) {
      wishes.error = absl::StrCat("requests two ", net::FamilyName(address.family),
                                  " addresses (", slot->ToString(), ", ", address.ToString(),
                                  "); a Service has at most one address per family");
      return wishes;
    }
    if (!Has(allowed, address.family)) {
      wishes.error = absl::StrCat("requests ", address.ToString(), " but its families are ",
                                  FamiliesText(allowed));
      return wishes;
    }
    slot = address;
  }
  // A Service that names its addresses gets those and nothing else.
  wishes.families.clear();
  for (IpFamily family : allowed) {
    if (wishes.requested[FamilyIndex(family)]) wishes.families.push_back(family);
  }
  if (wishes.require_all && wishes.families.size() < 2) {
    wishes.error = absl::StrCat("is RequireDualStack but requests only an ",
                                net::FamilyName(wishes.families[0]), " address");
  }
  return wishes;
}

std::optional<ServicePort> CollidingPort(const Service& a, const Service& b) {
  for (const ServicePort& port : a.ports) {
    if (std::find(b.ports.begin(), b.ports.end(), port) != b.ports.end()) return port;
  }
  return std::nullopt;
}

}  // namespace ferry::ipam
