// ferry_xdp_lb answering ARP and neighbour solicitations for announced VIPs
// (bpf/lib/l2.h): the reply's bytes, field by field and with every checksum
// verified, and the requests it must leave to the stack.
//
// BPF_PROG_TEST_RUN without a context runs as if the frame arrived on the
// loopback interface, so "this interface" below is loopback's ifindex.
#include <net/if.h>
#include <time.h>

#include <array>
#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "test/bpf/lb_fixture.h"
#include "test/bpf/world.h"
#include "test/packet/decoder.h"
#include "test/packet/packet_matchers.h"

namespace ferry::bpftest {
namespace {

using namespace world;  // NOLINT(google-build-using-namespace): the test's address plan
using packet::Packet;

// From the L2-announced pool on the node LAN (DESIGN.md §6).
const IpAddress kL2Vip4 = "198.18.0.200";
const IpAddress kL2Vip6 = "2001:db8:0:1::ff01";
const IpAddress kNotAnnounced4 = "198.18.0.201";
const IpAddress kNotAnnounced6 = "2001:db8:0:1::ff02";
const IpAddress kSolicitedNodeOfVip6 = "ff02::1:ff00:ff01";
const IpAddress kAllNodes = "ff02::1";
const IpAddress kUnspecified6 = "::";
const MacAddress kBroadcast = "ff:ff:ff:ff:ff:ff";
const MacAddress kUnknownMac = "00:00:00:00:00:00";
const MacAddress kSolicitedNodeMacOfVip6 = "33:33:ff:00:ff:01";
const MacAddress kAllNodesMac = "33:33:00:00:00:01";

constexpr uint8_t kNeighborSolicitation = 135;
constexpr uint8_t kNeighborAdvertisement = 136;
constexpr uint8_t kSourceLinkLayer = 1;
constexpr uint8_t kTargetLinkLayer = 2;
constexpr uint8_t kNonce = 14;  // RFC 3971 §5.3.2, used by RFC 7527's enhanced DAD
constexpr uint32_t kOverride = 0x20000000;
constexpr uint32_t kSolicited = 0x40000000;
constexpr uint32_t kSomeOtherIfindex = 4242;
constexpr uint64_t kNanosPerSecond = 1'000'000'000;

uint64_t MonotonicNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * kNanosPerSecond + static_cast<uint64_t>(now.tv_nsec);
}

Bytes LinkLayerOption(uint8_t type, const MacAddress& mac) {
  const auto& m = mac.bytes;
  return {type, 1, m[0], m[1], m[2], m[3], m[4], m[5]};
}

// The body after the 4 reserved/flag bytes: target, then options.
Bytes NdBody(const IpAddress& target, const Bytes& options = {}) {
  Bytes body(target.bytes.begin(), target.bytes.end());
  body.insert(body.end(), options.begin(), options.end());
  return body;
}

Bytes ArpRequest(const MacAddress& sender_mac, const IpAddress& sender, const IpAddress& target) {
  return Packet().Eth(sender_mac, kBroadcast).Arp(packet::kArpRequest, sender_mac, sender, kUnknownMac, target).Build();
}

Bytes ArpReply(const IpAddress& vip, const MacAddress& requester_mac, const IpAddress& requester) {
  return Packet().Eth(kLbMac, requester_mac).Arp(packet::kArpReply, kLbMac, vip, requester_mac, requester).Build();
}

// A solicitation from the router for target, to the target's
// solicited-node group, with the router's source link-layer option.
Bytes MulticastSolicitation(const IpAddress& target, const packet::Ipv6Fields& ip = {.hop_limit = 255}) {
  return FromRouter(kSolicitedNodeMacOfVip6)
      .IPv6(kRouter6, kSolicitedNodeOfVip6, ip)
      .ICMPv6(kNeighborSolicitation, 0, 0, NdBody(target, LinkLayerOption(kSourceLinkLayer, kRouterMac)))
      .Build();
}

Bytes Advertisement(const MacAddress& to_mac, const IpAddress& to, uint32_t flags) {
  return Packet()
      .Eth(kLbMac, to_mac)
      .IPv6(kL2Vip6, to, {.hop_limit = 255})
      .ICMPv6(kNeighborAdvertisement, 0, flags, NdBody(kL2Vip6, LinkLayerOption(kTargetLinkLayer, kLbMac)))
      .Build();
}

class L2Test : public LbFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(LbFixture::SetUp());
    loopback_ = if_nametoindex("lo");
    ASSERT_NE(loopback_, 0u);
    Announce(kL2Vip4, loopback_);
    Announce(kL2Vip6, loopback_);
    SetDeadline(MonotonicNanos() + 600 * kNanosPerSecond);
  }

  void Announce(const IpAddress& vip, uint32_t ifindex) {
    ferry_l2_announce value{};
    std::copy(kLbMac.bytes.begin(), kLbMac.bytes.end(), value.mac);
    const absl::Status status = maps_->UpsertL2Announcement(Key(vip, ifindex), value);
    ASSERT_TRUE(status.ok()) << status;
  }

  static ferry_l2_announce_key Key(const IpAddress& vip, uint32_t ifindex) {
    ferry_l2_announce_key key{};
    key.vip = vip.ToFerry();
    key.ifindex = ifindex;
    key.family = vip.ferry_family();
    return key;
  }

  void SetDeadline(uint64_t deadline_ns) {
    const absl::Status status = maps_->SetL2LivenessDeadline(deadline_ns);
    ASSERT_TRUE(status.ok()) << status;
  }

  void ExpectAnswer(const Bytes& request, const Bytes& expected, ferry_event event) {
    const RunResult result = RunXdp(request);
    EXPECT_EQ(result.verdict, kXdpTx) << CounterSummary() << "\n" << packet::Describe(request);
    EXPECT_PACKET_EQ(expected, result.output);
    EXPECT_CHECKSUMS_OK(result.output);
    EXPECT_EQ(Events(event), 1u) << CounterSummary();
  }

  void ExpectPassedUntouched(const Bytes& request) {
    const RunResult result = RunXdp(request);
    EXPECT_EQ(result.verdict, kXdpPass) << CounterSummary() << "\n" << packet::Describe(request);
    EXPECT_EQ(result.output, request) << packet::Describe(result.output);
    EXPECT_EQ(Events(FERRY_EVENT_L2_ARP_REPLY) + Events(FERRY_EVENT_L2_NA_REPLY), 0u) << CounterSummary();
  }

  uint32_t loopback_ = 0;
};

