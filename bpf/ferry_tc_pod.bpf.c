/* ferry_tc_pod, TC ingress on a pod's host-side veth: rev-NATs replies to
 * VIP:port, after which the stack routes them straight to the client. Its
 * own object, over the pinned maps the others share (maps.h).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "common.h"
#include "nat.h"
#include "parse.h"

/* ferry_tc_pod's steps: an action or a drop (see FERRY_DROP). */
FERRY_INLINE int ferry_tc_pod_steps(struct __sk_buff *skb)
{
	const struct ferry_rev_nat *original;
	struct ferry_packet pkt;

	bpf_skb_pull_data(skb, skb->len < FERRY_TC_HEADROOM ? skb->len : FERRY_TC_HEADROOM);
	if (ferry_parse_checked((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, &pkt) !=
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
