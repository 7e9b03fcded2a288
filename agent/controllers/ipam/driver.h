// LB-IPAM as the agent's first controller: it feeds IpamController the
// model when Services or pools changed, and adds to the pass the Services
// whose VIPs that changed, for the controllers after it to re-plan.
#ifndef FERRY_AGENT_CONTROLLERS_IPAM_DRIVER_H_
#define FERRY_AGENT_CONTROLLERS_IPAM_DRIVER_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/controllers/controller.h"
#include "agent/controllers/ipam/controller.h"

namespace ferry::ferryd {

class IpamDriver : public Controller {
 public:
  using LogFn = std::function<void(absl::string_view line)>;
  IpamDriver(ipam::Allocator::Clock clock, LogFn log);

  // What status.json said at start: the Services' addresses before a
  // restart, taken back on the first run.
  void Restore(SavedStatus saved) { saved_status_ = std::move(saved); }

  const IpamController& ipam() const { return ipam_; }
  // The VIPs of each Service that has some, as of the last run.
  const std::map<model::ObjectRef, std::vector<net::IpAddress>>& vips() const { return vips_; }

  absl::string_view Name() const override { return "ipam"; }
  void Run(Pass& pass) override;
  void AppendProblems(std::vector<std::string>&) const override {}
  void AppendStatus(nlohmann::json& document) const override;
  void Publish(ApiViews& views) override;

 private:
  // The Services whose VIPs changed since the last call.
  std::set<model::ObjectRef> VipChanges(const model::Model& model);

  IpamController ipam_;
  LogFn log_;
  SavedStatus saved_status_;
  std::map<model::ObjectRef, std::vector<net::IpAddress>> vips_;
  bool unpublished_ = true;
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_IPAM_DRIVER_H_
