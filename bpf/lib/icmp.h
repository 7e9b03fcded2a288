/* ICMP errors about VIP flows.
 *
 * A router on the client's path that cannot forward a VIP reply sends
 * "fragmentation needed" (ICMPv4 3/4) or "packet too big" (ICMPv6 2) to the
 * VIP. The quoted packet is the reply, VIP -> client, so swapping its
 * addresses and ports gives the flow as conntrack knows it; the error then
 * follows that flow to its backend, whose stack lowers the path MTU.
 *
 * The load balancer itself answers a packet that would outgrow the node
 * network's MTU once encapsulated in the same way, so the client lowers its
 * MTU instead of the packet vanishing.
 */
#ifndef FERRY_BPF_LIB_ICMP_H
#define FERRY_BPF_LIB_ICMP_H

#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include "csum.h"
#include "encap.h"
#include "parse.h"

/* ICMPv4 (RFC 792, RFC 1191): <linux/icmp.h> would drag in the C library. */
#define FERRY_ICMP_ECHO_REPLY 0
#define FERRY_ICMP_DEST_UNREACH 3
#define FERRY_ICMP_FRAG_NEEDED 4
#define FERRY_ICMP_ECHO_REQUEST 8

/* A destination-unreachable message, whose second word carries the next
 * hop's MTU for "fragmentation needed" (RFC 1191 §4). */
struct ferry_icmp_unreach {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 unused;
	__be16 mtu;
};

#define FERRY_ICMPV6_PACKET_TOO_BIG 2
#define FERRY_ICMPV6_ECHO_REQUEST 128
#define FERRY_ICMPV6_ECHO_REPLY 129
/* Router solicitation .. redirect (RFC 4861). */
#define FERRY_ICMPV6_ND_FIRST 133
#define FERRY_ICMPV6_ND_LAST 137
#define FERRY_IPV6_MIN_MTU 1280
/* Upper bound on quoted bytes: an IPv4 header with options or an IPv6
 * header with extension headers, plus 8 bytes of L4. */
#define FERRY_ICMP_MAX_QUOTE 256

/* The offsets an ICMP error's translation needs, from the frame start. */
struct ferry_icmp_error {
	__u32 quote_offset;    /* the quoted IP header */
	__u32 quote_l4_offset; /* the quoted L4 header */
};

FERRY_INLINE int ferry_icmp_is_too_big(void *data, void *data_end, const struct ferry_packet *pkt)
{
	__u8 *icmp = data + (pkt->l4_offset & 0x1ff);

	if ((void *)(icmp + 2) > data_end)
		return 0;
	if (pkt->key.family == FERRY_FAMILY_IPV4)
		return pkt->key.proto == IPPROTO_ICMP && icmp[0] == FERRY_ICMP_DEST_UNREACH && icmp[1] == FERRY_ICMP_FRAG_NEEDED;
	return pkt->key.proto == FERRY_IPPROTO_ICMPV6 && icmp[0] == FERRY_ICMPV6_PACKET_TOO_BIG && icmp[1] == 0;
}

/* Fills flow with the client -> VIP flow a too-big error is about. Returns 1
 * if pkt is such an error and its quote is a TCP/UDP packet from the
 * address the error was sent to. */
FERRY_INLINE int ferry_icmp_error_flow(void *data, void *data_end, const struct ferry_packet *pkt,
				       struct ferry_flow_key *flow, struct ferry_icmp_error *where)
{
	__u32 quote = (pkt->l4_offset & 0x1ff) + 8;
	__u32 quote_l4;
	__be16 *ports;

	if (!ferry_icmp_is_too_big(data, data_end, pkt))
		return 0;
	__builtin_memset(flow, 0, sizeof(*flow));
	flow->family = pkt->key.family;
	if (pkt->key.family == FERRY_FAMILY_IPV4) {
		struct iphdr *inner = data + quote;

		if ((void *)(inner + 1) > data_end || inner->ihl < 5)
			return 0;
		quote_l4 = quote + inner->ihl * 4;
		flow->proto = inner->protocol;
		flow->src.v4 = inner->daddr;
		flow->dst.v4 = inner->saddr;
	} else {
		struct ipv6hdr *inner = data + quote;

		if ((void *)(inner + 1) > data_end)
			return 0;
		quote_l4 = quote + sizeof(*inner);
		flow->proto = inner->nexthdr;
		__builtin_memcpy(flow->src.bytes, &inner->daddr, 16);
		__builtin_memcpy(flow->dst.bytes, &inner->saddr, 16);
	}
	if (flow->proto != IPPROTO_TCP && flow->proto != IPPROTO_UDP)
		return 0;
	if (!ferry_addr_equal(&flow->dst, &pkt->key.dst))
		return 0;
	ports = data + (quote_l4 & 0x1ff);
	if ((void *)(ports + 2) > data_end)
		return 0;
	flow->sport = ports[1];
	flow->dport = ports[0];
	where->quote_offset = quote;
	where->quote_l4_offset = quote_l4;
	return 1;
}

