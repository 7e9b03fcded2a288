// The load balancer's part of the agent API (ListServices), made from what
// the driver programmed; pure, so it is unit-tested without a server.
#ifndef FERRY_AGENT_CONTROLLERS_LB_VIEW_H_
#define FERRY_AGENT_CONTROLLERS_LB_VIEW_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "agent/api/ferry_agent.pb.h"
#include "agent/controllers/ipam/controller.h"
#include "agent/lb/desired.h"
#include "agent/model/model.h"

namespace ferry::ferryd {

// Backend id -> Maglev slots, for a service id; nullptr when unknown.
using SlotCountsOf =
    absl::FunctionRef<const absl::flat_hash_map<uint32_t, uint32_t>*(uint32_t service_id)>;
// The LbService of that name as programmed, or nullptr.
using LbServiceNamed = absl::FunctionRef<const lb::LbService*(absl::string_view name)>;

// ListServices' entries of one Service: one per (port, family) that has VIPs
// of that family among `vips` (those the load balancer serves), each with
// its pool when this node's LB-IPAM granted it (the leader's, in a cluster;
// empty elsewhere), with the backends and weights of its LbService as
// programmed under `ids`.
std::vector<agent::v1::LbService> ServiceEntries(const model::ObjectRef& ref,
                                                 const model::Service& service,
                                                 const std::vector<net::IpAddress>& vips,
                                                 const IpamController& ipam,
                                                 LbServiceNamed lb_service, uint32_t maglev_size,
                                                 const lb::Ids& ids, SlotCountsOf slot_counts);

// Whether the request (all Services, or one by namespace and name) asks
// for this Service.
bool Requested(const agent::v1::ListServicesRequest& request, const model::ObjectRef& service);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_LB_VIEW_H_
