// What the bench measures against: one IPv4 and one IPv6 LoadBalancer
// service, each with backends on remote nodes reached by a known next-hop
// MAC (no FIB lookup), and the packets sent to them. Addresses follow
// DESIGN.md §6.
#ifndef FERRY_TOOLS_FERRY_BENCH_SCENARIO_H_
#define FERRY_TOOLS_FERRY_BENCH_SCENARIO_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "agent/datapath/maps.h"

namespace ferry::bench {

inline constexpr uint32_t kBackendsPerService = 10;
inline constexpr uint32_t kRemoteNodes = 3;

using Bytes = std::vector<uint8_t>;

struct Packets {
  Bytes syn_v4;     // client -> IPv4 VIP, TCP SYN
  Bytes ack_v4;     // client -> IPv4 VIP, TCP ACK with a small payload
  Bytes syn_v6;
  Bytes ack_v6;
  Bytes no_vip_v4;  // client -> the node's own address
  Bytes no_vip_v6;
};

// Writes config, nodes, backends, Maglev tables (built by agent/maglev) and
// frontends. ingress_ifindex is the interface test runs appear to arrive
// on: the nodes egress there, so the datapath answers with XDP_TX.
absl::Status ProgramServices(datapath::LbMaps& maps, uint32_t ingress_ifindex,
                             uint32_t maglev_size);

Packets MakePackets();

}  // namespace ferry::bench

#endif  // FERRY_TOOLS_FERRY_BENCH_SCENARIO_H_
