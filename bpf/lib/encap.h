/* Tunnels between nodes: IPIP, IP6IP6, 4-in-6 and 6-in-4.
 *
 * The outer family is the family of the node's tunnel address, the inner
 * one the VIP's; they differ where a node is reached over the other family.
 * The outer header copies the inner TOS/traffic class (ECN included, the
 * "normal mode" of RFC 6040) and DF, so path-MTU discovery keeps working
 * end to end; IPv6 inside IPv4 always sets DF, as routers never fragment
 * IPv6. An IPv6 outer header carries a flow label from the inner flow so the
 * network can spread tunnels by flow (RFC 6438).
 */
#ifndef FERRY_BPF_LIB_ENCAP_H
#define FERRY_BPF_LIB_ENCAP_H

#include <linux/ip.h>
#include <linux/ipv6.h>

#include "csum.h"
#include "flow_hash.h"
#include "parse.h"

FERRY_INLINE __u32 ferry_outer_header_len(const struct ferry_node *node)
{
	return node->family == FERRY_FAMILY_IPV4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
}

FERRY_INLINE __u8 ferry_tunnel_protocol(__u8 inner_family)
{
	return inner_family == FERRY_FAMILY_IPV4 ? IPPROTO_IPIP : IPPROTO_IPV6;
}

FERRY_INLINE __be16 ferry_ethertype(__u8 family)
{
	return bpf_htons(family == FERRY_FAMILY_IPV4 ? ETH_P_IP : ETH_P_IPV6);
}

FERRY_INLINE void ferry_write_outer_ipv4(struct iphdr *outer, const struct ferry_node *node,
					 const struct ferry_packet *pkt)
{
	outer->version = 4;
	outer->ihl = sizeof(*outer) / 4;
	outer->tos = pkt->tos;
	outer->tot_len = bpf_htons(pkt->ip_len + sizeof(*outer));
	/* With DF clear a router may fragment the tunnel packet: keep the
	 * inner datagram's identification unique per flow. */
	outer->id = pkt->key.family == FERRY_FAMILY_IPV4 ? bpf_htons(pkt->frag_id) : 0;
	outer->frag_off = pkt->dont_fragment ? bpf_htons(FERRY_IPV4_DF) : 0;
	outer->ttl = FERRY_TUNNEL_TTL;
	outer->protocol = ferry_tunnel_protocol(pkt->key.family);
	outer->saddr = node->tunnel_src.v4;
	outer->daddr = node->tunnel_dst.v4;
	ferry_ipv4_set_checksum(outer);
}

FERRY_INLINE void ferry_write_outer_ipv6(struct ipv6hdr *outer, const struct ferry_node *node,
					 const struct ferry_packet *pkt)
{
	__u32 label = ferry_hash_finish(ferry_hash_round(pkt->key.src.v6[3] ^ pkt->key.dst.v6[3],
							 ((__u32)pkt->key.sport << 16) | pkt->key.dport),
					pkt->key.proto) & 0xfffff;

	outer->version = 6;
	outer->priority = pkt->tos >> 4;
	outer->flow_lbl[0] = ((pkt->tos & 0x0f) << 4) | (label >> 16);
	outer->flow_lbl[1] = label >> 8;
	outer->flow_lbl[2] = label;
	outer->payload_len = bpf_htons(pkt->ip_len);
	outer->nexthdr = ferry_tunnel_protocol(pkt->key.family);
	outer->hop_limit = FERRY_TUNNEL_TTL;
	__builtin_memcpy(&outer->saddr, node->tunnel_src.bytes, 16);
	__builtin_memcpy(&outer->daddr, node->tunnel_dst.bytes, 16);
}

/* The FIB lookup of a tunnel packet between two node addresses. */
FERRY_INLINE void ferry_fib_set_tunnel(struct bpf_fib_lookup *fib, __u8 family, const union ferry_addr *src,
				       const union ferry_addr *dst)
{
	if (family == FERRY_FAMILY_IPV4) {
		fib->family = FERRY_AF_INET;
		fib->ipv4_src = src->v4;
		fib->ipv4_dst = dst->v4;
	} else {
		fib->family = FERRY_AF_INET6;
		__builtin_memcpy(fib->ipv6_src, src->bytes, 16);
		__builtin_memcpy(fib->ipv6_dst, dst->bytes, 16);
	}
}

