// The agent API's answers (agent/api/ferry_agent.proto), computed from the
// agent's state by pure code so that they are unit-tested without a server.
#ifndef FERRY_AGENT_FERRYD_API_VIEW_H_
#define FERRY_AGENT_FERRYD_API_VIEW_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "agent/api/ferry_agent.pb.h"
#include "agent/controllers/ipam/controller.h"
#include "agent/ferryd/errors_file.h"
#include "agent/lb/desired.h"
#include "agent/lb/services.h"
#include "agent/model/model.h"

namespace ferry::ferryd {

namespace api = ::ferry::agent::v1;

// Backend id -> Maglev slots, for a service id; nullptr when unknown.
using SlotCountsOf =
    absl::FunctionRef<const absl::flat_hash_map<uint32_t, uint32_t>*(uint32_t service_id)>;

// One entry per (Service, port, family) that has VIPs of that family, in the
// model's order; restricted to one Service when the request names one.
// `input` is what the controller made of `model` (its LbServices carry the
// backends and weights), `ids` the ids they were programmed under.
// `ipam` gives the VIPs and their pools.
// The LbService of that name as programmed, or nullptr.
using LbServiceNamed = absl::FunctionRef<const lb::LbService*(absl::string_view name)>;
// ListServices' entries of one Service.
std::vector<api::LbService> ServiceEntries(const model::ObjectRef& ref,
                                           const model::Service& service,
                                           const IpamController& ipam, LbServiceNamed lb_service,
                                           uint32_t maglev_size, const lb::Ids& ids,
                                           SlotCountsOf slot_counts);
// Whether the request (all Services, or one by namespace and name) asks
// for this Service.
bool Requested(const api::ListServicesRequest& request, const model::ObjectRef& service);

api::ServiceList ListServices(const model::Model& model, const IpamController& ipam,
                              const lb::LbInput& input, const lb::Ids& ids,
                              SlotCountsOf slot_counts, const api::ListServicesRequest& request);

api::AgentErrors ErrorsOf(absl::string_view node, const AgentErrors& errors);

api::ObjectCounts CountsOf(const model::Model& model, const lb::LbInput& input,
                           size_t local_endpoints);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_API_VIEW_H_
