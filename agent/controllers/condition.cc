#include "agent/controllers/condition.h"

#include <string>

namespace ferry::ferryd {

agent::v1::Condition ConditionProto(const l2announce::Condition& condition) {
  agent::v1::Condition out;
  out.set_type(condition.type);
  out.set_status(std::string(l2announce::StatusName(condition.status)));
  out.set_reason(condition.reason);
  out.set_message(condition.message);
  return out;
}

nlohmann::json ObjectStatusJson(absl::string_view kind, absl::string_view name,
                                const std::vector<l2announce::Condition>& conditions) {
  nlohmann::json listed = nlohmann::json::array();
  for (const l2announce::Condition& condition : conditions) {
    listed.push_back({{"type", condition.type},
                      {"status", l2announce::StatusName(condition.status)},
                      {"reason", condition.reason},
                      {"message", condition.message}});
  }
  return {{"apiVersion", "ferry.dev/v1alpha1"},
          {"kind", kind},
          {"metadata", {{"name", name}}},
          {"status", {{"conditions", std::move(listed)}}}};
}

}  // namespace ferry::ferryd
