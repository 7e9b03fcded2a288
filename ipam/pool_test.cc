#include "ipam/pool.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ipam/ipam_testing.h"
#include "ipam/layout.h"

namespace ferry::ipam {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Ip;
using ::testing::IsEmpty;
using testing::Parsed;
using testing::PoolOf;

std::string ErrorOf(const PoolSpec& spec) {
  absl::StatusOr<Pool> pool = ParsePool(spec);
  EXPECT_FALSE(pool.ok());
  return pool.ok() ? "" : std::string(pool.status().message());
}

TEST(PoolTest, ParsesMixedFamiliesCidrsAndRanges) {
  const Pool pool = Parsed(PoolOf("lan", {"2001:db8:0:1::ff00/120", "198.18.0.192/26",
                                          "198.18.1.10-198.18.1.20"}));
  ASSERT_EQ(pool.blocks.size(), 3u);
  EXPECT_EQ(pool.blocks[0].ToString(), "198.18.0.192/26");
  EXPECT_EQ(pool.blocks[1].ToString(), "198.18.1.10-198.18.1.20");
  EXPECT_EQ(pool.blocks[2].last, Ip("2001:db8:0:1::ffff"));
}

TEST(PoolTest, ErrorsNameThePoolAndTheField) {
  EXPECT_EQ(ErrorOf(PoolOf("p", {"198.19.0.0/33"})),
            "LoadBalancerIPPool p: spec.blocks[0].cidr: \"198.19.0.0/33\": the prefix length must "
            "be 0-32 for IPv4");
  EXPECT_THAT(ErrorOf(PoolOf("p", {"198.19.0.1/16"})), HasSubstr("spec.blocks[0].cidr"));
  EXPECT_THAT(ErrorOf(PoolOf("p", {"198.18.0.9-198.18.0.1"})),
              HasSubstr("spec.blocks[0].start: \"198.18.0.9\" is after stop \"198.18.0.1\""));
  EXPECT_THAT(ErrorOf(PoolOf("p", {"198.18.0.1-2001:db8::1"})),
              HasSubstr("spec.blocks[0]: start 198.18.0.1 is IPv4 but stop 2001:db8::1 is IPv6"));
  EXPECT_THAT(ErrorOf(PoolOf("p", {"198.18.0.1-x"})), HasSubstr("spec.blocks[0].stop"));
  EXPECT_THAT(ErrorOf(PoolOf("p", {})), HasSubstr("spec.blocks: a pool needs at least one block"));
  EXPECT_THAT(ErrorOf(PoolOf("p", {"198.19.0.0/16", "198.19.1.0/24"})),
              HasSubstr("spec.blocks[1]: 198.19.1.0/24 overlaps 198.19.0.0/16 of the same pool"));
  PoolSpec both = PoolOf("p", {"198.19.0.0/16"});
  both.blocks[0].start = "198.19.0.1";
  EXPECT_THAT(ErrorOf(both), HasSubstr("spec.blocks[0]: set either cidr, or start and stop"));
}

TEST(PoolTest, ValidatePoolGivesEachProblemWithItsField) {
  PoolSpec spec = PoolOf("p", {"198.18.0.1-2001:db8::1", "198.19.0.0/33"});
  spec.service_selector.match_expressions = {{.key = "app", .operator_ = "Equals"}};
  EXPECT_THAT(
      ValidatePool(spec),
      ElementsAre(
          FieldError{"spec.blocks[0]",
                     "start 198.18.0.1 is IPv4 but stop 2001:db8::1 is IPv6; one block is one "
                     "family"},
          FieldError{"spec.blocks[1].cidr",
                     "\"198.19.0.0/33\": the prefix length must be 0-32 for IPv4"},
          FieldError{"spec.serviceSelector.matchExpressions[0].operator",
                     "\"Equals\" is not one of In, NotIn, Exists, DoesNotExist"}));
  EXPECT_THAT(ErrorOf(spec), HasSubstr("spec.serviceSelector.matchExpressions[0].operator"));
  EXPECT_THAT(ValidatePool(PoolOf("p", {"198.19.0.0/16"})), IsEmpty());
}

TEST(PoolTest, TheServiceSelectorIsParsed) {
  PoolSpec spec = PoolOf("p", {"198.19.0.0/16"});
  spec.service_selector.match_labels = {{"tier", "gold"}};
  const Pool pool = Parsed(spec);
  EXPECT_TRUE(pool.service_selector.Matches({{"tier", "gold"}}));
  EXPECT_FALSE(pool.service_selector.Matches({{"tier", "lead"}}));
}

TEST(PoolTest, FirstAndLastSkippedOnlyForIpv4CidrsOfSlash30AndWider) {
  Pool pool = Parsed(PoolOf("p", {"198.19.0.0/30", "198.19.1.0/31", "198.19.2.0-198.19.2.3"}));
  EXPECT_EQ(pool.GivableRange(pool.blocks[0]), (Range{ToInteger(Ip("198.19.0.1")), ToInteger(Ip("198.19.0.2"))}));
  EXPECT_EQ(pool.GivableRange(pool.blocks[1]), pool.blocks[1].Extent());
  EXPECT_EQ(pool.GivableRange(pool.blocks[2]), pool.blocks[2].Extent());
  pool.allow_first_last_ips = true;
  EXPECT_EQ(pool.GivableRange(pool.blocks[0]), pool.blocks[0].Extent());
}

TEST(PoolTest, Ipv6CidrsOfSlash126AndWiderSkipTheirSubnetRouterAnycastAddress) {
  Pool pool = Parsed(PoolOf("p", {"2001:db8:19::/48", "2001:db8:0:1::ff00/120", "2001:db8:1a::/126",
                                  "2001:db8:1b::/127", "2001:db8:1c::-2001:db8:1c::3"}));
  EXPECT_EQ(pool.GivableRange(pool.blocks[0]).first, ToInteger(Ip("2001:db8:0:1::ff01")));
  EXPECT_EQ(pool.GivableRange(pool.blocks[0]).last, ToInteger(Ip("2001:db8:0:1::ffff")));
  EXPECT_EQ(pool.GivableRange(pool.blocks[1]).first, ToInteger(Ip("2001:db8:19::1")));
  EXPECT_EQ(pool.GivableRange(pool.blocks[1]).last,
            ToInteger(Ip("2001:db8:19:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_EQ(pool.GivableRange(pool.blocks[2]),
            (Range{ToInteger(Ip("2001:db8:1a::1")), ToInteger(Ip("2001:db8:1a::3"))}));
  EXPECT_EQ(pool.GivableRange(pool.blocks[3]), pool.blocks[3].Extent()) << "RFC 6164: none on a /127";
  EXPECT_EQ(pool.GivableRange(pool.blocks[4]), pool.blocks[4].Extent()) << "a range is taken as written";
  pool.allow_first_last_ips = true;
  for (const Block& block : pool.blocks) {
    EXPECT_EQ(pool.GivableRange(block), block.Extent()) << block.ToString();
  }
}

TEST(PoolTest, OlderPoolKeepsTheOverlap) {
  Pool old_pool = Parsed(PoolOf("b-old", {"198.19.0.0/24"}));
  Pool young = Parsed(PoolOf("a-young", {"198.19.0.128/25", "198.19.1.0/24"}));
  old_pool.creation_timestamp = absl::FromUnixSeconds(1);
  young.creation_timestamp = absl::FromUnixSeconds(2);
  const std::vector<PoolLayout> layouts = LayOut({&old_pool, &young});
  EXPECT_TRUE(layouts[0].conflicts.empty());
  EXPECT_EQ(layouts[1].conflicts, std::vector<std::string>{"b-old"});
  EXPECT_EQ(layouts[1].givable[0],
            (std::vector<Range>{{ToInteger(Ip("198.19.1.1")), ToInteger(Ip("198.19.1.254"))}}));
  EXPECT_TRUE(IsOlder(old_pool, young));
  young.creation_timestamp = old_pool.creation_timestamp;
  EXPECT_TRUE(IsOlder(young, old_pool));  // same time: by name
}

}  // namespace
}  // namespace ferry::ipam