TEST_F(L2Test, ArpRequestForAnnouncedVipGetsReplyFromInterfaceMac) {
  ExpectAnswer(ArpRequest(kRouterMac, kRouter4, kL2Vip4), ArpReply(kL2Vip4, kRouterMac, kRouter4),
               FERRY_EVENT_L2_ARP_REPLY);
}

TEST_F(L2Test, ArpReplyIsCorrectFieldByField) {
  const RunResult result = RunXdp(ArpRequest(kRouterMac, kRouter4, kL2Vip4));
  ASSERT_EQ(result.verdict, kXdpTx) << CounterSummary();
  const absl::StatusOr<packet::DecodedPacket> reply = packet::Decode(result.output);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_TRUE(reply->eth && reply->arp) << reply->ToString();
  EXPECT_EQ(reply->eth->dst, kRouterMac);
  EXPECT_EQ(reply->eth->src, kLbMac);
  EXPECT_EQ(reply->eth->ether_type, 0x0806);
  EXPECT_EQ(reply->arp->operation, packet::kArpReply);
  EXPECT_EQ(reply->arp->sender_mac, kLbMac);
  EXPECT_EQ(reply->arp->sender_ip, kL2Vip4);
  EXPECT_EQ(reply->arp->target_mac, kRouterMac);
  EXPECT_EQ(reply->arp->target_ip, kRouter4);
}

