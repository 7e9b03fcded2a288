/* TEMPORARY: entry points only, replaced by the datapath. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include "maps.h"
SEC("xdp") int ferry_xdp_lb(struct xdp_md *ctx) { return XDP_PASS; }
SEC("tc") int ferry_tc_uplink(struct __sk_buff *skb) { return TC_ACT_OK; }
SEC("tc") int ferry_tc_pod(struct __sk_buff *skb) { return TC_ACT_OK; }
char LICENSE[] SEC("license") = "GPL";