/* Neighbour discovery is the stack's business whatever address it names:
 * a router's unicast reachability probe to a VIP must not be dropped. */
FERRY_INLINE int ferry_icmp_is_neighbor_discovery(void *data, void *data_end, const struct ferry_packet *pkt)
{
	__u8 *icmp = data + (pkt->l4_offset & 0x1ff);

	if (pkt->key.proto != FERRY_IPPROTO_ICMPV6 || (void *)(icmp + 1) > data_end)
		return 0;
	return icmp[0] >= FERRY_ICMPV6_ND_FIRST && icmp[0] <= FERRY_ICMPV6_ND_LAST;
}

/* Answers a ping to a VIP in place, so a person can check a VIP is reached
 * even where no backend is up. Returns FERRY_CONTINUE for any other ICMP. */
FERRY_INLINE int ferry_xdp_echo_reply(struct xdp_md *ctx, const struct ferry_packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u16 *icmp = data + (pkt->l4_offset & 0x1ff);
	int v4 = pkt->key.family == FERRY_FAMILY_IPV4;
	__u8 request = v4 ? FERRY_ICMP_ECHO_REQUEST : FERRY_ICMPV6_ECHO_REQUEST;
	__u8 reply = v4 ? FERRY_ICMP_ECHO_REPLY : FERRY_ICMPV6_ECHO_REPLY;
	__u8 mac[ETH_ALEN];
	__u16 before;

	if ((void *)(eth + 1) > data_end || (void *)(icmp + 2) > data_end || *(__u8 *)icmp != request ||
	    pkt->is_fragment)
		return FERRY_CONTINUE;
	before = icmp[0];
	*(__u8 *)icmp = reply;
	ferry_csum_replace16(&icmp[1], before, icmp[0]);

	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	if (v4) {
		struct iphdr *ip = data + FERRY_L3_OFFSET;
		__u16 *ttl_word = (__u16 *)&ip->ttl;

		if ((void *)(ip + 1) > data_end)
			return XDP_ABORTED;
		before = *ttl_word;
		ip->ttl = FERRY_TUNNEL_TTL;
		ferry_csum_replace16(&ip->check, before, *ttl_word);
		ip->saddr = pkt->key.dst.v4;
		ip->daddr = pkt->key.src.v4;
	} else {
		struct ipv6hdr *ip = data + FERRY_L3_OFFSET;

		if ((void *)(ip + 1) > data_end)
			return XDP_ABORTED;
		ip->hop_limit = FERRY_TUNNEL_TTL;
		__builtin_memcpy(&ip->saddr, pkt->key.dst.bytes, 16);
		__builtin_memcpy(&ip->daddr, pkt->key.src.bytes, 16);
	}
	ferry_count_event(FERRY_EVENT_ICMP_ECHO_REPLY);
	return XDP_TX;
}

/* Sums [from, from + len) of the frame as 16-bit words. len is even. */
FERRY_INLINE __u64 ferry_sum_frame(void *data, void *data_end, __u32 from, __u32 len)
{
	__u64 sum = 0;

	for (int i = 0; i < (FERRY_ICMP_MAX_QUOTE + 8) / 2; i++) {
		__u16 *word = data + ((from + i * 2) & 0x3ff);

		if ((__u32)i * 2 >= len || (void *)(word + 1) > data_end)
			break;
		sum += *word;
	}
	return sum;
}

/* Turns the frame into a too-big error back to its sender: Ethernet, a new
 * IP header and the ICMP header are written in front of the original IP
 * packet, which is cut to the quote. The error comes from the VIP, the
 * address the client sent to. */
