// ferry_tc_uplink and ferry_tc_pod on crafted frames: decapsulation and DNAT
// to a local pod, rev-NAT of the pod's replies, ICMP errors translated for
// the pod. Expected frames are built in full and compared byte for byte.
#include <arpa/inet.h>

#include <string>

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
constexpr uint32_t kPodA4Ifindex = 7;
constexpr uint32_t kPodA6Ifindex = 8;

// This node is node A; node B is another one.
enum NodeId : uint32_t { kThisNode = 1, kOtherNode = 2 };
enum BackendId : uint32_t { kPodA4Here = 1, kPodA6Here, kPodB4There, kPodB6There };
enum ServiceId : uint32_t { kLocal4 = 1, kLocal6, kRemote4, kRemote6 };
const IpAddress kVipRemote4 = "198.19.0.3";
const IpAddress kVipRemote6 = "2001:db8:19::3";

class TcTest : public LbFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(LbFixture::SetUp());
    ferry_config config = Config();
    config.node_v4 = kNodeA4.ToFerry();
    config.node_v6 = kNodeA6.ToFerry();
    SetConfig(config);
    SetNode(kThisNode, {kNodeA4, kNodeA4, kNodeAMac, kNodeAMac, 0, FERRY_NODE_LOCAL});
    SetNode(kOtherNode, {kNodeA4, kNodeB4, kNodeAMac, kNodeBMac});
    SetBackend(kPodA4Here, {kPodA4, kPodPort, kThisNode});
    SetBackend(kPodA6Here, {kPodA6, kPodPort, kThisNode});
    SetBackend(kPodB4There, {kPodB4, kPodPort, kOtherNode});
    SetBackend(kPodB6There, {kPodB6, kPodPort, kOtherNode});
    SetEndpoint(kPodA4, {kPodA4Ifindex, kPodMac, kPodHostMac});
    SetEndpoint(kPodA6, {kPodA6Ifindex, kPodMac, kPodHostMac});
    AddService(kLocal4, kVip4, kPodA4Here);
    AddService(kLocal6, kVip6, kPodA6Here);
    AddService(kRemote4, kVipRemote4, kPodB4There);
    AddService(kRemote6, kVipRemote6, kPodB6There);
  }

  // TCP kHttp and UDP kDns on `vip`, every slot to `backend`.
  void AddService(uint32_t service_id, const IpAddress& vip, uint32_t backend) {
    SetFrontend(vip, kHttp, kTcp, service_id, kTableSize);
    SetFrontend(vip, kDns, kUdp, service_id, kTableSize);
    const std::vector<uint32_t> slots(kTableSize, backend);
    SetMaglevTable(service_id, slots);
  }

  // The redirect's target interface is not visible to a test run; the
  // verdict and the rewritten frame are.
  void ExpectDelivered(const RunResult& result, const Bytes& expected) {
    EXPECT_EQ(result.verdict, kTcRedirect) << CounterSummary();
    EXPECT_PACKET_EQ(expected, result.output);
    EXPECT_TRUE(packet::ChecksumsOk(result.output));
    EXPECT_EQ(Events(FERRY_EVENT_DNAT_REDIRECT), 1u) << CounterSummary();
  }
};

// A client's side of a flow.
struct ClientSide {
  IpAddress client;
  uint16_t cport;
  uint8_t proto;
};

Packet& AddIp(Packet& p, const IpAddress& src, const IpAddress& dst) {
  return src.is_v4() ? p.IPv4(src, dst, {.ttl = 61, .id = 0x4242, .dont_fragment = true})
                     : p.IPv6(src, dst, {.hop_limit = 61, .flow_label = 0x777});
}

Packet ClientPacket(const ClientSide& flow, const IpAddress& dst, uint16_t dport) {
  Packet p;
  AddIp(p, flow.client, dst);
  if (flow.proto == kTcp) {
    p.TCP(flow.cport, dport, packet::kTcpSyn, {.seq = 1000});
  } else {
    p.UDP(flow.cport, dport);
  }
  return p.Payload("hello, service");
}

