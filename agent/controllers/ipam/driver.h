// LB-IPAM as the agent's first controller: it feeds IpamController the
// model when Services or pools changed, and adds to the pass the Services
// whose VIPs that changed, for the controllers after it to re-plan.
//
// Where the VIPs come from depends on the source. From a manifest
// directory every node allocates on its own (deterministically) and its
// VIPs are its allocation. From the Kubernetes API one agent, the leader of
// the ferry-ipam Lease, allocates and writes the Services' status; every
// agent, the leader too, serves what the status says, so that all nodes
// program the same addresses whoever allocated them.
#ifndef FERRY_AGENT_CONTROLLERS_IPAM_DRIVER_H_
#define FERRY_AGENT_CONTROLLERS_IPAM_DRIVER_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/controllers/controller.h"
#include "agent/controllers/ipam/controller.h"

namespace ferry::ferryd {

class IpamDriver : public Controller {
 public:
  using LogFn = std::function<void(absl::string_view line)>;
  enum class VipSource {
    kAllocation,  // manifest mode: this node's own allocation
    kStatus,      // API mode: the Services' status.loadBalancer.ingress
  };
  IpamDriver(ipam::Allocator::Clock clock, LogFn log, VipSource source = VipSource::kAllocation);

  // kStatus: whether this agent allocates (it holds the Lease). Becoming
  // the leader starts the allocator afresh, fed the whole model in one
  // batch at its next run, so every address a status holds is claimed
  // before anything is given: a failover moves no address. Losing it drops
  // the allocation (what the status says stays served).
  void SetLeading(bool leading);
  bool leading() const { return leading_; }
  bool allocating() const { return source_ == VipSource::kAllocation || leading_; }

  // What status.json said at start: the Services' addresses before a
  // restart, taken back on the first run.
  void Restore(SavedStatus saved) { saved_status_ = std::move(saved); }

  const IpamController& ipam() const { return *ipam_; }
  IpamController& ipam() { return *ipam_; }
  // The VIPs of each Service that has some, as of the last run.
  const std::map<model::ObjectRef, std::vector<net::IpAddress>>& vips() const { return vips_; }
  std::vector<net::IpAddress> VipsOf(const model::ObjectRef& service) const;

  absl::string_view Name() const override { return "ipam"; }
  void Run(Pass& pass) override;
  void AppendProblems(std::vector<std::string>&) const override {}
  void AppendStatus(nlohmann::json& document) const override;
  void Publish(ApiViews& views) override;

 private:
  // The Services whose VIPs changed since the last call.
  std::set<model::ObjectRef> VipChanges(const model::Model& model);

  const ipam::Allocator::Clock clock_;
  const VipSource source_;
  // Replaced whole when the allocator starts afresh.
  std::unique_ptr<IpamController> ipam_;
  LogFn log_;
  bool leading_ = false;
  // The allocator was started afresh and has not been fed yet.
  bool fresh_ = true;
  SavedStatus saved_status_;
  std::map<model::ObjectRef, std::vector<net::IpAddress>> vips_;
  bool unpublished_ = true;
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_IPAM_DRIVER_H_
