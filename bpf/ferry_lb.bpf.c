/* Ferry's load-balancing datapath.
 *
 * ferry_xdp_lb     XDP on the node uplink: ARP/NDP answers for the VIPs this
 *                  node announces (l2.h), VIP lookup, conntrack, Maglev,
 *                  tunnel to the backend's node (or pass for a local one).
 * ferry_tc_uplink  TC ingress on the uplink: decapsulate tunnels addressed to
 *                  this node, DNAT to the local pod and redirect to its veth;
 *                  send out the tunnels XDP handed to the stack while their
 *                  next hop was unresolved.
 * ferry_tc_pod     TC ingress on a pod's host-side veth: rev-NAT replies to
 *                  VIP:port; the stack routes them straight to the client.
 *
 * A new flow's backend is maglev_tables[service][ferry_flow_hash(flow) % M]
 * (maglev.h, flow_hash.h), the same on every node, then kept in conntrack.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "common.h"
#include "conntrack.h"
#include "encap.h"
#include "icmp.h"
#include "l2.h"
#include "maglev.h"
#include "nat.h"
#include "parse.h"

FERRY_INLINE int ferry_is_vip(const struct ferry_packet *pkt)
{
	struct ferry_addr_key key = { .addr = pkt->key.dst, .family = pkt->key.family };

	return bpf_map_lookup_elem(&vips, &key) != 0;
}

FERRY_INLINE void ferry_count_service(__u32 service_id, __u32 bytes)
{
	struct ferry_service_stats *stats = bpf_map_lookup_elem(&service_stats, &service_id);

	if (stats) {
		stats->packets += 1;
		stats->bytes += bytes;
	}
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

/* Local backends are left to ferry_tc_uplink; others are tunnelled, unless
 * the tunnel would outgrow the node network's MTU. */
FERRY_INLINE int ferry_xdp_forward(struct xdp_md *ctx, const struct ferry_config *cfg,
				   const struct ferry_packet *pkt, const struct ferry_choice *choice, __u32 service_id)
{
	__u32 outer_len;
	int rc;

	if (choice->node->flags & FERRY_NODE_LOCAL) {
		ferry_commit(pkt, choice, service_id);
		ferry_count_event(FERRY_EVENT_LOCAL_PASS);
		return XDP_PASS;
	}
	outer_len = ferry_outer_header_len(choice->node);
	if (cfg->tunnel_mtu && pkt->ip_len + outer_len > cfg->tunnel_mtu) {
		/* IPv4 without DF may be fragmented, which XDP cannot do. */
		if (!pkt->dont_fragment)
			return FERRY_DROP(FERRY_DROP_TOO_BIG);
		return ferry_xdp_reply_too_big(ctx, pkt, cfg->tunnel_mtu - outer_len);
	}
	rc = ferry_xdp_encap(ctx, choice->node, pkt);
	if (!ferry_is_drop(rc))
		ferry_commit(pkt, choice, service_id);
	return rc;
}

/* A too-big error about a VIP flow goes where the flow goes. The flow is
 * not recorded: an error does not start one. */
FERRY_INLINE int ferry_xdp_icmp_error(struct xdp_md *ctx, const struct ferry_config *cfg,
				      const struct ferry_packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ferry_flow_key flow;
	struct ferry_icmp_error where;
	struct ferry_choice choice = {};
	__u32 service_id;
	int rc;

	if (!ferry_icmp_error_flow(data, data_end, pkt, &flow, &where))
		return FERRY_CONTINUE;
	rc = ferry_flow_backend(&flow, cfg->flow_hash_seed, &choice, &service_id);
	if (rc == FERRY_NOT_A_FRONTEND)
		return FERRY_CONTINUE;
	if (rc != FERRY_CONTINUE)
		return rc;
	ferry_count_event(FERRY_EVENT_ICMP_FOLLOWED);
	ferry_count_service(service_id, pkt->ip_len);
	if (choice.node->flags & FERRY_NODE_LOCAL) {
		ferry_count_event(FERRY_EVENT_LOCAL_PASS);
		return XDP_PASS;
	}
	return ferry_xdp_encap(ctx, choice.node, pkt);
}