FERRY_INLINE int ferry_xdp_reply_too_big(struct xdp_md *ctx, const struct ferry_packet *pkt, __u32 mtu)
{
	int v4 = pkt->key.family == FERRY_FAMILY_IPV4;
	__u32 header_len = v4 ? sizeof(struct iphdr) + 8 : sizeof(struct ipv6hdr) + 8;
	__u32 quote_len = (pkt->l4_offset - FERRY_L3_OFFSET) + 8;
	__u8 macs[12];
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 icmp_offset = FERRY_L3_OFFSET + header_len - 8;
	struct ethhdr *eth;
	__u64 sum;

	if (quote_len > FERRY_ICMP_MAX_QUOTE || quote_len > pkt->ip_len || data + 12 > data_end)
		return FERRY_DROP(FERRY_DROP_TOO_BIG);
	__builtin_memcpy(macs, data, 12);
	if (bpf_xdp_adjust_head(ctx, -(int)header_len))
		return FERRY_DROP(FERRY_DROP_TOO_BIG);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (bpf_xdp_adjust_tail(ctx, (int)(FERRY_L3_OFFSET + header_len + quote_len) - (int)bpf_xdp_get_buff_len(ctx)))
		return FERRY_DROP(FERRY_DROP_TOO_BIG);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	eth = data;
	if ((void *)(eth + 1) > data_end)
		return FERRY_DROP(FERRY_DROP_TOO_BIG);
	__builtin_memcpy(eth->h_dest, macs + 6, 6);
	__builtin_memcpy(eth->h_source, macs, 6);
	eth->h_proto = ferry_ethertype(pkt->key.family);

	if (v4) {
		struct iphdr *ip = data + FERRY_L3_OFFSET;
		struct ferry_icmp_unreach *icmp = (void *)(ip + 1);

		if ((void *)(icmp + 1) > data_end)
			return FERRY_DROP(FERRY_DROP_TOO_BIG);
		__builtin_memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = bpf_htons(header_len + quote_len);
		ip->ttl = FERRY_TUNNEL_TTL;
		ip->protocol = IPPROTO_ICMP;
		ip->saddr = pkt->key.dst.v4;
		ip->daddr = pkt->key.src.v4;
		ferry_ipv4_set_checksum(ip);
		__builtin_memset(icmp, 0, sizeof(*icmp));
		icmp->type = FERRY_ICMP_DEST_UNREACH;
		icmp->code = FERRY_ICMP_FRAG_NEEDED;
		icmp->mtu = bpf_htons(mtu);
		sum = 0;
	} else {
		struct ipv6hdr *ip = data + FERRY_L3_OFFSET;
		struct icmp6hdr *icmp = (void *)(ip + 1);

		if ((void *)(icmp + 1) > data_end)
			return FERRY_DROP(FERRY_DROP_TOO_BIG);
		__builtin_memset(ip, 0, sizeof(*ip));
		ip->version = 6;
		ip->payload_len = bpf_htons(8 + quote_len);
		ip->nexthdr = FERRY_IPPROTO_ICMPV6;
		ip->hop_limit = FERRY_TUNNEL_TTL;
		__builtin_memcpy(&ip->saddr, pkt->key.dst.bytes, 16);
		__builtin_memcpy(&ip->daddr, pkt->key.src.bytes, 16);
		__builtin_memset(icmp, 0, sizeof(*icmp));
		icmp->icmp6_type = FERRY_ICMPV6_PACKET_TOO_BIG;
		icmp->icmp6_mtu = bpf_htonl(mtu < FERRY_IPV6_MIN_MTU ? FERRY_IPV6_MIN_MTU : mtu);
		/* The pseudo-header: addresses, upper-layer length, next header. */
		sum = bpf_htons(8 + quote_len) + bpf_htons(FERRY_IPPROTO_ICMPV6) +
		      ferry_sum_frame(data, data_end, FERRY_L3_OFFSET + 8, 32);
	}
	sum += ferry_sum_frame(data, data_end, icmp_offset, 8 + quote_len);
	{
		__u16 *check = data + icmp_offset + 2;

		if ((void *)(check + 1) > data_end)
			return FERRY_DROP(FERRY_DROP_TOO_BIG);
		*check = ferry_csum_fold(sum);
	}
	ferry_count_event(FERRY_EVENT_ICMP_TOO_BIG_SENT);
	return XDP_TX;
}

#endif /* FERRY_BPF_LIB_ICMP_H */