Packet ReplyPacket(const ClientSide& flow, const IpAddress& src, uint16_t sport) {
  Packet p;
  AddIp(p, src, flow.client);
  if (flow.proto == kTcp) {
    p.TCP(sport, flow.cport, packet::kTcpSyn | packet::kTcpAck, {.seq = 5000, .ack = 1001});
  } else {
    p.UDP(sport, flow.cport);
  }
  return p.Payload("hello, client");
}

uint16_t ServicePort(uint8_t proto) { return proto == kTcp ? kHttp : kDns; }

struct TunnelCase {
  const char* name;
  IpAddress outer_src, outer_dst;  // LB node -> this node
  ClientSide flow;
  IpAddress vip, pod;
};

void PrintTo(const TunnelCase& c, std::ostream* os) { *os << c.name; }

class TcTunnelTest : public TcTest, public ::testing::WithParamInterface<TunnelCase> {};

// A tunnel to this node is decapsulated, the inner client -> VIP packet
// DNATed to the local pod (addresses, ports, checksums) and redirected to
// the pod's veth with the pod's and the veth's MACs; rev_nat remembers the
// reply tuple.
TEST_P(TcTunnelTest, DecapsulatedAndDnatedToThePod) {
  const TunnelCase& c = GetParam();
  const uint16_t vport = ServicePort(c.flow.proto);
  Packet input = FromRouter(kNodeAMac);
  AddIp(input, c.outer_src, c.outer_dst).Append(ClientPacket(c.flow, c.vip, vport));
  const Bytes expected = Packet().Eth(kPodHostMac, kPodMac).Append(ClientPacket(c.flow, c.pod, kPodPort)).Build();

  ExpectDelivered(RunTcUplink(input.Build()), expected);
  EXPECT_EQ(Events(FERRY_EVENT_DECAP), 1u) << CounterSummary();
  const std::optional<ferry_rev_nat> rev = RevNat(FlowKey(c.pod, c.flow.client, kPodPort, c.flow.cport, c.flow.proto));
  ASSERT_TRUE(rev) << "no rev_nat entry for the reply tuple";
  EXPECT_EQ(IpAddress::FromFerry(rev->vip, c.vip.ferry_family()), c.vip);
  EXPECT_EQ(ntohs(rev->vport), vport);
}

INSTANTIATE_TEST_SUITE_P(
    AllTunnels, TcTunnelTest,
    ::testing::Values(TunnelCase{"ipip_tcp", kLbNode4, kNodeA4, {kClient4, kClientPort, kTcp}, kVip4, kPodA4},
                      TunnelCase{"ipip_udp", kLbNode4, kNodeA4, {kClient4, kClientPort, kUdp}, kVip4, kPodA4},
                      TunnelCase{"ip6ip6_tcp", kLbNode6, kNodeA6, {kClient6, kClientPort, kTcp}, kVip6, kPodA6},
                      TunnelCase{"ip6ip6_udp", kLbNode6, kNodeA6, {kClient6, kClientPort, kUdp}, kVip6, kPodA6},
                      TunnelCase{"4in6_tcp", kLbNode6, kNodeA6, {kClient4, kClientPort, kTcp}, kVip4, kPodA4},
                      TunnelCase{"4in6_udp", kLbNode6, kNodeA6, {kClient4, kClientPort, kUdp}, kVip4, kPodA4},
                      TunnelCase{"6in4_tcp", kLbNode4, kNodeA4, {kClient6, kClientPort, kTcp}, kVip6, kPodA6},
                      TunnelCase{"6in4_udp", kLbNode4, kNodeA4, {kClient6, kClientPort, kUdp}, kVip6, kPodA6}),
    [](const auto& info) { return std::string(info.param.name); });

struct ReplyCase {
  const char* name;
  ClientSide flow;
  IpAddress vip, pod;
};

void PrintTo(const ReplyCase& c, std::ostream* os) { *os << c.name; }

