#include "ipam/free_ranges.h"

#include "gtest/gtest.h"
#include "ipam/ipam_testing.h"

namespace ferry::ipam {
namespace {

using testing::Ip;

TEST(FreeRangesTest, IntegersRoundTripInBothFamilies) {
  EXPECT_EQ(ToInteger(Ip("198.19.0.1")), absl::uint128(0xC6130001));
  EXPECT_EQ(FromInteger(IpFamily::kIPv4, 0xC6130001), Ip("198.19.0.1"));
  EXPECT_EQ(FromInteger(IpFamily::kIPv6, ToInteger(Ip("2001:db8:19::ff"))), Ip("2001:db8:19::ff"));
  EXPECT_EQ(ToInteger(Ip("2001:db8:19::ff")) & 0xffff, absl::uint128(0xff));
}

TEST(FreeRangesTest, LowestThenTakeThenReleaseMerges) {
  FreeRanges free({{10, 12}, {20, 20}}, /*skip_buggy=*/false);
  EXPECT_EQ(free.Lowest(), absl::uint128(10));
  EXPECT_TRUE(free.Take(11));
  EXPECT_FALSE(free.Take(11));
  EXPECT_FALSE(free.Take(13));
  EXPECT_TRUE(free.Take(10));
  EXPECT_EQ(free.Lowest(), absl::uint128(12));
  EXPECT_TRUE(free.Take(12));
  EXPECT_TRUE(free.Take(20));
  EXPECT_EQ(free.Lowest(), std::nullopt);
  free.Release(11);
  free.Release(10);
  free.Release(12);
  EXPECT_EQ(free.Lowest(), absl::uint128(10));
  EXPECT_TRUE(free.Take(10));
  EXPECT_TRUE(free.Take(12));
  EXPECT_TRUE(free.Take(11));
}

TEST(FreeRangesTest, SkipsBuggyAddressesEvenAcrossTheBoundary) {
  const absl::uint128 x254 = ToInteger(Ip("10.0.0.254"));
  FreeRanges free({{x254, ToInteger(Ip("10.0.1.2"))}}, /*skip_buggy=*/true);
  EXPECT_FALSE(free.Take(ToInteger(Ip("10.0.0.255"))));
  EXPECT_FALSE(free.Take(ToInteger(Ip("10.0.1.0"))));
  EXPECT_TRUE(free.Take(x254));
  EXPECT_EQ(free.Lowest(), ToInteger(Ip("10.0.1.1")));
}

TEST(FreeRangesTest, CountUsableIsArithmeticForHugeAndBuggyRanges) {
  EXPECT_EQ(CountUsable({0, (absl::uint128(1) << 80) - 1}, false), absl::uint128(1) << 80);
  EXPECT_EQ(CountUsable({0, absl::Uint128Max()}, false), absl::Uint128Max());
  // 198.19.0.0/16 less .0 and .255 of each /24: 256 * 254.
  EXPECT_EQ(CountUsable({ToInteger(Ip("198.19.0.0")), ToInteger(Ip("198.19.255.255"))}, true),
            absl::uint128(256 * 254));
  EXPECT_EQ(CountUsable({ToInteger(Ip("10.0.0.250")), ToInteger(Ip("10.0.1.3"))}, true),
            absl::uint128(8));
}

}  // namespace
}  // namespace ferry::ipam
