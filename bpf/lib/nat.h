/* Address and port rewriting in TC, with incremental checksum updates.
 *
 * On the backend's node the client -> VIP packet becomes client -> pod (DNAT)
 * and the pod's reply pod -> client becomes VIP -> client (rev-NAT), so the
 * reply leaves this node straight for the client. The kernel's checksum
 * helpers are used because they also keep CHECKSUM_PARTIAL packets (a local
 * pod's offloaded TCP) right, which a hand update in the packet would not.
 */
#ifndef FERRY_BPF_LIB_NAT_H
#define FERRY_BPF_LIB_NAT_H

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>

#include "icmp.h"
#include "parse.h"

#define FERRY_IPV4_CSUM_OFFSET (FERRY_L3_OFFSET + __builtin_offsetof(struct iphdr, check))

struct ferry_csum_fields {
	__u32 l3;       /* offset of the IPv4 header checksum; 0: none (IPv6) */
	__u32 l4;       /* offset of the checksum covering the field; 0: none */
	__u64 l4_flags; /* BPF_F_PSEUDO_HDR if the field is in the pseudo-header, BPF_F_MARK_MANGLED_0 for UDP */
};

FERRY_INLINE __u32 ferry_addr_len(__u8 family)
{
	return family == FERRY_FAMILY_IPV4 ? 4 : 16;
}

/* Offset of the source (or destination) address of the IP header at l3. */
FERRY_INLINE __u32 ferry_addr_offset(__u8 family, __u32 l3, int destination)
{
	if (family == FERRY_FAMILY_IPV4)
		return l3 + (destination ? __builtin_offsetof(struct iphdr, daddr) : __builtin_offsetof(struct iphdr, saddr));
	return l3 + (destination ? __builtin_offsetof(struct ipv6hdr, daddr) : __builtin_offsetof(struct ipv6hdr, saddr));
}

FERRY_INLINE int ferry_rewrite_addr(struct __sk_buff *skb, __u8 family, __u32 offset, const union ferry_addr *from,
				    const union ferry_addr *to, const struct ferry_csum_fields *csum)
{
	if (family == FERRY_FAMILY_IPV4) {
		if (csum->l3 && bpf_l3_csum_replace(skb, csum->l3, from->v4, to->v4, 4))
			return -1;
		if (csum->l4 && bpf_l4_csum_replace(skb, csum->l4, from->v4, to->v4, csum->l4_flags | 4))
			return -1;
	} else if (csum->l4) {
		__s64 diff = bpf_csum_diff((__be32 *)from->v6, 16, (__be32 *)to->v6, 16, 0);

		if (diff < 0 || bpf_l4_csum_replace(skb, csum->l4, 0, diff, csum->l4_flags))
			return -1;
	}
	return bpf_skb_store_bytes(skb, offset, to->bytes, ferry_addr_len(family), 0) ? -1 : 0;
}

FERRY_INLINE int ferry_rewrite_port(struct __sk_buff *skb, __u32 offset, __be16 from, __be16 to,
				    const struct ferry_csum_fields *csum)
{
	if (csum->l4 && bpf_l4_csum_replace(skb, csum->l4, from, to, (csum->l4_flags & ~BPF_F_PSEUDO_HDR) | 2))
		return -1;
	return bpf_skb_store_bytes(skb, offset, &to, sizeof(to), 0) ? -1 : 0;
}

/* Checksum fields of a packet's own addresses and ports. */
FERRY_INLINE void ferry_csum_fields_of(const struct ferry_packet *pkt, struct ferry_csum_fields *csum)
{
	csum->l3 = pkt->key.family == FERRY_FAMILY_IPV4 ? FERRY_IPV4_CSUM_OFFSET : 0;
	csum->l4 = 0;
	csum->l4_flags = BPF_F_PSEUDO_HDR;
	if (!pkt->has_l4)
		return; /* a later fragment: its L4 checksum lives in the first one */
	if (pkt->key.proto == IPPROTO_TCP) {
		csum->l4 = pkt->l4_offset + __builtin_offsetof(struct tcphdr, check);
	} else if (pkt->key.proto == IPPROTO_UDP) {
		csum->l4 = pkt->l4_offset + __builtin_offsetof(struct udphdr, check);
		csum->l4_flags |= BPF_F_MARK_MANGLED_0;
	}
}

/* Rewrites the packet's source (rev-NAT) or destination (DNAT) address and,
 * when it has one, port. */
FERRY_INLINE int ferry_nat(struct __sk_buff *skb, const struct ferry_packet *pkt, int destination,
			   const union ferry_addr *to, __be16 to_port)
{
	struct ferry_csum_fields csum;
	const union ferry_addr *from = destination ? &pkt->key.dst : &pkt->key.src;
	__be16 from_port = destination ? pkt->key.dport : pkt->key.sport;
	__u32 port_offset = pkt->l4_offset + (destination ? 2 : 0);

	ferry_csum_fields_of(pkt, &csum);
	if (ferry_rewrite_addr(skb, pkt->key.family, ferry_addr_offset(pkt->key.family, FERRY_L3_OFFSET, destination),
			       from, to, &csum))
		return -1;
	if (!csum.l4)
		return 0;
	return ferry_rewrite_port(skb, port_offset, from_port, to_port, &csum);
}

/* Translates a too-big error about a VIP flow for the pod behind it: the
 * error's destination and the quoted reply's source become the pod's. ICMPv4
 * covers only its message, ICMPv6 the pseudo-header too. The quoted IPv4
 * header's own checksum is kept right; the quoted L4 checksum is left alone,
 * as no stack checks it in an error. */
FERRY_INLINE int ferry_nat_icmp_error(struct __sk_buff *skb, const struct ferry_packet *pkt,
				      const struct ferry_icmp_error *where, const struct ferry_backend *backend)
{
	int v4 = pkt->key.family == FERRY_FAMILY_IPV4;
	struct ferry_csum_fields outer = {
		.l3 = v4 ? FERRY_IPV4_CSUM_OFFSET : 0,
		.l4 = v4 ? 0 : pkt->l4_offset + 2,
		.l4_flags = BPF_F_PSEUDO_HDR,
	};
	struct ferry_csum_fields quoted = { .l4 = pkt->l4_offset + 2 };
	__u32 quote_csum = where->quote_offset + __builtin_offsetof(struct iphdr, check);
	__be16 quote_csum_before = 0, quote_csum_after = 0;
	__be16 vport;

	if (ferry_rewrite_addr(skb, pkt->key.family, ferry_addr_offset(pkt->key.family, FERRY_L3_OFFSET, 1),
			       &pkt->key.dst, &backend->addr, &outer))
		return -1;
	if (v4 && bpf_skb_load_bytes(skb, quote_csum, &quote_csum_before, 2))
		return -1;
	quoted.l3 = v4 ? quote_csum : 0;
	if (ferry_rewrite_addr(skb, pkt->key.family, ferry_addr_offset(pkt->key.family, where->quote_offset, 0),
			       &pkt->key.dst, &backend->addr, &quoted))
		return -1;
	if (v4) {
		/* The quoted header checksum just changed inside the ICMP message. */
		if (bpf_skb_load_bytes(skb, quote_csum, &quote_csum_after, 2) ||
		    bpf_l4_csum_replace(skb, quoted.l4, quote_csum_before, quote_csum_after, 2))
			return -1;
	}
	if (bpf_skb_load_bytes(skb, where->quote_l4_offset, &vport, 2))
		return -1;
	return ferry_rewrite_port(skb, where->quote_l4_offset, vport, backend->port, &quoted);
}

#endif /* FERRY_BPF_LIB_NAT_H */
