// What the L2 announcer (announcer.h) needs from the model: the valid
// L2AnnouncementPolicies compiled, every LoadBalancer Service's addresses and
// which nodes have its ready endpoints, every Node's labels; and each
// policy's status conditions as this node sees them. Pure.
#ifndef FERRY_AGENT_CONTROLLERS_L2_INPUTS_H_
#define FERRY_AGENT_CONTROLLERS_L2_INPUTS_H_

#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/controllers/lb/plan.h"
#include "agent/model/manifest_dir.h"
#include "agent/model/model.h"
#include "l2announce/election.h"
#include "l2announce/policy.h"

namespace ferry::ferryd {

struct L2PolicyStatus {
  std::string name;
  std::vector<l2announce::Condition> conditions;
};

struct L2Inputs {
  std::vector<l2announce::PolicyMatcher> policies;  // sorted by name
  std::vector<l2announce::ElectionService> services;
  std::vector<l2announce::ElectionNode> nodes;  // every Node object, live or not
  std::vector<L2PolicyStatus> policy_status;    // sorted by name
};

// `interfaces`: this node's interfaces that can answer (those XDP is
// attached to). InterfacesMatched is this node's view: it is reported only
// for policies that select this node, or that select no node at all. A
// policy rejected by validation (its last valid version, if any, stays in
// effect) is Accepted=False with the validation errors.
L2Inputs BuildL2Inputs(const model::Model& model, std::span<const model::ObjectError> errors,
                       absl::string_view this_node, std::span<const std::string> interfaces,
                       VipsOf vips_of);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_L2_INPUTS_H_