class TcPodTest : public TcTest, public ::testing::WithParamInterface<ReplyCase> {};

// A pod's reply matching rev_nat leaves with the VIP:vport as its source,
// checksums fixed, and continues to the stack (TC_ACT_OK).
TEST_P(TcPodTest, ReplyLeavesFromTheVip) {
  const ReplyCase& c = GetParam();
  const uint16_t vport = ServicePort(c.flow.proto);
  SetRevNat(FlowKey(c.pod, c.flow.client, kPodPort, c.flow.cport, c.flow.proto), c.vip, vport);
  const Bytes input = Packet().Eth(kPodMac, kPodHostMac).Append(ReplyPacket(c.flow, c.pod, kPodPort)).Build();
  const Bytes expected = Packet().Eth(kPodMac, kPodHostMac).Append(ReplyPacket(c.flow, c.vip, vport)).Build();
  const RunResult result = RunTcPod(input);
  EXPECT_EQ(result.verdict, kTcOk) << CounterSummary();
  EXPECT_PACKET_EQ(expected, result.output);
  EXPECT_EQ(Events(FERRY_EVENT_REV_NAT), 1u) << CounterSummary();
}

// A reply with no rev_nat entry (another port, another client) is left alone.
TEST_P(TcPodTest, PacketWithoutRevNatEntryIsUntouched) {
  const ReplyCase& c = GetParam();
  SetRevNat(FlowKey(c.pod, c.flow.client, kPodPort, c.flow.cport, c.flow.proto), c.vip, ServicePort(c.flow.proto));
  ClientSide other_client = c.flow;
  other_client.cport += 1;
  const Bytes input = Packet().Eth(kPodMac, kPodHostMac).Append(ReplyPacket(other_client, c.pod, kPodPort)).Build();
  const RunResult result = RunTcPod(input);
  EXPECT_EQ(result.verdict, kTcOk);
  EXPECT_PACKET_EQ(input, result.output);
  EXPECT_EQ(Events(FERRY_EVENT_REV_NAT), 0u) << CounterSummary();
}

INSTANTIATE_TEST_SUITE_P(
    AllFamilies, TcPodTest,
    ::testing::Values(ReplyCase{"v4_tcp", {kClient4, kClientPort, kTcp}, kVip4, kPodA4},
                      ReplyCase{"v4_udp", {kClient4, kClientPort, kUdp}, kVip4, kPodA4},
                      ReplyCase{"v6_tcp", {kClient6, kClientPort, kTcp}, kVip6, kPodA6},
                      ReplyCase{"v6_udp", {kClient6, kClientPort, kUdp}, kVip6, kPodA6}),
    [](const auto& info) { return std::string(info.param.name); });

// The whole DSR turn on the backend's node: the tunnelled SYN is DNATed, the
// pod's SYN-ACK leaves from the VIP, using the rev_nat entry the first made.
TEST_F(TcTest, ReplyToADecapsulatedFlowLeavesFromTheVip) {
  const ClientSide flow{kClient4, kClientPort, kTcp};
  const Bytes input = FromRouter(kNodeAMac).IPv4(kLbNode4, kNodeA4).Append(ClientPacket(flow, kVip4, kHttp)).Build();
  ASSERT_EQ(RunTcUplink(input).verdict, kTcRedirect) << CounterSummary();
  const Bytes reply = Packet().Eth(kPodMac, kPodHostMac).Append(ReplyPacket(flow, kPodA4, kPodPort)).Build();
  const Bytes expected = Packet().Eth(kPodMac, kPodHostMac).Append(ReplyPacket(flow, kVip4, kHttp)).Build();
  const RunResult result = RunTcPod(reply);
  EXPECT_EQ(result.verdict, kTcOk);
  EXPECT_PACKET_EQ(expected, result.output);
}

