/* Map keys and values shared by the BPF programs and user space.
 *
 * Compiled by clang -target bpf and by the C++ side: every struct has
 * explicit padding and a size assertion, so neither side can drift. All
 * addresses and ports are in network byte order. An IPv4 address occupies
 * the first four bytes of a ferry_addr; the other twelve are zero.
 */
#ifndef FERRY_BPF_LIB_LAYOUT_H
#define FERRY_BPF_LIB_LAYOUT_H

#include <linux/types.h>

#ifdef __cplusplus
#define FERRY_ASSERT_SIZE(type, size) static_assert(sizeof(type) == (size), #type " layout changed")
#else
#define FERRY_ASSERT_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " layout changed")
#endif

/* Pinned map names are ABI with ferryctl and older agents: change with care. */
#define FERRY_MAP_FRONTENDS "frontends"
#define FERRY_MAP_VIPS "vips"
#define FERRY_MAP_VIP_FILTER "vip_filter"
#define FERRY_MAP_MAGLEV "maglev_tables"
#define FERRY_MAP_BACKENDS "backends"
#define FERRY_MAP_NODES "nodes"
#define FERRY_MAP_FLOWS "flows"
#define FERRY_MAP_FRAGMENTS "fragments"
#define FERRY_MAP_REV_NAT "rev_nat"
#define FERRY_MAP_ENDPOINTS "endpoints"
#define FERRY_MAP_CONFIG "config"
#define FERRY_MAP_SERVICE_STATS "service_stats"
#define FERRY_MAP_DROPS "drops"
#define FERRY_MAP_EVENTS "events"
#define FERRY_MAP_L2_ANNOUNCE "l2_announce"
#define FERRY_MAP_L2_LIVENESS "l2_liveness"

enum ferry_family {
	FERRY_FAMILY_NONE = 0,
	FERRY_FAMILY_IPV4 = 4,
	FERRY_FAMILY_IPV6 = 6,
};

union ferry_addr {
	__be32 v4;
	__be32 v6[4];
	__u8 bytes[16];
};
FERRY_ASSERT_SIZE(union ferry_addr, 16);

/* An address alone: keys of vips and endpoints. */
struct ferry_addr_key {
	union ferry_addr addr;
	__u8 family;
	__u8 pad[3];
};
FERRY_ASSERT_SIZE(struct ferry_addr_key, 20);

/* A flow as the client sent it (client -> VIP), or a reply as the pod sent
 * it (pod -> client) in rev_nat. */
