// L2 announcements as a controller: on every change it hands the announcer
// thread what the model now says, with LB-IPAM's VIPs.
#ifndef FERRY_AGENT_CONTROLLERS_L2_DRIVER_H_
#define FERRY_AGENT_CONTROLLERS_L2_DRIVER_H_

#include <memory>
#include <string>
#include <vector>

#include "agent/controllers/controller.h"
#include "agent/controllers/ipam/driver.h"
#include "agent/controllers/l2/announcer.h"
#include "agent/controllers/l2/inputs.h"

namespace ferry::ferryd {

class L2Driver : public Controller {
 public:
  L2Driver(std::unique_ptr<L2Announcer> announcer, std::string node, std::string uplink,
           const IpamDriver& ipam);

  L2Announcer& announcer() const { return *announcer_; }

  absl::string_view Name() const override { return "l2"; }
  void Run(Pass& pass) override;
  void AppendProblems(std::vector<std::string>&) const override {}
  void AppendStatus(nlohmann::json& document) const override;
  void Publish(ApiViews&) override {}  // the announcer's thread answers the API itself

 private:
  const std::unique_ptr<L2Announcer> announcer_;
  const std::string node_;
  const std::string uplink_;
  const IpamDriver& ipam_;
  std::vector<L2PolicyStatus> policy_status_;
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_L2_DRIVER_H_
