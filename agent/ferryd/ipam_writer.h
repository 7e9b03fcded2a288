// The one writer of LB-IPAM in API mode: the agents elect a leader with the
// coordination.k8s.io/v1 Lease `ferry-ipam` in their namespace (identity:
// the node's name), and only the leader allocates and writes where users
// look: each Service's status.loadBalancer.ingress (ipMode VIP) with its
// ferry.dev/IPAllocated condition, the LoadBalancerIPPools' status, and
// events.k8s.io/v1 Events.
//
// Why a Lease among the agents rather than a ferry-operator Deployment: the
// agents already run on every node with the Services, pools and their
// status in their model, so a leader among them needs nothing more to
// install, scale or give RBAC to, and keeps working on a cluster whose
// Deployments cannot schedule yet (Ferry is the load balancer they may
// depend on). The Lease is kube's own mechanism for this (client-go's
// leaderelection), and what a leader does is small: a pass of LB-IPAM.
//
// Writes: a merge patch of the status subresource carrying the Service's
// resourceVersion as read, so a status changed meanwhile answers 409
// Conflict rather than being overwritten. After a write, or a conflict, the
// Service is not written again until the watch brings a newer version (the
// next pass recomputes from it); a failed write backs off (1 s doubling to
// 30 s); nothing is written when the status already says it.
#ifndef FERRY_AGENT_FERRYD_IPAM_WRITER_H_
#define FERRY_AGENT_FERRYD_IPAM_WRITER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/controllers/ipam/controller.h"
#include "agent/k8s/api_calls.h"
#include "agent/k8s/event_recorder.h"
#include "agent/k8s/leader_election.h"
#include "agent/model/model.h"

namespace ferry::ferryd {

struct IpamWriterSettings {
  std::string namespace_;  // the Lease's: the agents'
  std::string lease_name = "ferry-ipam";
  k8s::LeaderElectionConfig election;  // identity: the node's name
  absl::Duration backoff_min = absl::Seconds(1);
  absl::Duration backoff_max = absl::Seconds(30);
  // Status writes out at once: 10,000 Services allocated in one pass must
  // not become 10,000 requests (each a curl handle and its buffers) in
  // flight; each answer lets the next one go.
  int max_status_in_flight = 64;
};

struct IpamWriterStats {
  int64_t status_writes = 0;  // Services' and pools', answered 2xx
  int64_t conflicts = 0;      // answered 409
  int64_t failures = 0;       // anything else
  int64_t events = 0;         // Event writes sent
};

class IpamWriter {
 public:
  // Sends a request; `done` runs with its answer later (from the source's
  // Read) or at once when it cannot start.
  using Send = std::function<void(const k8s::ApiRequest&, k8s::ApiCalls::Done)>;
  using Clock = std::function<absl::Time()>;
  using LogFn = std::function<void(absl::string_view)>;
  IpamWriter(IpamWriterSettings settings, Send send, Clock clock, LogFn log);

  // Reads or writes the Lease when the election asks.
  void Elect(absl::Time now);
  bool Leading(absl::Time now) const { return election_.Leading(now); }
  const std::string& holder() const { return election_.holder(); }

  // When leading: writes the status the allocation gives to the Services
  // and pools of `model` whose status does not say it yet, and the
  // allocation's Events. Looks only when something changed since it last
  // looked (MarkDirty, an answer) or a backoff ended.
  void Write(absl::Time now, const model::Model& model, IpamController& ipam);
  // The model or the allocation changed.
  void MarkDirty() { dirty_ = true; }
  // A new term: what a previous one wrote or waited for is forgotten.
  void StartTerm();

  // When Elect or Write has something to do.
  absl::Time NextAt() const;
  // On leaving: sends the Lease's release if this agent holds it; true
  // when sent (its answer comes through the source).
  bool Release(absl::Time now);
  int in_flight() const { return in_flight_; }
  const IpamWriterStats& stats() const { return stats_; }

 private:
  // A status subresource's write state.
  struct Target {
    bool in_flight = false;
    // Written (or conflicted) at this resourceVersion: wait for a newer one.
    std::string settled_at;
    // Its last write, for pools (whose status is not in the model).
    std::string written;
    absl::Time retry_at = absl::InfinitePast();
    absl::Duration backoff = absl::ZeroDuration();
  };
  // Whether `target` may be written now; notes when it may again.
  bool Ready(Target& target, const std::string& resource_version, absl::Time now);
  void SendStatus(const model::ObjectRef& ref, const std::string& path, const std::string& body,
                  const std::string& resource_version);
  void OnStatusAnswer(const model::ObjectRef& ref, const std::string& body,
                      const std::string& resource_version, const k8s::ApiResponse& response);
  void SendEvents(absl::Time now);
  void Call(const k8s::ApiRequest& request, k8s::ApiCalls::Done done);
  std::string LeasePath(bool named) const;

  const IpamWriterSettings settings_;
  const Send send_;
  const Clock clock_;
  const LogFn log_;
  k8s::LeaderElection election_;
  bool lease_in_flight_ = false;
  bool was_leading_ = false;
  k8s::EventRecorder recorder_;
  std::map<model::ObjectRef, Target> targets_;
  bool dirty_ = true;
  absl::Time retry_due_ = absl::InfiniteFuture();
  int in_flight_ = 0;
  int status_in_flight_ = 0;  // of in_flight_, the status writes
  IpamWriterStats stats_;
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_IPAM_WRITER_H_
