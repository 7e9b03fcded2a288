/* Answers ARP (IPv4) and neighbour solicitations (IPv6) for the VIPs this
 * node announces on a link, so a gateway on the node LAN finds them with no
 * address configured in the host stack.
 *
 * A request is answered only when all of these hold, otherwise it passes
 * untouched to the stack (which has no address for a VIP and stays silent):
 * - l2_announce holds (VIP, family, ingress ifindex): this node was elected
 *   for the VIP and the interface is one its policy selects;
 * - the node's liveness deadline (l2_liveness) has not passed: the fence.
 *   A frozen agent stops refreshing it, so its node stops answering before
 *   the other nodes declare it dead and take over.
 * - the request is well formed (RFC 826; RFC 4861 §7.1.1 for solicitations:
 *   hop limit 255, code 0, valid checksum, options of nonzero length, no
 *   source link-layer option from the unspecified address).
 * Malformed or odd requests are passed, never dropped: the stack applies
 * the same rules and discards them itself, and a request that is not ours
 * (gratuitous ARP from another node, a solicitation naming another target)
 * must reach it anyway. Solicitations with extension headers or more than
 * FERRY_L2_NS_MAX_LEN bytes of ICMPv6 pass too; real ones carry neither.
 *
 * Answers (XDP_TX, from the interface's MAC held in l2_announce):
 * - ARP: a reply to the requester; probes from 0.0.0.0 (RFC 5227) are
 *   answered like any request, which is how an address in use is defended.
 * - NS: a neighbour advertisement from the VIP with the target link-layer
 *   address option, Override set, Router clear, hop limit 255; Solicited set
 *   and sent to the solicitor, or for duplicate address detection (source
 *   ::) Solicited clear and sent to all-nodes ff02::1 (RFC 4861 §7.2.4).
 */
#ifndef FERRY_BPF_LIB_L2_H
#define FERRY_BPF_LIB_L2_H

#include <linux/ipv6.h>

#include "common.h"
#include "csum.h"
#include "icmp.h"
#include "parse.h"

#define FERRY_ND_NEIGHBOR_SOLICITATION 135
#define FERRY_ND_NEIGHBOR_ADVERTISEMENT 136
#define FERRY_ND_OPT_SOURCE_LLADDR 1
#define FERRY_ND_OPT_TARGET_LLADDR 2
#define FERRY_ND_HOP_LIMIT 255
#define FERRY_NA_FLAG_SOLICITED 0x40000000
#define FERRY_NA_FLAG_OVERRIDE 0x20000000
/* A solicitation's ICMPv6 part: the 24-byte message and its options. */
#define FERRY_L2_NS_MAX_LEN 64
#define FERRY_L2_NS_MAX_OPTIONS 5

/* ARP for IPv4 over Ethernet (RFC 826); <linux/if_arp.h> would drag in the
 * C library. */
#define FERRY_ARP_HTYPE_ETHERNET 1
#define FERRY_ARP_OP_REQUEST 1
#define FERRY_ARP_OP_REPLY 2
struct ferry_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 oper;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
};

/* Neighbour solicitation and advertisement (RFC 4861 §4.3, §4.4). */
struct ferry_nd_msg {
	__u8 type;
	__u8 code;
	__u16 check;
	__be32 flags; /* reserved in a solicitation */
	__u8 target[16];
};

struct ferry_nd_lladdr_option {
	__u8 type;
	__u8 len; /* in units of 8 bytes */
	__u8 mac[ETH_ALEN];
};

/* The advertisement as sent: every field at a fixed offset. */
#define FERRY_NA_IP_OFFSET FERRY_L3_OFFSET
#define FERRY_NA_MSG_OFFSET (FERRY_NA_IP_OFFSET + (__u32)sizeof(struct ipv6hdr))
#define FERRY_NA_OPTION_OFFSET (FERRY_NA_MSG_OFFSET + (__u32)sizeof(struct ferry_nd_msg))
#define FERRY_NA_FRAME_LEN (FERRY_NA_OPTION_OFFSET + (__u32)sizeof(struct ferry_nd_lladdr_option))
#define FERRY_NA_ICMP_LEN (FERRY_NA_FRAME_LEN - FERRY_NA_MSG_OFFSET)

