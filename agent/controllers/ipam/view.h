// LB-IPAM's answers to the agent API: its pools and its allocations.
#ifndef FERRY_AGENT_CONTROLLERS_IPAM_VIEW_H_
#define FERRY_AGENT_CONTROLLERS_IPAM_VIEW_H_

#include "agent/api/ferry_agent.pb.h"
#include "agent/controllers/ipam/controller.h"

namespace ferry::ferryd {

// Every pool the allocator knows, oldest first, with its blocks and status.
agent::v1::PoolList ListPools(const IpamController& ipam);
// Every Ferry Service's allocation, by namespace/name.
agent::v1::AllocationList ListAllocations(const IpamController& ipam);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_IPAM_VIEW_H_
