// ferry_xdp_lb on crafted packets: verdict and output bytes, outer and inner
// headers decoded and every checksum verified.
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "test/bpf/lb_fixture.h"
#include "test/bpf/world.h"
#include "test/e2e/netns.h"
#include "test/packet/decoder.h"
#include "test/packet/packet_matchers.h"

namespace ferry::bpftest {
namespace {

using namespace world;  // NOLINT(google-build-using-namespace): the test's address plan
using packet::DecodedPacket;
using packet::Packet;

constexpr uint32_t kTableSize = 7;

// How the load-balancing node reaches each node.
enum NodeId : uint32_t { kNodeAOver4 = 1, kNodeBOver4 = 2, kNodeBOver6 = 3, kThisNode = 4 };
const NodeSpec kNodes[] = {
    {},
    {kLbNode4, kNodeA4, kLbMac, kNodeAMac},
    {kLbNode4, kNodeB4, kLbMac, kNodeBMac},
    {kLbNode6, kNodeB6, kLbMac, kNodeBMac},
    {kLbNode4, kLbNode4, kLbMac, kLbMac, 0, FERRY_NODE_LOCAL},
};

enum BackendId : uint32_t {
  kPodA4OnA = 1,
  kPodB4OnB = 2,
  kPodA6OnA = 3,   // 6in4
  kPodB6OnB = 4,   // IP6IP6
  kPodB4OnB6 = 5,  // 4in6
  kLocalPod = 6,
};

// Services, each a set of frontends and the backend of every Maglev slot.
const IpAddress kVip4in6 = "198.19.0.3";
const IpAddress kVip6in4 = "2001:db8:19::4";
const IpAddress kVipLocal = "198.19.0.5";
const IpAddress kVipSpread4 = "198.19.0.6";
const IpAddress kVipSpread6 = "2001:db8:19::6";
enum ServiceId : uint32_t { kIpip = 1, kIp6ip6, k4in6, k6in4, kLocal, kSpread4, kSpread6 };

struct FragmentPair {
  Bytes first, later;
};

class XdpLbTest : public LbFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(LbFixture::SetUp());
    for (uint32_t id = 1; id < std::size(kNodes); ++id) SetNode(id, kNodes[id]);
    SetBackend(kPodA4OnA, {kPodA4, kPodPort, kNodeAOver4});
    SetBackend(kPodB4OnB, {kPodB4, kPodPort, kNodeBOver4});
    SetBackend(kPodA6OnA, {kPodA6, kPodPort, kNodeAOver4});
    SetBackend(kPodB6OnB, {kPodB6, kPodPort, kNodeBOver6});
    SetBackend(kPodB4OnB6, {kPodB4, kPodPort, kNodeBOver6});
    SetBackend(kLocalPod, {"198.18.16.10", kPodPort, kThisNode});
    AddService(kIpip, {{kVip4, kHttp, kTcp}, {kVip4, kDns, kUdp}}, {kPodA4OnA});
    AddService(kIp6ip6, {{kVip6, kHttp, kTcp}, {kVip6, kDns, kUdp}}, {kPodB6OnB});
    AddService(k4in6, {{kVip4in6, kHttp, kTcp}}, {kPodB4OnB6});
    AddService(k6in4, {{kVip6in4, kHttp, kTcp}}, {kPodA6OnA});
    AddService(kLocal, {{kVipLocal, kHttp, kTcp}}, {kLocalPod});
    AddService(kSpread4, {{kVipSpread4, kHttp, kTcp}, {kVipSpread4, kDns, kUdp}}, {kPodA4OnA, kPodB4OnB});
    AddService(kSpread6, {{kVipSpread6, kHttp, kTcp}, {kVipSpread6, kDns, kUdp}}, {kPodA6OnA, kPodB6OnB});
  }

  struct Frontend {
    IpAddress vip;
    uint16_t port;
    uint8_t proto;
  };

  // A table of kTableSize slots cycling through `backends`.
  void AddService(uint32_t service_id, const std::vector<Frontend>& frontends,
                  const std::vector<uint32_t>& backends) {
    for (const Frontend& f : frontends) SetFrontend(f.vip, f.port, f.proto, service_id, kTableSize);
    FillTable(service_id, backends);
  }

  void FillTable(uint32_t service_id, const std::vector<uint32_t>& backends) {
    std::vector<uint32_t> slots(kTableSize);
    for (uint32_t i = 0; i < kTableSize; ++i) slots[i] = backends[i % backends.size()];
    SetMaglevTable(service_id, slots);
  }

  // Checks that `result` is `input` tunnelled to `node`: XDP_TX, Ethernet
  // towards the node's next hop, a right outer header, and the inner packet
  // exactly as received. Returns the decoded output.
  DecodedPacket ExpectTunnelled(const RunResult& result, const Bytes& input, const NodeSpec& node) {
    EXPECT_EQ(result.verdict, kXdpTx) << CounterSummary() << "\n" << packet::Describe(result.output);
    absl::StatusOr<DecodedPacket> decoded = packet::Decode(result.output);
    if (!decoded.ok() || !decoded->ip) {
      ADD_FAILURE() << "output does not decode: " << decoded.status() << "\n" << packet::Describe(result.output);
      return {};
    }
    const DecodedPacket& d = *decoded;
    const packet::IpHeader& outer = *d.ip;
    const bool inner_v4 = (input[14] >> 4) == 4;
    EXPECT_EQ(d.eth->src, node.source_mac);
    EXPECT_EQ(d.eth->dst, node.next_hop_mac);
    EXPECT_EQ(d.eth->ether_type, node.tunnel_dst.is_v4() ? 0x0800 : 0x86dd);
    EXPECT_EQ(outer.src, node.tunnel_src);
    EXPECT_EQ(outer.dst, node.tunnel_dst);
    EXPECT_EQ(outer.ttl, 64);
    EXPECT_EQ(outer.protocol, inner_v4 ? 4 : 41);
    EXPECT_EQ(outer.header_length, node.tunnel_dst.is_v4() ? 20u : 40u);
    EXPECT_EQ(outer.total_length, outer.header_length + input.size() - 14);
    EXPECT_TRUE(d.checksums_ok()) << d.ToString();
    if (result.output.size() >= 14 + outer.header_length) {
      EXPECT_IP_PACKET_EQ(std::span(input).subspan(14), std::span(result.output).subspan(14 + outer.header_length));
    }
    return d;
  }

  // The node entry whose tunnel ends at `tunnel_dst`; an empty one if none.
  static const NodeSpec& NodeTo(const IpAddress& tunnel_dst) {
    for (const NodeSpec& node : kNodes) {
      if (node.tunnel_dst == tunnel_dst && !(node.flags & FERRY_NODE_LOCAL)) return node;
    }
    return kNodes[0];
  }

