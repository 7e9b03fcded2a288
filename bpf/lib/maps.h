/* The datapath's maps. Layouts live in layout.h, shared with user space.
 *
 * max_entries here are defaults for a standalone load; the agent sizes each
 * map from its configuration before loading, so nothing is preallocated for
 * a maximum the user did not ask for. Every map is pinned by name under the
 * node's pin directory, so a restarted or upgraded agent adopts the flows.
 */
#ifndef FERRY_BPF_LIB_MAPS_H
#define FERRY_BPF_LIB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "layout.h"

#define FERRY_PINNED __uint(pinning, LIBBPF_PIN_BY_NAME)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ferry_frontend_key);
	__type(value, struct ferry_frontend);
	FERRY_PINNED;
} frontends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ferry_addr_key);
	__type(value, struct ferry_vip);
	FERRY_PINNED;
} vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FERRY_VIP_FILTER_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
	FERRY_PINNED;
} vip_filter SEC(".maps");

/* One Maglev table per service, slot -> backend id. BPF_F_INNER_MAP lets each
 * service's table have its own size; replacing a service's entry in the outer
 * map swaps its whole table at once, so no packet sees a half-written one. */
struct maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4096);
	__type(key, __u32);
	FERRY_PINNED;
	__array(values, struct maglev_table); /* must be last */
} maglev_tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct ferry_backend);
	FERRY_PINNED;
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct ferry_node);
	FERRY_PINNED;
} nodes SEC(".maps");

/* Conntrack, as an LRU hash with the common LRU list. Why this flavour, for
 * speed and for keeping flows:
 * - Hits, nearly every packet, are a lock-free lookup in every flavour.
 * - BPF_MAP_TYPE_LRU_PERCPU_HASH would give each CPU its own value: a flow
 *   whose packets move to another CPU (RSS reprogrammed, a veth sender
 *   migrating) would miss and could change backend.
 * - BPF_F_NO_COMMON_LRU splits the capacity into one fixed share per CPU, so
 *   a node whose NIC has a single RX queue (common in homelabs) keeps only
 *   1/ncpus of the configured flows.
 * - The common list takes its global lock once per 128 inserts on a CPU
 *   (each CPU refills a local free list in batches), so inserts cost the same
 *   as with per-CPU lists: measured here, ferry-bench's lru-insert row.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct ferry_flow_key);
	__type(value, struct ferry_flow);
	FERRY_PINNED;
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ferry_frag_key);
	__type(value, struct ferry_flow);
	FERRY_PINNED;
} fragments SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct ferry_flow_key);
	__type(value, struct ferry_rev_nat);
	FERRY_PINNED;
} rev_nat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ferry_addr_key);
	__type(value, struct ferry_endpoint);
	FERRY_PINNED;
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ferry_config);
	FERRY_PINNED;
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct ferry_service_stats);
	FERRY_PINNED;
} service_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FERRY_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
	FERRY_PINNED;
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FERRY_EVENT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	FERRY_PINNED;
} events SEC(".maps");

/* The VIPs this node announces, per interface (l2.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ferry_l2_announce_key);
	__type(value, struct ferry_l2_announce);
	FERRY_PINNED;
} l2_announce SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ferry_l2_liveness);
	FERRY_PINNED;
} l2_liveness SEC(".maps");

#endif /* FERRY_BPF_LIB_MAPS_H */
