// Addresses of the simulated cluster the datapath tests use (DESIGN.md §6):
// a client, a load-balancing node, backend nodes on the node LAN, pods in
// the nodes' pod CIDRs and VIPs from the BGP pool. Only ever bytes in test
// runs: nothing here is configured on an interface.
#ifndef FERRY_TEST_BPF_WORLD_H_
#define FERRY_TEST_BPF_WORLD_H_

#include "test/packet/address.h"
#include "test/packet/builder.h"

namespace ferry::bpftest::world {

inline const packet::IpAddress kClient4 = "198.18.100.1";
inline const packet::IpAddress kClient6 = "2001:db8:100::1";
inline const packet::IpAddress kRouter4 = "198.18.0.254";
inline const packet::IpAddress kRouter6 = "2001:db8:0:1::fe";

// The load-balancing node and two backend nodes, each with both families.
inline const packet::IpAddress kLbNode4 = "198.18.0.1";
inline const packet::IpAddress kLbNode6 = "2001:db8:0:1::1";
inline const packet::IpAddress kNodeA4 = "198.18.0.11";
inline const packet::IpAddress kNodeA6 = "2001:db8:0:1::11";
inline const packet::IpAddress kNodeB4 = "198.18.0.12";
inline const packet::IpAddress kNodeB6 = "2001:db8:0:1::12";

inline const packet::MacAddress kRouterMac = "02:00:00:00:00:fe";
inline const packet::MacAddress kLbMac = "02:00:00:00:00:01";
inline const packet::MacAddress kNodeAMac = "02:00:00:00:00:11";
inline const packet::MacAddress kNodeBMac = "02:00:00:00:00:12";
inline const packet::MacAddress kPodMac = "02:00:00:00:01:10";
inline const packet::MacAddress kPodHostMac = "02:00:00:00:01:01";

// Pods of node A and node B.
inline const packet::IpAddress kPodA4 = "198.18.17.10";
inline const packet::IpAddress kPodA6 = "2001:db8:16:1::10";
inline const packet::IpAddress kPodB4 = "198.18.18.10";
inline const packet::IpAddress kPodB6 = "2001:db8:16:2::10";
inline constexpr uint16_t kPodPort = 8080;

inline const packet::IpAddress kVip4 = "198.19.0.1";
inline const packet::IpAddress kVip6 = "2001:db8:19::1";
inline const packet::IpAddress kNotVip4 = "198.19.0.99";
inline const packet::IpAddress kNotVip6 = "2001:db8:19::99";
inline constexpr uint16_t kHttp = 80;
inline constexpr uint16_t kDns = 53;
inline constexpr uint16_t kClientPort = 40000;

// A frame as the uplink receives it from the router.
inline packet::Packet FromRouter(const packet::MacAddress& to = kLbMac) {
  return packet::Packet().Eth(kRouterMac, to);
}

}  // namespace ferry::bpftest::world

#endif  // FERRY_TEST_BPF_WORLD_H_
