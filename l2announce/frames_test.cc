// The takeover frames against the test packet builder's independent
// encoding, then decoded with every checksum verified.
#include "l2announce/frames.h"

#include "gtest/gtest.h"
#include "test/packet/builder.h"
#include "test/packet/decoder.h"
#include "test/packet/packet_matchers.h"

namespace ferry::l2announce {
namespace {

using packet::Packet;

constexpr MacAddress kMac = {0x02, 0, 0, 0, 0, 0x01};
const packet::MacAddress kPacketMac = "02:00:00:00:00:01";

net::IpAddress Ip(const char* text) { return *net::IpAddress::Parse(text); }

TEST(FramesTest, GratuitousArpIsAnArpAnnouncement) {
  const std::vector<uint8_t> frame = GratuitousArp(kMac, Ip("198.18.0.200"));
  const packet::Bytes expected = Packet()
                                     .Eth(kPacketMac, "ff:ff:ff:ff:ff:ff")
                                     .Arp(packet::kArpRequest, kPacketMac, "198.18.0.200",
                                          "00:00:00:00:00:00", "198.18.0.200")
                                     .Build();
  EXPECT_PACKET_EQ(expected, frame);
}

TEST(FramesTest, UnsolicitedAdvertisementToAllNodes) {
  const net::IpAddress vip = Ip("2001:db8:0:1::ff01");
  const std::vector<uint8_t> frame = UnsolicitedNeighborAdvertisement(kMac, vip);
  packet::Bytes body(vip.bytes.begin(), vip.bytes.end());
  body.insert(body.end(), {2, 1, 0x02, 0, 0, 0, 0, 0x01});
  const packet::Bytes expected = Packet()
                                     .Eth(kPacketMac, "33:33:00:00:00:01")
                                     .IPv6("2001:db8:0:1::ff01", "ff02::1", {.hop_limit = 255})
                                     .ICMPv6(136, 0, 0x20000000, body)
                                     .Build();
  EXPECT_PACKET_EQ(expected, frame);
  EXPECT_CHECKSUMS_OK(frame);
  const absl::StatusOr<packet::DecodedPacket> decoded = packet::Decode(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->icmp()->rest_of_header, 0x20000000u) << "Override only: not solicited, not a router";
}

TEST(FramesTest, AnnouncementFrameFollowsTheFamily) {
  EXPECT_EQ(AnnouncementFrame(kMac, Ip("198.18.0.200")), GratuitousArp(kMac, Ip("198.18.0.200")));
  EXPECT_EQ(AnnouncementFrame(kMac, Ip("2001:db8:0:1::ff01")),
            UnsolicitedNeighborAdvertisement(kMac, Ip("2001:db8:0:1::ff01")));
}

}  // namespace
}  // namespace ferry::l2announce
