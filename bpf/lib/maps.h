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

/* Conntrack. An LRU hash, not a per-CPU one: a flow whose packets move to
 * another CPU (RSS reprogrammed, a veth sender migrating) must still find its
 * backend, and user space sees one table. BPF_F_NO_COMMON_LRU gives each CPU
 * its own LRU list, so inserting a new flow never takes a lock shared with
 * the other CPUs; the global list is the contention point at high new-flow
 * rates. Measured here, single-CPU insert cost is the same for both. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, 262144);
	__type(key, struct ferry_flow_key);
	__type(value, struct ferry_flow);
	FERRY_PINNED;
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, 16384);
	__type(key, struct ferry_frag_key);
	__type(value, struct ferry_flow);
	FERRY_PINNED;
} fragments SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
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

#endif /* FERRY_BPF_LIB_MAPS_H */
