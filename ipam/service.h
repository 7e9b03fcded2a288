// What the allocator needs to know of a core/v1 Service of type
// LoadBalancer, and how it reads the Service's wishes (families, requested
// addresses). The agent fills a Service from its model; nothing here knows
// the agent.
#ifndef FERRY_IPAM_SERVICE_H_
#define FERRY_IPAM_SERVICE_H_

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/address.h"
#include "net/selector.h"

namespace ferry::ipam {

using net::IpAddress;
using net::IpFamily;
using net::Labels;

// spec.loadBalancerClass of the Services Ferry serves (as do Services with
// no class); Services of any other class are left alone.
inline constexpr absl::string_view kLoadBalancerClass = "ferry.dev/lb";
// Requested addresses, comma-separated, any family.
inline constexpr absl::string_view kIpsAnnotation = "ferry.dev/ips";
// Services with the same value may hold the same address if their ports
// do not collide.
inline constexpr absl::string_view kSharingKeyAnnotation = "ferry.dev/sharing-key";
// The name of the pool to allocate from (it must also select the Service).
inline constexpr absl::string_view kPoolAnnotation = "ferry.dev/pool";
// A pool's serviceSelector sees the Service's namespace under this label,
// as Cilium's LB-IPAM does; it overrides a Service label of that name.
inline constexpr absl::string_view kNamespaceLabel = "io.kubernetes.service.namespace";

enum class Protocol : uint8_t { kTCP, kUDP, kSCTP };
absl::string_view ProtocolName(Protocol protocol);

struct ServicePort {
  uint16_t port = 0;
  Protocol protocol = Protocol::kTCP;
  auto operator<=>(const ServicePort&) const = default;
};

enum class IpFamilyPolicy : uint8_t { kSingleStack, kPreferDualStack, kRequireDualStack };

struct ServiceRef {
  std::string namespace_;
  std::string name;
  std::string ToString() const { return namespace_ + "/" + name; }  // "default/web"
  auto operator<=>(const ServiceRef&) const = default;
};
inline std::ostream& operator<<(std::ostream& out, const ServiceRef& ref) {
  return out << ref.ToString();
}

struct Service {
  ServiceRef ref;
  Labels labels;                    // metadata.labels
  std::string load_balancer_class;  // empty when unset
  // Unset in the manifest means SingleStack, as the API server defaults it.
  IpFamilyPolicy ip_family_policy = IpFamilyPolicy::kSingleStack;
  std::vector<IpFamily> ip_families;  // spec.ipFamilies, may be empty
  // spec.loadBalancerIP followed by the ferry.dev/ips annotation.
  std::vector<IpAddress> requested_ips;
  std::string sharing_key;  // ferry.dev/sharing-key, empty when unset
  std::string pool;         // ferry.dev/pool, empty when unset
  std::vector<ServicePort> ports;
  // metadata.creationTimestamp: the older Service is served first.
  absl::Time creation_timestamp = absl::InfinitePast();
  // status.loadBalancer.ingress[].ip: read once, when the allocator first
  // learns of the Service (after a restart this is what it had).
  std::vector<IpAddress> status_ips;

  bool operator==(const Service&) const = default;

  bool IsFerrys() const {
    return load_balancer_class.empty() || load_balancer_class == kLoadBalancerClass;
  }
};

// What a Service asks for, from its ipFamilyPolicy, ipFamilies and requested
// addresses. `error` is set when these contradict each other (the Service
// then gets nothing and a condition that quotes it).
struct Wishes {
  std::vector<IpFamily> families;  // wanted, in the Service's order
  // Indexed by FamilyIndex; only set when the Service requests addresses.
  std::array<std::optional<IpAddress>, 2> requested;
  bool has_request = false;
  bool require_all = false;  // RequireDualStack: every family or none
  std::string error;
};
Wishes WishesOf(const Service& service);

inline int FamilyIndex(IpFamily family) { return family == IpFamily::kIPv4 ? 0 : 1; }
inline constexpr std::array<IpFamily, 2> kFamilies = {IpFamily::kIPv4, IpFamily::kIPv6};

// The first port (and protocol) both Services listen on, if any.
std::optional<ServicePort> CollidingPort(const Service& a, const Service& b);

}  // namespace ferry::ipam

#endif  // FERRY_IPAM_SERVICE_H_
