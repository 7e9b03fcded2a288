// The load-balancing controller: the model (agent/model) turned into the
// desired-state input of agent/lb, and into this node's datapath config and
// local endpoints. Pure: how this node reaches an address is asked of an
// injected resolver (datapath::ResolveNode in the agent, a table in tests).
#ifndef FERRY_AGENT_CONTROLLERS_LB_PLAN_H_
#define FERRY_AGENT_CONTROLLERS_LB_PLAN_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/datapath/addr.h"
#include "agent/lb/services.h"
#include "agent/model/model.h"
#include "layout.h"

namespace ferry::ferryd {

// The route, next hop and MACs towards an address (datapath::ResolveNode's
// contract: Unavailable while the next hop's neighbour is unresolved).
using Resolver = absl::FunctionRef<absl::StatusOr<ferry_node>(const net::IpAddress&)>;

// The port's name, else its number: how a Service port is told apart.
std::string PortLabel(const model::ServicePort& port);
// "namespace/name/<PortLabel>/<IPv4|IPv6>": the LbService (and Maglev table)
// of one port of a Service in one family.
std::string LbServiceName(const model::Service& service, const model::ServicePort& port,
                          net::IpFamily family);

struct ControllerOutput {
  lb::LbInput input;
  // What could not be used and why, for the log and errors.json.
  std::vector<std::string> problems;
};

// One LbService per (Service, port, VIP family), named
// "namespace/name/<port name or number>/<IPv4|IPv6>": a Maglev table holds
// backends of one family, since a VIP is DNATed to pods of its own family.
// Frontends: the Service's VIPs of that family on the port; backends: the
// ready endpoints (ServiceBackends) of that family; policy from
// externalTrafficPolicy. Every Node object becomes a NodeInfo: the other
// nodes are reached over the first family both have (IPv4 first). A node
// whose next hop is not resolved yet gets an entry with zero MACs: the
// datapath then asks the kernel's FIB and neighbour table, which serve as
// soon as the resolution the resolver requested is answered, and a later
// pass writes the MACs (until then an IPv4 tunnel packet is lost:
// bpf/lib/encap.h).
// A Service's VIPs: what LB-IPAM granted it (agent/controllers/ipam/controller.h).
using VipsOf = absl::FunctionRef<std::vector<net::IpAddress>(const model::ObjectRef& service)>;

ControllerOutput BuildLbInput(const model::Model& model, absl::string_view this_node,
                              uint32_t maglev_size, Resolver resolve, VipsOf vips_of);

// BuildLbInput's parts. Every Node as a NodeInfo; `unresolved` is set when
// some node's next hop could not be resolved (yet).
std::vector<lb::NodeInfo> NodeInfosOf(const model::Model& model, absl::string_view this_node,
                                      Resolver resolve, std::vector<std::string>& problems,
                                      bool& unresolved);
// The LbServices of one Service, all named with LbServicePrefix(its ref).
std::vector<lb::LbService> LbServicesOf(const model::Model& model, const model::Service& service,
                                        const std::vector<net::IpAddress>& vips,
                                        absl::string_view this_node,
                                        std::vector<std::string>& problems);
// "namespace/name/".
std::string LbServicePrefix(const model::ObjectRef& service);

// This node's config: its InternalIPs (first of each family), the seed and
// the MTU. NotFound when the model has no Node of that name.
absl::StatusOr<ferry_config> ConfigOf(const model::Model& model, absl::string_view this_node,
                                      uint32_t flow_hash_seed, uint16_t tunnel_mtu);

struct LocalEndpoint {
  net::IpAddress pod;
  ferry_endpoint endpoint;
};

struct EndpointPlan {
  std::vector<LocalEndpoint> endpoints;  // in address order
  // Pods whose veth or MAC is not known yet: keep what the map holds.
  std::vector<net::IpAddress> unresolved;
  std::vector<std::string> problems;
};

// The endpoints entries for the backends on this node: each pod is reached
// over its host-side veth (the route's output interface, never the uplink),
// at the neighbour's MAC, from the veth's own MAC.
EndpointPlan PlanEndpoints(const lb::LbInput& input, int uplink_ifindex, Resolver resolve);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_LB_PLAN_H_