/* ferry_xdp_lb's steps: an action or a drop (see FERRY_DROP). */
FERRY_INLINE int ferry_xdp_lb_steps(struct xdp_md *ctx)
{
	int rc = ferry_xdp_l2_answer(ctx);

	if (rc != FERRY_CONTINUE)
		return rc;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct ferry_config *cfg = ferry_config();
	struct ferry_packet pkt;
	struct ferry_choice choice = {};
	__u32 service_id;

	rc = ferry_parse(data, data_end, data_end - data, &pkt);
	if (rc == FERRY_PARSE_NOT_IP || !cfg) {
		ferry_count_event(FERRY_EVENT_PASS_NOT_IP);
		return XDP_PASS;
	}
	if (pkt.key.family == FERRY_FAMILY_NONE || !ferry_maybe_vip(&pkt.key.dst)) {
		ferry_count_event(FERRY_EVENT_PASS_NO_VIP);
		return XDP_PASS;
	}
	if (rc == FERRY_PARSE_MALFORMED) {
		/* Broken packets to a VIP stop here; others are the stack's. */
		if (ferry_is_vip(&pkt))
			return FERRY_DROP(pkt.malformed);
		ferry_count_event(FERRY_EVENT_PASS_NO_VIP);
		return XDP_PASS;
	}

	if (pkt.has_l4 && (pkt.key.proto == IPPROTO_ICMP || pkt.key.proto == FERRY_IPPROTO_ICMPV6)) {
		if (ferry_icmp_is_neighbor_discovery(data, data_end, &pkt)) {
			ferry_count_event(FERRY_EVENT_PASS_NEIGHBOR_DISCOVERY);
			return XDP_PASS;
		}
		if (ferry_is_vip(&pkt)) {
			rc = ferry_xdp_echo_reply(ctx, &pkt);
			if (rc != FERRY_CONTINUE)
				return rc;
		}
		rc = ferry_xdp_icmp_error(ctx, cfg, &pkt);
		if (rc != FERRY_CONTINUE)
			return rc;
	}

	rc = ferry_backend_of(cfg, &pkt, &choice, &service_id);
	if (rc == FERRY_NOT_A_FRONTEND) {
		if (ferry_is_vip(&pkt))
			return FERRY_DROP(FERRY_DROP_NO_SERVICE_PORT);
		ferry_count_event(FERRY_EVENT_PASS_NO_VIP);
		return XDP_PASS;
	}
	if (rc != FERRY_CONTINUE)
		return rc;
	ferry_count_service(service_id, pkt.ip_len);
	return ferry_xdp_forward(ctx, cfg, &pkt, &choice, service_id);
}

SEC("xdp")
int ferry_xdp_lb(struct xdp_md *ctx)
{
	return ferry_xdp_verdict(ferry_xdp_lb_steps(ctx));
}

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

/* Headers must sit in the linear part for direct access. */
#define FERRY_TC_HEADROOM 256

/* ferry_tc_uplink's steps: an action or a drop (see FERRY_DROP). */
FERRY_INLINE int ferry_tc_uplink_steps(struct __sk_buff *skb)
{
	const struct ferry_config *cfg = ferry_config();
	struct ferry_packet pkt;
	int decapsulated = 0;
	int rc;

	if (!cfg)
		return TC_ACT_OK;
	bpf_skb_pull_data(skb, skb->len < FERRY_TC_HEADROOM ? skb->len : FERRY_TC_HEADROOM);
	if (ferry_parse((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, &pkt) !=
	    FERRY_PARSE_OK)
		return TC_ACT_OK;
	if (ferry_is_tunnel_to_us(&pkt, cfg)) {
		rc = ferry_tc_decap(skb, &pkt);
		if (rc != FERRY_CONTINUE)
			return rc;
		decapsulated = 1;
	} else if (ferry_is_tunnel_from_us(&pkt, cfg)) {
		return ferry_tc_send_own_tunnel(skb, &pkt);
	} else if (!ferry_maybe_vip(&pkt.key.dst)) {
		return TC_ACT_OK;
	}
	return ferry_tc_deliver(skb, cfg, &pkt, decapsulated);
}

SEC("tc")
int ferry_tc_uplink(struct __sk_buff *skb)
{
	return ferry_tc_verdict(ferry_tc_uplink_steps(skb));
}

/* ferry_tc_pod's steps: an action or a drop (see FERRY_DROP). */
FERRY_INLINE int ferry_tc_pod_steps(struct __sk_buff *skb)
{
	const struct ferry_rev_nat *original;
	struct ferry_packet pkt;

	bpf_skb_pull_data(skb, skb->len < FERRY_TC_HEADROOM ? skb->len : FERRY_TC_HEADROOM);
	if (ferry_parse((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, &pkt) !=
		    FERRY_PARSE_OK ||
	    !pkt.has_l4 || (pkt.key.proto != IPPROTO_TCP && pkt.key.proto != IPPROTO_UDP))
		return TC_ACT_OK;
	original = bpf_map_lookup_elem(&rev_nat, &pkt.key);
	if (!original)
		return TC_ACT_OK;
	/* Copied: the map value may be evicted while we write. */
	union ferry_addr vip = original->vip;
	__be16 vport = original->vport;

	if (ferry_nat(skb, &pkt, 0, &vip, vport))
		return FERRY_DROP(FERRY_DROP_NAT_FAILED);
	ferry_count_event(FERRY_EVENT_REV_NAT);
	return TC_ACT_OK;
}

SEC("tc")
int ferry_tc_pod(struct __sk_buff *skb)
{
	return ferry_tc_verdict(ferry_tc_pod_steps(skb));
}

char LICENSE[] SEC("license") = "GPL";