  // Which node a tunnelled packet went to, by its outer destination.
  static IpAddress OuterDestination(const RunResult& result) {
    absl::StatusOr<DecodedPacket> d = packet::Decode(result.output);
    return d.ok() && d->ip ? d->ip->dst : IpAddress();
  }

  // Sends each datagram's first fragment, then its later one, which must go
  // to the node the first went to; Maglev must have spread the datagrams
  // over both nodes, or following would prove nothing.
  // `datagram_number(i)` makes the i-th of 8 datagrams.
  void ExpectLaterFragmentsFollow(const std::function<FragmentPair(uint16_t)>& datagram_number) {
    constexpr uint16_t kDatagrams = 8;
    std::set<std::string> nodes;
    for (uint16_t i = 0; i < kDatagrams; ++i) {
      const FragmentPair datagram = datagram_number(i);
      const IpAddress node = OuterDestination(RunXdp(datagram.first));
      ExpectTunnelled(RunXdp(datagram.later), datagram.later, NodeTo(node));
      nodes.insert(node.ToString());
    }
    EXPECT_EQ(nodes.size(), 2u) << "the datagrams should have been spread over both nodes";
    EXPECT_EQ(Events(FERRY_EVENT_FRAGMENT_FOLLOWED), kDatagrams) << CounterSummary();
  }

  void ExpectPassedUntouched(const Bytes& input) {
    const RunResult result = RunXdp(input);
    EXPECT_EQ(result.verdict, kXdpPass) << CounterSummary();
    EXPECT_PACKET_EQ(input, result.output);
  }

  void ExpectDropped(const Bytes& input, ferry_drop_reason reason) {
    const uint64_t before = Drops(reason);
    const RunResult result = RunXdp(input);
    EXPECT_EQ(result.verdict, kXdpDrop) << CounterSummary() << "\n" << packet::Describe(input);
    EXPECT_EQ(Drops(reason), before + 1) << CounterSummary();
  }
};

Packet Syn4(const IpAddress& client, uint16_t sport, const IpAddress& vip, uint16_t dport = kHttp) {
  Packet p = FromRouter();
  p.IPv4(client, vip, {.id = 0x1234, .dont_fragment = true}).TCP(sport, dport, packet::kTcpSyn, {.seq = 1});
  return p;
}

Packet Syn6(const IpAddress& client, uint16_t sport, const IpAddress& vip, uint16_t dport = kHttp) {
  Packet p = FromRouter();
  p.IPv6(client, vip, {.flow_label = 0x12345}).TCP(sport, dport, packet::kTcpSyn, {.seq = 1});
  return p;
}

// --- Encapsulation towards the backend's node. ------------------------------

// A TCP SYN to an IPv4 VIP is sent back out in IPIP to the backend's node.
TEST_F(XdpLbTest, Ipv4TcpSynIsTunnelledInIpip) {
  const Bytes input = Syn4(kClient4, kClientPort, kVip4).Payload("syn data").Build();
  const DecodedPacket d = ExpectTunnelled(RunXdp(input), input, kNodes[kNodeAOver4]);
  EXPECT_TRUE(d.ip && d.ip->dont_fragment);
  EXPECT_EQ(Events(FERRY_EVENT_ENCAP_TX), 1u);
}


// A UDP datagram to an IPv4 VIP is sent in IPIP the same way.
TEST_F(XdpLbTest, Ipv4UdpIsTunnelledInIpip) {
  const Bytes input = FromRouter().IPv4(kClient4, kVip4).UDP(kClientPort, kDns).Payload("query").Build();
  ExpectTunnelled(RunXdp(input), input, kNodes[kNodeAOver4]);
}

// The outer IPv4 header copies DF from the inner one, set or clear.
TEST_F(XdpLbTest, DontFragmentIsCopiedToTheOuterHeader) {
  for (const bool df : {false, true}) {
    SCOPED_TRACE(df ? "DF set" : "DF clear");
    const Bytes input = FromRouter()
                            .IPv4(kClient4, kVip4, {.id = 7, .dont_fragment = df})
                            .UDP(kClientPort + df, kDns)
                            .Payload("query")
                            .Build();
    const DecodedPacket d = ExpectTunnelled(RunXdp(input), input, kNodes[kNodeAOver4]);
    ASSERT_TRUE(d.ip);
    EXPECT_EQ(d.ip->dont_fragment, df);
  }
}

// A TCP segment to an IPv6 VIP is sent in IP6IP6 (next header 41).
TEST_F(XdpLbTest, Ipv6TcpIsTunnelledInIp6ip6) {
  const Bytes input = Syn6(kClient6, kClientPort, kVip6).Payload("hello").Build();
  ExpectTunnelled(RunXdp(input), input, kNodes[kNodeBOver6]);
}

// A UDP datagram to an IPv6 VIP is sent in IP6IP6.
TEST_F(XdpLbTest, Ipv6UdpIsTunnelledInIp6ip6) {
  const Bytes input = FromRouter().IPv6(kClient6, kVip6).UDP(kClientPort, kDns).Payload("query").Build();
  ExpectTunnelled(RunXdp(input), input, kNodes[kNodeBOver6]);
}

// An IPv4 VIP whose backend's node is reached over IPv6 is sent 4-in-6.
TEST_F(XdpLbTest, Ipv4VipToANodeOverIpv6IsTunnelled4in6) {
  const Bytes input = Syn4(kClient4, kClientPort, kVip4in6).Build();
  ExpectTunnelled(RunXdp(input), input, kNodes[kNodeBOver6]);
}

// An IPv6 VIP whose backend's node is reached over IPv4 is sent 6-in-4.
TEST_F(XdpLbTest, Ipv6VipToANodeOverIpv4IsTunnelled6in4) {
  const Bytes input = Syn6(kClient6, kClientPort, kVip6in4).Build();
  ExpectTunnelled(RunXdp(input), input, kNodes[kNodeAOver4]);
}

// A node behind another interface is reached by XDP_REDIRECT, not XDP_TX.
TEST_F(XdpLbTest, NodeBehindAnotherInterfaceIsRedirected) {
  NodeSpec elsewhere = kNodes[kNodeAOver4];
  elsewhere.egress_ifindex = 4242;  // the test run's ingress is the loopback, 1
  SetNode(kNodeAOver4, elsewhere);
  const RunResult result = RunXdp(Syn4(kClient4, kClientPort, kVip4).Build());
  EXPECT_EQ(result.verdict, kXdpRedirect) << CounterSummary();
  EXPECT_EQ(Events(FERRY_EVENT_ENCAP_REDIRECT), 1u) << CounterSummary();
}

