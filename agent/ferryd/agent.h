// One node's agent: owns the datapath (loaded with its maps pinned, programs
// attached to the uplink and the local pods' veths) and brings it to what the
// manifest directory asks for, by difference.
#ifndef FERRY_AGENT_FERRYD_AGENT_H_
#define FERRY_AGENT_FERRYD_AGENT_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/api/ferry_agent.pb.h"
#include "agent/bgp_control/plan.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps.h"
#include "agent/ferryd/api_server.h"
#include "agent/ferryd/controller.h"
#include "agent/ferryd/errors_file.h"
#include "agent/ferryd/ipam_controller.h"
#include "agent/ferryd/l2_announcer.h"
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
  // Tries again what waits for a retry: next hops that were not resolvable,
  // writes that failed, Secrets.
  void Retry();
  // When Retry is due; absl::InfiniteFuture() when nothing waits.
  absl::Time RetryAt() const;

  // AgentView, for the API server's threads.
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
  void Pass(const model::ModelDelta& delta, absl::string_view trigger, bool retry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The Services whose VIPs LB-IPAM changed, after AllocateAddresses.
  std::set<model::ObjectRef> VipChanges() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Plans the load balancer, whole or for `services`, and writes the
  // difference; false when something must be retried.
  bool UpdateLb(bool whole, const std::set<model::ObjectRef>& services,
                lb::ReconcileReport& report) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the config when it differs from the map's; returns the writes.
  int ApplyConfig(std::vector<std::string>& problems) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Attaches ferry_tc_pod to new veths and writes the endpoints that differ;
  // returns the writes.
  int ApplyEndpoints(const EndpointPlan& plan, std::vector<std::string>& problems)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishErrors(std::vector<std::string> problems) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Feeds LB-IPAM the model.
  void AllocateAddresses() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes <state-dir>/status.json if it changed: the Services' addresses,
  // the pools', L2AnnouncementPolicies' and BGP objects' conditions.
  void WriteStatusFile() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands the L2 announcer what the model now says.
  void UpdateL2() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Plans this node's BGP peers and routes and hands them to the speaker.
  // false when something must be retried.
  bool UpdateBgp(std::vector<std::string>& problems) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordAttachment(datapath::Program program, absl::string_view hook, int ifindex)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const int uplink_ifindex_;
  const absl::Time started_ = absl::Now();
  std::unique_ptr<datapath::Datapath> datapath_;
  std::unique_ptr<datapath::LbMaps> maps_;
  // Their own threads and locks; set once in Start.
  std::unique_ptr<L2Announcer> l2_;
  std::unique_ptr<bgp::Speaker> bgp_;

  // The loop thread changes these; the API's threads read them.
  mutable absl::Mutex mu_;
  lb::LbMapsStore store_ ABSL_GUARDED_BY(mu_);
  lb::Reconciler reconciler_ ABSL_GUARDED_BY(mu_);
  // Recovered from the maps on the first pass.
  std::optional<lb::Ids> ids_ ABSL_GUARDED_BY(mu_);
  model::Model model_ ABSL_GUARDED_BY(mu_);
  // What the source could not use, as it last said.
  model::SourceProblems source_problems_ ABSL_GUARDED_BY(mu_);
  IpamController ipam_ ABSL_GUARDED_BY(mu_){absl::Now};
  // What status.json said at start: the Services' addresses before a restart.
  SavedStatus saved_status_ ABSL_GUARDED_BY(mu_);
  std::string status_json_ ABSL_GUARDED_BY(mu_);  // as last written
  // The LB's input and desired state, kept up to date Service by Service.
  lb::IncrementalDesired lb_ ABSL_GUARDED_BY(mu_);
  // The maps hold lb_'s desired state: the next pass may write changes only.
  bool lb_written_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<lb::NodeInfo> nodes_ ABSL_GUARDED_BY(mu_);  // as last resolved
  // The VIPs of each Service that has some.
  std::map<model::ObjectRef, std::vector<net::IpAddress>> vips_ ABSL_GUARDED_BY(mu_);
  // What each part found wrong when it last ran: every pass reports them
  // all, whichever parts it ran.
  std::vector<std::string> node_problems_ ABSL_GUARDED_BY(mu_);
  std::map<model::ObjectRef, std::vector<std::string>> service_problems_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> lb_problems_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> config_problems_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> bgp_problems_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> endpoint_problems_ ABSL_GUARDED_BY(mu_);
  absl::Time retry_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  // status.json's inputs changed since it was written.
  bool status_stale_ ABSL_GUARDED_BY(mu_) = true;
  size_t local_endpoints_ ABSL_GUARDED_BY(mu_) = 0;
  AgentErrors errors_ ABSL_GUARDED_BY(mu_);
  agent::v1::Reconcile last_reconcile_ ABSL_GUARDED_BY(mu_);
  std::vector<agent::v1::AttachedProgram> attached_ ABSL_GUARDED_BY(mu_);
  std::set<uint32_t> pod_veths_attached_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> logged_ ABSL_GUARDED_BY(mu_);  // problems and errors already logged
  std::string errors_json_ ABSL_GUARDED_BY(mu_);       // as last written
  bgp_control::BgpPlan bgp_plan_ ABSL_GUARDED_BY(mu_);  // of the last pass
  // What the speaker was last given.
  using BgpApplied = std::vector<std::pair<bgp::PeerConfig, std::vector<bgp::Advertisement>>>;
  BgpApplied bgp_applied_ ABSL_GUARDED_BY(mu_);
  // (Secret, key) -> the last value read.
  std::map<std::pair<std::string, std::string>, std::string> secrets_ ABSL_GUARDED_BY(mu_);
  std::vector<L2PolicyStatus> l2_policy_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_AGENT_H_
