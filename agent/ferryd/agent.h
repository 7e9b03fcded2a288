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
#include "agent/controllers/bgp/driver.h"
#include "agent/controllers/controller.h"
#include "agent/controllers/ipam/driver.h"
#include "agent/controllers/l2/driver.h"
#include "agent/controllers/lb/driver.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps.h"
#include "agent/ferryd/api_server.h"
#include "agent/ferryd/errors_file.h"
#include "agent/ferryd/health.h"
#include "agent/ferryd/ipam_writer.h"
#include "agent/ferryd/options.h"
#include "agent/model/change.h"
#include "agent/model/model.h"

namespace ferry::ferryd {

// One line of ferryd's log, time-stamped, to stderr.
void Log(absl::string_view line);

class Agent : public AgentView {
 public:
  // Loads the datapath (adopting maps already pinned, so a restarted agent
  // keeps its flows), attaches ferry_xdp_lb (native) and ferry_tc_uplink to
  // the uplink and creates the state directory. Acts in the calling
  // thread's network namespace. `secrets` (the Secrets BGPPeers name)
  // outlives the agent.
  static absl::StatusOr<std::unique_ptr<Agent>> Start(const Options& options,
                                                      const sources::SecretStore& secrets);

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

  // API mode: LB-IPAM's one writer (ipam_writer.h). The agent stands for
  // the Lease once the source gave its first full list, allocates while it
  // leads, and serves the Services' status either way.
  void AttachWriter(std::unique_ptr<IpamWriter> writer);
  // The writer's turn: the election, a change of leader, status writes.
  void Tick(absl::Time now);
  // When Tick is due; absl::InfiniteFuture() without a writer.
  absl::Time TickAt() const;
  // On leaving: sends the Lease's release if this agent holds it; true
  // when one was sent. Its answer comes through the source.
  bool ReleaseLease(absl::Time now);
  int WritesInFlight() const { return writer_ ? writer_->in_flight() : 0; }

  // For the health server's thread (agent/ferryd/health.h).
  const LoopHealth& health() const { return health_; }

 private:
  Agent(Options options, int uplink_ifindex, std::unique_ptr<datapath::Datapath> datapath,
        std::unique_ptr<datapath::LbMaps> maps, std::unique_ptr<L2Announcer> l2,
        std::unique_ptr<bgp::Speaker> speaker, const sources::SecretStore& secrets);

  // One pass over what `delta` changed; `retry`: also what waits for one.
  void Pass(const model::ModelDelta& delta, absl::string_view trigger, bool retry);

  void PublishErrors(std::vector<std::string> problems);
  // Writes <state-dir>/status.json if it changed: each controller's
  // fragment (the Services' addresses, the pools', L2AnnouncementPolicies'
  // and BGP objects' conditions).
  void WriteStatusFile();
  void RecordAttachment(datapath::Program program, absl::string_view hook, int ifindex);

  const Options options_;
  const absl::Time started_ = absl::Now();
  std::unique_ptr<datapath::Datapath> datapath_;
  std::unique_ptr<datapath::LbMaps> maps_;
  // The controllers, in the one order a pass runs them: LB-IPAM first (the
  // VIPs every other one starts from), then the load balancer, L2, BGP.
  // Set once in the constructor; the typed pointers are for the counts and
  // log line, and the API's questions that the announcer's and the
  // speaker's threads answer.
  std::vector<std::unique_ptr<Controller>> controllers_;
  IpamDriver* ipam_;
  LbDriver* lb_;
  L2Driver* l2_;
  BgpDriver* bgp_;

  // What the API's threads read: made by the loop thread after each pass
  // and swapped in whole, never changed once published, so that they take
  // no lock the loop holds and the loop takes none of theirs.
  struct Snapshot {
    agent::v1::AgentStatus status;  // programs, counts, errors, last pass
    ApiViews views;                 // the controllers'
  };
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  LoopHealth health_;
  // Publishes the agent's status and the controllers' views that changed.
  void Publish();

  // Everything below is the loop thread's own: only it reads or writes it.
  model::Model model_;
  // What the source could not use, as it last said.
  model::SourceProblems source_problems_;
  bool passed_ = false;  // a pass has run
  bool applied_ = false;  // the source's first (full) changes were applied
  std::unique_ptr<IpamWriter> writer_;
  std::string status_json_;  // as last written
  absl::Time retry_at_ = absl::InfiniteFuture();
  // status.json's inputs changed since it was written.
  bool status_stale_ = true;
  AgentErrors errors_;
  agent::v1::Reconcile last_reconcile_;
  std::vector<agent::v1::AttachedProgram> attached_;
  std::set<std::string> logged_;  // problems and errors already logged
  std::string errors_json_;       // as last written
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_AGENT_H_