// A backend on the load-balancing node itself: XDP passes the packet on
// unchanged, for ferry_tc_uplink to DNAT.
TEST_F(XdpLbTest, LocalBackendPassesUntouched) {
  const Bytes input = Syn4(kClient4, kClientPort, kVipLocal).Build();
  ExpectPassedUntouched(input);
  EXPECT_EQ(Events(FERRY_EVENT_LOCAL_PASS), 1u) << CounterSummary();
  const std::optional<ferry_flow> flow = Flow(FlowKey(kClient4, kVipLocal, kClientPort, kHttp, kTcp));
  ASSERT_TRUE(flow);
  EXPECT_EQ(flow->backend_id, kLocalPod);
}

// --- Conntrack. -----------------------------------------------------------

// An established flow keeps its backend when the Maglev table is replaced by
// one that maps its slot elsewhere; new flows follow the new table.
TEST_F(XdpLbTest, EstablishedFlowKeepsItsBackendWhenTheTableChanges) {
  FillTable(kSpread4, {kPodA4OnA});
  const Bytes first = Syn4(kClient4, kClientPort, kVipSpread4).Build();
  EXPECT_EQ(OuterDestination(RunXdp(first)), kNodeA4);

  FillTable(kSpread4, {kPodB4OnB});
  const Bytes second = FromRouter()
                           .IPv4(kClient4, kVipSpread4, {.dont_fragment = true})
                           .TCP(kClientPort, kHttp, packet::kTcpAck, {.seq = 2, .ack = 1})
                           .Build();
  ExpectTunnelled(RunXdp(second), second, kNodes[kNodeAOver4]);
  EXPECT_EQ(Events(FERRY_EVENT_FLOW_HIT), 1u) << CounterSummary();

  const Bytes other_flow = Syn4(kClient4, kClientPort + 1, kVipSpread4).Build();
  EXPECT_EQ(OuterDestination(RunXdp(other_flow)), kNodeB4);
}

// A flow whose backend was removed (no longer active) is rescheduled by
// Maglev, and conntrack records the new backend.
TEST_F(XdpLbTest, FlowOfARemovedBackendIsRescheduled) {
  FillTable(kSpread4, {kPodA4OnA});
  const Bytes packet = Syn4(kClient4, kClientPort, kVipSpread4).Build();
  EXPECT_EQ(OuterDestination(RunXdp(packet)), kNodeA4);

  FillTable(kSpread4, {kPodB4OnB});
  SetBackend(kPodA4OnA, {kPodA4, kPodPort, kNodeAOver4, /*active=*/false});
  ExpectTunnelled(RunXdp(packet), packet, kNodes[kNodeBOver4]);
  EXPECT_EQ(Events(FERRY_EVENT_FLOW_RESCHEDULED), 1u) << CounterSummary();
  const std::optional<ferry_flow> flow = Flow(FlowKey(kClient4, kVipSpread4, kClientPort, kHttp, kTcp));
  ASSERT_TRUE(flow);
  EXPECT_EQ(flow->backend_id, kPodB4OnB);
}

// --- Traffic that is not for a served VIP port. ----------------------------

// IPv4 and IPv6 traffic to addresses that are not VIPs passes unchanged.
TEST_F(XdpLbTest, TrafficToNoVipPassesUntouched) {
  const Bytes inputs[] = {
      Syn4(kClient4, kClientPort, kNotVip4).Build(),
      Syn4(kClient4, kClientPort, kLbNode4, 22).Build(),
      FromRouter().IPv4(kClient4, kNotVip4).UDP(kClientPort, kDns).Payload("q").Build(),
      FromRouter().IPv4(kClient4, kLbNode4).ICMPv4(8, 0, 0x10001, {1, 2, 3, 4}).Build(),
      Syn6(kClient6, kClientPort, kNotVip6).Build(),
      FromRouter().IPv6(kClient6, kLbNode6).UDP(kClientPort, kDns).Payload("q").Build(),
  };
  for (const Bytes& input : inputs) {
    SCOPED_TRACE(packet::Describe(input));
    ExpectPassedUntouched(input);
  }
  EXPECT_EQ(Flow(FlowKey(kClient4, kNotVip4, kClientPort, kHttp, kTcp)), std::nullopt);
}

// ARP, for a VIP too, is not IP and passes unchanged.
TEST_F(XdpLbTest, ArpPassesUntouched) {
  ExpectPassedUntouched(FromRouter("ff:ff:ff:ff:ff:ff")
                            .Arp(packet::kArpRequest, kRouterMac, kRouter4, "00:00:00:00:00:00", kVip4)
                            .Build());
}

// Neighbour solicitations for a VIP pass: multicast ones and the unicast ones
// neighbour unreachability detection sends to the VIP itself.
TEST_F(XdpLbTest, NeighbourDiscoveryPassesUntouched) {
  Bytes solicitation_body(kVip6.bytes.begin(), kVip6.bytes.end());
  const Bytes source_link_layer = {1, 1, 0x02, 0, 0, 0, 0, 0xfe};
  solicitation_body.insert(solicitation_body.end(), source_link_layer.begin(), source_link_layer.end());
  const IpAddress solicited_node = "ff02::1:ff00:1";
  ExpectPassedUntouched(FromRouter("33:33:ff:00:00:01")
                            .IPv6(kRouter6, solicited_node, {.hop_limit = 255})
                            .ICMPv6(135, 0, 0, solicitation_body)
                            .Build());
  ExpectPassedUntouched(FromRouter().IPv6(kRouter6, kVip6, {.hop_limit = 255}).ICMPv6(135, 0, 0, solicitation_body).Build());
}

// A ping to a VIP is answered by the load balancer itself, even with no
// backend asked, so a person can check the VIP is reached; the TTL is reset.
TEST_F(XdpLbTest, PingToVipIsAnswered) {
  const Bytes body = {'f', 'e', 'r', 'r', 'y'};
  const struct {
    Bytes request, reply;
  } cases[] = {
      {FromRouter().IPv4(kClient4, kVip4, {.ttl = 7}).ICMPv4(8, 0, 0x00420001, body).Build(),
       Packet().Eth(kLbMac, kRouterMac).IPv4(kVip4, kClient4).ICMPv4(0, 0, 0x00420001, body).Build()},
      {FromRouter().IPv6(kClient6, kVip6, {.hop_limit = 7}).ICMPv6(128, 0, 0x00420001, body).Build(),
       Packet().Eth(kLbMac, kRouterMac).IPv6(kVip6, kClient6).ICMPv6(129, 0, 0x00420001, body).Build()},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(packet::Describe(c.request));
    const RunResult result = RunXdp(c.request);
    EXPECT_EQ(result.verdict, kXdpTx) << CounterSummary();
    EXPECT_PACKET_EQ(c.reply, result.output);
  }
  EXPECT_EQ(Events(FERRY_EVENT_ICMP_ECHO_REPLY), 2u) << CounterSummary();
  EXPECT_EQ(Events(FERRY_EVENT_FLOW_NEW), 0u) << CounterSummary();
}

