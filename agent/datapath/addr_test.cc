#include "agent/datapath/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "gtest/gtest.h"

namespace ferry::datapath {
namespace {

TEST(AddressTest, ParsesIpv4IntoTheFirstFourBytes) {
  absl::StatusOr<IpAddress> address = ParseAddress("198.18.0.7");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(address->family, FERRY_FAMILY_IPV4);
  EXPECT_EQ(address->addr.v4, htonl(0xc6120007));
  for (int i = 4; i < 16; ++i) EXPECT_EQ(address->addr.bytes[i], 0) << "byte " << i;
}

TEST(AddressTest, ParsesIpv6) {
  absl::StatusOr<IpAddress> address = ParseAddress("2001:db8:0:1::2");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(address->family, FERRY_FAMILY_IPV6);
  EXPECT_EQ(address->addr.bytes[0], 0x20);
  EXPECT_EQ(address->addr.bytes[1], 0x01);
  EXPECT_EQ(address->addr.bytes[15], 0x02);
}

TEST(AddressTest, RoundTripsThroughText) {
  for (const char* text : {"198.18.0.1", "0.0.0.0", "2001:db8::1", "::", "2001:db8:16:1::a"}) {
    absl::StatusOr<IpAddress> address = ParseAddress(text);
    ASSERT_TRUE(address.ok()) << text;
    EXPECT_EQ(FormatAddress(*address), text);
  }
}

TEST(AddressTest, RejectsWhatIsNotAnAddress) {
  for (const char* text : {"", "198.18.0", "198.18.0.256", "198.18.0.1/24", "host", "2001:db8::g"}) {
    absl::StatusOr<IpAddress> address = ParseAddress(text);
    EXPECT_TRUE(absl::IsInvalidArgument(address.status())) << text;
  }
}

TEST(AddressTest, FormatsEndpointsWithBracketsForIpv6) {
  const IpAddress v4 = *ParseAddress("198.18.17.2");
  const IpAddress v6 = *ParseAddress("2001:db8::5");
  EXPECT_EQ(FormatEndpoint(v4.addr, v4.family, htons(8080)), "198.18.17.2:8080");
  EXPECT_EQ(FormatEndpoint(v6.addr, v6.family, htons(443)), "[2001:db8::5]:443");
}

TEST(AddressTest, UnknownFamilyFormatsEmpty) {
  const IpAddress v4 = *ParseAddress("198.18.17.2");
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
  const IpAddress vip = *ParseAddress("2001:db8:19::10");
  const ferry_frontend_key key = MakeFrontendKey(vip, 80, IPPROTO_TCP);
  EXPECT_EQ(key.port, htons(80));
  EXPECT_EQ(key.proto, IPPROTO_TCP);
  EXPECT_EQ(key.family, FERRY_FAMILY_IPV6);
  EXPECT_EQ(FormatAddress(key.vip, key.family), "2001:db8:19::10");
}

}  // namespace
}  // namespace ferry::datapath
