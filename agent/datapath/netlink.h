// How this node reaches another node's tunnel endpoint, asked of the kernel
// over rtnetlink (libmnl): the route, the next hop's neighbour entry and the
// output interface's MAC; and an interface's qdiscs. Works in the calling
// thread's network namespace.
#ifndef FERRY_AGENT_DATAPATH_NETLINK_H_
#define FERRY_AGENT_DATAPATH_NETLINK_H_

#include "absl/status/statusor.h"
#include "agent/datapath/addr.h"
#include "layout.h"

namespace ferry::datapath {

// Fills tunnel_dst (= destination), tunnel_src (the route's preferred
// source), next_hop_mac (the gateway's, or the destination's when on-link),
// source_mac, egress_ifindex and family; flags are left 0.
// Unavailable when the next hop has no usable neighbour entry yet (none,
// incomplete or failed): the kernel is then asked to resolve it (an ARP
// request or neighbour solicitation, as a packet to it would cause), so a
// call a little later finds it, with no traffic to it needed.
// NotFound when there is no route.
absl::StatusOr<ferry_node> ResolveNode(const net::IpAddress& destination);

// Whether the interface has a clsact qdisc (where TC programs attach).
absl::StatusOr<bool> HasClsactQdisc(uint32_t ifindex);

}  // namespace ferry::datapath

#endif  // FERRY_AGENT_DATAPATH_NETLINK_H_