// A frame that is neither IPv4 nor IPv6 passes unchanged.
TEST_F(XdpLbTest, NonIpPassesUntouched) {
  ExpectPassedUntouched(FromRouter().Payload("an experimental protocol, not IP").Build());
}

// A VIP on a port it does not serve is dropped and counted.
TEST_F(XdpLbTest, VipOnAnUnservedPortIsDropped) {
  ExpectDropped(Syn4(kClient4, kClientPort, kVip4, 8443).Build(), FERRY_DROP_NO_SERVICE_PORT);
  ExpectDropped(FromRouter().IPv4(kClient4, kVip4).UDP(kClientPort, kHttp).Build(), FERRY_DROP_NO_SERVICE_PORT);
  ExpectDropped(Syn6(kClient6, kClientPort, kVip6, 8443).Build(), FERRY_DROP_NO_SERVICE_PORT);
}

// --- IPv4 options and fragments. ------------------------------------------

// A packet with IPv4 options is balanced like any other; the options travel
// intact inside the tunnel.
TEST_F(XdpLbTest, Ipv4OptionsAreCarriedIntact) {
  const Bytes timestamp_and_alert = {0x44, 0x0c, 0x05, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x94, 0x04, 0x00, 0x00};
  const Bytes input = FromRouter()
                          .IPv4(kClient4, kVip4, {.dont_fragment = true, .options = timestamp_and_alert})
                          .TCP(kClientPort, kHttp, packet::kTcpSyn)
                          .Build();
  const DecodedPacket d = ExpectTunnelled(RunXdp(input), input, kNodes[kNodeAOver4]);
  ASSERT_TRUE(d.inner_ip);
  EXPECT_EQ(d.inner_ip->options, timestamp_and_alert);
  EXPECT_EQ(Flow(FlowKey(kClient4, kVip4, kClientPort, kHttp, kTcp)).has_value(), true);
}

FragmentPair Ipv4Fragments(const IpAddress& client, uint16_t sport, uint16_t id) {
  return {FromRouter()
              .IPv4(client, kVipSpread4, {.id = id, .more_fragments = true})
              .UDP(sport, kDns, {.length = 8 + 40 + 16})
              .PayloadOfSize(40)
              .Build(),
          FromRouter()
              .IPv4(client, kVipSpread4, {.id = id, .fragment_offset = 6, .protocol = kUdp})
              .PayloadOfSize(16)
              .Build()};
}

FragmentPair Ipv6Fragments(const IpAddress& client, uint16_t sport, uint32_t id) {
  return {FromRouter()
              .IPv6(client, kVipSpread6)
              .IPv6Fragment(0, true, id)
              .UDP(sport, kDns, {.length = 8 + 40 + 16})
              .PayloadOfSize(40)
              .Build(),
          FromRouter().IPv6(client, kVipSpread6).IPv6Fragment(6, false, id, kUdp).PayloadOfSize(16).Build()};
}

// A later IPv4 fragment goes to the node its first fragment went to.
TEST_F(XdpLbTest, Ipv4LaterFragmentFollowsTheFirst) {
  ExpectLaterFragmentsFollow([](uint16_t i) { return Ipv4Fragments(kClient4, kClientPort + i, 100 + i); });
}

// A later fragment whose first fragment was never seen is dropped.
TEST_F(XdpLbTest, Ipv4LaterFragmentWithoutFirstIsDropped) {
  ExpectDropped(Ipv4Fragments(kClient4, kClientPort, 77).later, FERRY_DROP_FRAGMENT_WITHOUT_FLOW);
}

// The same for IPv6 fragments (Fragment extension header).
TEST_F(XdpLbTest, Ipv6LaterFragmentFollowsTheFirst) {
  ExpectLaterFragmentsFollow([](uint16_t i) { return Ipv6Fragments(kClient6, kClientPort + i, 0x10000 + i); });
}

// An IPv6 later fragment without its first is dropped.
TEST_F(XdpLbTest, Ipv6LaterFragmentWithoutFirstIsDropped) {
  ExpectDropped(Ipv6Fragments(kClient6, kClientPort, 77).later, FERRY_DROP_FRAGMENT_WITHOUT_FLOW);
}

// --- ICMP errors about VIP flows. ------------------------------------------

// A "fragmentation needed" sent to the VIP, quoting the reply VIP:vport ->
// client:cport, goes to the node of the flow client:cport -> VIP:vport:
// known flows and flows not seen yet (Maglev picks the same) alike.
TEST_F(XdpLbTest, FragmentationNeededFollowsItsFlow) {
  std::set<std::string> nodes;
  for (uint16_t i = 0; i < 8; ++i) {
    const IpAddress client = "198.18.100.10";
    const uint16_t cport = kClientPort + i;
    const Packet reply = Packet()
                             .IPv4(kVipSpread4, client, {.dont_fragment = true})
                             .TCP(kHttp, cport, packet::kTcpAck, {.seq = 5})
                             .PayloadOfSize(1400);
    const Bytes error =
        FromRouter().IPv4(kRouter4, kVipSpread4).Icmp4FragmentationNeeded(1300, reply).Build();
    const Bytes syn = Syn4(client, cport, kVipSpread4).Build();
    // Half the errors arrive before the flow's first packet, half after.
    const bool error_first = i % 2 == 0;
    const RunResult first = RunXdp(error_first ? error : syn);
    const RunResult second = RunXdp(error_first ? syn : error);
    const RunResult& error_result = error_first ? first : second;
    const IpAddress flow_node = OuterDestination(error_first ? second : first);
    SCOPED_TRACE(absl::StrCat("client port ", cport, error_first ? ", error first" : ", flow first"));
    ExpectTunnelled(error_result, error, NodeTo(flow_node));
    nodes.insert(flow_node.ToString());
  }
  EXPECT_EQ(nodes.size(), 2u) << "the flows should have been spread over both nodes";
  EXPECT_EQ(Events(FERRY_EVENT_ICMP_FOLLOWED), 8u) << CounterSummary();
}

