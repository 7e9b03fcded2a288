// Inputs for tests and the bench: a simulated cluster with the address plan
// of DESIGN.md §6.
#ifndef FERRY_AGENT_LB_TESTING_CLUSTER_H_
#define FERRY_AGENT_LB_TESTING_CLUSTER_H_

#include <cstdint>
#include <string>

#include "agent/lb/services.h"

namespace ferry::lb::testing {

// "node<k>": 198.18.0.(10+k), reached from node0 over IPv4 with next hop
// 02:00:00:00:00:<k>.
NodeInfo MakeNode(int k);

// Pod number `pod` of the cluster, on node pod % nodes: pods on node k are
// 198.18.(16+k).(1..250), several ports per address once those run out.
Backend MakePod(uint32_t pod, int nodes);

// VIP 198.19.(i/256).(i%256), TCP port 80.
Frontend MakeFrontend(uint32_t service);

// This node is node0. Service i is "ns/svc<i>" (zero-padded to 5 digits, so
// name order is number order) with backends pods i*backends .. +backends-1.
LbInput MakeCluster(int services, int backends_per_service, int nodes,
                    uint32_t maglev_size = maglev::kDefaultTableSize);

std::string ServiceName(int service);

}  // namespace ferry::lb::testing

#endif  // FERRY_AGENT_LB_TESTING_CLUSTER_H_
