// The L2 announcer: one thread per agent that keeps this node's share of the
// VIPs answered on the link (ARP, NDP) and no more.
//
// Every interval it multicasts a liveness advertisement on the uplink and,
// once that is sent, pushes the datapath's fence forward (l2announce/
// liveness.h): a frozen agent's XDP stops answering before its peers take
// over. It tracks its peers' advertisements and its node lease, and elects
// (l2announce/election.h) whenever the live nodes or the inputs change. It
// writes the VIPs this node wins into the l2_announce map and sends the
// takeover frames; lost ones are removed at once, while a won VIP whose
// previous announcer is still alive is answered one interval later: a
// liveness change reaches every node within that. (A manifest change reaches
// each node when its own reload does; until the slower one has reloaded,
// both may answer a VIP that moved.)
//
// Those decisions are l2announce::Failover's (l2announce/failover.h, no I/O);
// this is its driver: the thread, the sockets, the lease store and the maps.
// Its own thread, not the agent's loop: a reload of many Services takes
// seconds, and the fence may not wait for it.
#ifndef FERRY_AGENT_CONTROLLERS_L2_ANNOUNCER_H_
#define FERRY_AGENT_CONTROLLERS_L2_ANNOUNCER_H_

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/api/ferry_agent.pb.h"
#include "agent/controllers/l2/inputs.h"
#include "agent/datapath/maps.h"
#include "l2announce/announcer.h"
#include "l2announce/liveness.h"
#include "l2announce/node_lease.h"

namespace ferry::ferryd {

// The agent's options (agent/ferryd/options.h) the announcer runs on.
struct L2AnnouncerConfig {
  std::string node;
  std::string uplink;
  std::filesystem::path lease_dir;
  l2announce::LivenessConfig liveness;
  l2announce::AnnouncementConfig announcements;
  l2announce::LeaseConfig node_leases;
};

class L2Announcer {
 public:
  // Opens the advertisement channel and the frame socket on the uplink and
  // starts the thread. Until the first SetInputs and one hold time of
  // listening to the peers, the l2_announce map keeps what it holds (a
  // restarted agent moves nothing).
  static absl::StatusOr<std::unique_ptr<L2Announcer>> Start(const L2AnnouncerConfig& config,
                                                           datapath::LbMaps& maps);
  ~L2Announcer();  // Stop(kRestarting) unless stopped
  L2Announcer(const L2Announcer&) = delete;
  L2Announcer& operator=(const L2Announcer&) = delete;

  void SetInputs(std::shared_ptr<const L2Inputs> inputs);

  enum class Stopping {
    // Peers wait the restart hold; XDP keeps answering until then.
    kRestarting,
    // Peers take over at once; this node stops answering now.
    kLeaving,
  };
  void Stop(Stopping how);

  agent::v1::L2Announcements Snapshot() const;

  class Impl;

 private:
  explicit L2Announcer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_L2_ANNOUNCER_H_