// An ICMPv6 "packet too big" to the VIP follows its flow the same way.
TEST_F(XdpLbTest, PacketTooBigFollowsItsFlow) {
  std::set<std::string> nodes;
  for (uint16_t i = 0; i < 8; ++i) {
    const uint16_t cport = kClientPort + i;
    const Packet reply = Packet().IPv6(kVipSpread6, kClient6).TCP(kHttp, cport, packet::kTcpAck).PayloadOfSize(1400);
    const Bytes error = FromRouter().IPv6(kRouter6, kVipSpread6).Icmp6PacketTooBig(1280, reply).Build();
    const Bytes syn = Syn6(kClient6, cport, kVipSpread6).Build();
    const IpAddress flow_node = OuterDestination(RunXdp(syn));
    SCOPED_TRACE(absl::StrCat("client port ", cport));
    ExpectTunnelled(RunXdp(error), error, NodeTo(flow_node));
    nodes.insert(flow_node.ToString());
  }
  EXPECT_EQ(nodes.size(), 2u) << "the flows should have been spread over both nodes";
}

// An ICMP error about a flow that involves no VIP passes unchanged.
TEST_F(XdpLbTest, IcmpErrorAboutNoVipPasses) {
  const Packet reply4 = Packet().IPv4(kNotVip4, kClient4, {.dont_fragment = true}).TCP(kHttp, kClientPort, packet::kTcpAck);
  ExpectPassedUntouched(FromRouter().IPv4(kRouter4, kNotVip4).Icmp4FragmentationNeeded(1300, reply4).Build());
  const Packet reply6 = Packet().IPv6(kNotVip6, kClient6).TCP(kHttp, kClientPort, packet::kTcpAck);
  ExpectPassedUntouched(FromRouter().IPv6(kRouter6, kNotVip6).Icmp6PacketTooBig(1280, reply6).Build());
}

// --- Packets too big for the tunnel. ---------------------------------------

// Checks that `result` answers `input` with a too-big error from the VIP
// announcing `mtu` and quoting at least the header and 8 bytes.
void ExpectTooBigReply(const RunResult& result, const Bytes& input, uint32_t mtu) {
  ASSERT_EQ(result.verdict, kXdpTx) << packet::Describe(result.output);
  absl::StatusOr<DecodedPacket> reply = packet::Decode(result.output);
  ASSERT_TRUE(reply.ok()) << reply.status() << "\n" << packet::Describe(result.output);
  absl::StatusOr<DecodedPacket> request = packet::Decode(input);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(reply->eth->dst, request->eth->src);
  EXPECT_EQ(reply->eth->src, request->eth->dst);
  ASSERT_TRUE(reply->ip && reply->icmp()) << reply->ToString();
  EXPECT_EQ(reply->ip->src, request->ip->dst);
  EXPECT_EQ(reply->ip->dst, request->ip->src);
  const bool v4 = request->ip->version == 4;
  EXPECT_EQ(reply->icmp()->type, v4 ? 3 : 2);
  EXPECT_EQ(reply->icmp()->code, v4 ? 4 : 0);
  EXPECT_EQ(reply->icmp()->rest_of_header, mtu);
  const Bytes& quote = reply->icmp()->body;
  const size_t header_and_8 = request->ip->header_length + 8;
  ASSERT_GE(quote.size(), header_and_8);
  ASSERT_LE(quote.size(), input.size() - 14);
  EXPECT_TRUE(std::equal(quote.begin(), quote.end(), input.begin() + 14)) << "the quote is not the packet's start";
  EXPECT_TRUE(reply->checksums_ok()) << reply->ToString();
  if (v4) EXPECT_LE(result.output.size() - 14, 576u);
  else EXPECT_LE(result.output.size() - 14, 1280u);
}

// An IPv4 packet with DF that would outgrow the tunnel MTU once encapsulated
// is answered with "fragmentation needed" for MTU - 20.
TEST_F(XdpLbTest, OversizedIpv4WithDontFragmentGetsFragmentationNeeded) {
  const Bytes input = Syn4(kClient4, kClientPort, kVip4).PayloadOfSize(1500 - 40).Build();
  ExpectTooBigReply(RunXdp(input), input, 1500 - 20);
  EXPECT_EQ(Events(FERRY_EVENT_ICMP_TOO_BIG_SENT), 1u) << CounterSummary();
}

// An IPv6 packet that would outgrow the tunnel MTU is answered with "packet
// too big" for MTU - 40.
TEST_F(XdpLbTest, OversizedIpv6GetsPacketTooBig) {
  const Bytes input = Syn6(kClient6, kClientPort, kVip6).PayloadOfSize(1500 - 60).Build();
  ExpectTooBigReply(RunXdp(input), input, 1500 - 40);
  EXPECT_EQ(Events(FERRY_EVENT_ICMP_TOO_BIG_SENT), 1u) << CounterSummary();
}

// An oversized IPv4 packet without DF cannot be fragmented by XDP: dropped.
TEST_F(XdpLbTest, OversizedIpv4WithoutDontFragmentIsDropped) {
  const Bytes input = FromRouter().IPv4(kClient4, kVip4).UDP(kClientPort, kDns).PayloadOfSize(1500 - 28).Build();
  ExpectDropped(input, FERRY_DROP_TOO_BIG);
}

// A jumbo frame, whose payload goes on past the first buffer (multi-buffer
// XDP), is balanced like any other, its lengths those of the whole frame.
TEST_F(XdpLbTest, JumboFrameIsTunnelled) {
  ferry_config config = Config();
  config.tunnel_mtu = 9000;
  SetConfig(config);
  const Bytes input = Syn4(kClient4, kClientPort, kVip4).PayloadOfSize(9000 - 20 - 40).Build();
  ExpectTunnelled(RunXdp(input), input, kNodes[kNodeAOver4]);
}

// Without a configured cap, the tunnel MTU is the uplink's, read per packet:
// it follows the uplink's MTU up and down while the program runs.
TEST_F(XdpLbTest, TunnelMtuFollowsTheUplinkAtRunTime) {
  ferry_config config = Config();
  config.tunnel_mtu = 0;
  SetConfig(config);
  absl::StatusOr<std::unique_ptr<netns::Namespace>> ns = netns::Namespace::Create("bpf-mtu");
  ASSERT_TRUE(ns.ok()) << ns.status();
  for (absl::Status status : {netns::AddVethPair(**ns, "eth0", **ns, "peer0"), (*ns)->SetUp("eth0"), (*ns)->SetUp("peer0")}) {
    ASSERT_TRUE(status.ok()) << status;
  }
  absl::StatusOr<netns::Interface> uplink = (*ns)->Link("eth0");
  ASSERT_TRUE(uplink.ok()) << uplink.status();
  // 1440 bytes of IP, 1460 once in IPIP.
  const Bytes input = Syn4(kClient4, kClientPort, kVip4).PayloadOfSize(1400).Build();
  auto run_with_mtu = [&](int mtu) {
    RunResult result;
    EXPECT_TRUE((*ns)->Ip({"link", "set", "eth0", "mtu", absl::StrCat(mtu)}).ok());
    EXPECT_TRUE(netns::RunIn(**ns, [&] {
                  result = RunXdpOn(input, uplink->ifindex);
                  return absl::OkStatus();
                }).ok());
    return result;
  };
  ExpectTunnelled(run_with_mtu(1500), input, kNodes[kNodeAOver4]);
  ExpectTooBigReply(run_with_mtu(1400), input, 1400 - 20);
  ExpectTunnelled(run_with_mtu(1460), input, kNodes[kNodeAOver4]);
  ExpectTooBigReply(run_with_mtu(1300), input, 1300 - 20);
}

