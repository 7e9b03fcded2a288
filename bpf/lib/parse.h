/* Parsing Ethernet -> IPv4/IPv6 -> TCP/UDP/ICMP into a flow key.
 *
 * Works on [data, data_end) so XDP and TC share it: headers must lie there,
 * while the IP lengths are checked against the whole frame's length
 * (ferry_parse_fits). In TC only the first bytes are pulled into
 * [data, data_end) (a GSO packet is up to 64 KiB), and in XDP a jumbo frame
 * goes on in further buffers, so a packet longer than [data, data_end) is
 * not malformed. Decisions:
 * - IPv4 options are legal and are skipped: the L4 header is found at IHL*4,
 *   and the options travel untouched inside the tunnel.
 * - Fragments: only a first fragment carries the ports. A non-first fragment
 *   is marked so the caller can look up the backend its first fragment got
 *   (see fragments in maps.h); its ports stay zero.
 * - IPv6 extension headers (hop-by-hop, routing, destination options,
 *   fragment) are walked, up to FERRY_IPV6_MAX_EXT of them. A packet whose
 *   L4 header lies beyond that, or past FERRY_L4_OFFSET_MAX, is rejected
 *   (ipv6-ext-headers-unparsed), never read at a wrapped offset.
 * - VLAN tags are not parsed: such frames are not ours and pass.
 *
 * A packet Ferry forwards or answers is checked as a router checks what it
 * forwards, and pkt->malformed names the first rule it breaks:
 * - IPv4, RFC 1812 §5.2.2: version 4, IHL >= 5, total length within the
 *   frame and >= IHL*4, header checksum right; §5.3.7: no source in 0/8,
 *   127/8, multicast or class E.
 * - IPv6, RFC 8200: version 6, payload length within the frame;
 *   hop-by-hop options only right after the IPv6 header (§4.1); a routing
 *   header with segments left names a next node, so the packet is not for
 *   the VIP to balance (§4.4); a first fragment holds the whole L4 header
 *   (§4.5, RFC 7112). RFC 4291: no multicast, loopback or unspecified
 *   source.
 * - TCP: data offset >= 5, the header within the IP packet. UDP: length
 *   >= 8 and within the IP packet; over IPv6 a zero checksum is refused
 *   (RFC 8200 §8.1; the exceptions of RFC 6935/6936 are for tunnel
 *   protocols on configured ports, none of which Ferry serves).
 */
#ifndef FERRY_BPF_LIB_PARSE_H
#define FERRY_BPF_LIB_PARSE_H

#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "common.h"
#include "csum.h"

#define FERRY_L3_OFFSET ((__u32)sizeof(struct ethhdr))
#define FERRY_IPV6_MAX_EXT 4
/* The furthest an L4 header may start: helpers index the frame with
 * offsets below 0x200 (icmp.h). */
#define FERRY_L4_OFFSET_MAX 256
/* What TC pulls into the linear part, where headers must sit for direct
 * access. */
#define FERRY_TC_HEADROOM 256

enum ferry_parse_result {
	FERRY_PARSE_OK = 0,
	FERRY_PARSE_NOT_IP,    /* not IPv4/IPv6: not ours */
	FERRY_PARSE_MALFORMED, /* IP, but a header breaks a rule: pkt->malformed */
};

struct ferry_packet {
	struct ferry_flow_key key; /* proto and addresses always; ports if has_l4 */
	__u32 l4_offset;           /* from the start of the frame */
	__u32 ip_len;              /* IPv4 total length, or IPv6 40 + payload length */
	__u32 frag_id;             /* IPv4 identification or IPv6 fragment id */
	__u8 has_l4;               /* the L4 header is present (not a later fragment) */
	__u8 is_fragment;          /* first or later fragment */
	__u8 dont_fragment;        /* IPv4 DF; always set for IPv6, which routers never fragment */
	__u8 tos;                  /* IPv4 TOS or IPv6 traffic class */
	__u8 malformed;            /* the enum ferry_drop_reason of FERRY_PARSE_MALFORMED */
};

