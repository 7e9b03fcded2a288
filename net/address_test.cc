#include "net/address.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::net {
namespace {

using ::testing::HasSubstr;

std::string ParseError(absl::string_view text) {
  absl::StatusOr<IpAddress> parsed = IpAddress::Parse(text);
  EXPECT_FALSE(parsed.ok()) << text << " parsed as " << *parsed;
  return std::string(parsed.status().message());
}

std::string PrefixError(absl::string_view text) {
  absl::StatusOr<IpPrefix> parsed = IpPrefix::Parse(text);
  EXPECT_FALSE(parsed.ok()) << text << " parsed as " << *parsed;
  return std::string(parsed.status().message());
}

TEST(AddressTest, ParsesBothFamiliesToCanonicalText) {
  absl::StatusOr<IpAddress> v4 = IpAddress::Parse("198.18.0.11");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->family, IpFamily::kIPv4);
  EXPECT_EQ(v4->ToString(), "198.18.0.11");

  absl::StatusOr<IpAddress> v6 = IpAddress::Parse("2001:DB8:0:1:0:0:0:11");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->family, IpFamily::kIPv6);
  EXPECT_EQ(v6->ToString(), "2001:db8:0:1::11");
  EXPECT_EQ(*v6, *IpAddress::Parse("2001:db8:0:1::11"));
}

TEST(AddressTest, RejectsWhatIsNotOneAddress) {
  EXPECT_EQ(ParseError("198.18.0.300"), "\"198.18.0.300\" is not an IP address");
  EXPECT_EQ(ParseError("198.18.0.011"), "\"198.18.0.011\" is not an IP address");
  EXPECT_EQ(ParseError("198.18.0.0/24"), "\"198.18.0.0/24\" is not an IP address");
  EXPECT_EQ(ParseError(" 198.18.0.1"), "\" 198.18.0.1\" is not an IP address");
  EXPECT_EQ(ParseError("[2001:db8::1]"), "\"[2001:db8::1]\" is not an IP address");
  EXPECT_EQ(ParseError(""), "\"\" is not an IP address");
  EXPECT_EQ(ParseError("::ffff:198.18.0.1"),
            "\"::ffff:198.18.0.1\" is an IPv4-mapped IPv6 address; write the IPv4 address instead");
}

TEST(AddressTest, OrdersIpv4BeforeIpv6AndByValue) {
  EXPECT_LT(*IpAddress::Parse("198.18.17.10"), *IpAddress::Parse("198.18.18.9"));
  EXPECT_LT(*IpAddress::Parse("255.255.255.255"), *IpAddress::Parse("::1"));
}

TEST(AddressTest, ParsesPrefixes) {
  absl::StatusOr<IpPrefix> v4 = IpPrefix::Parse("198.18.17.0/24");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->length, 24);
  EXPECT_EQ(v4->ToString(), "198.18.17.0/24");
  absl::StatusOr<IpPrefix> v6 = IpPrefix::Parse("2001:db8:16:1::/64");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->ToString(), "2001:db8:16:1::/64");
  EXPECT_TRUE(IpPrefix::Parse("0.0.0.0/0").ok());
  EXPECT_TRUE(IpPrefix::Parse("2001:db8::1/128").ok());
}

TEST(AddressTest, RejectsMalformedPrefixes) {
  EXPECT_EQ(PrefixError("198.18.17.0"), "\"198.18.17.0\" is not a CIDR prefix (address/length)");
  EXPECT_EQ(PrefixError("198.18.17.0/x"),
            "\"198.18.17.0/x\" is not a CIDR prefix (address/length)");
  EXPECT_EQ(PrefixError("198.18.17.0/33"),
            "\"198.18.17.0/33\": the prefix length must be 0-32 for IPv4");
  EXPECT_EQ(PrefixError("2001:db8::/129"),
            "\"2001:db8::/129\": the prefix length must be 0-128 for IPv6");
  EXPECT_EQ(PrefixError("198.18.17.1/24"),
            "\"198.18.17.1/24\" has host bits set; did you mean 198.18.17.0/24?");
  EXPECT_EQ(PrefixError("2001:db8:16:1::1/64"),
            "\"2001:db8:16:1::1/64\" has host bits set; did you mean 2001:db8:16:1::/64?");
  EXPECT_THAT(PrefixError("198.18.300.0/24"), HasSubstr("is not an IP address"));
}

}  // namespace
}  // namespace ferry::net
