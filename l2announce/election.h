// Which node announces each VIP. Every node runs the same pure function on
// the same inputs (the policies, the Services, the live nodes) and gets the
// same answer, so no per-VIP vote or lease is needed.
//
// Each VIP ranks its eligible nodes by a rendezvous score (highest random
// weight): SHA-256 of the VIP and the node name, independent of the order
// anything is listed in and of the platform. Plain rendezvous hashing spreads
// 100 VIPs over 3 nodes only within about ±15% (one standard deviation), so
// the assignment bounds load (consistent hashing with bounded loads): VIPs
// are placed in address order, each on its best-ranked eligible node that
// still has room, a node's room being load_factor times the average. A VIP
// whose eligible nodes are all full goes to its best-ranked one anyway.
// The price: a VIP's owner can depend on the other VIPs, so nodes agree only
// once they see the same Services (their watches converge within moments).
#ifndef FERRY_L2ANNOUNCE_ELECTION_H_
#define FERRY_L2ANNOUNCE_ELECTION_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "net/address.h"
#include "l2announce/policy.h"

namespace ferry::l2announce {

// Deterministic everywhere: the first 8 bytes (big-endian) of
// SHA-256("ferry-l2/v1" 0x00 family-byte address-bytes node-name), where the
// family byte is 4 or 6 and the address has 4 or 16 bytes.
uint64_t RendezvousScore(const net::IpAddress& vip, absl::string_view node);

struct ElectionService {
  std::string name;  // "namespace/name", for reporting
  ServiceAddresses addresses;
  // externalTrafficPolicy: Local: only nodes with a ready endpoint of the
  // Service may announce its addresses.
  bool external_traffic_local = false;
  std::set<std::string> nodes_with_ready_endpoints;
};

struct ElectionNode {
  std::string name;
  Labels labels;
};

struct ElectionConfig {
  // A node takes at most ceil(load_factor * VIPs / nodes) VIPs while another
  // eligible node has room. 1.05 keeps 100 VIPs on 3 nodes within ±10%; a
  // large value gives plain rendezvous hashing (fewer moves when VIPs come
  // and go, a wider spread).
  double load_factor = 1.05;
};

struct Assignment {
  net::IpAddress vip;
  // Empty when no live node is eligible: nobody answers for the VIP.
  std::optional<std::string> announcer;
  std::vector<std::string> services;  // sorted
  // The policies that make the announcer announce the VIP (they select a
  // Service with this VIP and the announcer): their interfaces apply. Sorted.
  std::vector<std::string> policies;
  bool operator==(const Assignment&) const = default;
};

// One Assignment per VIP that some policy announces, sorted by VIP. `nodes`
// are the live nodes; the result does not depend on the order of any input.
std::vector<Assignment> Elect(std::span<const PolicyMatcher> policies,
                              std::span<const ElectionService> services,
                              std::span<const ElectionNode> nodes,
                              const ElectionConfig& config = {});

// The interfaces of `node_interfaces` on which the announcer answers for an
// assignment: those any of its policies selects.
std::vector<std::string> AnnouncingInterfaces(const Assignment& assignment,
                                              std::span<const PolicyMatcher> policies,
                                              std::span<const std::string> node_interfaces);

}  // namespace ferry::l2announce

#endif  // FERRY_L2ANNOUNCE_ELECTION_H_
