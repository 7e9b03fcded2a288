/* Internet checksum arithmetic (RFC 1071) for headers built or edited here.
 * Pure arithmetic, no maps: the bench wrapper uses it too. */
#ifndef FERRY_BPF_LIB_CSUM_H
#define FERRY_BPF_LIB_CSUM_H

#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

#ifndef FERRY_INLINE
#define FERRY_INLINE static __always_inline
#endif

FERRY_INLINE __u16 ferry_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* RFC 1624: updates a checksum for one 16-bit word changed from `from` to
 * `to`, all in network order. */
FERRY_INLINE void ferry_csum_replace16(__u16 *check, __u16 from, __u16 to)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~from;
	sum += to;
	*check = ferry_csum_fold(sum);
}

/* The header checksum of an option-less IPv4 header we wrote. */
FERRY_INLINE void ferry_ipv4_set_checksum(struct iphdr *ip)
{
	__u16 *words = (__u16 *)ip;
	__u64 sum = 0;

	ip->check = 0;
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += words[i];
	ip->check = ferry_csum_fold(sum);
}

#endif /* FERRY_BPF_LIB_CSUM_H */