FERRY_INLINE int ferry_malformed(struct ferry_packet *pkt, enum ferry_drop_reason reason)
{
	pkt->malformed = reason;
	return FERRY_PARSE_MALFORMED;
}

/* The L4 header at l4_offset, which must lie within the IP packet. */
FERRY_INLINE int ferry_parse_l4(void *data, void *data_end, __u32 l4_offset, struct ferry_packet *pkt)
{
	__u32 l4_len = FERRY_L3_OFFSET + pkt->ip_len - l4_offset;
	void *l4;

	if (l4_offset > FERRY_L4_OFFSET_MAX)
		return ferry_malformed(pkt, FERRY_DROP_EXT_HEADERS_UNPARSED);
	if (l4_offset > FERRY_L3_OFFSET + pkt->ip_len)
		return ferry_malformed(pkt, FERRY_DROP_MALFORMED);
	pkt->l4_offset = l4_offset;
	l4 = data + l4_offset;
	switch (pkt->key.proto) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end || tcp->doff < 5 || tcp->doff * 4 > l4_len)
			return ferry_malformed(pkt, FERRY_DROP_MALFORMED);
		pkt->key.sport = tcp->source;
		pkt->key.dport = tcp->dest;
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *udp = l4;
		__u32 udp_len;

		if ((void *)(udp + 1) > data_end)
			return ferry_malformed(pkt, FERRY_DROP_MALFORMED);
		/* A first fragment holds only part of the datagram. */
		udp_len = ferry_ntohs_bounded(udp->len);
		if (udp_len < sizeof(*udp) || (!pkt->is_fragment && udp_len > l4_len))
			return ferry_malformed(pkt, FERRY_DROP_MALFORMED);
		if (udp->check == 0 && pkt->key.family == FERRY_FAMILY_IPV6)
			return ferry_malformed(pkt, FERRY_DROP_UDP_ZERO_CHECKSUM);
		pkt->key.sport = udp->source;
		pkt->key.dport = udp->dest;
		break;
	}
	case IPPROTO_ICMP:
	case FERRY_IPPROTO_ICMPV6:
		/* Type and code are all a VIP lookup needs; errors are parsed
		 * further by icmp.h. */
		if (l4 + 8 > data_end || l4_len < 8)
			return ferry_malformed(pkt, FERRY_DROP_MALFORMED);
		break;
	default:
		break;
	}
	pkt->has_l4 = 1;
	return FERRY_PARSE_OK;
}

/* RFC 1812 §5.2.2: a header whose checksum does not verify is discarded. */
FERRY_INLINE int ferry_ipv4_checksum_ok(const struct iphdr *ip, void *data_end)
{
	const __u32 *words = (const __u32 *)ip;
	__u64 sum = 0;

	for (int i = 0; i < 15; i++) {
		if (i >= ip->ihl)
			break;
		if ((void *)(words + i + 1) > data_end)
			return 0;
		sum += words[i];
	}
	return ferry_csum_fold(sum) == 0;
}

/* RFC 1812 §5.3.7: this network (0/8), loopback, multicast and class E
 * are no source a router forwards from. */
FERRY_INLINE int ferry_ipv4_source_ok(__be32 saddr)
{
	__u8 first = bpf_ntohl(saddr) >> 24;

	return first != 0 && first != 127 && first < 224;
}

/* RFC 4291 §2.5.2, §2.5.3, §2.7: neither unspecified, loopback nor
 * multicast is a source to forward from. */
FERRY_INLINE int ferry_ipv6_source_ok(const union ferry_addr *src)
{
	if (src->bytes[0] == 0xff)
		return 0;
	return (src->v6[0] | src->v6[1] | src->v6[2]) != 0 || (src->v6[3] != 0 && src->v6[3] != bpf_htonl(1));
}

