// LB-IPAM in the agent: the model's LoadBalancerIPPools and Services are fed
// to ipam::Allocator by difference; the addresses it grants are the
// Services' VIPs; their status (status.loadBalancer.ingress, the
// ferry.dev/IPAllocated condition, Events) and the pools' status are kept
// as a Kubernetes-shaped document, which the agent writes to
// <state-dir>/status.json in manifest mode and reads back after a restart.
//
// Every node allocates on its own from the same manifests, and the rules
// are deterministic (oldest first, lowest free address), so nodes that saw
// the same manifests agree. A node that restarts takes its own status back
// first, so it keeps what it had even if the manifests changed meanwhile.
#ifndef FERRY_AGENT_CONTROLLERS_IPAM_CONTROLLER_H_
#define FERRY_AGENT_CONTROLLERS_IPAM_CONTROLLER_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/model/model.h"
#include "ipam/allocator.h"
#include "nlohmann/json.hpp"

namespace ferry::ferryd {

// "1208925819614629174706176": pool sizes are 128-bit (a /48 holds 2^80
// addresses), more than JSON numbers and int64 carry.
std::string Decimal(absl::uint128 value);

std::string Rfc3339(absl::Time time);  // to the second, UTC
// A condition as the API writes it, and a family's counts as strings.
nlohmann::json ConditionJson(const ipam::Condition& condition);
nlohmann::json UsageJson(const ipam::FamilyUsage& usage);

// Service -> the addresses its status held, as status.json says.
using SavedStatus = std::map<ipam::ServiceRef, std::vector<net::IpAddress>>;

// The Services' addresses in a status.json document; an unreadable one is
// an error (the caller then starts without it).
absl::StatusOr<SavedStatus> ParseSavedStatus(absl::string_view json);

class IpamController {
 public:
  explicit IpamController(ipam::Allocator::Clock clock);

  // Feeds the allocator what changed in the model since the last call; the
  // first call feeds everything in one batch, taking `saved` as the status
  // of Services whose manifest carries none. Returns what a person should
  // read in the log: Events, and conditions that changed.
  std::vector<std::string> Update(const model::Model& model, const SavedStatus& saved);

  // The allocator's Events (address moved or lost) since the last call,
  // for the leader to publish.
  std::vector<std::pair<ipam::ServiceRef, ipam::Event>> TakeEvents() {
    return std::exchange(unpublished_events_, {});
  }

  // The addresses granted to the Service (none when it waits or is not
  // Ferry's), in its family order.
  std::vector<net::IpAddress> VipsOf(const model::ObjectRef& service) const;

  const ipam::Allocator& allocator() const { return allocator_; }
  // The valid pools, as last fed, by name.
  const std::map<std::string, ipam::Pool>& pools() const { return pools_; }

  // {"services": [{"apiVersion": "v1", "kind": "Service", "metadata": {...},
  //   "status": {"loadBalancer": {"ingress": [{"ip", "ipMode": "VIP"}]},
  //   "conditions": [...]}, "events": [...]}],
  //  "pools": [{"apiVersion": "ferry.dev/v1alpha1", "kind": "LoadBalancerIPPool",
  //   "metadata": {"name"}, "status": {"conditions", "ipv4": {...}, "ipv6": {...}}}]}
  nlohmann::json StatusDocument() const;

 private:
  ipam::Allocator allocator_;
  bool fed_ = false;
  std::map<std::string, ipam::Pool> pools_;           // as last fed
  std::map<ipam::ServiceRef, ipam::Service> services_;  // as last fed
  std::map<ipam::ServiceRef, std::vector<ipam::Event>> events_;  // the latest of each Service
  std::vector<std::pair<ipam::ServiceRef, ipam::Event>> unpublished_events_;
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_IPAM_CONTROLLER_H_