// A UDP reply without a checksum (allowed over IPv4) keeps none after
// rev-NAT, rather than getting a wrong one.
TEST_F(TcTest, UdpReplyWithoutChecksumKeepsNone) {
  SetRevNat(FlowKey(kPodA4, kClient4, kPodPort, kClientPort, kUdp), kVip4, kDns);
  auto reply = [&](const IpAddress& src, uint16_t sport) {
    return Packet().Eth(kPodMac, kPodHostMac).IPv4(src, kClient4).UDP(sport, kClientPort, {.checksum = 0}).Payload("x").Build();
  };
  const RunResult result = RunTcPod(reply(kPodA4, kPodPort));
  EXPECT_EQ(result.verdict, kTcOk);
  EXPECT_PACKET_EQ(reply(kVip4, kDns), result.output);
}

// A plain (not tunnelled) packet to a VIP whose backend is on this node is
// DNATed and redirected like a decapsulated one.
TEST_F(TcTest, PlainPacketToALocalBackendIsDnatedToThePod) {
  for (const ClientSide& flow : {ClientSide{kClient4, kClientPort, kTcp}, ClientSide{kClient6, kClientPort, kUdp}}) {
    SCOPED_TRACE(flow.client.ToString());
    const IpAddress& vip = flow.client.is_v4() ? kVip4 : kVip6;
    const IpAddress& pod = flow.client.is_v4() ? kPodA4 : kPodA6;
    const Bytes input = FromRouter(kNodeAMac).Append(ClientPacket(flow, vip, ServicePort(flow.proto))).Build();
    const Bytes expected = Packet().Eth(kPodHostMac, kPodMac).Append(ClientPacket(flow, pod, kPodPort)).Build();
    const RunResult result = RunTcUplink(input);
    EXPECT_EQ(result.verdict, kTcRedirect) << CounterSummary();
    EXPECT_PACKET_EQ(expected, result.output);
  }
  EXPECT_EQ(Events(FERRY_EVENT_DECAP), 0u) << CounterSummary();
}

// A plain packet to a VIP whose backend is on another node is dropped: only
// the load-balancing node's XDP program may send it there.
TEST_F(TcTest, PlainPacketToARemoteBackendIsDropped) {
  const Bytes inputs[] = {
      FromRouter(kNodeAMac).Append(ClientPacket({kClient4, kClientPort, kTcp}, kVipRemote4, kHttp)).Build(),
      FromRouter(kNodeAMac).Append(ClientPacket({kClient6, kClientPort, kUdp}, kVipRemote6, kDns)).Build(),
  };
  for (const Bytes& input : inputs) {
    SCOPED_TRACE(packet::Describe(input));
    const uint64_t before = Drops(FERRY_DROP_BACKEND_NOT_LOCAL);
    EXPECT_EQ(RunTcUplink(input).verdict, kTcShot) << CounterSummary();
    EXPECT_EQ(Drops(FERRY_DROP_BACKEND_NOT_LOCAL), before + 1) << CounterSummary();
  }
}