// A packet that exactly fills the tunnel MTU once encapsulated is tunnelled.
TEST_F(XdpLbTest, PacketFillingTheTunnelMtuIsTunnelled) {
  const Bytes v4 = Syn4(kClient4, kClientPort, kVip4).PayloadOfSize(1500 - 20 - 40).Build();
  ExpectTunnelled(RunXdp(v4), v4, kNodes[kNodeAOver4]);
  const Bytes v6 = Syn6(kClient6, kClientPort, kVip6).PayloadOfSize(1500 - 40 - 60).Build();
  ExpectTunnelled(RunXdp(v6), v6, kNodes[kNodeBOver6]);
}

// --- Malformed packets. ------------------------------------------------------

// A TCP header cut short inside a consistent IPv4 packet to a VIP.
TEST_F(XdpLbTest, TruncatedTcpHeaderToVipIsDropped) {
  ExpectDropped(FromRouter().IPv4(kClient4, kVip4, {.total_length = 30}).TCP(kClientPort, kHttp, packet::kTcpSyn).Truncate(14 + 30).Build(),
                FERRY_DROP_MALFORMED);
  ExpectDropped(FromRouter().IPv6(kClient6, kVip6, {.payload_length = 10}).TCP(kClientPort, kHttp, packet::kTcpSyn).Truncate(14 + 50).Build(),
                FERRY_DROP_MALFORMED);
}

// An IPv4 header with IHL below 5, to a VIP.
TEST_F(XdpLbTest, IhlBelowFiveToVipIsDropped) {
  ExpectDropped(FromRouter().IPv4(kClient4, kVip4, {.ihl = 4}).TCP(kClientPort, kHttp, packet::kTcpSyn).Build(),
                FERRY_DROP_MALFORMED);
}

// An IPv4 packet to a VIP whose total length runs past the frame.
TEST_F(XdpLbTest, Ipv4CutShortOfItsTotalLengthToVipIsDropped) {
  ExpectDropped(Syn4(kClient4, kClientPort, kVip4).PayloadOfSize(100).Truncate(14 + 60).Build(), FERRY_DROP_MALFORMED);
}

// The same malformations to an address that is no VIP are the stack's
// business: passed unchanged.
TEST_F(XdpLbTest, MalformedToNoVipPasses) {
  const Bytes inputs[] = {
      FromRouter().IPv4(kClient4, kNotVip4, {.total_length = 30}).TCP(kClientPort, kHttp, packet::kTcpSyn).Truncate(14 + 30).Build(),
      FromRouter().IPv4(kClient4, kNotVip4, {.ihl = 4}).TCP(kClientPort, kHttp, packet::kTcpSyn).Build(),
      Syn4(kClient4, kClientPort, kNotVip4).PayloadOfSize(100).Truncate(14 + 60).Build(),
      FromRouter().IPv6(kClient6, kNotVip6, {.payload_length = 10}).TCP(kClientPort, kHttp, packet::kTcpSyn).Truncate(14 + 50).Build(),
  };
  for (const Bytes& input : inputs) {
    SCOPED_TRACE(packet::Describe(input));
    ExpectPassedUntouched(input);
  }
}

// A header cut before its addresses cannot be told to be for a VIP; it must
// not crash anything: passed, or dropped as malformed.
TEST_F(XdpLbTest, HeaderCutBeforeItsAddressesIsPassedOrDroppedAsMalformed) {
  const Bytes inputs[] = {
      Syn4(kClient4, kClientPort, kVip4).Truncate(14 + 10).Build(),
      Syn6(kClient6, kClientPort, kVip6).Truncate(14 + 20).Build(),
  };
  for (const Bytes& input : inputs) {
    SCOPED_TRACE(packet::Describe(input));
    const uint64_t malformed_before = Drops(FERRY_DROP_MALFORMED);
    const RunResult result = RunXdp(input);
    if (result.verdict == kXdpDrop) {
      EXPECT_EQ(Drops(FERRY_DROP_MALFORMED), malformed_before + 1) << CounterSummary();
    } else {
      EXPECT_EQ(result.verdict, kXdpPass);
      EXPECT_PACKET_EQ(input, result.output);
    }
  }
}

// --- Input checks, as a router's (RFC 1812 §5.2.2, RFC 8200). -------------

// Each rule on its own: a packet to a VIP that breaks it is dropped and
// counted under the rule's reason, and leaves no conntrack entry.
struct RuleCase {
  const char* rule;
  ferry_drop_reason reason;
  Bytes input;
  ferry_flow_key flow;  // the flow the packet would have started
};

