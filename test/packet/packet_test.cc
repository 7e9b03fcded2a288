#include <cstring>
#include <stdexcept>

#include "gtest/gtest.h"
#include "test/packet/address.h"
#include "test/packet/builder.h"
#include "test/packet/checksum.h"
#include "test/packet/decoder.h"
#include "test/packet/packet_matchers.h"
#include "test/packet/wire.h"

namespace ferry::packet {
namespace {

using wire::Get16;

const MacAddress kClientMac = "02:00:00:00:00:01";
const MacAddress kRouterMac = "02:00:00:00:00:02";

DecodedPacket DecodeOk(const Bytes& bytes, FirstLayer first = FirstLayer::kEthernet) {
  absl::StatusOr<DecodedPacket> decoded = Decode(bytes, first);
  EXPECT_TRUE(decoded.ok()) << decoded.status() << "\n" << HexDump(bytes);
  return decoded.ok() ? *decoded : DecodedPacket{};
}

// --- Checksums against published or independently verified values. -------

// RFC 1071 §3's worked example: the words 0001 f203 f4f5 f6f7 sum to ddf2.
TEST(Checksum, Rfc1071Example) {
  const Bytes words = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ChecksumAdd(0, words), 0x2ddf0u);
  EXPECT_EQ(InternetChecksum(words), 0x220d);
}

// An odd trailing byte counts as the high byte of a zero-padded word.
TEST(Checksum, OddLengthPadsWithZero) {
  const Bytes odd = {0x12, 0x34, 0x56};
  const Bytes padded = {0x12, 0x34, 0x56, 0x00};
  EXPECT_EQ(InternetChecksum(odd), InternetChecksum(padded));
  EXPECT_EQ(InternetChecksum(odd), static_cast<uint16_t>(~(0x1234 + 0x5600)));
}

// The widely quoted IPv4 header example (192.168.0.1 -> 192.168.0.199, UDP,
// total length 0x73, DF) has checksum b861.
TEST(Checksum, KnownIpv4Header) {
  const Bytes packet = Packet()
                           .IPv4("192.168.0.1", "192.168.0.199", {.dont_fragment = true, .protocol = 17})
                           .PayloadOfSize(0x73 - 20)
                           .Build();
  const Bytes expected_header = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(Bytes(packet.begin(), packet.begin() + 20), expected_header);
}

// The values below were checked with tcpdump -vvv, which recomputes each
// checksum and prints "correct" / "sum ok".
TEST(Checksum, KnownIpv4TcpSyn) {
  const Bytes frame = Packet()
                          .Eth(kClientMac, kRouterMac)
                          .IPv4("198.18.100.1", "198.19.0.1", {.id = 1, .dont_fragment = true})
                          .TCP(40000, 80, kTcpSyn, {.seq = 1000})
                          .Build();
  ASSERT_EQ(frame.size(), 54u);
  EXPECT_EQ(Get16(frame, 14 + 10), 0x4aa7);
  EXPECT_EQ(Get16(frame, 34 + 16), 0x1f42);
}

TEST(Checksum, KnownIpv4Udp) {
  const Bytes frame = Packet()
                          .Eth(kClientMac, kRouterMac)
                          .IPv4("198.18.100.1", "198.19.0.1", {.id = 2})
                          .UDP(40000, 53)
                          .Payload("hello")
                          .Build();
  EXPECT_EQ(Get16(frame, 14 + 10), 0x8aa2);
  EXPECT_EQ(Get16(frame, 34 + 6), 0x2f64);
}

TEST(Checksum, KnownIpv6TcpAndUdp) {
  const Bytes tcp = Packet()
                        .Eth(kClientMac, kRouterMac)
                        .IPv6("2001:db8:100::1", "2001:db8:19::1")
                        .TCP(40000, 443, kTcpSyn | kTcpAck, {.seq = 7, .ack = 9})
                        .Payload("x")
                        .Build();
  EXPECT_EQ(Get16(tcp, 54 + 16), 0x3d39);
  const Bytes udp = Packet()
                        .Eth(kClientMac, kRouterMac)
                        .IPv6("2001:db8:100::1", "2001:db8:19::1")
                        .UDP(40000, 53)
                        .Payload("hello")
                        .Build();
  EXPECT_EQ(Get16(udp, 54 + 6), 0xc2ff);
}

TEST(Checksum, KnownIcmpEcho) {
  const Bytes v4 = Packet()
                       .Eth(kClientMac, kRouterMac)
                       .IPv4("198.18.100.1", "198.19.0.1")
                       .ICMPv4(8, 0, 0x00010002, {1, 2, 3})
                       .Build();
  EXPECT_EQ(Get16(v4, 34 + 2), 0xf3fa);
  const Bytes v6 = Packet()
                       .Eth(kClientMac, kRouterMac)
                       .IPv6("2001:db8:100::1", "2001:db8:19::1")
                       .ICMPv6(128, 0, 0x00010002, {1, 2, 3})
                       .Build();
  EXPECT_EQ(Get16(v6, 54 + 2), 0x1f28);
}

// --- Round trips: build, decode, compare every field that was set. --------

TEST(RoundTrip, Ipv4TcpWithPayload) {
  const Bytes frame = Packet()
                          .Eth(kClientMac, kRouterMac)
                          .IPv4("198.18.100.1", "198.19.0.1", {.ttl = 17, .tos = 0x10, .id = 4321, .dont_fragment = true})
                          .TCP(40000, 80, kTcpPsh | kTcpAck, {.seq = 11, .ack = 22, .window = 512})
                          .Payload("GET / HTTP/1.0\r\n\r\n")
                          .Build();
  const DecodedPacket d = DecodeOk(frame);
  ASSERT_TRUE(d.eth && d.ip && d.tcp());
  EXPECT_EQ(d.eth->src, kClientMac);
  EXPECT_EQ(d.eth->dst, kRouterMac);
  EXPECT_EQ(d.eth->ether_type, 0x0800);
  EXPECT_EQ(d.ip->src, IpAddress("198.18.100.1"));
  EXPECT_EQ(d.ip->dst, IpAddress("198.19.0.1"));
  EXPECT_EQ(d.ip->ttl, 17);
  EXPECT_EQ(d.ip->tos, 0x10);
  EXPECT_EQ(d.ip->id, 4321u);
  EXPECT_TRUE(d.ip->dont_fragment);
  EXPECT_FALSE(d.ip->more_fragments);
  EXPECT_EQ(d.ip->total_length, frame.size() - 14);
  EXPECT_EQ(d.tcp()->sport, 40000);
  EXPECT_EQ(d.tcp()->dport, 80);
  EXPECT_EQ(d.tcp()->seq, 11u);
  EXPECT_EQ(d.tcp()->ack, 22u);
  EXPECT_EQ(d.tcp()->flags, kTcpPsh | kTcpAck);
  EXPECT_EQ(d.tcp()->window, 512);
  EXPECT_EQ(std::string(d.payload.begin(), d.payload.end()), "GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(d.checksums_ok()) << d.ToString();
}

TEST(RoundTrip, Ipv4OptionsSetTheIhl) {
  const Bytes router_alert = {0x94, 0x04, 0x00, 0x00};
  const Bytes frame = Packet()
                          .Eth(kClientMac, kRouterMac)
                          .IPv4("198.18.100.1", "198.19.0.1", {.options = {0x01, 0x01, 0x94, 0x04, 0x00}})
                          .UDP(1000, 53)
                          .Payload("q")
                          .Build();
  const DecodedPacket d = DecodeOk(frame);
  ASSERT_TRUE(d.ip && d.udp());
  EXPECT_EQ(d.ip->ihl, 7);  // 5 option bytes padded to 8
  EXPECT_EQ(d.ip->options, (Bytes{0x01, 0x01, 0x94, 0x04, 0x00, 0x00, 0x00, 0x00}));
  EXPECT_EQ(d.udp()->dport, 53);
  EXPECT_TRUE(d.checksums_ok()) << d.ToString();
}

TEST(RoundTrip, Ipv6UdpWithFlowLabel) {
  const Bytes frame = Packet()
                          .Eth(kClientMac, kRouterMac)
                          .IPv6("2001:db8:100::7", "2001:db8:19::1", {.hop_limit = 9, .traffic_class = 0xb8, .flow_label = 0xabcde})
                          .UDP(5353, 53)
                          .Payload("query")
                          .Build();
  const DecodedPacket d = DecodeOk(frame);
  ASSERT_TRUE(d.ip && d.udp());
  EXPECT_EQ(d.eth->ether_type, 0x86dd);
  EXPECT_EQ(d.ip->version, 6);
  EXPECT_EQ(d.ip->src, IpAddress("2001:db8:100::7"));
  EXPECT_EQ(d.ip->ttl, 9);
  EXPECT_EQ(d.ip->tos, 0xb8);
  EXPECT_EQ(d.ip->flow_label, 0xabcdeu);
  EXPECT_EQ(d.ip->payload_length, 8 + 5);
  EXPECT_EQ(d.udp()->length, 8 + 5);
  EXPECT_TRUE(d.checksums_ok()) << d.ToString();
}

TEST(RoundTrip, Ipv4Fragments) {
  const Bytes first = Packet()
                          .Eth(kClientMac, kRouterMac)
                          .IPv4("198.18.100.1", "198.19.0.1", {.id = 99, .more_fragments = true})
                          .UDP(1000, 53, {.length = 8 + 24})
                          .PayloadOfSize(16)
                          .Build();
  const DecodedPacket d1 = DecodeOk(first);
  ASSERT_TRUE(d1.udp());
  EXPECT_TRUE(d1.ip->is_fragment());
  EXPECT_EQ(d1.udp()->dport, 53);
  // The UDP checksum covers all fragments: not verifiable on the first.
  EXPECT_TRUE(d1.checksums_ok()) << d1.ToString();

  const Bytes later = Packet()
                          .Eth(kClientMac, kRouterMac)
                          .IPv4("198.18.100.1", "198.19.0.1", {.id = 99, .fragment_offset = 3, .protocol = 17})
                          .PayloadOfSize(8)
                          .Build();
  const DecodedPacket d2 = DecodeOk(later);
  EXPECT_EQ(d2.ip->fragment_offset, 3);
  EXPECT_EQ(d2.ip->protocol, 17);
  EXPECT_EQ(d2.ip->id, 99u);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(d2.l4));
  EXPECT_EQ(d2.payload.size(), 8u);
}

TEST(RoundTrip, Ipv6FragmentHeader) {
  const Bytes later = Packet()
                          .Eth(kClientMac, kRouterMac)
                          .IPv6("2001:db8:100::1", "2001:db8:19::1")
                          .IPv6Fragment(185, true, 0xdeadbeef, 17)
                          .Payload(Bytes(16, 0xaa))
                          .Build();
  const DecodedPacket d = DecodeOk(later);
  ASSERT_TRUE(d.ip);
  EXPECT_EQ(d.ip->next_header, 44);
  EXPECT_TRUE(d.ip->has_fragment_header);
  EXPECT_EQ(d.ip->fragment_offset, 185);
  EXPECT_TRUE(d.ip->more_fragments);
  EXPECT_EQ(d.ip->id, 0xdeadbeefu);
  EXPECT_EQ(d.ip->protocol, 17);
  EXPECT_EQ(d.ip->payload_length, 8 + 16);
  EXPECT_EQ(d.payload.size(), 16u);

  const Bytes first = Packet()
                          .Eth(kClientMac, kRouterMac)
                          .IPv6("2001:db8:100::1", "2001:db8:19::1")
                          .IPv6Fragment(0, true, 7)
                          .TCP(40000, 80, kTcpAck)
                          .PayloadOfSize(32)
                          .Build();
  const DecodedPacket f = DecodeOk(first);
  ASSERT_TRUE(f.tcp());
  EXPECT_EQ(f.ip->protocol, 6);
  EXPECT_EQ(f.tcp()->dport, 80);
}

struct EncapCase {
  const char* name;
  IpAddress outer_src, outer_dst, inner_src, inner_dst;
  uint8_t outer_protocol;
};

void PrintTo(const EncapCase& c, std::ostream* os) { *os << c.name; }

class Encapsulation : public ::testing::TestWithParam<EncapCase> {};

// An IP layer after an IP layer is IP in IP: the outer header names the
// inner family, and the inner packet comes back byte for byte.
TEST_P(Encapsulation, RoundTrip) {
  const EncapCase& c = GetParam();
  auto ip = [](Packet& p, const IpAddress& src, const IpAddress& dst) -> Packet& {
    return src.is_v4() ? p.IPv4(src, dst, {.dont_fragment = true}) : p.IPv6(src, dst);
  };
  Packet inner;
  ip(inner, c.inner_src, c.inner_dst).TCP(40000, 443, kTcpSyn).Payload("hi");
  Packet outer;
  ip(outer.Eth(kClientMac, kRouterMac), c.outer_src, c.outer_dst).Append(inner);
  const Bytes frame = outer.Build();
  const Bytes inner_bytes = inner.Build();
  const DecodedPacket d = DecodeOk(frame);
  ASSERT_TRUE(d.ip && d.inner_ip && d.tcp()) << d.ToString();
  EXPECT_EQ(d.ip->protocol, c.outer_protocol);
  EXPECT_EQ(d.ip->src, c.outer_src);
  EXPECT_EQ(d.inner_ip->dst, c.inner_dst);
  EXPECT_EQ(d.ip->total_length, d.ip->header_length + inner_bytes.size());
  EXPECT_EQ(d.tcp()->dport, 443);
  EXPECT_TRUE(d.checksums_ok()) << d.ToString();
  const size_t inner_offset = 14 + d.ip->header_length;
  EXPECT_IP_PACKET_EQ(inner_bytes, std::span(frame).subspan(inner_offset));
}

INSTANTIATE_TEST_SUITE_P(
    AllFamilies, Encapsulation,
    ::testing::Values(EncapCase{"ipip", "198.18.0.1", "198.18.0.2", "198.18.100.1", "198.19.0.1", 4},
                      EncapCase{"ip6ip6", "2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:100::1",
                                "2001:db8:19::1", 41},
                      EncapCase{"4in6", "2001:db8:0:1::1", "2001:db8:0:1::2", "198.18.100.1", "198.19.0.1", 4},
                      EncapCase{"6in4", "198.18.0.1", "198.18.0.2", "2001:db8:100::1", "2001:db8:19::1", 41}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(RoundTrip, IcmpFragmentationNeededQuotesHeaderAndEightBytes) {
  const Packet invoking = Packet()
                              .IPv4("198.19.0.1", "198.18.100.1", {.dont_fragment = true})
                              .TCP(80, 40000, kTcpAck, {.seq = 0x01020304})
                              .PayloadOfSize(1400);
  const Bytes frame = Packet()
                          .Eth(kRouterMac, kClientMac)
                          .IPv4("198.18.0.254", "198.19.0.1")
                          .Icmp4FragmentationNeeded(1400, invoking)
                          .Build();
  const DecodedPacket d = DecodeOk(frame);
  ASSERT_TRUE(d.icmp());
  EXPECT_EQ(d.icmp()->type, 3);
  EXPECT_EQ(d.icmp()->code, 4);
  EXPECT_EQ(d.icmp()->rest_of_header, 1400u);
  EXPECT_EQ(d.icmp()->body.size(), 20u + 8u);
  ASSERT_TRUE(d.icmp()->quoted);
  const DecodedPacket& q = *d.icmp()->quoted;
  ASSERT_TRUE(q.ip && q.tcp());
  EXPECT_EQ(q.ip->src, IpAddress("198.19.0.1"));
  EXPECT_EQ(q.ip->total_length, 20u + 20u + 1400u);
  EXPECT_EQ(q.tcp()->sport, 80);
  EXPECT_EQ(q.tcp()->dport, 40000);
  EXPECT_EQ(q.tcp()->seq, 0x01020304u);
  EXPECT_TRUE(d.checksums_ok()) << d.ToString();
}

TEST(RoundTrip, Icmp6PacketTooBigQuotesUpToTheMinimumMtu) {
  const Packet invoking =
      Packet().IPv6("2001:db8:19::1", "2001:db8:100::1").UDP(53, 5353).PayloadOfSize(1400);
  const Bytes frame = Packet()
                          .Eth(kRouterMac, kClientMac)
                          .IPv6("2001:db8:0:1::fe", "2001:db8:19::1")
                          .Icmp6PacketTooBig(1280, invoking)
                          .Build();
  const DecodedPacket d = DecodeOk(frame);
  ASSERT_TRUE(d.icmp());
  EXPECT_TRUE(d.icmp()->v6);
  EXPECT_EQ(d.icmp()->type, 2);
  EXPECT_EQ(d.icmp()->rest_of_header, 1280u);
  EXPECT_EQ(frame.size() - 14, 1280u);
  ASSERT_TRUE(d.icmp()->quoted);
  ASSERT_TRUE(d.icmp()->quoted->udp());
  EXPECT_EQ(d.icmp()->quoted->udp()->sport, 53);
  EXPECT_TRUE(d.checksums_ok()) << d.ToString();
}

TEST(RoundTrip, ArpAndNonIp) {
  const Bytes arp = Packet()
                        .Eth(kClientMac, "ff:ff:ff:ff:ff:ff")
                        .Arp(kArpRequest, kClientMac, "198.18.0.10", "00:00:00:00:00:00", "198.18.0.1")
                        .Build();
  const DecodedPacket a = DecodeOk(arp);
  ASSERT_TRUE(a.arp);
  EXPECT_EQ(a.eth->ether_type, 0x0806);
  EXPECT_EQ(a.arp->operation, kArpRequest);
  EXPECT_EQ(a.arp->sender_ip, IpAddress("198.18.0.10"));
  EXPECT_EQ(a.arp->target_ip, IpAddress("198.18.0.1"));

  const Bytes raw = Packet().Eth(kClientMac, kRouterMac).Payload("not ip").Build();
  const DecodedPacket r = DecodeOk(raw);
  EXPECT_EQ(r.eth->ether_type, kExperimentalEtherType);
  EXPECT_FALSE(r.ip);
  EXPECT_EQ(std::string(r.payload.begin(), r.payload.end()), "not ip");
}

// --- Deliberately broken packets. -------------------------------------------

TEST(Broken, UdpZeroChecksumIsValidOverIpv4Only) {
  const Bytes v4 = Packet().IPv4("198.18.100.1", "198.19.0.1").UDP(1, 2, {.checksum = 0}).Payload("x").Build();
  EXPECT_TRUE(DecodeOk(v4, FirstLayer::kIp).checksums_ok());
  const Bytes v6 = Packet().IPv6("2001:db8:100::1", "2001:db8:19::1").UDP(1, 2, {.checksum = 0}).Payload("x").Build();
  const DecodedPacket d = DecodeOk(v6, FirstLayer::kIp);
  ASSERT_EQ(d.checksum_errors.size(), 1u);
  EXPECT_EQ(d.checksum_errors[0].rfind("udp.checksum 0x0000, should be", 0), 0u) << d.checksum_errors[0];
}

TEST(Broken, WrongChecksumsAreNamedWithTheRightValue) {
  const Bytes frame = Packet()
                          .Eth(kClientMac, kRouterMac)
                          .IPv4("198.18.100.1", "198.19.0.1", {.id = 1, .dont_fragment = true, .checksum = 0x1111})
                          .TCP(40000, 80, kTcpSyn, {.seq = 1000, .checksum = 0x2222})
                          .Build();
  const DecodedPacket d = DecodeOk(frame);
  EXPECT_EQ(d.checksum_errors,
            (std::vector<std::string>{"ip.checksum 0x1111, should be 0x4aa7", "tcp.checksum 0x2222, should be 0x1f42"}));
  EXPECT_FALSE(ChecksumsOk(frame));
}

TEST(Broken, TruncatedKeepsTheAnnouncedLengths) {
  const Packet full = Packet().Eth(kClientMac, kRouterMac).IPv4("198.18.100.1", "198.19.0.1").TCP(1, 2, kTcpSyn);
  const Bytes whole = full.Build();
  Packet cut = full;
  const Bytes truncated = cut.Truncate(14 + 20 + 10).Build();
  ASSERT_EQ(truncated.size(), 44u);
  EXPECT_TRUE(std::equal(truncated.begin(), truncated.end(), whole.begin()));
  const absl::StatusOr<DecodedPacket> d = Decode(truncated);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "ip IPv4 total length needs 40 bytes, only 30 present");
}

TEST(Broken, TruncatedTcpHeaderIsRejected) {
  const Bytes bytes = Packet()
                          .IPv4("198.18.100.1", "198.19.0.1", {.total_length = 30})
                          .TCP(1, 2, kTcpSyn)
                          .Truncate(30)
                          .Build();
  const absl::StatusOr<DecodedPacket> d = Decode(bytes, FirstLayer::kIp);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "TCP header needs 20 bytes, only 10 present");
}

TEST(Broken, IhlBelowFiveIsRejected) {
  const Bytes bytes = Packet().IPv4("198.18.100.1", "198.19.0.1", {.ihl = 4}).UDP(1, 2).Build();
  EXPECT_EQ(bytes[0], 0x44);
  const absl::StatusOr<DecodedPacket> d = Decode(bytes, FirstLayer::kIp);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "ip IHL is 4, below 5");
}

