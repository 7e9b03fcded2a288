/* Choosing a flow's backend: conntrack first, then the service's Maglev
 * table. Every node holds the same table for a service, so a flow that
 * reaches another node (ECMP rehash, LB restart) lands on the same backend
 * even without its conntrack entry. */
#ifndef FERRY_BPF_LIB_MAGLEV_H
#define FERRY_BPF_LIB_MAGLEV_H

#include "conntrack.h"
#include "flow_hash.h"

/* The Maglev pick for a flow, without recording it. */
FERRY_INLINE int ferry_maglev_pick(const struct ferry_flow_key *key, const struct ferry_frontend *frontend,
				   __u32 seed, struct ferry_choice *choice)
{
	__u32 service_id = frontend->service_id;
	__u32 size = frontend->maglev_size;
	void *table = bpf_map_lookup_elem(&maglev_tables, &service_id);
	__u32 slot, *backend_id;

	if (!table || size == 0)
		return 0;
	slot = ferry_flow_hash(key, seed) % size;
	backend_id = bpf_map_lookup_elem(table, &slot);
	return backend_id && ferry_resolve_backend(*backend_id, choice);
}

/* Picks and records the backend of a flow. Returns FERRY_CONTINUE with
 * choice filled, or a drop reason. */
FERRY_INLINE int ferry_select_backend(const struct ferry_flow_key *key, const struct ferry_frontend *frontend,
				      __u32 seed, struct ferry_choice *choice)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	struct ferry_flow *flow = bpf_map_lookup_elem(&flows, key);

	if (ferry_flow_follow(flow, choice, now)) {
		ferry_count_event(FERRY_EVENT_FLOW_HIT);
		return FERRY_CONTINUE;
	}
	if (!ferry_maglev_pick(key, frontend, seed, choice))
		return FERRY_DROP_NO_BACKEND;

	/* A flow whose backend went away is moved, not dropped. */
	if (flow) {
		flow->backend_id = choice->backend_id;
		flow->last_seen_ns = now;
		ferry_count_event(FERRY_EVENT_FLOW_RESCHEDULED);
		return FERRY_CONTINUE;
	}
	ferry_flow_record(key, choice->backend_id, now);
	ferry_count_event(FERRY_EVENT_FLOW_NEW);
	return FERRY_CONTINUE;
}

#endif /* FERRY_BPF_LIB_MAGLEV_H */
