// The seam between the agent's loop and what it drives: each controller
// consumes the model's changes, acts on its own part of the node (maps,
// announcer, speaker), and reports its problems, a status fragment for the
// objects it owns and its part of the API's view. The agent runs them in
// one declared order (agent/ferryd/agent.cc, Agent::Agent) and knows
// nothing else of them.
#ifndef FERRY_AGENT_CONTROLLERS_CONTROLLER_H_
#define FERRY_AGENT_CONTROLLERS_CONTROLLER_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/api/ferry_agent.pb.h"
#include "agent/model/change.h"
#include "agent/model/model.h"
#include "nlohmann/json.hpp"

namespace ferry::bgp_control {
struct BgpPlan;
}  // namespace ferry::bgp_control

namespace ferry::ferryd {

// One pass of the loop, as the controllers see it in turn.
struct Pass {
  const model::Model& model;
  const model::ModelDelta& delta;
  // What the source could not use: the objects a controller must not act on.
  const std::vector<model::ObjectError>& object_errors;
  // Nothing was planned yet (everything runs), and the pass retries what
  // waits for a retry.
  bool first = false;
  bool retry = false;
  // The Services to re-plan: those that changed, extended by the
  // controllers that change a Service's inputs (LB-IPAM, its VIPs).
  std::set<model::ObjectRef> services;
  // Out: false when something must be tried again.
  bool settled = true;
  // Out: status.json's inputs changed.
  bool status_changed = false;
};

// The API's views that the controllers publish; each replaces only its own,
// and only when it changed.
struct ApiViews {
  // Per Service, its entries of the ListServices answer.
  using ServiceViews =
      std::map<model::ObjectRef, std::shared_ptr<const std::vector<agent::v1::LbService>>>;
  std::shared_ptr<const ServiceViews> services;
  std::shared_ptr<const agent::v1::PoolList> pools;
  std::shared_ptr<const agent::v1::AllocationList> allocations;
  std::shared_ptr<const bgp_control::BgpPlan> bgp;
};

class Controller {
 public:
  virtual ~Controller() = default;
  virtual absl::string_view Name() const = 0;
  // Does what the pass's changes ask of this controller, if anything.
  virtual void Run(Pass& pass) = 0;
  // What it found wrong when it last ran, for errors.json and the API.
  virtual void AppendProblems(std::vector<std::string>& problems) const = 0;
  // Its objects' status, as keys of status.json's document.
  virtual void AppendStatus(nlohmann::json& document) const = 0;
  // Its part of the views, when it changed since it last published.
  virtual void Publish(ApiViews& views) = 0;
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_CONTROLLER_H_