FERRY_INLINE int ferry_l2_live(void)
{
	__u32 key = 0;
	const struct ferry_l2_liveness *liveness = bpf_map_lookup_elem(&l2_liveness, &key);

	return liveness && bpf_ktime_get_ns() < liveness->deadline_ns;
}

/* 1, with the ingress interface's MAC in mac, when this node answers for
 * vip on that interface now. */
FERRY_INLINE int ferry_l2_answers(struct xdp_md *ctx, const union ferry_addr *vip, __u8 family, __u8 mac[ETH_ALEN])
{
	struct ferry_l2_announce_key key = { .vip = *vip, .ifindex = ctx->ingress_ifindex, .family = family };
	const struct ferry_l2_announce *entry = bpf_map_lookup_elem(&l2_announce, &key);

	if (!entry)
		return 0;
	if (!ferry_l2_live()) {
		ferry_count_event(FERRY_EVENT_L2_FENCED);
		return 0;
	}
	__builtin_memcpy(mac, entry->mac, ETH_ALEN);
	return 1;
}

/* Turns an ARP request for an announced VIP into the reply, in place. */
FERRY_INLINE int ferry_xdp_l2_arp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ferry_arp *arp = (void *)(eth + 1);
	union ferry_addr vip = {};
	__be32 sender;
	__u8 mac[ETH_ALEN];

	if ((void *)(arp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_ARP))
		return FERRY_CONTINUE;
	if (arp->htype != bpf_htons(FERRY_ARP_HTYPE_ETHERNET) || arp->ptype != bpf_htons(ETH_P_IP) ||
	    arp->hlen != ETH_ALEN || arp->plen != 4 || arp->oper != bpf_htons(FERRY_ARP_OP_REQUEST))
		return FERRY_CONTINUE;
	__builtin_memcpy(&vip.v4, arp->tpa, 4);
	__builtin_memcpy(&sender, arp->spa, 4);
	/* Sender = target: a gratuitous ARP, someone announcing the address
	 * (another node taking a VIP over). Answering would contest it. */
	if (sender == vip.v4)
		return FERRY_CONTINUE;
	if (!ferry_l2_answers(ctx, &vip, FERRY_FAMILY_IPV4, mac))
		return FERRY_CONTINUE;

	__builtin_memcpy(eth->h_dest, arp->sha, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	arp->oper = bpf_htons(FERRY_ARP_OP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	__builtin_memcpy(arp->tpa, arp->spa, 4);
	__builtin_memcpy(arp->sha, mac, ETH_ALEN);
	__builtin_memcpy(arp->spa, &vip.v4, 4);
	ferry_count_event(FERRY_EVENT_L2_ARP_REPLY);
	return XDP_TX;
}

FERRY_INLINE int ferry_ipv6_is_unspecified(const struct in6_addr *addr)
{
	return (addr->in6_u.u6_addr32[0] | addr->in6_u.u6_addr32[1] | addr->in6_u.u6_addr32[2] |
		addr->in6_u.u6_addr32[3]) == 0;
}

/* ff02::1:ffXX:XXXX, the solicited-node group of target (RFC 4291 §2.7.1). */
FERRY_INLINE int ferry_ipv6_is_solicited_node(const struct in6_addr *addr, const __u8 target[16])
{
	const __u8 *a = addr->in6_u.u6_addr8;

	return addr->in6_u.u6_addr32[0] == bpf_htonl(0xff020000) && addr->in6_u.u6_addr32[1] == 0 &&
	       addr->in6_u.u6_addr32[2] == bpf_htonl(1) && a[12] == 0xff && a[13] == target[13] &&
	       a[14] == target[14] && a[15] == target[15];
}

/* 1 when the solicitation's options are well formed: each has a nonzero
 * length and stays inside the message, and one sent from :: carries no
 * source link-layer address. */
FERRY_INLINE int ferry_l2_ns_options_valid(void *data, void *data_end, __u32 icmp_len, int from_unspecified)
{
	__u32 offset = sizeof(struct ferry_nd_msg);

	for (int i = 0; i < FERRY_L2_NS_MAX_OPTIONS; i++) {
		__u8 *option = data + FERRY_NA_MSG_OFFSET + (offset & (FERRY_L2_NS_MAX_LEN - 1));

		if (offset >= icmp_len)
			return 1;
		if ((void *)(option + 2) > data_end || option[1] == 0)
			return 0;
		if (option[0] == FERRY_ND_OPT_SOURCE_LLADDR && from_unspecified)
			return 0;
		offset += option[1] * 8;
	}
	return offset >= icmp_len;
}

/* 1 when the frame is a neighbour solicitation right after the IPv6 header
 * (no extension headers), one RFC 4861 §7.1.1 accepts, addressed to its
 * target or the target's solicited-node group, naming a unicast target. */
FERRY_INLINE int ferry_l2_ns_valid(void *data, void *data_end)
{
	struct ipv6hdr *ip = data + FERRY_NA_IP_OFFSET;
	struct ferry_nd_msg *ns = data + FERRY_NA_MSG_OFFSET;
	union ferry_addr target, dst;
	__u32 icmp_len;
	int from_unspecified;
	__u64 sum;

	if ((void *)(ns + 1) > data_end || ip->version != 6 || ip->nexthdr != FERRY_IPPROTO_ICMPV6 ||
	    ns->type != FERRY_ND_NEIGHBOR_SOLICITATION)
		return 0;
	icmp_len = ferry_ntohs_bounded(ip->payload_len);
	if (ns->code != 0 || ip->hop_limit != FERRY_ND_HOP_LIMIT || icmp_len > FERRY_L2_NS_MAX_LEN ||
	    icmp_len % 8 != 0 || icmp_len < sizeof(*ns) || data + FERRY_NA_MSG_OFFSET + icmp_len > data_end ||
	    ns->target[0] == 0xff)
		return 0;
	__builtin_memcpy(target.bytes, ns->target, 16);
	__builtin_memcpy(dst.bytes, &ip->daddr, 16);
	from_unspecified = ferry_ipv6_is_unspecified(&ip->saddr);
	if (!ferry_ipv6_is_solicited_node(&ip->daddr, ns->target) &&
	    (from_unspecified || !ferry_addr_equal(&dst, &target)))
		return 0;
	if (!ferry_l2_ns_options_valid(data, data_end, icmp_len, from_unspecified))
		return 0;
	/* The pseudo-header (addresses, length, next header) and the message;
	 * with a right checksum field the folded sum is zero. */
	sum = bpf_htons(icmp_len) + bpf_htons(FERRY_IPPROTO_ICMPV6) +
	      ferry_sum_frame(data, data_end, FERRY_NA_IP_OFFSET + 8, 32) +
	      ferry_sum_frame(data, data_end, FERRY_NA_MSG_OFFSET, icmp_len);
	return ferry_csum_fold(sum) == 0;
}

/* Writes the advertisement for target over the frame, which already has
 * FERRY_NA_FRAME_LEN bytes and holds the target at its place. */
FERRY_INLINE int ferry_l2_write_na(void *data, void *data_end, const __u8 mac[ETH_ALEN],
				   const __u8 dst_mac[ETH_ALEN], const struct in6_addr *dst, __be32 flags)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip = data + FERRY_NA_IP_OFFSET;
	struct ferry_nd_msg *na = data + FERRY_NA_MSG_OFFSET;
	struct ferry_nd_lladdr_option *option = data + FERRY_NA_OPTION_OFFSET;
	__u16 *words = (__u16 *)&ip->saddr;
	__u64 sum = bpf_htons(FERRY_NA_ICMP_LEN) + bpf_htons(FERRY_IPPROTO_ICMPV6);

	if ((void *)(option + 1) > data_end)
		return 0;
	__builtin_memcpy(eth->h_dest, dst_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IPV6);
	*(__be32 *)ip = bpf_htonl(0x60000000); /* version 6, no traffic class or flow label */
	ip->payload_len = bpf_htons(FERRY_NA_ICMP_LEN);
	ip->nexthdr = FERRY_IPPROTO_ICMPV6;
	ip->hop_limit = FERRY_ND_HOP_LIMIT;
	__builtin_memcpy(&ip->saddr, na->target, 16);
	ip->daddr = *dst;
	na->type = FERRY_ND_NEIGHBOR_ADVERTISEMENT;
	na->code = 0;
	na->check = 0;
	na->flags = flags;
	option->type = FERRY_ND_OPT_TARGET_LLADDR;
	option->len = 1;
	__builtin_memcpy(option->mac, mac, ETH_ALEN);
	/* Addresses, then the message: contiguous from the source address on. */
	for (int i = 0; i < (int)(FERRY_NA_FRAME_LEN - FERRY_NA_IP_OFFSET - 8) / 2; i++)
		sum += words[i];
	na->check = ferry_csum_fold(sum);
	return 1;
}

