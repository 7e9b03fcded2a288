/* ferry_tc_uplink, TC ingress on the node uplink: decapsulates tunnels
 * addressed to this node, DNATs them to the local pod and redirects them to
 * its veth; sends out the tunnels ferry_xdp_lb handed to the stack while
 * their next hop was unresolved. Its own object, over the pinned maps the
 * XDP object shares (maps.h).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "common.h"
#include "conntrack.h"
#include "encap.h"
#include "icmp.h"
#include "maglev.h"
#include "nat.h"
#include "parse.h"

/* The reply tuple a pod will send, so ferry_tc_pod can restore VIP:port. */
FERRY_INLINE void ferry_remember_reply(const struct ferry_packet *pkt, const struct ferry_backend *backend)
{
	struct ferry_flow_key reply = {
		.src = backend->addr,
		.dst = pkt->key.src,
		.sport = backend->port,
		.dport = pkt->key.sport,
		.proto = pkt->key.proto,
		.family = pkt->key.family,
	};

	if (bpf_map_lookup_elem(&rev_nat, &reply))
		return;
	struct ferry_rev_nat original = { .vip = pkt->key.dst, .vport = pkt->key.dport };

	bpf_map_update_elem(&rev_nat, &reply, &original, BPF_ANY);
}

/* Hands a packet for a local pod to the pod's veth. */
FERRY_INLINE int ferry_tc_to_pod(struct __sk_buff *skb, const struct ferry_backend *backend)
{
	struct ferry_addr_key key = { .addr = backend->addr, .family = backend->family };
	const struct ferry_endpoint *endpoint = bpf_map_lookup_elem(&endpoints, &key);
	__u8 macs[12];

	if (!endpoint)
		return FERRY_DROP(FERRY_DROP_NO_LOCAL_ENDPOINT);
	__builtin_memcpy(macs, endpoint->pod_mac, 6);
	__builtin_memcpy(macs + 6, endpoint->host_mac, 6);
	if (bpf_skb_store_bytes(skb, 0, macs, sizeof(macs), 0))
		return FERRY_DROP(FERRY_DROP_NAT_FAILED);
	ferry_count_event(FERRY_EVENT_DNAT_REDIRECT);
	return bpf_redirect(endpoint->ifindex, 0);
}

/* Delivers a client -> VIP packet (or an error about such a flow) to the
 * local pod serving its flow. */
FERRY_INLINE int ferry_tc_deliver(struct __sk_buff *skb, const struct ferry_config *cfg, struct ferry_packet *pkt,
				  int decapsulated)
{
	struct ferry_choice choice = {};
	struct ferry_flow_key flow;
	struct ferry_icmp_error where = {};
	__u32 service_id;
	int rc;
	int error = pkt->has_l4 && ferry_icmp_error_flow((void *)(long)skb->data, (void *)(long)skb->data_end,
							 pkt, &flow, &where);

	rc = error ? ferry_flow_backend(&flow, cfg->flow_hash_seed, &choice, &service_id)
		   : ferry_backend_of(cfg, pkt, &choice, &service_id);
	if (rc == FERRY_NOT_A_FRONTEND)
		return decapsulated ? FERRY_DROP(FERRY_DROP_NO_SERVICE_PORT) : TC_ACT_OK;
	if (rc != FERRY_CONTINUE)
		return rc;
	if (!(choice.node->flags & FERRY_NODE_LOCAL))
		return FERRY_DROP(FERRY_DROP_BACKEND_NOT_LOCAL);

	if (error) {
		if (ferry_nat_icmp_error(skb, pkt, &where, choice.backend))
			return FERRY_DROP(FERRY_DROP_NAT_FAILED);
		ferry_count_event(FERRY_EVENT_ICMP_FOLLOWED);
		return ferry_tc_to_pod(skb, choice.backend);
	}
	if (ferry_nat(skb, pkt, 1, &choice.backend->addr, choice.backend->port))
		return FERRY_DROP(FERRY_DROP_NAT_FAILED);
	rc = ferry_tc_to_pod(skb, choice.backend);
	if (ferry_is_drop(rc))
		return rc;
	ferry_commit(pkt, &choice, service_id);
	if (pkt->has_l4 && (pkt->key.proto == IPPROTO_TCP || pkt->key.proto == IPPROTO_UDP))
		ferry_remember_reply(pkt, choice.backend);
	return rc;
}

/* Delivers the packet now in skb, decapsulated from a tunnel if `family`
 * (its expected family) is set, to the local pod serving its flow: an action
 * or a drop. A global function, verified once on its own: inlined, the parse
 * and delivery were verified once on the decapsulated path and again on the
 * plain one. It parses the frame again, which costs less than the verifier
 * states it saves. */
__attribute__((noinline)) int ferry_tc_deliver_frame(struct __sk_buff *skb, __u32 family)
{
	const struct ferry_config *cfg = ferry_config();
	struct ferry_packet pkt;

	if (!cfg)
		return TC_ACT_OK;
	if (ferry_parse_checked((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, &pkt) != FERRY_PARSE_OK)
		return family ? FERRY_DROP(pkt.malformed) : TC_ACT_OK;
	if (family && pkt.key.family != family)
		return FERRY_DROP(FERRY_DROP_MALFORMED);
	return ferry_tc_deliver(skb, cfg, &pkt, family != 0);
}

/* Sends out a tunnel of ours that XDP handed to the stack (encap.h). A
 * global function, for its stack rather than its instructions: together
 * with ferry_tc_deliver_frame's, the FIB lookup's would exceed the 512 bytes
 * a program and the function it calls may use. */
__attribute__((noinline)) int ferry_tc_send_own_tunnel_frame(struct __sk_buff *skb)
{
	struct ferry_packet pkt;

	if (ferry_parse_checked((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, &pkt) != FERRY_PARSE_OK)
		return TC_ACT_OK;
	return ferry_tc_send_own_tunnel(skb, &pkt);
}

/* ferry_tc_uplink's steps: an action or a drop (see FERRY_DROP). */
FERRY_INLINE int ferry_tc_uplink_steps(struct __sk_buff *skb)
{
	const struct ferry_config *cfg = ferry_config();
	struct ferry_packet pkt;
	__u8 inner_family = FERRY_FAMILY_NONE;
	void *data, *data_end;
	int rc;

	if (!cfg)
		return TC_ACT_OK;
	bpf_skb_pull_data(skb, skb->len < FERRY_TC_HEADROOM ? skb->len : FERRY_TC_HEADROOM);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	/* Most of what reaches the uplink is the stack's: the router's checks
	 * wait until a packet is ours (the functions below check theirs). */
	if (ferry_parse(data, data_end, &pkt) != FERRY_PARSE_OK)
		return TC_ACT_OK;
	if (ferry_is_tunnel_to_us(&pkt, cfg)) {
		if (ferry_parse_valid(data, data_end, skb->len, &pkt) != FERRY_PARSE_OK)
			return TC_ACT_OK;
		rc = ferry_tc_decap(skb, &pkt, &inner_family);
		if (rc != FERRY_CONTINUE)
			return rc;
	} else if (ferry_is_tunnel_from_us(&pkt, cfg)) {
		return ferry_tc_send_own_tunnel_frame(skb);
	} else if (!ferry_maybe_vip(&pkt.key.dst)) {
		return TC_ACT_OK;
	}
	return ferry_tc_deliver_frame(skb, inner_family);
}

SEC("tc")
int ferry_tc_uplink(struct __sk_buff *skb)
{
	return ferry_tc_verdict(ferry_tc_uplink_steps(skb));
}

char LICENSE[] SEC("license") = "GPL";
