/* The flow hash, shared by the BPF programs and user space.
 *
 * Every node must pick the same Maglev slot for a flow, and the user-space
 * reference must agree with the datapath bit for bit, so both compile this
 * one definition. It is MurmurHash3's 32-bit block round and finaliser: a few
 * multiplies per word, no tables, good avalanche for the slot modulo.
 */
#ifndef FERRY_BPF_LIB_FLOW_HASH_H
#define FERRY_BPF_LIB_FLOW_HASH_H

#include "layout.h"

#define FERRY_HASH_INLINE static inline __attribute__((always_inline))

FERRY_HASH_INLINE __u32 ferry_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* Mixes one 32-bit word into the running hash. */
FERRY_HASH_INLINE __u32 ferry_hash_round(__u32 h, __u32 word)
{
	word *= 0xcc9e2d51u;
	word = ferry_rotl32(word, 15);
	word *= 0x1b873593u;
	h ^= word;
	h = ferry_rotl32(h, 13);
	return h * 5 + 0xe6546b64u;
}

FERRY_HASH_INLINE __u32 ferry_hash_finish(__u32 h, __u32 length_bytes)
{
	h ^= length_bytes;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Words are read in memory order, so the result does not depend on the
 * host's byte order beyond the key's own (network-order) fields. */
FERRY_HASH_INLINE __u32 ferry_flow_hash(const struct ferry_flow_key *key, __u32 seed)
{
	const __u8 *bytes = (const __u8 *)key;
	__u32 h = seed;

	for (int i = 0; i < (int)(sizeof(*key) / 4); i++) {
		__u32 word;

		__builtin_memcpy(&word, bytes + 4 * i, 4);
		h = ferry_hash_round(h, word);
	}
	return ferry_hash_finish(h, sizeof(*key));
}

/* The vip_filter slot of an address (Fibonacci hashing of its words). */
FERRY_HASH_INLINE __u32 ferry_vip_filter_slot(const union ferry_addr *addr)
{
	__u32 folded = addr->v6[0] ^ addr->v6[1] ^ addr->v6[2] ^ addr->v6[3];

	return ((folded * 2654435761u) >> 20) & (FERRY_VIP_FILTER_SLOTS - 1);
}

#endif /* FERRY_BPF_LIB_FLOW_HASH_H */