TEST_F(XdpLbTest, PacketsBreakingARouterRuleAreDroppedWithoutState) {
  auto syn6 = [](const Packet& headers) {
    return FromRouter().IPv6(kClient6, kVip6).Append(headers).TCP(kClientPort, kHttp, packet::kTcpSyn).Build();
  };
  const ferry_flow_key tcp4 = FlowKey(kClient4, kVip4, kClientPort, kHttp, kTcp);
  const ferry_flow_key tcp6 = FlowKey(kClient6, kVip6, kClientPort, kHttp, kTcp);
  const ferry_flow_key udp6 = FlowKey(kClient6, kVip6, kClientPort, kDns, kUdp);
  const RuleCase cases[] = {
      {"RFC 1812 5.2.2: header checksum", FERRY_DROP_IPV4_CHECKSUM,
       FromRouter().IPv4(kClient4, kVip4, {.checksum = 0xbad0}).TCP(kClientPort, kHttp, packet::kTcpSyn).Build(), tcp4},
      {"RFC 1812 5.2.2: IHL >= 5", FERRY_DROP_MALFORMED,
       FromRouter().IPv4(kClient4, kVip4, {.ihl = 4}).TCP(kClientPort, kHttp, packet::kTcpSyn).Build(), tcp4},
      {"RFC 1812 5.2.2: total length >= header", FERRY_DROP_MALFORMED,
       FromRouter().IPv4(kClient4, kVip4, {.total_length = 16}).TCP(kClientPort, kHttp, packet::kTcpSyn).Build(), tcp4},
      {"RFC 8200 4.1: hop-by-hop after destination options", FERRY_DROP_HOP_BY_HOP_NOT_FIRST,
       syn6(Packet().IPv6Options(60).IPv6Options(0)), tcp6},
      {"RFC 8200 4.4: routing header with segments left", FERRY_DROP_ROUTING_SEGMENTS_LEFT,
       syn6(Packet().IPv6Routing(2, 1, {kNodeB6})), tcp6},
      {"RFC 8200 4.5, RFC 7112: first fragment without the whole TCP header", FERRY_DROP_MALFORMED,
       FromRouter().IPv6(kClient6, kVip6).IPv6Fragment(0, true, 9, kTcp).PayloadOfSize(8).Build(), tcp6},
      {"L4 header beyond what is parsed", FERRY_DROP_EXT_HEADERS_UNPARSED, syn6(Packet().IPv6Options(0, 256)), tcp6},
      {"more extension headers than are walked", FERRY_DROP_EXT_HEADERS_UNPARSED,
       syn6(Packet().IPv6Options(0).IPv6Options(60).IPv6Routing(0, 0, {}).IPv6Options(60).IPv6Options(60)), tcp6},
      {"RFC 8200 8.1, RFC 6936: UDP zero checksum over IPv6", FERRY_DROP_UDP_ZERO_CHECKSUM,
       FromRouter().IPv6(kClient6, kVip6).UDP(kClientPort, kDns, {.checksum = 0}).Payload("q").Build(), udp6},
      {"UDP length below its header", FERRY_DROP_MALFORMED,
       FromRouter().IPv6(kClient6, kVip6).UDP(kClientPort, kDns, {.length = 7}).Payload("q").Build(), udp6},
      {"UDP length beyond the IP packet", FERRY_DROP_MALFORMED,
       FromRouter().IPv6(kClient6, kVip6).UDP(kClientPort, kDns, {.length = 100}).Payload("q").Build(), udp6},
      {"TCP header beyond the IP packet", FERRY_DROP_MALFORMED,
       FromRouter().IPv4(kClient4, kVip4).TCP(kClientPort, kHttp, packet::kTcpSyn, {.data_offset = 15}).Build(), tcp4},
  };
  std::vector<RuleCase> all(std::begin(cases), std::end(cases));
  // RFC 1812 5.3.7: this network, loopback, multicast, class E; RFC 4291
  // 2.7, 2.5.3, 2.5.2: multicast, loopback, unspecified.
  for (const IpAddress source : {"0.1.2.3", "127.0.0.1", "224.0.0.1", "240.0.0.1", "ff02::1", "::1", "::"}) {
    const IpAddress& vip = source.is_v4() ? kVip4 : kVip6;
    all.push_back({"source no router forwards from", FERRY_DROP_BAD_SOURCE,
                   (source.is_v4() ? Syn4 : Syn6)(source, kClientPort, vip, kHttp).Build(),
                   FlowKey(source, vip, kClientPort, kHttp, kTcp)});
  }
  for (const RuleCase& c : all) {
    SCOPED_TRACE(absl::StrCat(c.rule, "\n", packet::Describe(c.input)));
    ExpectDropCounted([&] { return RunXdp(c.input); }, c.reason, kXdpDrop);
    EXPECT_FALSE(Flow(c.flow).has_value()) << "a dropped packet created a conntrack entry";
  }
}

// Golden cases of the extension-header walk: hop-by-hop, destination
// options and a routing header with no segments left, before TCP and UDP,
// are balanced on the ports behind them (the flow recorded says which
// bytes were read), the packet tunnelled unchanged.
TEST_F(XdpLbTest, ExtensionHeadersBeforeTcpAndUdpAreWalked) {
  const std::pair<const char*, Packet> chains[] = {
      {"hop-by-hop", Packet().IPv6Options(0)},
      {"destination options", Packet().IPv6Options(60, 16)},
      {"routing, no segments left", Packet().IPv6Routing(2, 0, {kNodeB6})},
      {"all three", Packet().IPv6Options(0).IPv6Options(60).IPv6Routing(2, 0, {kNodeB6})},
      // 14 + 40 + 200: the L4 header at byte 254 (the furthest is 256).
      {"long options", Packet().IPv6Options(0, 200)},
  };
  uint16_t sport = kClientPort;
  for (const auto& [name, chain] : chains) {
    for (const uint8_t proto : {kTcp, kUdp}) {
      SCOPED_TRACE(absl::StrCat(name, proto == kTcp ? " before TCP" : " before UDP"));
      ++sport;
      Packet p = FromRouter().IPv6(kClient6, kVip6).Append(chain);
      const uint16_t dport = proto == kTcp ? kHttp : kDns;
      const Bytes input = proto == kTcp ? p.TCP(sport, dport, packet::kTcpSyn).Build() : p.UDP(sport, dport).Payload("q").Build();
      ExpectTunnelled(RunXdp(input), input, kNodes[kNodeBOver6]);
      EXPECT_TRUE(Flow(FlowKey(kClient6, kVip6, sport, dport, proto)).has_value()) << CounterSummary();
    }
  }
}

// A zero UDP checksum is legal over IPv4 ("none"): balanced.
TEST_F(XdpLbTest, UdpWithoutChecksumOverIpv4IsTunnelled) {
  const Bytes input = FromRouter().IPv4(kClient4, kVip4).UDP(kClientPort, kDns, {.checksum = 0}).Payload("q").Build();
  ExpectTunnelled(RunXdp(input), input, kNodes[kNodeAOver4]);
}

// Drops decided after the backend was chosen leave no conntrack entry
// either: no DF and too big for the tunnel, no route to the node.
TEST_F(XdpLbTest, PacketDroppedAfterTheBackendIsChosenLeavesNoFlow) {
  const Bytes too_big = FromRouter().IPv4(kClient4, kVip4).UDP(kClientPort, kDns).PayloadOfSize(1500 - 28).Build();
  ExpectDropped(too_big, FERRY_DROP_TOO_BIG);
  EXPECT_FALSE(Flow(FlowKey(kClient4, kVip4, kClientPort, kDns, kUdp)).has_value());
  const Bytes answered = Syn4(kClient4, kClientPort, kVip4).PayloadOfSize(1500 - 40).Build();
  EXPECT_EQ(RunXdp(answered).verdict, kXdpTx) << CounterSummary();
  EXPECT_EQ(Events(FERRY_EVENT_ICMP_TOO_BIG_SENT), 1u) << CounterSummary();
  EXPECT_FALSE(Flow(FlowKey(kClient4, kVip4, kClientPort, kHttp, kTcp)).has_value());
}