/* Sends the frame out towards node. The next hop's MAC normally comes from
 * the node entry (the agent keeps it current); without one the kernel FIB is
 * asked, and when the neighbour is not resolved yet the encapsulated packet
 * is handed to the stack, addressed to this node again. XDP cannot queue a
 * packet for neighbour resolution, and the stack would drop an IPv4 one as a
 * martian (its source is this node's own address): ferry_tc_uplink sees it
 * first and has the kernel resolve the neighbour and send it
 * (ferry_tc_send_own_tunnel). The agent also has the kernel resolve the next
 * hops of nodes (datapath::ResolveNode) and writes the MAC on its next pass. */
FERRY_INLINE int ferry_xdp_send(struct xdp_md *ctx, const struct ferry_node *node, const __u8 received_macs[12])
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 ifindex = node->egress_ifindex;

	if ((void *)(eth + 1) > data_end)
		return FERRY_DROP(FERRY_DROP_ENCAP_FAILED);

	if (ferry_mac_is_zero(node->next_hop_mac)) {
		struct bpf_fib_lookup fib = {};
		long rc;

		fib.ifindex = ctx->ingress_ifindex;
		fib.tot_len = (__u16)(bpf_xdp_get_buff_len(ctx) - sizeof(*eth));
		ferry_fib_set_tunnel(&fib, node->family, &node->tunnel_src, &node->tunnel_dst);
		rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
		if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
			/* Addressed to ourselves again, so the stack takes it. */
			__builtin_memcpy(eth->h_dest, received_macs, 6);
			__builtin_memcpy(eth->h_source, received_macs + 6, 6);
			ferry_count_event(FERRY_EVENT_ENCAP_PASS_NO_NEIGH);
			return XDP_PASS;
		}
		if (rc != BPF_FIB_LKUP_RET_SUCCESS)
			return FERRY_DROP(FERRY_DROP_NO_ROUTE_TO_NODE);
		__builtin_memcpy(eth->h_dest, fib.dmac, 6);
		__builtin_memcpy(eth->h_source, fib.smac, 6);
		ifindex = fib.ifindex;
	} else {
		__builtin_memcpy(eth->h_dest, node->next_hop_mac, 6);
		__builtin_memcpy(eth->h_source, node->source_mac, 6);
	}

	if (ifindex == 0 || ifindex == ctx->ingress_ifindex) {
		ferry_count_event(FERRY_EVENT_ENCAP_TX);
		return XDP_TX;
	}
	ferry_count_event(FERRY_EVENT_ENCAP_REDIRECT);
	return bpf_redirect(ifindex, 0);
}

/* Wraps the IP packet described by pkt in an outer header towards node and
 * sends it. */
FERRY_INLINE int ferry_xdp_encap(struct xdp_md *ctx, const struct ferry_node *node, const struct ferry_packet *pkt)
{
	__u32 outer_len = ferry_outer_header_len(node);
	__u8 received_macs[12];
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth;

	if (data + sizeof(*eth) > data_end)
		return FERRY_DROP(FERRY_DROP_ENCAP_FAILED);
	__builtin_memcpy(received_macs, data, 12);

	if (bpf_xdp_adjust_head(ctx, -(int)outer_len))
		return FERRY_DROP(FERRY_DROP_ENCAP_FAILED);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;

	if (node->family == FERRY_FAMILY_IPV4) {
		struct iphdr *outer = data + sizeof(*eth);

		if ((void *)(outer + 1) > data_end)
			return FERRY_DROP(FERRY_DROP_ENCAP_FAILED);
		ferry_write_outer_ipv4(outer, node, pkt);
	} else {
		struct ipv6hdr *outer = data + sizeof(*eth);

		if ((void *)(outer + 1) > data_end)
			return FERRY_DROP(FERRY_DROP_ENCAP_FAILED);
		ferry_write_outer_ipv6(outer, node, pkt);
	}
	eth->h_proto = ferry_ethertype(node->family);
	return ferry_xdp_send(ctx, node, received_macs);
}

/* Strips the outer header of a tunnel packet addressed to this node, leaving
 * the inner packet of family *inner_family. Returns FERRY_CONTINUE or a
 * drop.
 *
 * BPF_ADJ_ROOM_MAC removes the bytes right after the Ethernet header on every
 * kernel since 5.2; the decap flags that would also fix skb->protocol for
 * 4-in-6 and 6-in-4 are 6.3+, so the caller rewrites the Ethernet type and
 * delivers by bpf_redirect to a veth, which re-derives the protocol from it.
 * The kernel refuses to shrink below the outer family's minimum header, so a
 * 4-in-6 packet whose inner IPv4 packet is under 40 bytes cannot be
 * decapsulated on kernels before 6.3 (counted as decap-failed). */
