#include "ipam/pool.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ipam/ipam_testing.h"
#include "ipam/layout.h"

namespace ferry::ipam {
namespace {

using ::testing::HasSubstr;
using testing::Ip;
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

TEST(PoolTest, SelectorErrorsNameTheExpression) {
  PoolSpec spec = PoolOf("p", {"198.19.0.0/16"});
  spec.service_selector.match_expressions = {{.key = "app", .operator_ = "Equals", .values = {"a"}},
                                             {.key = "app", .operator_ = "In"},
                                             {.key = "app", .operator_ = "Exists", .values = {"a"}},
                                             {.key = "", .operator_ = "DoesNotExist"}};
  const std::string error = ErrorOf(spec);
  EXPECT_THAT(error, HasSubstr("spec.serviceSelector.matchExpressions[0].operator: \"Equals\" is "
                               "not one of In, NotIn, Exists, DoesNotExist"));
  EXPECT_THAT(error, HasSubstr("matchExpressions[1].values: In needs at least one value"));
  EXPECT_THAT(error, HasSubstr("matchExpressions[2].values: Exists takes no values"));
  EXPECT_THAT(error, HasSubstr("matchExpressions[3].key: must not be empty"));
}

TEST(PoolTest, SelectorOperatorsFollowKubernetes) {
  const LabelSelector selector =
      LabelSelector::Parse({.match_labels = {{"app", "web"}},
                            .match_expressions = {{.key = "tier", .operator_ = "In", .values = {"a", "b"}},
                                                  {.key = "env", .operator_ = "NotIn", .values = {"dev"}},
                                                  {.key = "public", .operator_ = "Exists"},
                                                  {.key = "legacy", .operator_ = "DoesNotExist"}}},
                           "s")
          .value();
  const Labels base = {{"app", "web"}, {"tier", "a"}, {"public", ""}};
  EXPECT_TRUE(selector.Matches(base));
  Labels other = base;
  other["app"] = "db";
  EXPECT_FALSE(selector.Matches(other));
  other = base;
  other["tier"] = "c";
  EXPECT_FALSE(selector.Matches(other));
  other = base;
  other["env"] = "dev";
  EXPECT_FALSE(selector.Matches(other));
  other["env"] = "prod";
  EXPECT_TRUE(selector.Matches(other));
  other = base;
  other.erase("public");
  EXPECT_FALSE(selector.Matches(other));
  other = base;
  other["legacy"] = "yes";
  EXPECT_FALSE(selector.Matches(other));
  EXPECT_TRUE(LabelSelector::Parse({}, "s")->Matches({}));
}

TEST(PoolTest, FirstAndLastSkippedOnlyForIpv4CidrsOfSlash30AndWider) {
  Pool pool = Parsed(PoolOf("p", {"198.19.0.0/30", "198.19.1.0/31", "198.19.2.0-198.19.2.3",
                                  "2001:db8:19::/126"}));
  EXPECT_EQ(pool.GivableRange(pool.blocks[0]), (Range{ToInteger(Ip("198.19.0.1")), ToInteger(Ip("198.19.0.2"))}));
  EXPECT_EQ(pool.GivableRange(pool.blocks[1]), pool.blocks[1].Extent());
  EXPECT_EQ(pool.GivableRange(pool.blocks[2]), pool.blocks[2].Extent());
  EXPECT_EQ(pool.GivableRange(pool.blocks[3]), pool.blocks[3].Extent());
  pool.allow_first_last_ips = true;
  EXPECT_EQ(pool.GivableRange(pool.blocks[0]), pool.blocks[0].Extent());
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