// --- Drop reasons. -----------------------------------------------------------

// Every reason ferry_xdp_lb drops for reaches its own counter, and only
// that one, with XDP_DROP. Not here: encap-failed, which needs a frame
// without headroom for the outer header, and a test run always has it.
TEST_F(XdpLbTest, EveryDropReasonReachesItsCounterWithXdpDrop) {
  const IpAddress vip_without_backend = "198.19.0.7";
  const IpAddress vip_unrouted = "198.19.0.8";
  constexpr uint32_t kInactive = 7, kUnrouted = 8, kUnroutedNode = 5;
  SetBackend(kInactive, {kPodA4, kPodPort, kNodeAOver4, /*active=*/false});
  AddService(8, {{vip_without_backend, kHttp, kTcp}}, {kInactive});
  // No next-hop MAC: the FIB of the test's namespace is asked, and knows no
  // route to the node.
  SetNode(kUnroutedNode, {kLbNode4, "198.18.200.1", kLbMac, {}});
  SetBackend(kUnrouted, {kPodA4, kPodPort, kUnroutedNode});
  AddService(9, {{vip_unrouted, kHttp, kTcp}}, {kUnrouted});

  const DropCase cases[] = {
      {FERRY_DROP_MALFORMED, FromRouter().IPv4(kClient4, kVip4, {.ihl = 4}).TCP(kClientPort, kHttp, packet::kTcpSyn).Build()},
      {FERRY_DROP_NO_SERVICE_PORT, Syn4(kClient4, kClientPort, kVip4, 8443).Build()},
      {FERRY_DROP_NO_BACKEND, Syn4(kClient4, kClientPort, vip_without_backend).Build()},
      {FERRY_DROP_FRAGMENT_WITHOUT_FLOW, Ipv4Fragments(kClient4, kClientPort, 77).later},
      {FERRY_DROP_NO_ROUTE_TO_NODE, Syn4(kClient4, kClientPort, vip_unrouted).Build()},
      {FERRY_DROP_TOO_BIG, FromRouter().IPv4(kClient4, kVip4).UDP(kClientPort, kDns).PayloadOfSize(1500 - 28).Build()},
      {FERRY_DROP_IPV4_CHECKSUM, FromRouter().IPv4(kClient4, kVip4, {.checksum = 0x1234}).TCP(kClientPort, kHttp, packet::kTcpSyn).Build()},
      {FERRY_DROP_BAD_SOURCE, Syn4("127.0.0.1", kClientPort, kVip4).Build()},
      {FERRY_DROP_EXT_HEADERS_UNPARSED, FromRouter().IPv6(kClient6, kVip6).IPv6Options(0, 256).TCP(kClientPort, kHttp, packet::kTcpSyn).Build()},
      {FERRY_DROP_HOP_BY_HOP_NOT_FIRST, FromRouter().IPv6(kClient6, kVip6).IPv6Options(60).IPv6Options(0).TCP(kClientPort, kHttp, packet::kTcpSyn).Build()},
      {FERRY_DROP_ROUTING_SEGMENTS_LEFT, FromRouter().IPv6(kClient6, kVip6).IPv6Routing(2, 1, {kNodeB6}).TCP(kClientPort, kHttp, packet::kTcpSyn).Build()},
      {FERRY_DROP_UDP_ZERO_CHECKSUM, FromRouter().IPv6(kClient6, kVip6).UDP(kClientPort, kDns, {.checksum = 0}).Build()},
  };
  ExpectDropsCounted(cases, [&](const Bytes& input) { return RunXdp(input); }, kXdpDrop);
}

// --- Counters. ----------------------------------------------------------

// service_stats counts the packets and IP bytes of each service apart.
TEST_F(XdpLbTest, ServiceStatsCountPacketsAndBytesPerService) {
  const Bytes to_ipip[] = {
      Syn4(kClient4, kClientPort, kVip4).Build(),
      Syn4(kClient4, kClientPort, kVip4).PayloadOfSize(100).Build(),
      FromRouter().IPv4(kClient4, kVip4).UDP(kClientPort, kDns).PayloadOfSize(33).Build(),
  };
  const Bytes to_ip6ip6[] = {
      Syn6(kClient6, kClientPort, kVip6).PayloadOfSize(7).Build(),
      Syn6(kClient6, kClientPort + 1, kVip6).Build(),
  };
  uint64_t ipip_bytes = 0, ip6ip6_bytes = 0;
  for (const Bytes& input : to_ipip) {
    EXPECT_EQ(RunXdp(input).verdict, kXdpTx);
    ipip_bytes += input.size() - 14;
  }
  for (const Bytes& input : to_ip6ip6) {
    EXPECT_EQ(RunXdp(input).verdict, kXdpTx);
    ip6ip6_bytes += input.size() - 14;
  }
  EXPECT_EQ(RunXdp(Syn4(kClient4, kClientPort, kNotVip4).Build()).verdict, kXdpPass);
  const ferry_service_stats ipip = ServiceStats(kIpip);
  EXPECT_EQ(ipip.packets, 3u);
  EXPECT_EQ(ipip.bytes, ipip_bytes);
  const ferry_service_stats ip6ip6 = ServiceStats(kIp6ip6);
  EXPECT_EQ(ip6ip6.packets, 2u);
  EXPECT_EQ(ip6ip6.bytes, ip6ip6_bytes);
  EXPECT_EQ(ServiceStats(kSpread4).packets, 0u);
}

// A flow's first packet counts flow-new; the ones after it flow-hit.
TEST_F(XdpLbTest, FirstPacketIsANewFlowAndLaterOnesHit) {
  const Bytes flow_a = Syn4(kClient4, kClientPort, kVip4).Build();
  const Bytes flow_b = Syn6(kClient6, kClientPort, kVip6).Build();
  RunXdp(flow_a);
  EXPECT_EQ(Events(FERRY_EVENT_FLOW_NEW), 1u);
  EXPECT_EQ(Events(FERRY_EVENT_FLOW_HIT), 0u);
  RunXdp(flow_a);
  RunXdp(flow_a);
  RunXdp(flow_b);
  RunXdp(flow_b);
  EXPECT_EQ(Events(FERRY_EVENT_FLOW_NEW), 2u) << CounterSummary();
  EXPECT_EQ(Events(FERRY_EVENT_FLOW_HIT), 3u) << CounterSummary();
  EXPECT_EQ(Events(FERRY_EVENT_ENCAP_TX), 5u) << CounterSummary();
}

}  // namespace
}  // namespace ferry::bpftest
