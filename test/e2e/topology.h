// The test network of DESIGN.md §6, built from namespaces:
//
//   client ── gw ── lan (bridge br0) ── node k ── pod j of node k
//
//   client  eth0 198.18.100.2/24 2001:db8:100::2/64, default via the gw
//   gw      "client" 198.18.100.1 2001:db8:100::1; "lan" 198.18.0.1/24 2001:db8:0:1::1/64
//   lan     br0 with one port per node (named after the node) and "gw"
//   node k  eth0 (the uplink) 198.18.0.(10+k)/24 2001:db8:0:1::(10+k)/64, default via the gw;
//           pod<j>: host side of pod j's veth, 198.18.(16+k).1/32 2001:db8:16:k::1/128
//   pod j   eth0 198.18.(16+k).(10+j)/24 2001:db8:16:k::(10+j)/64, default via the host side
//
// Pod CIDRs are routed natively: the gw and every node route each node's pod
// CIDR via that node's LAN address. Nodes and gw forward and have rp_filter
// off (DSR replies leave a node with the VIP as source).
#ifndef FERRY_TEST_E2E_TOPOLOGY_H_
#define FERRY_TEST_E2E_TOPOLOGY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/address.h"
#include "test/e2e/netns.h"

namespace ferry::netns {

using net::IpAddress;

struct Pod {
  std::string name;  // "<node>-p<j>"
  std::unique_ptr<Namespace> ns;
  Interface link;       // eth0 in the pod
  Interface host_link;  // pod<j> in the node's namespace
  IpAddress v4, v6;
  IpAddress gateway_v4, gateway_v6;  // the host side's addresses
};

struct Node {
  std::string name;
  int index = 0;  // k in the address plan, from 1
  std::unique_ptr<Namespace> ns;
  Interface uplink;       // eth0 in the node
  Interface bridge_port;  // the uplink's peer, a port of br0 in the lan namespace
  IpAddress v4, v6;
  std::string pod_cidr_v4, pod_cidr_v6;
  std::vector<Pod> pods;
};

// ferryd on a simulated node, as the tests and the demo run it: maps pinned
// at PinDir(node), state in FerrydStateDir(node), API on FerrydSocket(node),
// its log in ScratchDir(), the node leases of the run's agents in
// ScratchDir()/leases.
// `log_name` tells one start's log from another's (a restart).
// `extra_args` go after the ones that place it.
absl::StatusOr<std::unique_ptr<Process>> StartFerryd(const Node& node, const std::string& ferryd,
                                                     const std::string& manifests,
                                                     const std::string& log_name,
                                                     const std::vector<std::string>& extra_args = {});
// The same with another source than a manifest directory: `source_args`
// ("--kubeconfig", path).
absl::StatusOr<std::unique_ptr<Process>> StartFerrydFrom(
    const Node& node, const std::string& ferryd, const std::vector<std::string>& source_args,
    const std::string& log_name, const std::vector<std::string>& extra_args = {});
std::string FerrydStateDir(const Node& node);
std::string FerrydSocket(const Node& node);

struct NodeOptions {
  std::string name;  // at most 15 characters: it names the node's bridge port
  int pods = 1;
};

struct TopologyOptions {
  std::vector<NodeOptions> nodes;  // node k is nodes[k - 1]
  int lan_mtu = 1500;
};

class Topology {
 public:
  static absl::StatusOr<std::unique_ptr<Topology>> Build(const TopologyOptions& options);
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  const Namespace& client() const { return *client_; }
  const Namespace& gw() const { return *gw_; }
  const Namespace& lan() const { return *lan_; }
  const Interface& client_link() const { return client_link_; }
  const IpAddress& client_v4() const { return client_v4_; }
  const IpAddress& client_v6() const { return client_v6_; }
  const IpAddress& gw_lan_v4() const { return gw_lan_v4_; }
  const IpAddress& gw_lan_v6() const { return gw_lan_v6_; }
  std::vector<Node>& nodes() { return nodes_; }
  // nullptr if there is no such node.
  Node* node(const std::string& name);

  // Pings the gw and every other node from each node, and each pod's gateway
  // from the pod, over IPv4 and IPv6: afterwards neighbour tables are full
  // and the bridge knows every MAC, so no later frame is flooded.
  absl::Status WarmUp();

  // Makes XDP_TX work on the node's uplink. veth hands an XDP_TX frame to
  // the peer's queue and schedules the peer's NAPI only if the peer has an XDP
  // program (veth_xdp_flush checks the peer's xdp_prog): with GRO on instead,
  // which also gives the peer NAPI, the frames sit in the queue until the
  // peer's next ordinary packet (seen on 6.18: xdp_tx counted, nothing on the
  // wire). So this attaches a two-instruction XDP_PASS program, in native
  // mode, to the uplink's peer (the node's bridge port).
  absl::Status EnableXdpTx(const Node& node);

 private:
  Topology() = default;
  absl::Status AddNode(const NodeOptions& options, int index, int lan_mtu);
  absl::Status AddPod(Node& node, int j);

  // Declared in creation order: destroyed pods first, client last.
  std::unique_ptr<Namespace> client_, gw_, lan_;
  Interface client_link_;
  IpAddress client_v4_, client_v6_, gw_lan_v4_, gw_lan_v6_;
  std::vector<Node> nodes_;
};

}  // namespace ferry::netns

#endif  // FERRY_TEST_E2E_TOPOLOGY_H_
