// Real BGP routers for end-to-end tests: FRR (zebra + bgpd) or BIRD 2 run in
// a namespace (the gw of DESIGN.md §6) as the BGP peer of the nodes, the way
// homelab gateways are configured, and install what they learn into that
// namespace's kernel FIB with ECMP.
//
// Each router keeps its configuration, sockets, pid files and log in its own
// directory under ScratchDir(), so several run side by side and none touches
// /etc or /run of the machine. Destroying the router stops its daemons and
// removes the directory; the namespace's destructor kills anything left.
#ifndef FERRY_TEST_E2E_ROUTERS_H_
#define FERRY_TEST_E2E_ROUTERS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "test/e2e/netns.h"

namespace ferry::netns {

struct BgpNeighbor {
  std::string address;  // "198.18.0.11" or "2001:db8:0:1::11"
  uint32_t asn = 0;
  std::string password;  // TCP MD5; empty: none
};

struct BgpRouterOptions {
  // Names the router's directory; unique among the routers of a test.
  std::string name = "router";
  uint32_t asn = 64512;
  std::string router_id = "198.18.0.1";
  // One neighbor statement each, IPv4 and IPv6 unicast both activated.
  std::vector<BgpNeighbor> neighbors;
  // Dynamic neighbors: any external AS connecting from these prefixes
  // (FRR: `bgp listen range` with a peer group; BIRD: `neighbor range`).
  std::vector<std::string> listen_ranges;
  std::string listen_password;
  // ECMP width into the kernel (FRR `maximum-paths`, BIRD `merge paths`).
  int maximum_paths = 8;
  // Hold and keepalive times (FRR `timers bgp 3 9`), and how soon the
  // router retries a connection, in seconds.
  int hold_time = 9;
  int keepalive_time = 3;
  int connect_retry = 1;
};

class BgpRouter {
 public:
  virtual ~BgpRouter() = default;
  // The router's BGP state of each neighbor, keyed by address (dynamic ones
  // once they connected): "Established", "Active", "Connect", "Idle", ...
  virtual absl::StatusOr<std::map<std::string, std::string>> NeighborStates() const = 0;
  // Whether the session with `neighbor` is established and the router has
  // its End-of-RIB for every family: the routes it kept as stale through
  // the neighbor's restart (RFC 4724) are then replaced or gone.
  virtual absl::StatusOr<bool> EndOfRibReceived(const std::string& neighbor) const = 0;
  // The daemons' output, for failure messages.
  virtual std::string Log() const = 0;
};

// zebra + bgpd of FRR (/usr/lib/frr), run as the frr user.
absl::StatusOr<std::unique_ptr<BgpRouter>> StartFrr(const Namespace& ns,
                                                    const BgpRouterOptions& options);
// BIRD 2 (bird), its control socket in the router's directory.
absl::StatusOr<std::unique_ptr<BgpRouter>> StartBird(const Namespace& ns,
                                                     const BgpRouterOptions& options);

// The next hops of the route to exactly `prefix` in the namespace's main
// table, sorted: several for an ECMP route, none when there is no route.
absl::StatusOr<std::vector<std::string>> FibNextHops(const Namespace& ns, const std::string& prefix);
// How many routes of the main table lie within `prefix`.
absl::StatusOr<size_t> FibRouteCount(const Namespace& ns, const std::string& prefix);

}  // namespace ferry::netns

#endif  // FERRY_TEST_E2E_ROUTERS_H_
