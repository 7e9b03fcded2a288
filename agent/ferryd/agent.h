// One node's agent: owns the datapath (loaded with its maps pinned, programs
// attached to the uplink and the local pods' veths) and brings it to what the
// manifest directory asks for, by difference.
#ifndef FERRY_AGENT_FERRYD_AGENT_H_
#define FERRY_AGENT_FERRYD_AGENT_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps.h"
#include "agent/ferryd/controller.h"
#include "agent/ferryd/options.h"
#include "agent/lb/desired.h"
#include "agent/lb/lb_maps_store.h"
#include "agent/lb/reconcile.h"
#include "agent/model/manifest_dir.h"

namespace ferry::ferryd {

class Agent {
 public:
  // Loads the datapath (adopting maps already pinned, so a restarted agent
  // keeps its flows), attaches ferry_xdp_lb (native) and ferry_tc_uplink to
  // the uplink and creates the state directory. Acts in the calling
  // thread's network namespace.
  static absl::StatusOr<std::unique_ptr<Agent>> Start(const Options& options);

  // Reads the manifest directory again and reconciles. A directory that
  // cannot be read keeps the last model.
  void Reload();
  // Recomputes the desired state from the current model and writes the
  // difference: next hops that were not resolvable may be now.
  void Reconcile(absl::string_view trigger);

 private:
  Agent(Options options, int uplink_ifindex, std::unique_ptr<datapath::Datapath> datapath,
        std::unique_ptr<datapath::LbMaps> maps);

  // Writes the config when it differs from the map's; returns the writes.
  int ApplyConfig(std::vector<std::string>& problems);
  // Attaches ferry_tc_pod to new veths and writes the endpoints that differ;
  // returns the writes.
  int ApplyEndpoints(const EndpointPlan& plan, std::vector<std::string>& problems);
  void PublishErrors(std::vector<std::string> problems);

  Options options_;
  int uplink_ifindex_;
  datapath::MapSizes sizes_;
  std::unique_ptr<datapath::Datapath> datapath_;
  std::unique_ptr<datapath::LbMaps> maps_;
  lb::LbMapsStore store_;
  lb::Reconciler reconciler_;
  // Recovered from the maps on the first pass.
  std::optional<lb::Ids> ids_;
  model::LoadResult loaded_;
  std::set<uint32_t> pod_veths_attached_;
  std::set<std::string> logged_;  // problems and errors already logged
  std::string errors_json_;       // as last written
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_AGENT_H_