FERRY_INLINE int ferry_parse_ipv4(void *data, void *data_end, struct ferry_packet *pkt)
{
	struct iphdr *ip = data + FERRY_L3_OFFSET;
	__u32 header_len, total_len;
	__u16 frag;

	if ((void *)(ip + 1) > data_end)
		return FERRY_PARSE_MALFORMED;
	/* Addresses first: the caller drops a broken packet only if it is
	 * addressed to a VIP. */
	pkt->key.family = FERRY_FAMILY_IPV4;
	pkt->key.proto = ip->protocol;
	pkt->key.src.v4 = ip->saddr;
	pkt->key.dst.v4 = ip->daddr;
	header_len = ip->ihl * 4;
	total_len = ferry_ntohs_bounded(ip->tot_len);
	if (ip->version != 4 || header_len < sizeof(*ip) || total_len < header_len)
		return ferry_malformed(pkt, FERRY_DROP_MALFORMED);
	pkt->l4_offset = FERRY_L3_OFFSET + header_len;
	pkt->ip_len = total_len;
	pkt->tos = ip->tos;
	pkt->frag_id = bpf_ntohs(ip->id);

	frag = bpf_ntohs(ip->frag_off);
	pkt->dont_fragment = (frag & FERRY_IPV4_DF) != 0;
	pkt->is_fragment = (frag & (FERRY_IPV4_MF | FERRY_IPV4_OFFSET_MASK)) != 0;
	if (frag & FERRY_IPV4_OFFSET_MASK)
		return FERRY_PARSE_OK;
	return ferry_parse_l4(data, data_end, FERRY_L3_OFFSET + header_len, pkt);
}

struct ferry_ipv6_ext {
	__u8 nexthdr;
	__u8 len; /* in 8-octet units, not counting the first 8; 0 for a fragment header */
	union {
		__be16 frag_off; /* fragment header */
		struct {
			__u8 routing_type;
			__u8 segments_left; /* routing header */
		};
	};
	__be32 identification;
};

FERRY_INLINE int ferry_ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING || nexthdr == IPPROTO_DSTOPTS ||
	       nexthdr == IPPROTO_FRAGMENT;
}

FERRY_INLINE int ferry_parse_ipv6(void *data, void *data_end, struct ferry_packet *pkt)
{
	struct ipv6hdr *ip = data + FERRY_L3_OFFSET;
	__u32 offset = FERRY_L3_OFFSET + sizeof(*ip);
	__u8 nexthdr;

	if ((void *)(ip + 1) > data_end)
		return FERRY_PARSE_MALFORMED;
	pkt->key.family = FERRY_FAMILY_IPV6;
	__builtin_memcpy(pkt->key.src.bytes, &ip->saddr, 16);
	__builtin_memcpy(pkt->key.dst.bytes, &ip->daddr, 16);
	pkt->ip_len = sizeof(*ip) + ferry_ntohs_bounded(ip->payload_len);
	if (ip->version != 6)
		return ferry_malformed(pkt, FERRY_DROP_MALFORMED);
	pkt->tos = (ip->priority << 4) | (ip->flow_lbl[0] >> 4);
	pkt->dont_fragment = 1;
	nexthdr = ip->nexthdr;

	for (int i = 0; i < FERRY_IPV6_MAX_EXT; i++) {
		struct ferry_ipv6_ext *ext;

		if (!ferry_ipv6_is_ext(nexthdr))
			break;
		if (nexthdr == IPPROTO_HOPOPTS && i > 0)
			return ferry_malformed(pkt, FERRY_DROP_HOP_BY_HOP_NOT_FIRST);
		/* Bounded by a comparison, not a mask: a chain that runs past
		 * what is parsed is rejected, not read at a wrapped offset. */
		if (offset > FERRY_L4_OFFSET_MAX)
			return ferry_malformed(pkt, FERRY_DROP_EXT_HEADERS_UNPARSED);
		ext = data + offset;
		if ((void *)(ext + 1) > data_end)
			return ferry_malformed(pkt, FERRY_DROP_MALFORMED);
		if (nexthdr == IPPROTO_ROUTING && ext->segments_left != 0)
			return ferry_malformed(pkt, FERRY_DROP_ROUTING_SEGMENTS_LEFT);
		if (nexthdr == IPPROTO_FRAGMENT) {
			__u16 frag = bpf_ntohs(ext->frag_off);

			pkt->is_fragment = 1;
			pkt->frag_id = bpf_ntohl(ext->identification);
			nexthdr = ext->nexthdr;
			offset += 8;
			if (frag & 0xfff8) { /* a later fragment: no L4 header */
				pkt->key.proto = nexthdr;
				pkt->l4_offset = offset;
				return FERRY_PARSE_OK;
			}
			continue;
		}
		nexthdr = ext->nexthdr;
		offset += 8 + ext->len * 8;
	}
	if (ferry_ipv6_is_ext(nexthdr))
		return ferry_malformed(pkt, FERRY_DROP_EXT_HEADERS_UNPARSED); /* more than we walk */

	pkt->key.proto = nexthdr;
	return ferry_parse_l4(data, data_end, offset, pkt);
}