// Every reason ferry_tc_uplink drops for on its own reaches its counter, and
// only that one, with TC_ACT_SHOT; the two the FIB gives are in
// TcOwnTunnelTest.EveryFibDropReasonReachesItsCounterWithShot. Not here:
// nat-failed (the kernel refuses a rewrite of bytes the program has just
// parsed), and decap-failed, which only kernels before 6.3 give, for a
// 4-in-6 tunnel with an inner IPv4 packet under 40 bytes.
TEST_F(TcTest, EveryDropReasonReachesItsCounterWithShot) {
  const IpAddress vip_without_backend = "198.19.0.7";
  const IpAddress vip_without_endpoint = "198.19.0.8";
  const IpAddress pod_without_endpoint = "198.18.17.99";
  constexpr uint32_t kInactive = 5, kNoEndpoint = 6;
  SetBackend(kInactive, {kPodA4, kPodPort, kThisNode, /*active=*/false});
  AddService(5, vip_without_backend, kInactive);
  SetBackend(kNoEndpoint, {pod_without_endpoint, kPodPort, kThisNode});
  AddService(6, vip_without_endpoint, kNoEndpoint);
  const ClientSide flow{kClient4, kClientPort, kTcp};
  auto tunnelled = [](const Packet& inner) { return FromRouter(kNodeAMac).IPv4(kLbNode4, kNodeA4).Append(inner).Build(); };

  const DropCase cases[] = {
      {FERRY_DROP_MALFORMED,
       tunnelled(Packet().IPv4(kClient4, kVip4, {.ihl = 4}).TCP(kClientPort, kHttp, packet::kTcpSyn))},
      {FERRY_DROP_NO_SERVICE_PORT, tunnelled(ClientPacket(flow, kVip4, 8443))},
      {FERRY_DROP_NO_BACKEND, FromRouter(kNodeAMac).Append(ClientPacket(flow, vip_without_backend, kHttp)).Build()},
      {FERRY_DROP_FRAGMENT_WITHOUT_FLOW,
       FromRouter(kNodeAMac).IPv4(kClient4, kVip4, {.id = 77, .fragment_offset = 6, .protocol = kUdp}).PayloadOfSize(16).Build()},
      {FERRY_DROP_BACKEND_NOT_LOCAL, FromRouter(kNodeAMac).Append(ClientPacket(flow, kVipRemote4, kHttp)).Build()},
      {FERRY_DROP_NO_LOCAL_ENDPOINT, tunnelled(ClientPacket(flow, vip_without_endpoint, kHttp))},
      {FERRY_DROP_IPV4_CHECKSUM,
       tunnelled(Packet().IPv4(kClient4, kVip4, {.checksum = 0xbad0}).TCP(kClientPort, kHttp, packet::kTcpSyn))},
      {FERRY_DROP_BAD_SOURCE, tunnelled(ClientPacket({"127.0.0.1", kClientPort, kTcp}, kVip4, kHttp))},
      {FERRY_DROP_EXT_HEADERS_UNPARSED,
       tunnelled(Packet().IPv6(kClient6, kVip6).IPv6Options(0, 256).TCP(kClientPort, kHttp, packet::kTcpSyn))},
      {FERRY_DROP_HOP_BY_HOP_NOT_FIRST,
       tunnelled(Packet().IPv6(kClient6, kVip6).IPv6Options(60).IPv6Options(0).TCP(kClientPort, kHttp, packet::kTcpSyn))},
      {FERRY_DROP_ROUTING_SEGMENTS_LEFT,
       tunnelled(Packet().IPv6(kClient6, kVip6).IPv6Routing(2, 1, {kNodeB6}).TCP(kClientPort, kHttp, packet::kTcpSyn))},
      {FERRY_DROP_UDP_ZERO_CHECKSUM, tunnelled(Packet().IPv6(kClient6, kVip6).UDP(kClientPort, kDns, {.checksum = 0}))},
  };
  ExpectDropsCounted(cases, [&](const Bytes& input) { return RunTcUplink(input); }, kTcShot);
  EXPECT_EQ(Events(FERRY_EVENT_FLOW_NEW), 0u) << "a dropped packet created a conntrack entry; " << CounterSummary();
}

// Traffic for this node that involves no VIP is left to the stack untouched.
TEST_F(TcTest, TrafficToNoVipIsUntouched) {
  const Bytes inputs[] = {
      FromRouter(kNodeAMac).Append(ClientPacket({kClient4, kClientPort, kTcp}, kNodeA4, 22)).Build(),
      FromRouter(kNodeAMac).Append(ClientPacket({kClient6, kClientPort, kUdp}, kNotVip6, kDns)).Build(),
      FromRouter(kNodeAMac).Arp(packet::kArpRequest, kRouterMac, kRouter4, "00:00:00:00:00:00", kNodeA4).Build(),
  };
  for (const Bytes& input : inputs) {
    SCOPED_TRACE(packet::Describe(input));
    const RunResult result = RunTcUplink(input);
    EXPECT_EQ(result.verdict, kTcOk) << CounterSummary();
    EXPECT_PACKET_EQ(input, result.output);
  }
}

