// What the interop tests and the bench share: the DESIGN.md §6 topology with
// a real router (FRR or BIRD) in the gw namespace and a Speaker in each node
// namespace that peers with it, advertising the VIPs 198.19.0.10/32 and
// 2001:db8:19::10/128 with the node's own addresses as next hops.
#ifndef FERRY_BGP_INTEROP_FIXTURE_H_
#define FERRY_BGP_INTEROP_FIXTURE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bgp/speaker.h"
#include "test/e2e/routers.h"
#include "test/e2e/topology.h"

namespace ferry::bgp::interop {

inline constexpr char kVipV4[] = "198.19.0.10/32";
inline constexpr char kVipV6[] = "2001:db8:19::10/128";
inline constexpr uint32_t kGwAs = 64512;
inline constexpr char kGwV4[] = "198.18.0.1";
inline constexpr char kGwV6[] = "2001:db8:0:1::1";

enum class RouterKind { kFrr, kBird };
std::string RouterName(RouterKind kind);

class Interop {
 public:
  // A gw and `nodes` nodes (named n1, n2, ...), no pods.
  static absl::StatusOr<std::unique_ptr<Interop>> Build(int nodes);

  netns::Topology& topology() { return *topology_; }
  const netns::Node& node(int k) { return topology_->nodes()[k - 1]; }

  absl::Status StartRouter(RouterKind kind, netns::BgpRouterOptions options);
  netns::BgpRouter& router() { return *router_; }
  // How the router configures node k as a neighbor, over IPv4 or IPv6.
  netns::BgpNeighbor Neighbor(int k, IpFamily family, std::string password = "") const;

  // A speaker in node k's namespace.
  absl::StatusOr<std::unique_ptr<Speaker>> StartSpeaker(int k, bool restarting = false);
  // Node k's peering with the gw (AS 64512 + k), over an IPv4 or IPv6
  // session, both address families, small timers and graceful restart on.
  PeerConfig GwPeer(int k, IpFamily session_family, std::string password = "") const;
  // The two VIPs, each with the node's address of its family as next hop.
  std::vector<Advertisement> Vips(int k) const;
  // The node's address of `family`.
  IpAddress NodeAddress(int k, IpFamily family) const;

 private:
  Interop() = default;
  std::unique_ptr<netns::Topology> topology_;
  std::unique_ptr<netns::BgpRouter> router_;  // stopped before the namespaces go
};

// Polls `unmet` (every 100 ms, bounded by `timeout`) until it returns an
// empty string; otherwise fails with `what` and its last answer.
absl::Status Eventually(const std::string& what, absl::Duration timeout,
                        const std::function<std::string()>& unmet);

// Empty when the gw's FIB routes `prefix` through exactly `next_hops`, else
// what it holds.
std::string FibDiffers(const netns::Namespace& gw, const std::string& prefix,
                       std::vector<std::string> next_hops);

}  // namespace ferry::bgp::interop

#endif  // FERRY_BGP_INTEROP_FIXTURE_H_