TEST(Broken, LengthOverridesAreWrittenAsGiven) {
  const Bytes v4 = Packet().IPv4("198.18.100.1", "198.19.0.1", {.total_length = 1000}).UDP(1, 2).Build();
  EXPECT_EQ(Get16(v4, 2), 1000);
  EXPECT_FALSE(Decode(v4, FirstLayer::kIp).ok());
  const Bytes udp = Packet().IPv4("198.18.100.1", "198.19.0.1").UDP(1, 2, {.length = 4}).Build();
  const absl::StatusOr<DecodedPacket> d = Decode(udp, FirstLayer::kIp);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "UDP length 4 does not fit the 8 bytes the IP header carries");
  const Bytes tcp = Packet().IPv4("198.18.100.1", "198.19.0.1").TCP(1, 2, 0, {.data_offset = 15}).Build();
  EXPECT_FALSE(Decode(tcp, FirstLayer::kIp).ok());
}

TEST(Broken, BuilderRejectsMisuse) {
  EXPECT_THROW(Packet().IPv4("2001:db8::1", "198.18.0.1"), std::invalid_argument);
  EXPECT_THROW(Packet().UDP(1, 2).Build(), std::logic_error);
  EXPECT_THROW(Packet().ICMPv4(3, 4, 0).Icmp4FragmentationNeeded(1400, Packet().IPv6("2001:db8::1", "2001:db8::2")),
               std::invalid_argument);
}