// RFC 5227: a host probing whether the VIP is free learns that it is not.
TEST_F(L2Test, ArpProbeFromUnspecifiedSenderIsAnswered) {
  ExpectAnswer(ArpRequest(kNodeAMac, "0.0.0.0", kL2Vip4), ArpReply(kL2Vip4, kNodeAMac, "0.0.0.0"),
               FERRY_EVENT_L2_ARP_REPLY);
}

TEST_F(L2Test, MulticastSolicitationGetsSolicitedAdvertisement) {
  ExpectAnswer(MulticastSolicitation(kL2Vip6), Advertisement(kRouterMac, kRouter6, kSolicited | kOverride),
               FERRY_EVENT_L2_NA_REPLY);
}

TEST_F(L2Test, UnicastSolicitationGetsSolicitedAdvertisement) {
  const Bytes request = FromRouter()
                            .IPv6(kRouter6, kL2Vip6, {.hop_limit = 255})
                            .ICMPv6(kNeighborSolicitation, 0, 0,
                                    NdBody(kL2Vip6, LinkLayerOption(kSourceLinkLayer, kRouterMac)))
                            .Build();
  ExpectAnswer(request, Advertisement(kRouterMac, kRouter6, kSolicited | kOverride), FERRY_EVENT_L2_NA_REPLY);
}

// Neighbour unreachability detection: unicast, no source link-layer option,
// so the frame grows by the target option.
TEST_F(L2Test, UnreachabilityProbeIsAnsweredToItsSender) {
  const Bytes request = FromRouter()
                            .IPv6(kRouter6, kL2Vip6, {.hop_limit = 255})
                            .ICMPv6(kNeighborSolicitation, 0, 0, NdBody(kL2Vip6))
                            .Build();
  ExpectAnswer(request, Advertisement(kRouterMac, kRouter6, kSolicited | kOverride), FERRY_EVENT_L2_NA_REPLY);
}

// RFC 4861 §7.2.4: duplicate address detection is answered to all nodes,
// not solicited. The nonce option (RFC 7527) is not echoed: the frame shrinks.
TEST_F(L2Test, DuplicateAddressDetectionIsAnsweredToAllNodes) {
  const Bytes request = Packet()
                            .Eth(kNodeAMac, kSolicitedNodeMacOfVip6)
                            .IPv6(kUnspecified6, kSolicitedNodeOfVip6, {.hop_limit = 255})
                            .ICMPv6(kNeighborSolicitation, 0, 0,
                                    NdBody(kL2Vip6, {kNonce, 1, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}))
                            .Build();
  ExpectAnswer(request, Advertisement(kAllNodesMac, kAllNodes, kOverride), FERRY_EVENT_L2_NA_REPLY);
}

TEST_F(L2Test, AdvertisementFieldsAreThoseRfc4861Requires) {
  const RunResult result = RunXdp(MulticastSolicitation(kL2Vip6));
  ASSERT_EQ(result.verdict, kXdpTx) << CounterSummary();
  const absl::StatusOr<packet::DecodedPacket> na = packet::Decode(result.output);
  ASSERT_TRUE(na.ok()) << na.status();
  ASSERT_TRUE(na->ip && na->icmp()) << na->ToString();
  EXPECT_EQ(na->ip->ttl, 255) << "hop limit";
  EXPECT_EQ(na->ip->src, kL2Vip6);
  EXPECT_EQ(na->icmp()->type, kNeighborAdvertisement);
  EXPECT_EQ(na->icmp()->code, 0);
  EXPECT_EQ(na->icmp()->rest_of_header & 0x80000000u, 0u) << "Router flag";
  EXPECT_NE(na->icmp()->rest_of_header & kSolicited, 0u);
  EXPECT_NE(na->icmp()->rest_of_header & kOverride, 0u);
  EXPECT_EQ(na->icmp()->body, NdBody(kL2Vip6, LinkLayerOption(kTargetLinkLayer, kLbMac)));
  EXPECT_TRUE(na->checksums_ok()) << na->ToString();
}

