// A status condition of an object a controller owns, as the agent API
// reports it; shared by the controllers' API views.
#ifndef FERRY_AGENT_CONTROLLERS_CONDITION_H_
#define FERRY_AGENT_CONTROLLERS_CONDITION_H_

#include "agent/api/ferry_agent.pb.h"
#include "l2announce/policy.h"

namespace ferry::ferryd {

// An L2AnnouncementPolicy's or BGP object's condition (no transition time:
// those are not tracked).
agent::v1::Condition ConditionProto(const l2announce::Condition& condition);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_CONDITION_H_