// A "fragmentation needed" about a VIP flow, tunnelled here by the load
// balancer, reaches the pod as if the pod had sent the quoted packet: the
// error's destination and the quote's source become the pod's address and
// port, with every checksum right.
TEST_F(TcTest, FragmentationNeededIsTranslatedForThePod) {
  auto error = [](const IpAddress& to, uint16_t port) {
    const Packet quoted = Packet()
                              .IPv4(to, kClient4, {.id = 9, .dont_fragment = true})
                              .TCP(port, kClientPort, packet::kTcpAck, {.seq = 77})
                              .PayloadOfSize(1400);
    return Packet().IPv4(kRouter4, to, {.ttl = 60}).Icmp4FragmentationNeeded(1300, quoted);
  };
  const Bytes input = FromRouter(kNodeAMac).IPv4(kLbNode4, kNodeA4).Append(error(kVip4, kHttp)).Build();
  const Bytes expected = Packet().Eth(kPodHostMac, kPodMac).Append(error(kPodA4, kPodPort)).Build();
  const RunResult result = RunTcUplink(input);
  EXPECT_EQ(result.verdict, kTcRedirect) << CounterSummary();
  EXPECT_PACKET_EQ(expected, result.output);
  EXPECT_EQ(Events(FERRY_EVENT_ICMP_FOLLOWED), 1u) << CounterSummary();
}

// The same for an ICMPv6 "packet too big". The quote holds the reply's whole
// TCP header; its checksum is not checked by any stack and may keep the
// VIP's value, so the quote is compared field by field.
TEST_F(TcTest, PacketTooBigIsTranslatedForThePod) {
  const Packet quoted = Packet().IPv6(kVip6, kClient6).TCP(kHttp, kClientPort, packet::kTcpAck, {.seq = 77}).PayloadOfSize(1400);
  const Bytes input = FromRouter(kNodeAMac)
                          .IPv6(kLbNode6, kNodeA6)
                          .IPv6(kRouter6, kVip6)
                          .Icmp6PacketTooBig(1280, quoted)
                          .Build();
  const RunResult result = RunTcUplink(input);
  EXPECT_EQ(result.verdict, kTcRedirect) << CounterSummary();
  absl::StatusOr<DecodedPacket> d = packet::Decode(result.output);
  ASSERT_TRUE(d.ok()) << d.status() << "\n" << packet::Describe(result.output);
  EXPECT_EQ(d->eth->dst, kPodMac);
  EXPECT_EQ(d->eth->src, kPodHostMac);
  ASSERT_TRUE(d->ip && !d->inner_ip && d->icmp() && d->icmp()->quoted) << d->ToString();
  EXPECT_EQ(d->ip->src, kRouter6);
  EXPECT_EQ(d->ip->dst, kPodA6);
  EXPECT_EQ(d->icmp()->type, 2);
  EXPECT_EQ(d->icmp()->rest_of_header, 1280u);
  const DecodedPacket& q = *d->icmp()->quoted;
  ASSERT_TRUE(q.ip && q.tcp());
  EXPECT_EQ(q.ip->src, kPodA6);
  EXPECT_EQ(q.ip->dst, kClient6);
  EXPECT_EQ(q.tcp()->sport, kPodPort);
  EXPECT_EQ(q.tcp()->dport, kClientPort);
  EXPECT_EQ(q.tcp()->seq, 77u);
  EXPECT_TRUE(d->checksums_ok()) << d->ToString();
}

