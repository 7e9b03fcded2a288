#include "agent/controllers/l2/driver.h"

#include "agent/controllers/condition.h"

namespace ferry::ferryd {

L2Driver::L2Driver(std::unique_ptr<L2Announcer> announcer, std::string node, std::string uplink,
                   const IpamDriver& ipam)
    : announcer_(std::move(announcer)),
      node_(std::move(node)),
      uplink_(std::move(uplink)),
      ipam_(ipam) {}

void L2Driver::Run(Pass& pass) {
  if (!pass.first && pass.delta.empty()) return;
  const std::vector<std::string> interfaces = {uplink_};
  auto inputs = std::make_shared<const L2Inputs>(BuildL2Inputs(
      pass.model, pass.object_errors, node_, interfaces,
      [this](const model::ObjectRef& service) { return ipam_.VipsOf(service); }));
  if (!SameStatus(inputs->policy_status, policy_status_)) {
    policy_status_ = inputs->policy_status;
    pass.status_changed = true;
  }
  announcer_->SetInputs(std::move(inputs));
}

void L2Driver::AppendStatus(nlohmann::json& document) const {
  nlohmann::json& listed = document["l2AnnouncementPolicies"] = nlohmann::json::array();
  for (const L2PolicyStatus& policy : policy_status_) {
    listed.push_back(
        ObjectStatusJson(model::kL2AnnouncementPolicyKind, policy.name, policy.conditions));
  }
}

}  // namespace ferry::ferryd