struct ferry_flow_key {
	union ferry_addr src;
	union ferry_addr dst;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
FERRY_ASSERT_SIZE(struct ferry_flow_key, 40);

/* The backend a flow was given. One table serves the load-balancing XDP
 * program and the backend node's TC program: both learn the same fact about
 * the same client -> VIP tuple, so a flow that moves between nodes (ECMP
 * rehash, a node acting as both) finds it wherever it was recorded. */
struct ferry_flow {
	__u32 backend_id;
	__u32 service_id; /* the frontend's, so a removed service's flows can be found */
	/* bpf_ktime_get_coarse_ns() when first seen. No last-seen time: the LRU
	 * ages flows out, and stamping every packet would cost a clock read and
	 * a write on the hottest path. */
	__u64 created_ns;
};
FERRY_ASSERT_SIZE(struct ferry_flow, 16);

/* Non-first fragments carry no ports: they follow the first fragment's
 * backend through (src, dst, IP identification, protocol). */
struct ferry_frag_key {
	union ferry_addr src;
	union ferry_addr dst;
	__u32 id;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
FERRY_ASSERT_SIZE(struct ferry_frag_key, 40);

struct ferry_frontend_key {
	union ferry_addr vip;
	__be16 port;
	__u8 proto;
	__u8 family;
};
FERRY_ASSERT_SIZE(struct ferry_frontend_key, 20);

struct ferry_frontend {
	__u32 service_id;  /* index into maglev_tables and service_stats */
	__u32 maglev_size; /* M: slots in this service's Maglev table */
};
FERRY_ASSERT_SIZE(struct ferry_frontend, 8);

/* vip_filter: a count of the VIPs whose address hashes to each slot
 * (ferry_vip_filter_slot). Most packets on an uplink are for no VIP; one
 * array lookup turns them away before any hash map is touched. */
#define FERRY_VIP_FILTER_SLOTS 4096

/* Value of vips: any VIP that has at least one frontend. Traffic to a known
 * VIP on a port it does not serve is dropped rather than handed to a stack
 * that would route it back out. */
struct ferry_vip {
	__u32 frontends;
};
FERRY_ASSERT_SIZE(struct ferry_vip, 4);

#define FERRY_BACKEND_ACTIVE 0x1

struct ferry_backend {
	union ferry_addr addr; /* the pod */
	__be16 port;           /* the pod's port */
	__u8 family;
	__u8 flags;   /* FERRY_BACKEND_*; a backend without ACTIVE is absent */
	__u32 node_id; /* index into nodes */
};
FERRY_ASSERT_SIZE(struct ferry_backend, 24);

#define FERRY_NODE_LOCAL 0x1 /* the node running this datapath */

/* How this node reaches another node's tunnel endpoint. */
struct ferry_node {
	union ferry_addr tunnel_dst; /* the other node's address */
	union ferry_addr tunnel_src; /* this node's address of the same family */
	__u8 next_hop_mac[6];        /* all zero: resolve through the kernel FIB */
	__u8 source_mac[6];
	__u32 egress_ifindex;
	__u8 family; /* of tunnel_dst and tunnel_src */
	__u8 flags;  /* FERRY_NODE_* */
	__u8 pad[2];
};
FERRY_ASSERT_SIZE(struct ferry_node, 52);

/* rev_nat value: what a pod's reply must appear to come from. */
struct ferry_rev_nat {
	union ferry_addr vip;
	__be16 vport;
	__u8 pad[2];
};
FERRY_ASSERT_SIZE(struct ferry_rev_nat, 20);

/* A pod on this node, keyed by its address: where decapsulated traffic for
 * it is redirected. */
struct ferry_endpoint {
	__u32 ifindex;     /* host side of the pod's veth */
	__u8 pod_mac[6];
	__u8 host_mac[6];  /* the host-side veth's own MAC */
};
FERRY_ASSERT_SIZE(struct ferry_endpoint, 16);

struct ferry_config {
	union ferry_addr node_v4; /* tunnels to these addresses are ours to decapsulate */
	union ferry_addr node_v6;
	__u32 flow_hash_seed;     /* the same on every node, or tables disagree */
	__u16 tunnel_mtu;         /* largest encapsulated packet the node network carries;
				   * 0: the egress interface's MTU, read per packet */
	__u8 pad[2];
};
FERRY_ASSERT_SIZE(struct ferry_config, 40);

struct ferry_service_stats {
	__u64 packets;
	__u64 bytes;
};
FERRY_ASSERT_SIZE(struct ferry_service_stats, 16);

/* l2_announce key: one VIP this node answers ARP (IPv4) or neighbour
 * solicitations (IPv6) for, on one interface. One entry per interface rather
 * than an interface bitmap: ifindexes are not small numbers, and each
 * interface answers with its own MAC. */
struct ferry_l2_announce_key {
	union ferry_addr vip;
	__u32 ifindex; /* the interface the request arrives on */
	__u8 family;
	__u8 pad[3];
};
FERRY_ASSERT_SIZE(struct ferry_l2_announce_key, 24);

struct ferry_l2_announce {
	__u8 mac[6]; /* the interface's own MAC: the answer's sender */
	__u8 pad[2];
};
FERRY_ASSERT_SIZE(struct ferry_l2_announce, 8);

/* l2_liveness[0]: the fence. Announced VIPs are answered only while
 * bpf_ktime_get_ns() (CLOCK_MONOTONIC) is before deadline_ns; the agent
 * pushes it forward while it and its peers agree it is alive, so a frozen
 * agent stops answering before another node takes its VIPs over. 0: never. */
struct ferry_l2_liveness {
	__u64 deadline_ns;
};
FERRY_ASSERT_SIZE(struct ferry_l2_liveness, 8);

/* Why a packet was dropped: the drops map is indexed by this; user space
 * prints the name. New reasons go last, so a ferryctl of another release
 * names the others right. */
#define FERRY_DROP_REASONS(X)                                                   \
	X(MALFORMED, "malformed")                                               \
	X(NO_SERVICE_PORT, "vip-port-not-served")                               \
	X(NO_BACKEND, "no-backend")                                             \
	X(FRAGMENT_WITHOUT_FLOW, "fragment-without-flow")                       \
	X(NO_ROUTE_TO_NODE, "no-route-to-node")                                 \
	X(ENCAP_FAILED, "encap-failed")                                         \
	X(TOO_BIG, "too-big-for-tunnel")                                        \
	X(DECAP_FAILED, "decap-failed")                                         \
	X(BACKEND_NOT_LOCAL, "backend-not-local")                               \
	X(NO_LOCAL_ENDPOINT, "no-local-endpoint")                               \
	X(NAT_FAILED, "nat-failed")                                             \
	X(IPV4_CHECKSUM, "ipv4-bad-header-checksum")                            \
	X(BAD_SOURCE, "source-not-forwardable")                                 \
	X(EXT_HEADERS_UNPARSED, "ipv6-ext-headers-unparsed")                    \
	X(HOP_BY_HOP_NOT_FIRST, "ipv6-hop-by-hop-not-first")                    \
	X(ROUTING_SEGMENTS_LEFT, "ipv6-routing-segments-left")                  \
	X(UDP_ZERO_CHECKSUM, "ipv6-udp-zero-checksum")

/* Which way a packet went: the events map is indexed by this. The bench
 * checks these to prove every iteration took the intended path. New events
 * go last, so a ferryctl of another release names the others right. */
#define FERRY_EVENTS(X)                                                         \
	X(PASS_NOT_IP, "pass-not-ip")                                           \
	X(PASS_NO_VIP, "pass-no-vip")                                           \
	X(FLOW_HIT, "flow-hit")                                                 \
	X(FLOW_NEW, "flow-new")                                                 \
	X(FLOW_RESCHEDULED, "flow-rescheduled")                                 \
	X(FRAGMENT_FOLLOWED, "fragment-followed")                               \
	X(ICMP_FOLLOWED, "icmp-followed-flow")                                  \
	X(ICMP_TOO_BIG_SENT, "icmp-too-big-sent")                               \
	X(ENCAP_TX, "encap-tx")                                                 \
	X(ENCAP_REDIRECT, "encap-redirect")                                     \
	X(ENCAP_PASS_NO_NEIGH, "encap-pass-no-neigh")                           \
	X(LOCAL_PASS, "local-backend-pass")                                     \
	X(DECAP, "decap")                                                       \
	X(DNAT_REDIRECT, "dnat-redirect")                                       \
	X(REV_NAT, "rev-nat")                                                   \
	X(ICMP_ECHO_REPLY, "icmp-echo-reply")                                   \
	X(PASS_NEIGHBOR_DISCOVERY, "pass-neighbor-discovery")                   \
	X(L2_ARP_REPLY, "l2-arp-reply")                                         \
	X(L2_NA_REPLY, "l2-na-reply")                                           \
	X(L2_FENCED, "l2-fenced")                                               \
	X(ENCAP_REDIRECT_NEIGH, "encap-redirect-neigh")

#define FERRY_ENUM_ITEM(prefix, name) prefix##name,
#define FERRY_DROP_ENUM(name, text) FERRY_ENUM_ITEM(FERRY_DROP_, name)
#define FERRY_EVENT_ENUM(name, text) FERRY_ENUM_ITEM(FERRY_EVENT_, name)

enum ferry_drop_reason { FERRY_DROP_REASONS(FERRY_DROP_ENUM) FERRY_DROP_MAX };
enum ferry_event { FERRY_EVENTS(FERRY_EVENT_ENUM) FERRY_EVENT_MAX };

#endif /* FERRY_BPF_LIB_LAYOUT_H */
