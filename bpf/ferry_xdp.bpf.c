/* ferry_xdp_lb, XDP on the node uplink: ARP/NDP answers for the VIPs this
 * node announces (l2.h), VIP lookup, conntrack, Maglev, tunnel to the
 * backend's node (or pass for a local one, which ferry_tc_uplink delivers).
 *
 * One object per hook (this one, ferry_tc_uplink.bpf.c, ferry_tc_pod.bpf.c),
 * all over the same pinned maps (maps.h). A new flow's backend is
 * maglev_tables[service][ferry_flow_hash(flow) % M] (maglev.h,
 * flow_hash.h), the same on every node, then kept in conntrack.
 */
#include <linux/bpf.h>

#include "common.h"
#include "conntrack.h"
#include "encap.h"
#include "icmp.h"
#include "l2.h"
#include "maglev.h"
#include "parse.h"

FERRY_INLINE void ferry_count_service(__u32 service_id, __u32 bytes)
{
	struct ferry_service_stats *stats = bpf_map_lookup_elem(&service_stats, &service_id);

	if (stats) {
		stats->packets += 1;
		stats->bytes += bytes;
	}
}

/* The largest tunnel packet that leaves towards node now: the egress
 * interface's MTU, read per packet so a change of the uplink's MTU applies at
 * once, capped by config.tunnel_mtu when the operator set one. */
FERRY_INLINE __u32 ferry_xdp_tunnel_mtu(struct xdp_md *ctx, const struct ferry_config *cfg,
					const struct ferry_node *node)
{
	__u32 mtu = 0;

	/* Whatever the verdict, mtu_len comes back as the device's MTU; an
	 * interface that is gone leaves only the configured cap. */
	if (bpf_check_mtu(ctx, node->egress_ifindex, &mtu, 0, 0) < 0)
		mtu = 0;
	if (cfg->tunnel_mtu && (mtu == 0 || cfg->tunnel_mtu < mtu))
		mtu = cfg->tunnel_mtu;
	return mtu;
}

/* Local backends are left to ferry_tc_uplink; others are tunnelled, unless
 * the tunnel would outgrow the node network's MTU. */
FERRY_INLINE int ferry_xdp_forward(struct xdp_md *ctx, const struct ferry_config *cfg,
				   const struct ferry_packet *pkt, const struct ferry_choice *choice, __u32 service_id)
{
	__u32 outer_len, mtu;
	int rc;

	if (choice->node->flags & FERRY_NODE_LOCAL) {
		ferry_commit(pkt, choice, service_id);
		ferry_count_event(FERRY_EVENT_LOCAL_PASS);
		return XDP_PASS;
	}
	outer_len = ferry_outer_header_len(choice->node);
	mtu = ferry_xdp_tunnel_mtu(ctx, cfg, choice->node);
	if (mtu && pkt->ip_len + outer_len > mtu) {
		/* IPv4 without DF may be fragmented, which XDP cannot do. */
		if (!pkt->dont_fragment)
			return FERRY_DROP(FERRY_DROP_TOO_BIG);
		return ferry_xdp_reply_too_big(ctx, pkt, mtu - outer_len);
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

	rc = ferry_parse(data, data_end, &pkt);
	if (rc == FERRY_PARSE_NOT_IP || !cfg) {
		ferry_count_event(FERRY_EVENT_PASS_NOT_IP);
		return XDP_PASS;
	}
	if (pkt.key.family == FERRY_FAMILY_NONE || !ferry_maybe_vip(&pkt.key.dst)) {
		ferry_count_event(FERRY_EVENT_PASS_NO_VIP);
		return XDP_PASS;
	}
	/* Headers lie in the first buffer; a jumbo frame's payload may go on
	 * in further buffers (multi-buffer), which count towards the IP
	 * length. Only a packet longer than the first buffer asks for the
	 * whole length: the helper call would cost every packet a third of
	 * the no-VIP path. */
	if (rc == FERRY_PARSE_OK && FERRY_L3_OFFSET + pkt.ip_len > (__u32)(data_end - data))
		rc = ferry_parse_fits(&pkt, bpf_xdp_get_buff_len(ctx));
	if (rc == FERRY_PARSE_OK)
		rc = ferry_parse_forwardable(data, data_end, &pkt);
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

/* xdp.frags: the program takes multi-buffer frames, so the kernel lets it
 * run on an uplink whose MTU exceeds a page (jumbo frames). */
SEC("xdp.frags")
int ferry_xdp_lb(struct xdp_md *ctx)
{
	return ferry_xdp_verdict(ferry_xdp_lb_steps(ctx));
}

char LICENSE[] SEC("license") = "GPL";