TEST_F(L2Test, RequestsForOtherAddressesPass) {
  ExpectPassedUntouched(ArpRequest(kRouterMac, kRouter4, kNotAnnounced4));
  ExpectPassedUntouched(FromRouter("33:33:ff:00:ff:02")
                            .IPv6(kRouter6, "ff02::1:ff00:ff02", {.hop_limit = 255})
                            .ICMPv6(kNeighborSolicitation, 0, 0,
                                    NdBody(kNotAnnounced6, LinkLayerOption(kSourceLinkLayer, kRouterMac)))
                            .Build());
}

TEST_F(L2Test, InterfaceTheVipIsNotAnnouncedOnPasses) {
  Announce(kNotAnnounced4, kSomeOtherIfindex);
  Announce(kNotAnnounced6, kSomeOtherIfindex);
  ExpectPassedUntouched(ArpRequest(kRouterMac, kRouter4, kNotAnnounced4));
  ExpectPassedUntouched(FromRouter()
                            .IPv6(kRouter6, kNotAnnounced6, {.hop_limit = 255})
                            .ICMPv6(kNeighborSolicitation, 0, 0, NdBody(kNotAnnounced6))
                            .Build());
}

TEST_F(L2Test, ExpiredLivenessDeadlineFencesEveryAnswer) {
  SetDeadline(MonotonicNanos() - 1);
  ExpectPassedUntouched(ArpRequest(kRouterMac, kRouter4, kL2Vip4));
  ExpectPassedUntouched(MulticastSolicitation(kL2Vip6));
  EXPECT_EQ(Events(FERRY_EVENT_L2_FENCED), 2u) << CounterSummary();
}

TEST_F(L2Test, ZeroDeadlineNeverAnswers) {
  SetDeadline(0);
  ExpectPassedUntouched(ArpRequest(kRouterMac, kRouter4, kL2Vip4));
  EXPECT_EQ(Events(FERRY_EVENT_L2_FENCED), 1u) << CounterSummary();
}

// Another node announcing the VIP (a takeover) must not be contradicted.
TEST_F(L2Test, GratuitousArpFromAnotherNodePasses) {
  ExpectPassedUntouched(ArpRequest(kNodeAMac, kL2Vip4, kL2Vip4));
  ExpectPassedUntouched(Packet()
                            .Eth(kNodeAMac, kBroadcast)
                            .Arp(packet::kArpReply, kNodeAMac, kL2Vip4, kBroadcast, kL2Vip4)
                            .Build());
}

TEST_F(L2Test, ArpReplyForVipPasses) {
  ExpectPassedUntouched(
      Packet().Eth(kRouterMac, kLbMac).Arp(packet::kArpReply, kRouterMac, kRouter4, kLbMac, kL2Vip4).Build());
}

// The agent's view of the maps (LbMaps' L2 accessors), and a withdrawn VIP
// is no longer answered.
TEST_F(L2Test, AnnouncementsReadBackAndWithdraw) {
  const absl::StatusOr<datapath::Entries<ferry_l2_announce_key, ferry_l2_announce>> entries =
      maps_->ListL2Announcements();
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  for (const auto& [key, value] : *entries) {
    EXPECT_EQ(key.ifindex, loopback_);
    EXPECT_EQ(MacAddress(std::to_array(value.mac)), kLbMac);
  }
  const absl::StatusOr<uint64_t> deadline = maps_->L2LivenessDeadline();
  ASSERT_TRUE(deadline.ok()) << deadline.status();
  EXPECT_GT(*deadline, MonotonicNanos());

  ASSERT_TRUE(maps_->DeleteL2Announcement(Key(kL2Vip4, loopback_)).ok());
  ASSERT_TRUE(maps_->DeleteL2Announcement(Key(kL2Vip4, loopback_)).ok()) << "absent is fine";
  ExpectPassedUntouched(ArpRequest(kRouterMac, kRouter4, kL2Vip4));
  EXPECT_EQ(Events(FERRY_EVENT_L2_FENCED), 0u) << "not announced is not fenced";
}

