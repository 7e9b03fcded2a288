// One node's agent: owns the datapath (loaded with its maps pinned, programs
// attached to the uplink and the local pods' veths) and brings it to what the
// manifest directory asks for, by difference.
#ifndef FERRY_AGENT_FERRYD_AGENT_H_
#define FERRY_AGENT_FERRYD_AGENT_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/api/ferry_agent.pb.h"
#include "agent/controllers/bgp/plan.h"
#include "agent/controllers/ipam/controller.h"
#include "agent/controllers/l2/announcer.h"
#include "agent/controllers/lb/plan.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps.h"
#include "agent/ferryd/api_server.h"
#include "agent/ferryd/errors_file.h"
#include "agent/ferryd/options.h"
#include "agent/lb/desired.h"
#include "agent/lb/lb_maps_store.h"
#include "agent/lb/reconcile.h"
#include "agent/model/change.h"
#include "agent/model/model.h"
#include "bgp/speaker.h"

namespace ferry::ferryd {

// One line of ferryd's log, time-stamped, to stderr.
void Log(absl::string_view line);

class Agent : public AgentView {
 public:
  // Loads the datapath (adopting maps already pinned, so a restarted agent
  // keeps its flows), attaches ferry_xdp_lb (native) and ferry_tc_uplink to
  // the uplink and creates the state directory. Acts in the calling
  // thread's network namespace.
  static absl::StatusOr<std::unique_ptr<Agent>> Start(const Options& options);

  // Applies a source's changes to the model and re-plans what depends on
  // what changed: a Service and its EndpointSlices re-plan that Service, a
  // pool the Services whose addresses it changed, a Node everything.
  void Apply(const model::ChangeSet& changes);
  // Tries again what waits for a retry (next hops that were not
  // resolvable, writes that failed, Secrets), or what routes, neighbours or
  // links that changed may have changed (`trigger` says which).
  void Retry(absl::string_view trigger);
  // When Retry is due; absl::InfiniteFuture() when nothing waits.
  absl::Time RetryAt() const;

  // AgentView, for the API server's threads: they read the last published
  // snapshot, never the loop's state. Everything else is for the loop's
  // thread only.
  agent::v1::AgentStatus Status() const override;
  agent::v1::ServiceList Services(const agent::v1::ListServicesRequest& request) const override;
  agent::v1::PoolList Pools() const override;
  agent::v1::AllocationList Allocations() const override;
  agent::v1::L2Announcements L2() const override;
  agent::v1::BgpPeers BgpPeers() const override;
  agent::v1::BgpRoutes BgpRoutes(const agent::v1::ListBgpRoutesRequest& request) const override;

  enum class Departure {
    // SIGTERM, as a DaemonSet's update sends: the L2 peers wait for this
    // node and the BGP peers keep its routes (graceful restart).
    kRestart,
    // SIGINT: the VIPs move and the routes are withdrawn now.
    kLeave,
  };
  // Before exiting: tells the L2 and BGP peers how this node's VIPs go.
  void Stop(Departure departure);

 private:
  Agent(Options options, int uplink_ifindex, std::unique_ptr<datapath::Datapath> datapath,
        std::unique_ptr<datapath::LbMaps> maps);

  // One pass over what `delta` changed; `retry`: also what waits for one.
  void Pass(const model::ModelDelta& delta, absl::string_view trigger, bool retry);
  // The Services whose VIPs LB-IPAM changed, after AllocateAddresses.
  std::set<model::ObjectRef> VipChanges();
  // Plans the load balancer, whole or for `services`, and writes the
  // difference; false when something must be retried.
  bool UpdateLb(bool whole, const std::set<model::ObjectRef>& services,
                lb::ReconcileReport& report);
  // Writes the config when it differs from the map's; returns the writes.
  int ApplyConfig(std::vector<std::string>& problems);
  // Attaches ferry_tc_pod to new veths and writes the endpoints that differ;
  // returns the writes.
  int ApplyEndpoints(const EndpointPlan& plan, std::vector<std::string>& problems);
  void PublishErrors(std::vector<std::string> problems);
  // Feeds LB-IPAM the model.
  void AllocateAddresses();
  // Writes <state-dir>/status.json if it changed: the Services' addresses,
  // the pools', L2AnnouncementPolicies' and BGP objects' conditions.
  void WriteStatusFile();
  // Hands the L2 announcer what the model now says.
  void UpdateL2();
  // Plans this node's BGP peers and routes and hands them to the speaker.
  // false when something must be retried.
  bool UpdateBgp(std::vector<std::string>& problems);
  void RecordAttachment(datapath::Program program, absl::string_view hook, int ifindex);