// --- Addresses. ------------------------------------------------------------

TEST(Address, Ipv4FillsTheFirstFourBytesOfFerryAddr) {
  const union ferry_addr addr = IpAddress("198.18.0.1").ToFerry();
  const uint8_t expected[16] = {198, 18, 0, 1};
  EXPECT_EQ(std::memcmp(addr.bytes, expected, 16), 0);
  const struct ferry_addr_key key = IpAddress("198.18.0.1").ToFerryKey();
  EXPECT_EQ(key.family, FERRY_FAMILY_IPV4);
  EXPECT_EQ(IpAddress::FromFerry(addr, FERRY_FAMILY_IPV4).ToString(), "198.18.0.1");
}

TEST(Address, Ipv6FillsAllSixteenBytes) {
  const union ferry_addr addr = IpAddress("2001:db8::1").ToFerry();
  const uint8_t expected[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(std::memcmp(addr.bytes, expected, 16), 0);
  EXPECT_EQ(IpAddress::FromFerry(addr, FERRY_FAMILY_IPV6).ToString(), "2001:db8::1");
}

TEST(Address, BadTextIsRejected) {
  EXPECT_FALSE(IpAddress::Parse("198.18.0.300").ok());
  EXPECT_FALSE(IpAddress::Parse("2001:db8::1::2").ok());
  EXPECT_EQ(IpAddress::Parse("nope").status().message(), "\"nope\" is not an IP address");
  // Ferry's one rule for IPv4-mapped IPv6, in the tests' literals too.
  EXPECT_FALSE(IpAddress::Parse("::ffff:198.18.0.1").ok());
  EXPECT_THROW(IpAddress("198.18.0"), std::invalid_argument);
}

TEST(Address, MacParsesAndPrints) {
  const absl::StatusOr<MacAddress> mac = MacAddress::Parse("02:aB:00:00:10:ff");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->bytes, (std::array<uint8_t, 6>{0x02, 0xab, 0x00, 0x00, 0x10, 0xff}));
  EXPECT_EQ(mac->ToString(), "02:ab:00:00:10:ff");
  EXPECT_FALSE(MacAddress::Parse("02:00:00:00:00").ok());
  EXPECT_FALSE(MacAddress::Parse("02:00:00:00:00:0g").ok());
  EXPECT_FALSE(MacAddress::Parse("002:00:00:00:00:00").ok());
}

