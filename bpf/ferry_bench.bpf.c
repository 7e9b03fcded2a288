/* Harness for measuring the datapath with BPF_PROG_TEST_RUN (tools/ferry-bench).
 *
 * With a repeat count, a test run hands the same XDP buffer to every
 * iteration without restoring it, so from the second iteration on a program
 * would see its own output (an encapsulated packet). ferry_bench_restore puts
 * the template packet back, optionally gives it a flow no earlier iteration
 * used, and tail-calls the program under test. Its own cost is measured the
 * same way, tail-calling ferry_bench_minimal, and subtracted by user space.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "flow_hash.h"
#include "layout.h"

#define FERRY_BENCH_MAX_PACKET 256

/* Written by user space before a run. */
__u8 template_bytes[FERRY_BENCH_MAX_PACKET];
__u32 template_len;
__u32 vary_flow; /* nonzero: every iteration is a new client flow */

/* Persist across runs, so a new flow is new for the whole process. */
__u32 new_flow_counter;
__u32 lru_key_counter;
__u64 lru_insert_failures;

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} program_under_test SEC(".maps");

/* User space copies the size and flags of ferry_xdp's flows map here before
 * loading, so the bare insert measures the same kind of table. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, struct ferry_flow_key);
	__type(value, struct ferry_flow);
} lru_probe SEC(".maps");

/* Writes a fresh number into the TCP source port (low 16 bits) and the last
 * 16 bits of the source address (high 16 bits), keeping the IPv4 header and
 * TCP checksums valid: 2^32 distinct flows. Only IPv4 without options and
 * IPv6 without extension headers, carrying TCP: the bench's templates. */
static __always_inline int make_new_flow(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 flow = new_flow_counter++;
	__u16 new_low = bpf_htons(flow >> 16);
	__u16 new_port = bpf_htons(flow & 0xffff);
	__u16 *src_low;
	struct tcphdr *tcp;

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_TCP)
			return -1;
		src_low = (__u16 *)&ip->saddr + 1;
		ferry_csum_replace16(&ip->check, *src_low, new_low);
		tcp = (void *)(ip + 1);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP)
			return -1;
		src_low = &ip6->saddr.in6_u.u6_addr16[7];
		tcp = (void *)(ip6 + 1);
	} else {
		return -1;
	}
	if ((void *)(tcp + 1) > data_end)
		return -1;

	/* Both words are covered by the TCP checksum (pseudo-header, header). */
	ferry_csum_replace16(&tcp->check, *src_low, new_low);
	ferry_csum_replace16(&tcp->check, tcp->source, new_port);
	*src_low = new_low;
	tcp->source = new_port;
	return 0;
}

/* xdp.frags like every program here: a tail call goes only to a program of
 * the same kind, and ferry_xdp_lb takes multi-buffer frames. */
SEC("xdp.frags")
int ferry_bench_restore(struct xdp_md *ctx)
{
	__u32 len = template_len;

	if (len < ETH_HLEN || len > FERRY_BENCH_MAX_PACKET)
		return XDP_ABORTED;
	/* The program under test may have pushed headers in front (encap):
	 * move the start back so the packet is template_len long again. */
	int excess = (int)bpf_xdp_get_buff_len(ctx) - (int)len;

	if (excess && bpf_xdp_adjust_head(ctx, excess))
		return XDP_ABORTED;
	if (bpf_xdp_get_buff_len(ctx) != len)
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, template_bytes, len))
		return XDP_ABORTED;
	if (vary_flow && make_new_flow(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &program_under_test, 0);
	return XDP_ABORTED;
}

/* The yardstick of DESIGN.md §8: swap MACs, send back. */
SEC("xdp.frags")
int ferry_bench_minimal(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	return XDP_TX;
}

/* The memory's floor under any flow table as large as flows: one flow
 * record written to a random slot of a per-CPU array of as many slots; no
 * key hashing, no lock, no allocation. user space sizes it. */
struct flow_record {
	struct ferry_flow_key key;
	struct ferry_flow flow;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_record);
} array_probe SEC(".maps");

__u32 array_probe_slots; /* written by user space: array_probe's max_entries */
__u32 array_write_counter;

SEC("xdp.frags")
int ferry_bench_array_write(struct xdp_md *ctx)
{
	__u32 written = array_write_counter++;
	__u32 slot = ferry_hash_finish(written, 4) % (array_probe_slots | 1);
	struct flow_record *record = bpf_map_lookup_elem(&array_probe, &slot);

	if (!record)
		return XDP_ABORTED;
	record->key.src.v4 = written;
	record->key.family = FERRY_FAMILY_IPV4;
	record->flow.backend_id = 1;
	record->flow.created_ns = bpf_ktime_get_coarse_ns();
	return XDP_PASS;
}

/* The kernel's floor under a new flow: one insert of a new key into an LRU
 * hash like flows, nothing else. */
SEC("xdp.frags")
int ferry_bench_lru_insert(struct xdp_md *ctx)
{
	struct ferry_flow_key key = {
		.sport = bpf_htons(40000),
		.dport = bpf_htons(80),
		.proto = IPPROTO_TCP,
		.family = FERRY_FAMILY_IPV4,
	};
	struct ferry_flow flow = {};

	key.src.v4 = lru_key_counter++;
	key.dst.v4 = bpf_htonl(0xc613000a); /* 198.19.0.10 */
	flow.created_ns = bpf_ktime_get_coarse_ns();
	if (bpf_map_update_elem(&lru_probe, &key, &flow, BPF_ANY)) {
		lru_insert_failures++;
		return XDP_ABORTED;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