// A tunnel this node sent, handed back by XDP while the next hop was
// unresolved, meets the FIB of a namespace the test builds: node A's uplink
// eth0 on the node LAN (198.18.0.0/24, 2001:db8:0:1::/64), forwarding on, no
// neighbour known and no default route.
class TcOwnTunnelTest : public TcTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(TcTest::SetUp());
    absl::StatusOr<std::unique_ptr<netns::Namespace>> ns = netns::Namespace::Create("bpf-fib");
    ASSERT_TRUE(ns.ok()) << ns.status();
    ns_ = *std::move(ns);
    for (absl::Status status : {netns::AddVethPair(*ns_, "eth0", *ns_, "peer0"), ns_->SetUp("eth0"), ns_->SetUp("peer0"),
                                ns_->AddAddress("eth0", kNodeA4.ToString() + "/24"),
                                ns_->AddAddress("eth0", kNodeA6.ToString() + "/64"), ns_->EnableForwarding()}) {
      ASSERT_TRUE(status.ok()) << status;
    }
    absl::StatusOr<netns::Interface> uplink = ns_->Link("eth0");
    ASSERT_TRUE(uplink.ok()) << uplink.status();
    uplink_ifindex_ = uplink->ifindex;
  }

  void TearDown() override {
    ns_.reset();
    TcTest::TearDown();
  }

  RunResult RunOnUplink(const Bytes& frame) {
    RunResult result;
    const absl::Status entered = netns::RunIn(*ns_, [&] {
      result = RunTcUplinkOn(frame, uplink_ifindex_);
      return absl::OkStatus();
    });
    EXPECT_TRUE(entered.ok()) << entered;
    return result;
  }

  std::unique_ptr<netns::Namespace> ns_;
  uint32_t uplink_ifindex_ = 0;
};

// What XDP hands the stack: the tunnel it built, with the MACs it received.
Bytes OwnTunnel(const IpAddress& outer_dst, const ClientSide& flow, const IpAddress& vip) {
  const IpAddress& self = outer_dst.is_v4() ? kNodeA4 : kNodeA6;
  Packet p = FromRouter(kNodeAMac);
  AddIp(p, self, outer_dst).Append(ClientPacket(flow, vip, ServicePort(flow.proto)));
  return p.Build();
}

struct OwnTunnelCase {
  const char* name;
  IpAddress outer_dst;  // another node
  ClientSide flow;
  IpAddress vip;
};

void PrintTo(const OwnTunnelCase& c, std::ostream* os) { *os << c.name; }

class TcOwnTunnelKindsTest : public TcOwnTunnelTest, public ::testing::WithParamInterface<OwnTunnelCase> {};

// The tunnel leaves by bpf_redirect_neigh (the kernel resolves the next hop
// and writes the MACs after the program), instead of reaching the stack,
// which drops an IPv4 one as a martian; nothing of it is decapsulated.
TEST_P(TcOwnTunnelKindsTest, IsSentOutWhileTheNeighbourIsUnresolved) {
  const OwnTunnelCase& c = GetParam();
  const Bytes input = OwnTunnel(c.outer_dst, c.flow, c.vip);
  const RunResult result = RunOnUplink(input);
  EXPECT_EQ(result.verdict, kTcRedirect) << CounterSummary();
  EXPECT_PACKET_EQ(input, result.output);
  EXPECT_EQ(Events(FERRY_EVENT_ENCAP_REDIRECT_NEIGH), 1u) << CounterSummary();
  EXPECT_EQ(Events(FERRY_EVENT_DECAP), 0u) << CounterSummary();
}

INSTANTIATE_TEST_SUITE_P(
    AllTunnels, TcOwnTunnelKindsTest,
    ::testing::Values(OwnTunnelCase{"ipip", kNodeB4, {kClient4, kClientPort, kTcp}, kVipRemote4},
                      OwnTunnelCase{"ip6ip6", kNodeB6, {kClient6, kClientPort, kTcp}, kVipRemote6},
                      OwnTunnelCase{"4in6", kNodeB6, {kClient4, kClientPort, kUdp}, kVipRemote4},
                      OwnTunnelCase{"6in4", kNodeB4, {kClient6, kClientPort, kUdp}, kVipRemote6}),
    [](const auto& info) { return std::string(info.param.name); });

