// The network namespace ferryd runs in during the bench: one node with a
// veth uplink and no traffic. The other nodes exist only as Node manifests;
// a permanent neighbour entry for each of their addresses lets ferryd
// resolve every next hop (agent/datapath/netlink.cc ResolveNode) without
// sending an ARP request, so their backends are programmed at once.
#ifndef FERRY_TOOLS_FERRY_CP_BENCH_BENCH_NODE_H_
#define FERRY_TOOLS_FERRY_CP_BENCH_BENCH_NODE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "test/e2e/netns.h"
#include "tools/ferry-cp-bench/scenario.h"

namespace ferry::cpbench {

// ferryd's --uplink; its veth peer is "lan0" in the same namespace.
inline constexpr char kUplink[] = "eth0";

// Namespace RunPrefix() + "cpnode": the uplink up with kBenchNodeCidr (the
// node LAN, on-link) and neighbours for nodes 1..options.nodes.
absl::StatusOr<std::unique_ptr<netns::Namespace>> CreateBenchNode(const ScenarioOptions& options);

}  // namespace ferry::cpbench

#endif  // FERRY_TOOLS_FERRY_CP_BENCH_BENCH_NODE_H_