// --- The comparison helper. -------------------------------------------------

TEST(PacketEqTest, MismatchShowsBothPacketsFieldByField) {
  const Bytes want = Packet().Eth(kClientMac, kRouterMac).IPv4("198.18.100.1", "198.19.0.1").UDP(1, 2).Build();
  const Bytes got =
      Packet().Eth(kClientMac, kRouterMac).IPv4("198.18.100.1", "198.19.0.1", {.ttl = 63}).UDP(1, 2).Build();
  EXPECT_TRUE(PacketEq(FirstLayer::kEthernet)("want", "want", want, want));
  const ::testing::AssertionResult result = PacketEq(FirstLayer::kEthernet)("want", "got", want, got);
  ASSERT_FALSE(result);
  const std::string message = result.message();
  EXPECT_NE(message.find("! ip.ttl"), std::string::npos) << message;
  EXPECT_NE(message.find("  ip.src"), std::string::npos) << message;
  EXPECT_NE(message.find("first differing byte at offset 22: expected 0x40, actual 0x3f"), std::string::npos)
      << message;
}

TEST(PacketEqTest, FieldsOnlyOneSideHasAreShown) {
  const Bytes want = Packet().Eth(kClientMac, kRouterMac).IPv4("198.18.100.1", "198.19.0.1").UDP(1, 2).Build();
  const Bytes got = Packet().Eth(kClientMac, kRouterMac).IPv4("198.18.100.1", "198.19.0.1").TCP(1, 2, 0).Build();
  const std::string message = PacketEq(FirstLayer::kEthernet)("want", "got", want, got).message();
  EXPECT_NE(message.find("! udp.sport"), std::string::npos) << message;
  EXPECT_NE(message.find("(absent)"), std::string::npos) << message;
  EXPECT_NE(message.find("! tcp.flags"), std::string::npos) << message;
}

}  // namespace
}  // namespace ferry::packet
