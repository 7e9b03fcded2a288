// What the load balancer must serve, as the agent's model hands it over: the
// input of the desired-state computation (desired.h). Plain values; nothing
// here knows Kubernetes.
#ifndef FERRY_AGENT_LB_SERVICES_H_
#define FERRY_AGENT_LB_SERVICES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/datapath/addr.h"
#include "agent/maglev/maglev.h"
#include "layout.h"
#include "net/address.h"

namespace ferry::lb {

using net::IpAddress;

// A VIP:port the service answers on.
struct Frontend {
  IpAddress vip{};
  uint16_t port = 0;     // host byte order
  uint8_t protocol = 0;  // IPPROTO_TCP or IPPROTO_UDP
};

struct Backend {
  IpAddress address{};  // the pod
  uint16_t port = 0;    // the pod's port, host byte order
  std::string node;     // name of the node the pod runs on
  // Share of new flows, relative to the service's other backends. A backend
  // of weight 0 takes no new flows but keeps the ones it has (a terminating
  // endpoint that still serves).
  uint32_t weight = 1;
};

enum class TrafficPolicy {
  kCluster,  // every backend
  kLocal,    // only the backends on this node; none there: the VIP drops (no-backend)
};

// One Maglev table's worth of service: frontends that share one set of
// backends and one backend port. A Kubernetes Service with several ports is
// one LbService per port (the name tells them apart, e.g. "ns/name/http").
struct LbService {
  std::string name;  // stable identity, e.g. "ns/name"
  std::vector<Frontend> frontends;
  std::vector<Backend> backends;
  TrafficPolicy policy = TrafficPolicy::kCluster;
};

struct NodeInfo {
  std::string name;
  std::optional<IpAddress> v4;
  std::optional<IpAddress> v6;
  // How this node reaches that one (tunnel addresses, MACs, egress
  // interface), resolved elsewhere. Ignored for this node itself. A family of
  // FERRY_FAMILY_NONE means "not reachable yet": its backends are left out.
  ferry_node route{};
};

struct LbInput {
  std::string this_node;
  std::vector<NodeInfo> nodes;  // this node included
  std::vector<LbService> services;
  uint32_t maglev_size = maglev::kDefaultTableSize;  // prime, M of every table
};

// The identity a backend id stands for: the pod's address and port on one
// node. A pod address that reappears on another node is another backend, so
// a flow pinned to the old id never follows the address to the new node.
// `endpoint` is the pod's "addr:port" (datapath::FormatEndpoint), the
// spelling the Maglev tables hash: it must not change between versions.
std::string BackendIdentity(absl::string_view endpoint, absl::string_view node);
std::string BackendIdentity(const Backend& backend);

}  // namespace ferry::lb

#endif  // FERRY_AGENT_LB_SERVICES_H_