// Once the neighbour is known the tunnel leaves the same way (XDP sends the
// next ones itself).
TEST_F(TcOwnTunnelTest, IsSentOutWithTheNeighbourResolved) {
  ASSERT_TRUE(ns_->Ip({"neigh", "add", kNodeB4.ToString(), "lladdr", kNodeBMac.ToString(), "dev", "eth0", "nud",
                       "permanent"})
                  .ok());
  const Bytes input = OwnTunnel(kNodeB4, {kClient4, kClientPort, kTcp}, kVipRemote4);
  const RunResult result = RunOnUplink(input);
  EXPECT_EQ(result.verdict, kTcRedirect) << CounterSummary();
  EXPECT_EQ(Events(FERRY_EVENT_ENCAP_REDIRECT_NEIGH), 1u) << CounterSummary();
}

// A tunnel from us that the FIB cannot forward (no route) is dropped and
// counted, as XDP does with one it cannot route.
TEST_F(TcOwnTunnelTest, WithoutARouteIsDropped) {
  const Bytes input = OwnTunnel("198.18.200.1", {kClient4, kClientPort, kTcp}, kVipRemote4);
  EXPECT_EQ(RunOnUplink(input).verdict, kTcShot) << CounterSummary();
  EXPECT_EQ(Drops(FERRY_DROP_NO_ROUTE_TO_NODE), 1u) << CounterSummary();
  EXPECT_EQ(Events(FERRY_EVENT_ENCAP_REDIRECT_NEIGH), 0u) << CounterSummary();
}

// The drops the FIB decides, for a tunnel of ours it will not forward: no
// route, or a packet larger than the uplink's MTU (1500 here), which the
// kernel checks only once the neighbour is known.
TEST_F(TcOwnTunnelTest, EveryFibDropReasonReachesItsCounterWithShot) {
  const ClientSide flow{kClient4, kClientPort, kUdp};
  ExpectDropCounted([&] { return RunOnUplink(OwnTunnel("198.18.200.1", flow, kVipRemote4)); },
                    FERRY_DROP_NO_ROUTE_TO_NODE, kTcShot);
  ASSERT_TRUE(ns_->Ip({"neigh", "add", kNodeB4.ToString(), "lladdr", kNodeBMac.ToString(), "dev", "eth0", "nud",
                       "permanent"})
                  .ok());
  Packet inner;
  inner.IPv4(kClient4, kVipRemote4).UDP(kClientPort, kDns).PayloadOfSize(1600);
  Packet oversized = FromRouter(kNodeAMac);
  AddIp(oversized, kNodeA4, kNodeB4).Append(inner);
  ExpectDropCounted([&] { return RunOnUplink(oversized.Build()); }, FERRY_DROP_TOO_BIG, kTcShot);
}

// With a live FIB, a tunnel addressed to this node is still decapsulated and
// delivered to the pod, and one between two other nodes is the stack's.
TEST_F(TcOwnTunnelTest, OtherTunnelsAreHandledAsBefore) {
  const ClientSide flow{kClient4, kClientPort, kTcp};
  const Bytes to_us = FromRouter(kNodeAMac).IPv4(kLbNode4, kNodeA4).Append(ClientPacket(flow, kVip4, kHttp)).Build();
  ExpectDelivered(RunOnUplink(to_us), Packet().Eth(kPodHostMac, kPodMac).Append(ClientPacket(flow, kPodA4, kPodPort)).Build());
  EXPECT_EQ(Events(FERRY_EVENT_DECAP), 1u) << CounterSummary();

  const Bytes transit = FromRouter(kNodeAMac).IPv4(kLbNode4, kNodeB4).Append(ClientPacket(flow, kVipRemote4, kHttp)).Build();
  const RunResult result = RunOnUplink(transit);
  EXPECT_EQ(result.verdict, kTcOk) << CounterSummary();
  EXPECT_PACKET_EQ(transit, result.output);
  EXPECT_EQ(Events(FERRY_EVENT_ENCAP_REDIRECT_NEIGH), 0u) << CounterSummary();
}

}  // namespace
}  // namespace ferry::bpftest
