// The load balancer as a controller: resolves the nodes' next hops, writes
// this node's config, plans the Services a pass names (or all of them) from
// the model and LB-IPAM's VIPs, writes the difference to the maps and keeps
// the local endpoints (and ferry_tc_pod on their veths) in step.
#ifndef FERRY_AGENT_CONTROLLERS_LB_DRIVER_H_
#define FERRY_AGENT_CONTROLLERS_LB_DRIVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agent/controllers/controller.h"
#include "agent/controllers/ipam/driver.h"
#include "agent/controllers/lb/plan.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps.h"
#include "agent/lb/desired.h"
#include "agent/lb/lb_maps_store.h"
#include "agent/lb/reconcile.h"

namespace ferry::ferryd {

class LbDriver : public Controller {
 public:
  struct Settings {
    std::string node;
    uint32_t maglev_size = 0;
    uint32_t flow_hash_seed = 0;
    // Unset: the datapath follows the uplink's MTU.
    std::optional<uint16_t> tunnel_mtu;
    datapath::MapSizes map_sizes;
    int uplink_ifindex = 0;
  };
  // Puts ferry_tc_pod on a local pod's host veth; asked once per veth,
  // before the first endpoint behind it is written.
  using AttachPodVeth = std::function<absl::Status(int ifindex)>;

  LbDriver(Settings settings, datapath::LbMaps& maps, const IpamDriver& ipam,
           AttachPodVeth attach_pod_veth);

  absl::string_view Name() const override { return "lb"; }
  void Run(Pass& pass) override;
  void AppendProblems(std::vector<std::string>& problems) const override;
  void AppendStatus(nlohmann::json&) const override {}
  void Publish(ApiViews& views) override;

  // What the maps are planned from, for the agent's counts and log.
  const lb::LbInput& input() const { return lb_.input(); }
  size_t local_endpoints() const { return local_endpoints_; }
  // The map writes of the last run, and what they were.
  int writes() const { return report_.writes() + config_writes_ + endpoint_writes_; }
  std::string WritesDetail() const;

 private:
  // Re-resolves the nodes' next hops; true when they changed.
  bool ResolveNodes(const model::Model& model);
  // Plans the load balancer, whole or for `services`, and writes the
  // difference; false when something must be retried.
  bool Update(const model::Model& model, bool whole, const std::set<model::ObjectRef>& services);
  // Writes the config when it differs from the map's; returns the writes.
  int ApplyConfig(const model::Model& model);
  // Attaches ferry_tc_pod to new veths and writes the endpoints that differ;
  // returns the writes.
  int ApplyEndpoints(const EndpointPlan& plan);
  // Remakes the API's entries of `services` (of every Service when `whole`).
  void UpdateViews(const model::Model& model, bool whole,
                   const std::set<model::ObjectRef>& services);

  const Settings settings_;
  datapath::LbMaps& maps_;
  const IpamDriver& ipam_;
  const AttachPodVeth attach_pod_veth_;
  lb::LbMapsStore store_;
  lb::Reconciler reconciler_;
  // Recovered from the maps on the first whole run.
  std::optional<lb::Ids> ids_;
  // The LB's input and desired state, kept up to date Service by Service.
  lb::IncrementalDesired lb_;
  // The maps hold lb_'s desired state: the next run may write changes only.
  bool written_ = false;
  std::vector<lb::NodeInfo> nodes_;  // as last resolved
  bool nodes_unresolved_ = false;     // some next hop of nodes_ waits for a retry
  std::set<uint32_t> pod_veths_attached_;
  size_t local_endpoints_ = 0;
  // What each part found wrong when it last ran: every run reports them
  // all, whichever parts it ran.
  std::vector<std::string> node_problems_;
  std::map<model::ObjectRef, std::vector<std::string>> service_problems_;
  std::vector<std::string> lb_problems_;
  std::vector<std::string> config_problems_;
  std::vector<std::string> endpoint_problems_;
  // What the last run wrote.
  lb::ReconcileReport report_;
  int config_writes_ = 0;
  int endpoint_writes_ = 0;
  // Per Service, its entries of the ListServices answer; published when
  // changed.
  ApiViews::ServiceViews views_;
  bool unpublished_ = true;
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_LB_DRIVER_H_
