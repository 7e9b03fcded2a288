/* Choosing a flow's backend: conntrack first, as nearly every packet
 * belongs to a known flow, then the service's Maglev table. Every node holds
 * the same table for a service, so a flow that reaches another node (ECMP
 * rehash, LB restart) lands on the same backend even without its conntrack
 * entry. */
#ifndef FERRY_BPF_LIB_MAGLEV_H
#define FERRY_BPF_LIB_MAGLEV_H

#include "conntrack.h"
#include "flow_hash.h"

/* ferry_flow_backend's answer when the flow's VIP:port is no frontend. */
#define FERRY_NOT_A_FRONTEND (FERRY_STEP_BASE + 1)

/* Whether an address may be a VIP; no means certainly not. */
FERRY_INLINE int ferry_maybe_vip(const union ferry_addr *addr)
{
	__u32 slot = ferry_vip_filter_slot(addr);
	__u32 *vips_here = bpf_map_lookup_elem(&vip_filter, &slot);

	return vips_here && *vips_here;
}

FERRY_INLINE const struct ferry_frontend *ferry_frontend_of(const struct ferry_flow_key *flow)
{
	struct ferry_frontend_key key = {
		.vip = flow->dst,
		.port = flow->dport,
		.proto = flow->proto,
		.family = flow->family,
	};

	return bpf_map_lookup_elem(&frontends, &key);
}

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

/* The backend the service's table gives a flow. Returns FERRY_CONTINUE
 * with choice and *service_id filled, FERRY_NOT_A_FRONTEND, or a drop. */
FERRY_INLINE int ferry_maglev_backend(const struct ferry_flow_key *key, __u32 seed, struct ferry_choice *choice,
				      __u32 *service_id)
{
	const struct ferry_frontend *frontend = ferry_frontend_of(key);

	if (!frontend)
		return FERRY_NOT_A_FRONTEND;
	*service_id = frontend->service_id;
	return ferry_maglev_pick(key, frontend, seed, choice) ? FERRY_CONTINUE : FERRY_DROP(FERRY_DROP_NO_BACKEND);
}

/* The backend a flow has, or would get, recording nothing yet: a packet
 * that is then dropped leaves no trace in conntrack, and an ICMP error about
 * a flow never starts one. Returns as ferry_maglev_backend; choice says
 * what ferry_flow_commit must record.
 *
 * A conntrack hit is trusted without a frontend lookup: removing a backend
 * makes its flows re-resolve here, and whoever removes a frontend removes its
 * flows (they carry the service id). */
FERRY_INLINE int ferry_flow_backend(const struct ferry_flow_key *key, __u32 seed, struct ferry_choice *choice,
				    __u32 *service_id)
{
	struct ferry_flow *flow = bpf_map_lookup_elem(&flows, key);

	choice->flow = flow;
	choice->followed = ferry_flow_follow(flow, choice);
	if (choice->followed) {
		*service_id = flow->service_id;
		return FERRY_CONTINUE;
	}
	return ferry_maglev_backend(key, seed, choice, service_id);
}

/* Records the choice ferry_flow_backend made, once the packet is forwarded.
 * A flow whose backend went away is moved, not dropped. */
FERRY_INLINE void ferry_flow_commit(const struct ferry_flow_key *key, const struct ferry_choice *choice,
				    __u32 service_id)
{
	struct ferry_flow *flow = choice->flow;

	if (choice->followed) {
		ferry_count_event(FERRY_EVENT_FLOW_HIT);
	} else if (flow) {
		flow->backend_id = choice->backend_id;
		flow->service_id = service_id;
		ferry_count_event(FERRY_EVENT_FLOW_RESCHEDULED);
	} else {
		ferry_flow_record(key, choice->backend_id, service_id);
		ferry_count_event(FERRY_EVENT_FLOW_NEW);
	}
}

/* Whether the packet is addressed to a VIP of any frontend. */
FERRY_INLINE int ferry_is_vip(const struct ferry_packet *pkt)
{
	struct ferry_addr_key key = { .addr = pkt->key.dst, .family = pkt->key.family };

	return bpf_map_lookup_elem(&vips, &key) != 0;
}

/* The backend of a packet to a (possible) VIP, with its service, recording
 * nothing (ferry_commit does, once the packet is forwarded). Returns
 * FERRY_CONTINUE, FERRY_NOT_A_FRONTEND or a drop. */
FERRY_INLINE int ferry_backend_of(const struct ferry_config *cfg, const struct ferry_packet *pkt,
				  struct ferry_choice *choice, __u32 *service_id)
{
	/* A later fragment has no ports: it follows its first fragment. */
	if (!pkt->has_l4)
		return ferry_is_vip(pkt) ? ferry_frag_follow(pkt, choice, service_id) : FERRY_NOT_A_FRONTEND;
	return ferry_flow_backend(&pkt->key, cfg->flow_hash_seed, choice, service_id);
}

/* Records the choice ferry_backend_of made for a packet now forwarded: a
 * dropped packet leaves no state behind. */
FERRY_INLINE void ferry_commit(const struct ferry_packet *pkt, const struct ferry_choice *choice, __u32 service_id)
{
	if (!pkt->has_l4)
		return; /* a later fragment, which followed its first */
	ferry_flow_commit(&pkt->key, choice, service_id);
	if (pkt->is_fragment)
		ferry_frag_record(pkt, choice->backend_id, service_id);
}

#endif /* FERRY_BPF_LIB_MAGLEV_H */
