// What LB-IPAM's leader writes where users look (API mode): a Service's
// status.loadBalancer.ingress (ipMode VIP) and its ferry.dev/IPAllocated
// condition, and a LoadBalancerIPPool's status. Pure: the observed object
// and the allocator's answer in, the JSON merge patch for the status
// subresource out.
#ifndef FERRY_AGENT_CONTROLLERS_IPAM_STATUS_PATCH_H_
#define FERRY_AGENT_CONTROLLERS_IPAM_STATUS_PATCH_H_

#include <optional>
#include <string>

#include "agent/model/model.h"
#include "ipam/allocator.h"
#include "nlohmann/json.hpp"

namespace ferry::ferryd {

// The merge patch that makes `observed`'s status say `allocation`, or
// nullopt when it already does (same addresses in order; same condition
// status, reason, message and observedGeneration). It carries the
// observed metadata.resourceVersion, so a status changed meanwhile makes
// it fail with 409 Conflict rather than overwrite; it lists every
// condition, keeping those of other controllers as read, and keeps the
// condition's lastTransitionTime while its status stays.
std::optional<nlohmann::json> ServiceStatusPatch(const model::Service& observed,
                                                 const ipam::Allocation& allocation);

// The pool's whole status as a merge patch: its conditions (with the
// pool's generation as observedGeneration) and per-family counts.
nlohmann::json PoolStatusPatch(const model::LoadBalancerIPPool& pool,
                               const ipam::PoolStatus& status);

// Where they go: the status subresources.
std::string ServiceStatusPath(const model::ObjectRef& service);
std::string PoolStatusPath(const std::string& pool);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_IPAM_STATUS_PATCH_H_
