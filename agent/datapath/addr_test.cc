#include "agent/datapath/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "gtest/gtest.h"

namespace ferry::datapath {
namespace {

net::IpAddress Address(absl::string_view text) { return net::IpAddress::Parse(text).value(); }

TEST(AddressTest, Ipv4FillsTheFirstFourBytesOfTheMapKey) {
  const ferry_addr_key key = ToMapKey(Address("198.18.0.7"));
  EXPECT_EQ(key.family, FERRY_FAMILY_IPV4);
  EXPECT_EQ(key.addr.v4, htonl(0xc6120007));
  for (int i = 4; i < 16; ++i) EXPECT_EQ(key.addr.bytes[i], 0) << "byte " << i;
}

TEST(AddressTest, Ipv6FillsAllSixteenBytes) {
  const ferry_addr_key key = ToMapKey(Address("2001:db8:0:1::2"));
  EXPECT_EQ(key.family, FERRY_FAMILY_IPV6);
  EXPECT_EQ(key.addr.bytes[0], 0x20);
  EXPECT_EQ(key.addr.bytes[1], 0x01);
  EXPECT_EQ(key.addr.bytes[15], 0x02);
}

TEST(AddressTest, RoundTripsThroughTheMapKey) {
  for (const char* text : {"198.18.0.1", "0.0.0.0", "2001:db8::1", "::", "2001:db8:16:1::a"}) {
    const ferry_addr_key key = ToMapKey(Address(text));
    absl::StatusOr<net::IpAddress> back = FromMapKey(key);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    EXPECT_EQ(*back, Address(text));
    EXPECT_EQ(FormatAddress(key.addr, key.family), text);
  }
}

// Ferry never writes an IPv4-mapped IPv6 address (net::IpAddress refuses
// the text), so such bytes in a map are damage, as are an unknown family and
// an IPv4 address with bytes past its fourth.
TEST(AddressTest, MapBytesFerryNeverWritesAreErrors) {
  ferry_addr_key mapped = ToMapKey(Address("2001:db8::1"));
  const uint8_t v4_mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1};
  std::copy(std::begin(v4_mapped), std::end(v4_mapped), mapped.addr.bytes);
  EXPECT_TRUE(absl::IsDataLoss(FromMapKey(mapped).status()));
  EXPECT_NE(FromMapKey(mapped).status().message().find("IPv4-mapped"), absl::string_view::npos);

  ferry_addr_key none = ToMapKey(Address("198.18.0.1"));
  none.family = FERRY_FAMILY_NONE;
  EXPECT_TRUE(absl::IsDataLoss(FromMapKey(none).status()));

  ferry_addr_key long_v4 = ToMapKey(Address("198.18.0.1"));
  long_v4.addr.bytes[4] = 1;
  EXPECT_TRUE(absl::IsDataLoss(FromMapKey(long_v4).status()));
}

TEST(AddressTest, FormatsEndpointsWithBracketsForIpv6) {
  const ferry_addr_key v4 = ToMapKey(Address("198.18.17.2"));
  const ferry_addr_key v6 = ToMapKey(Address("2001:db8::5"));
  EXPECT_EQ(FormatEndpoint(v4.addr, v4.family, htons(8080)), "198.18.17.2:8080");
  EXPECT_EQ(FormatEndpoint(v6.addr, v6.family, htons(443)), "[2001:db8::5]:443");
  // The two spellings must agree: Maglev tables hash this text, both when
  // the agent plans them and when it recovers them from the maps.
  EXPECT_EQ(FormatEndpoint(Address("198.18.17.2"), 8080), "198.18.17.2:8080");
  EXPECT_EQ(FormatEndpoint(Address("2001:db8::5"), 443), "[2001:db8::5]:443");
}

TEST(AddressTest, UnknownFamilyFormatsEmpty) {
  const ferry_addr_key v4 = ToMapKey(Address("198.18.17.2"));
  EXPECT_EQ(FormatAddress(v4.addr, FERRY_FAMILY_NONE), "");
  EXPECT_EQ(ToAddressFamily(FERRY_FAMILY_NONE), AF_UNSPEC);
  EXPECT_EQ(ToAddressFamily(FERRY_FAMILY_IPV6), AF_INET6);
}

TEST(ProtocolTest, NamesAndParses) {
  EXPECT_EQ(ProtocolName(IPPROTO_TCP), "tcp");
  EXPECT_EQ(ProtocolName(IPPROTO_UDP), "udp");
  EXPECT_EQ(ProtocolName(132), "132");
  EXPECT_EQ(*ParseProtocol("udp"), IPPROTO_UDP);
  EXPECT_TRUE(absl::IsInvalidArgument(ParseProtocol("sctp").status()));
}

TEST(FrontendKeyTest, PutsThePortInNetworkOrder) {
  const ferry_frontend_key key = MakeFrontendKey(Address("2001:db8:19::10"), 80, IPPROTO_TCP);
  EXPECT_EQ(key.port, htons(80));
  EXPECT_EQ(key.proto, IPPROTO_TCP);
  EXPECT_EQ(key.family, FERRY_FAMILY_IPV6);
  EXPECT_EQ(FormatAddress(key.vip, key.family), "2001:db8:19::10");
}

}  // namespace
}  // namespace ferry::datapath
