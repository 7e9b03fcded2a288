/* Definitions every program and helper header needs. */
#ifndef FERRY_BPF_LIB_COMMON_H
#define FERRY_BPF_LIB_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"

#ifndef FERRY_INLINE
#define FERRY_INLINE static __always_inline
#endif

/* What a helper hands back lies in one of three ranges, so no value can be
 * read as another kind (no XDP or TC action reaches FERRY_STEP_BASE):
 * - an action for the program to return: XDP_*, TC_ACT_*, or what
 *   bpf_redirect answered;
 * - FERRY_CONTINUE, the packet goes on to the next step, and the few other
 *   answers a helper documents (FERRY_NOT_A_FRONTEND);
 * - FERRY_DROP(reason). Only a program's entry turns a drop into its hook's
 *   verdict, counting the reason on the way (ferry_xdp_verdict,
 *   ferry_tc_verdict), so a helper cannot return a reason as an action. */
#define FERRY_STEP_BASE 0x100
#define FERRY_CONTINUE FERRY_STEP_BASE
#define FERRY_DROP_BASE 0x200
#define FERRY_DROP(reason) (FERRY_DROP_BASE + (int)(reason))

/* Conventional numbers the uapi headers leave to the C library. */
#define FERRY_IPPROTO_ICMPV6 58
#define FERRY_IPV4_DF 0x4000
#define FERRY_IPV4_MF 0x2000
#define FERRY_IPV4_OFFSET_MASK 0x1fff
#define FERRY_AF_INET 2
#define FERRY_AF_INET6 10
#define FERRY_TUNNEL_TTL 64

/* A network-order 16-bit field in host order, with its range known to the
 * verifier: before Linux 6.4 it forgets the bounds of a byte swap, and
 * packet pointer arithmetic with an unbounded value is refused. The barrier
 * stops clang from dropping the mask it considers redundant. */
FERRY_INLINE __u32 ferry_ntohs_bounded(__be16 value)
{
	__u32 host = bpf_ntohs(value);

	barrier_var(host);
	return host & 0xffff;
}

FERRY_INLINE void ferry_count_drop(enum ferry_drop_reason reason)
{
	__u32 key = reason;
	__u64 *count = bpf_map_lookup_elem(&drops, &key);

	if (count)
		*count += 1;
}

FERRY_INLINE void ferry_count_event(enum ferry_event event)
{
	__u32 key = event;
	__u64 *count = bpf_map_lookup_elem(&events, &key);

	if (count)
		*count += 1;
}

FERRY_INLINE int ferry_is_drop(int rc)
{
	return rc >= FERRY_DROP_BASE;
}

/* A helper result as the verdict of a program on `hook_drop`'s hook. */
FERRY_INLINE int ferry_verdict(int rc, int hook_drop)
{
	if (!ferry_is_drop(rc))
		return rc;
	ferry_count_drop(rc - FERRY_DROP_BASE);
	return hook_drop;
}

FERRY_INLINE int ferry_xdp_verdict(int rc)
{
	return ferry_verdict(rc, XDP_DROP);
}

FERRY_INLINE int ferry_tc_verdict(int rc)
{
	return ferry_verdict(rc, TC_ACT_SHOT);
}

FERRY_INLINE const struct ferry_config *ferry_config(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&config, &key);
}

FERRY_INLINE int ferry_addr_equal(const union ferry_addr *a, const union ferry_addr *b)
{
	return ((a->v6[0] ^ b->v6[0]) | (a->v6[1] ^ b->v6[1]) | (a->v6[2] ^ b->v6[2]) |
		(a->v6[3] ^ b->v6[3])) == 0;
}

FERRY_INLINE int ferry_mac_is_zero(const __u8 mac[6])
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

#endif /* FERRY_BPF_LIB_COMMON_H */