FERRY_INLINE int ferry_tc_decap(struct __sk_buff *skb, const struct ferry_packet *pkt, __u8 *inner_family_out)
{
	__u8 inner_family = pkt->key.proto == IPPROTO_IPIP ? FERRY_FAMILY_IPV4 : FERRY_FAMILY_IPV6;
	__u32 outer_len = pkt->l4_offset - FERRY_L3_OFFSET;

	if (bpf_skb_adjust_room(skb, -(int)outer_len, BPF_ADJ_ROOM_MAC, 0))
		return FERRY_DROP(FERRY_DROP_DECAP_FAILED);
	if (inner_family != pkt->key.family) {
		__be16 ethertype = ferry_ethertype(inner_family);

		if (bpf_skb_store_bytes(skb, __builtin_offsetof(struct ethhdr, h_proto), &ethertype, sizeof(ethertype), 0))
			return FERRY_DROP(FERRY_DROP_DECAP_FAILED);
	}
	ferry_count_event(FERRY_EVENT_DECAP);
	*inner_family_out = inner_family;
	return FERRY_CONTINUE;
}

FERRY_INLINE int ferry_is_tunnel(const struct ferry_packet *pkt)
{
	return pkt->key.proto == IPPROTO_IPIP || pkt->key.proto == IPPROTO_IPV6;
}

/* This node's address of the given family. */
FERRY_INLINE const union ferry_addr *ferry_node_addr(const struct ferry_config *cfg, __u8 family)
{
	return family == FERRY_FAMILY_IPV4 ? &cfg->node_v4 : &cfg->node_v6;
}

FERRY_INLINE int ferry_is_tunnel_to_us(const struct ferry_packet *pkt, const struct ferry_config *cfg)
{
	if (!ferry_is_tunnel(pkt) || pkt->is_fragment)
		return 0; /* reassembly is the stack's job */
	return ferry_addr_equal(&pkt->key.dst, ferry_node_addr(cfg, pkt->key.family));
}

/* A tunnel from this node to another one arriving on the uplink: a packet
 * ferry_xdp_send handed to the stack for want of a neighbour. */
FERRY_INLINE int ferry_is_tunnel_from_us(const struct ferry_packet *pkt, const struct ferry_config *cfg)
{
	const union ferry_addr *self = ferry_node_addr(cfg, pkt->key.family);

	const union ferry_addr zero = {};

	/* A node without an address of this family has none to be spoofed. */
	return ferry_is_tunnel(pkt) && !ferry_addr_equal(self, &zero) &&
	       ferry_addr_equal(&pkt->key.src, self) && !ferry_addr_equal(&pkt->key.dst, self);
}

/* Sends a tunnel packet from this node out of the interface the FIB picks
 * (not necessarily the uplink), with the next hop the FIB names (a gateway,
 * maybe of the other family, or the destination itself). bpf_redirect_neigh
 * fills in the MACs from the neighbour table; an unresolved neighbour is
 * resolved with the packet queued, as the stack does for its own packets.
 * tot_len stays 0: the kernel then checks the MTU per segment of a GRO
 * packet. Returns an action. */
FERRY_INLINE int ferry_tc_send_own_tunnel(struct __sk_buff *skb, const struct ferry_packet *pkt)
{
	struct bpf_fib_lookup fib = {};
	struct bpf_redir_neigh next_hop = {};
	long rc;

	fib.ifindex = skb->ifindex;
	ferry_fib_set_tunnel(&fib, pkt->key.family, &pkt->key.src, &pkt->key.dst);
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return FERRY_DROP(FERRY_DROP_TOO_BIG);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return FERRY_DROP(FERRY_DROP_NO_ROUTE_TO_NODE);
	next_hop.nh_family = fib.family;
	if (fib.family == FERRY_AF_INET)
		next_hop.ipv4_nh = fib.ipv4_dst;
	else
		__builtin_memcpy(next_hop.ipv6_nh, fib.ipv6_dst, 16);
	ferry_count_event(FERRY_EVENT_ENCAP_REDIRECT_NEIGH);
	return bpf_redirect_neigh(fib.ifindex, &next_hop, sizeof(next_hop), 0);
}

#endif /* FERRY_BPF_LIB_ENCAP_H */
