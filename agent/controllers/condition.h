// A status condition of an object a controller owns, as the agent API
// reports it; shared by the controllers' API views.
#ifndef FERRY_AGENT_CONTROLLERS_CONDITION_H_
#define FERRY_AGENT_CONTROLLERS_CONDITION_H_

#include <algorithm>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/api/ferry_agent.pb.h"
#include "l2announce/policy.h"
#include "nlohmann/json.hpp"

namespace ferry::ferryd {

// An L2AnnouncementPolicy's or BGP object's condition (no transition time:
// those are not tracked).
agent::v1::Condition ConditionProto(const l2announce::Condition& condition);

// An object's entry in status.json: {"apiVersion", "kind", "metadata":
// {"name"}, "status": {"conditions": [...]}}.
nlohmann::json ObjectStatusJson(absl::string_view kind, absl::string_view name,
                                const std::vector<l2announce::Condition>& conditions);

// Whether two lists of {name or object, conditions} say the same: a
// controller's status changed only when they do not.
template <typename Status>
bool SameStatus(const std::vector<Status>& a, const std::vector<Status>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Status& x, const Status& y) {
    if constexpr (requires { x.name; }) {
      if (x.name != y.name) return false;
    } else {
      if (x.object != y.object) return false;
    }
    return x.conditions == y.conditions;
  });
}

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_CONDITION_H_