/* Answers a neighbour solicitation for an announced VIP with an
 * advertisement, reusing the frame. */
FERRY_INLINE int ferry_xdp_l2_neighbor_solicitation(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip = data + FERRY_NA_IP_OFFSET;
	struct ferry_nd_msg *ns = data + FERRY_NA_MSG_OFFSET;
	union ferry_addr vip;
	struct in6_addr dst;
	__u8 mac[ETH_ALEN];
	__u8 dst_mac[ETH_ALEN];
	int dad;

	if ((void *)(ns + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IPV6) || !ferry_l2_ns_valid(data, data_end))
		return FERRY_CONTINUE;
	__builtin_memcpy(vip.bytes, ns->target, 16);
	if (!ferry_l2_answers(ctx, &vip, FERRY_FAMILY_IPV6, mac))
		return FERRY_CONTINUE;

	dad = ferry_ipv6_is_unspecified(&ip->saddr);
	if (dad) {
		__builtin_memset(&dst, 0, sizeof(dst));
		dst.in6_u.u6_addr32[0] = bpf_htonl(0xff020000);
		dst.in6_u.u6_addr32[3] = bpf_htonl(1);
		/* 33:33 and the group's last four bytes (RFC 2464 §7). */
		__builtin_memset(dst_mac, 0, ETH_ALEN);
		dst_mac[0] = 0x33;
		dst_mac[1] = 0x33;
		dst_mac[5] = 1;
	} else {
		dst = ip->saddr;
		__builtin_memcpy(dst_mac, eth->h_source, ETH_ALEN);
	}
	/* A frame that cannot be resized goes to the stack. */
	if (bpf_xdp_adjust_tail(ctx, (int)FERRY_NA_FRAME_LEN - (int)bpf_xdp_get_buff_len(ctx)))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (!ferry_l2_write_na(data, data_end, mac, dst_mac, &dst,
			       bpf_htonl(FERRY_NA_FLAG_OVERRIDE | (dad ? 0 : FERRY_NA_FLAG_SOLICITED))))
		return XDP_ABORTED;
	ferry_count_event(FERRY_EVENT_L2_NA_REPLY);
	return XDP_TX;
}

/* ARP and neighbour solicitations for announced VIPs, before anything else
 * looks at the frame: ARP is not IP, and a solicitation goes to a multicast
 * group rather than to the VIP. Returns an action, or FERRY_CONTINUE for
 * every other frame; the caller must then read ctx->data and ctx->data_end
 * afresh, the frame may have been resized.
 *
 * A global function, the one exception to the inline rule: the verifier
 * checks it once on its own instead of once per path of the caller.
 * Inlined, the checksum loop's bounds multiplied the load-balancing path's
 * states past Linux 6.1's one million instructions. */
__attribute__((noinline)) int ferry_xdp_l2_answer(struct xdp_md *ctx)
{
	int rc = ferry_xdp_l2_arp(ctx);

	if (rc != FERRY_CONTINUE)
		return rc;
	return ferry_xdp_l2_neighbor_solicitation(ctx);
}

#endif /* FERRY_BPF_LIB_L2_H */
