/* Conntrack: the backend each flow (and each fragmented datagram) was given.
 * The table outlives backend-set changes, which is its whole point: an
 * established flow keeps its backend when the Maglev table is replaced. */
#ifndef FERRY_BPF_LIB_CONNTRACK_H
#define FERRY_BPF_LIB_CONNTRACK_H

#include "common.h"
#include "parse.h"

struct ferry_choice {
	__u32 backend_id;
	const struct ferry_backend *backend;
	const struct ferry_node *node;
	struct ferry_flow *flow; /* the flow's conntrack entry, if it has one */
	int followed;            /* the backend is the entry's */
};

FERRY_INLINE int ferry_resolve_backend(__u32 backend_id, struct ferry_choice *choice)
{
	const struct ferry_backend *backend = bpf_map_lookup_elem(&backends, &backend_id);

	if (!backend || !(backend->flags & FERRY_BACKEND_ACTIVE))
		return 0;
	__u32 node_id = backend->node_id;
	const struct ferry_node *node = bpf_map_lookup_elem(&nodes, &node_id);

	if (!node || node->family == FERRY_FAMILY_NONE)
		return 0;
	choice->backend_id = backend_id;
	choice->backend = backend;
	choice->node = node;
	return 1;
}

/* Fills choice from a flow's conntrack entry if the backend it names still
 * exists. */
FERRY_INLINE int ferry_flow_follow(const struct ferry_flow *flow, struct ferry_choice *choice)
{
	return flow && ferry_resolve_backend(flow->backend_id, choice);
}

FERRY_INLINE void ferry_flow_record(const struct ferry_flow_key *key, __u32 backend_id, __u32 service_id)
{
	struct ferry_flow flow = {
		.backend_id = backend_id,
		.service_id = service_id,
		.created_ns = bpf_ktime_get_coarse_ns(),
	};

	bpf_map_update_elem(&flows, key, &flow, BPF_ANY);
}

FERRY_INLINE void ferry_frag_key_of(const struct ferry_packet *pkt, struct ferry_frag_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->src = pkt->key.src;
	key->dst = pkt->key.dst;
	key->id = pkt->frag_id;
	key->proto = pkt->key.proto;
	key->family = pkt->key.family;
}

/* A first fragment records its backend for the fragments that follow. */
FERRY_INLINE void ferry_frag_record(const struct ferry_packet *pkt, __u32 backend_id, __u32 service_id)
{
	struct ferry_flow flow = {
		.backend_id = backend_id,
		.service_id = service_id,
		.created_ns = bpf_ktime_get_coarse_ns(),
	};
	struct ferry_frag_key key;

	ferry_frag_key_of(pkt, &key);
	bpf_map_update_elem(&fragments, &key, &flow, BPF_ANY);
}

/* A later fragment goes where its first fragment went. */
FERRY_INLINE int ferry_frag_follow(const struct ferry_packet *pkt, struct ferry_choice *choice, __u32 *service_id)
{
	struct ferry_frag_key key;
	struct ferry_flow *flow;

	ferry_frag_key_of(pkt, &key);
	flow = bpf_map_lookup_elem(&fragments, &key);
	if (!flow || !ferry_resolve_backend(flow->backend_id, choice))
		return FERRY_DROP(FERRY_DROP_FRAGMENT_WITHOUT_FLOW);
	*service_id = flow->service_id;
	ferry_count_event(FERRY_EVENT_FRAGMENT_FOLLOWED);
	return FERRY_CONTINUE;
}

#endif /* FERRY_BPF_LIB_CONNTRACK_H */