/* Fills pkt from the headers at [data, data_end); the caller checks the IP
 * length against the frame's (ferry_parse_fits). */
FERRY_INLINE int ferry_parse(void *data, void *data_end, struct ferry_packet *pkt)
{
	struct ethhdr *eth = data;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	if ((void *)(eth + 1) > data_end)
		return FERRY_PARSE_NOT_IP;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return ferry_parse_ipv4(data, data_end, pkt);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return ferry_parse_ipv6(data, data_end, pkt);
	return FERRY_PARSE_NOT_IP;
}

/* The IP packet ferry_parse accepted lies within the frame_len bytes of the
 * frame. */
FERRY_INLINE int ferry_parse_fits(struct ferry_packet *pkt, __u32 frame_len)
{
	if (FERRY_L3_OFFSET + pkt->ip_len > frame_len)
		return ferry_malformed(pkt, FERRY_DROP_MALFORMED);
	return FERRY_PARSE_OK;
}

/* What a router checks before it forwards a packet ferry_parse accepted
 * (RFC 1812 §5.2.2 and §5.3.7, RFC 4291): kept apart so that a hook can
 * first tell whether the packet is its to forward at all; a packet for no
 * VIP is the stack's to judge and should not pay for the checks. */
FERRY_INLINE int ferry_parse_forwardable(void *data, void *data_end, struct ferry_packet *pkt)
{
	if (pkt->key.family == FERRY_FAMILY_IPV4) {
		const struct iphdr *ip = data + FERRY_L3_OFFSET;

		if ((void *)(ip + 1) > data_end)
			return ferry_malformed(pkt, FERRY_DROP_MALFORMED);
		if (!ferry_ipv4_checksum_ok(ip, data_end))
			return ferry_malformed(pkt, FERRY_DROP_IPV4_CHECKSUM);
		if (!ferry_ipv4_source_ok(pkt->key.src.v4))
			return ferry_malformed(pkt, FERRY_DROP_BAD_SOURCE);
		return FERRY_PARSE_OK;
	}
	if (!ferry_ipv6_source_ok(&pkt->key.src))
		return ferry_malformed(pkt, FERRY_DROP_BAD_SOURCE);
	return FERRY_PARSE_OK;
}

/* ferry_parse_fits and ferry_parse_forwardable: what a packet ferry_parse
 * accepted must pass before a hook acts on it. */
FERRY_INLINE int ferry_parse_valid(void *data, void *data_end, __u32 frame_len,
				   struct ferry_packet *pkt)
{
	int rc = ferry_parse_fits(pkt, frame_len);

	return rc == FERRY_PARSE_OK ? ferry_parse_forwardable(data, data_end, pkt) : rc;
}

/* ferry_parse and ferry_parse_valid in one, for hooks with no cheaper test
 * to make first. */
FERRY_INLINE int ferry_parse_checked(void *data, void *data_end, __u32 frame_len,
				     struct ferry_packet *pkt)
{
	int rc = ferry_parse(data, data_end, pkt);

	return rc == FERRY_PARSE_OK ? ferry_parse_valid(data, data_end, frame_len, pkt) : rc;
}

#endif /* FERRY_BPF_LIB_PARSE_H */