struct BadSolicitation {
  std::string description;
  Bytes frame;
};

TEST_F(L2Test, MalformedSolicitationsPass) {
  const Bytes source_option = LinkLayerOption(kSourceLinkLayer, kRouterMac);
  const BadSolicitation cases[] = {
      {"hop limit below 255 (sent from off-link)", MulticastSolicitation(kL2Vip6, {.hop_limit = 64})},
      {"wrong checksum",
       FromRouter(kSolicitedNodeMacOfVip6)
           .IPv6(kRouter6, kSolicitedNodeOfVip6, {.hop_limit = 255})
           .ICMPv6(kNeighborSolicitation, 0, 0, NdBody(kL2Vip6, source_option), {.checksum = 0x1234})
           .Build()},
      {"code 1",
       FromRouter(kSolicitedNodeMacOfVip6)
           .IPv6(kRouter6, kSolicitedNodeOfVip6, {.hop_limit = 255})
           .ICMPv6(kNeighborSolicitation, 1, 0, NdBody(kL2Vip6, source_option))
           .Build()},
      {"option of length zero",
       FromRouter(kSolicitedNodeMacOfVip6)
           .IPv6(kRouter6, kSolicitedNodeOfVip6, {.hop_limit = 255})
           .ICMPv6(kNeighborSolicitation, 0, 0, NdBody(kL2Vip6, {kSourceLinkLayer, 0, 2, 0, 0, 0, 0, 0xfe}))
           .Build()},
      {"duplicate address detection with a source link-layer option",
       Packet()
           .Eth(kNodeAMac, kSolicitedNodeMacOfVip6)
           .IPv6(kUnspecified6, kSolicitedNodeOfVip6, {.hop_limit = 255})
           .ICMPv6(kNeighborSolicitation, 0, 0, NdBody(kL2Vip6, LinkLayerOption(kSourceLinkLayer, kNodeAMac)))
           .Build()},
      {"duplicate address detection sent unicast",
       Packet()
           .Eth(kNodeAMac, kLbMac)
           .IPv6(kUnspecified6, kL2Vip6, {.hop_limit = 255})
           .ICMPv6(kNeighborSolicitation, 0, 0, NdBody(kL2Vip6))
           .Build()},
      {"another target's solicited-node group",
       FromRouter("33:33:ff:00:ff:02")
           .IPv6(kRouter6, "ff02::1:ff00:ff02", {.hop_limit = 255})
           .ICMPv6(kNeighborSolicitation, 0, 0, NdBody(kL2Vip6, source_option))
           .Build()},
      {"truncated message",
       FromRouter(kSolicitedNodeMacOfVip6)
           .IPv6(kRouter6, kSolicitedNodeOfVip6, {.hop_limit = 255})
           .ICMPv6(kNeighborSolicitation, 0, 0, Bytes(kL2Vip6.bytes.begin(), kL2Vip6.bytes.begin() + 8))
           .Build()},
  };
  for (const BadSolicitation& bad : cases) {
    SCOPED_TRACE(bad.description);
    ExpectPassedUntouched(bad.frame);
  }
}

// A solicitation for a VIP this node announces no longer passes to the stack
// (see ferry_icmp_is_neighbor_discovery); one it does not announce still does.
TEST_F(L2Test, UnicastSolicitationForUnannouncedVipStillPasses) {
  SetFrontend(kNotAnnounced6, kHttp, kTcp, 1, 7);
  ExpectPassedUntouched(FromRouter()
                            .IPv6(kRouter6, kNotAnnounced6, {.hop_limit = 255})
                            .ICMPv6(kNeighborSolicitation, 0, 0, NdBody(kNotAnnounced6))
                            .Build());
  EXPECT_EQ(Events(FERRY_EVENT_PASS_NEIGHBOR_DISCOVERY), 1u) << CounterSummary();
}

}  // namespace
}  // namespace ferry::bpftest