  const Options options_;
  const int uplink_ifindex_;
  const absl::Time started_ = absl::Now();
  std::unique_ptr<datapath::Datapath> datapath_;
  std::unique_ptr<datapath::LbMaps> maps_;
  // Their own threads and locks; set once in Start.
  std::unique_ptr<L2Announcer> l2_;
  std::unique_ptr<bgp::Speaker> bgp_;

  // What the API's threads read: made by the loop thread after each pass
  // and swapped in whole, never changed once published, so that they take
  // no lock the loop holds and the loop takes none of theirs.
  struct Snapshot {
    agent::v1::AgentStatus status;  // programs, counts, errors, last pass
    // Per Service, its entries of the ListServices answer.
    using ServiceViews =
        std::map<model::ObjectRef, std::shared_ptr<const std::vector<agent::v1::LbService>>>;
    std::shared_ptr<const ServiceViews> services;
    std::shared_ptr<const agent::v1::PoolList> pools;
    std::shared_ptr<const agent::v1::AllocationList> allocations;
    std::shared_ptr<const bgp_control::BgpPlan> bgp;
  };
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  // Publishes what changed in a pass: the views of `services` (of every
  // Service when `whole`), LB-IPAM's, BGP's.
  void Publish(bool whole, const std::set<model::ObjectRef>& services, bool ipam, bool bgp);

  // Everything below is the loop thread's own: only it reads or writes it.
  lb::LbMapsStore store_;
  lb::Reconciler reconciler_;
  Snapshot::ServiceViews service_views_;
  // Recovered from the maps on the first pass.
  std::optional<lb::Ids> ids_;
  model::Model model_;
  // What the source could not use, as it last said.
  model::SourceProblems source_problems_;
  IpamController ipam_{absl::Now};
  // What status.json said at start: the Services' addresses before a restart.
  SavedStatus saved_status_;
  std::string status_json_;  // as last written
  // The LB's input and desired state, kept up to date Service by Service.
  lb::IncrementalDesired lb_;
  // The maps hold lb_'s desired state: the next pass may write changes only.
  bool lb_written_ = false;
  std::vector<lb::NodeInfo> nodes_;  // as last resolved
  // The VIPs of each Service that has some.
  std::map<model::ObjectRef, std::vector<net::IpAddress>> vips_;
  // What each part found wrong when it last ran: every pass reports them
  // all, whichever parts it ran.
  std::vector<std::string> node_problems_;
  std::map<model::ObjectRef, std::vector<std::string>> service_problems_;
  std::vector<std::string> lb_problems_;
  std::vector<std::string> config_problems_;
  std::vector<std::string> bgp_problems_;
  std::vector<std::string> endpoint_problems_;
  absl::Time retry_at_ = absl::InfiniteFuture();
  // status.json's inputs changed since it was written.
  bool status_stale_ = true;
  size_t local_endpoints_ = 0;
  AgentErrors errors_;
  agent::v1::Reconcile last_reconcile_;
  std::vector<agent::v1::AttachedProgram> attached_;
  std::set<uint32_t> pod_veths_attached_;
  std::set<std::string> logged_;  // problems and errors already logged
  std::string errors_json_;       // as last written
  bgp_control::BgpPlan bgp_plan_;  // of the last pass
  // What the speaker was last given.
  using BgpApplied = std::vector<std::pair<bgp::PeerConfig, std::vector<bgp::Advertisement>>>;
  BgpApplied bgp_applied_;
  // (Secret, key) -> the last value read.
  std::map<std::pair<std::string, std::string>, std::string> secrets_;
  std::vector<L2PolicyStatus> l2_policy_status_;
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_AGENT_H_
