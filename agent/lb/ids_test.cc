#include "agent/lb/ids.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::lb {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

TEST(IdAllocatorTest, KeepsTheIdsOfKeysThatStay) {
  IdAllocator ids(16);
  EXPECT_THAT(ids.Sync({"a", "b", "c"}), IsEmpty());
  EXPECT_THAT(ids.Find("b"), Optional(1u));
  ids.Sync({"c", "d", "b"});
  EXPECT_THAT(ids.Find("b"), Optional(1u));
  EXPECT_THAT(ids.Find("c"), Optional(2u));
  EXPECT_THAT(ids.Find("d"), Optional(3u));
  EXPECT_EQ(ids.Find("a"), std::nullopt);
  EXPECT_EQ(ids.size(), 3u);
}

TEST(IdAllocatorTest, ReusesReleasedIdsOnlyOnceNoNeverUsedIdIsLeft) {
  IdAllocator ids(4);
  ids.Sync({"a", "b"});  // 0, 1
  ids.Sync({"b"});       // 0 released
  ids.Sync({"b", "c", "d"});
  EXPECT_THAT(ids.Find("c"), Optional(2u)) << "never-used ids first";
  EXPECT_THAT(ids.Find("d"), Optional(3u));
  ids.Sync({"c", "d"});  // 1 released after 0
  ids.Sync({"c", "d", "e", "f"});
  EXPECT_THAT(ids.Find("e"), Optional(0u)) << "then the oldest release";
  EXPECT_THAT(ids.Find("f"), Optional(1u));
}

TEST(IdAllocatorTest, ReportsKeysLeftWithoutAnId) {
  IdAllocator ids(2);
  EXPECT_THAT(ids.Sync({"a", "b", "c"}), ElementsAre("c"));
  EXPECT_EQ(ids.Find("c"), std::nullopt);
  EXPECT_THAT(ids.Sync({"b", "c"}), IsEmpty()) << "a's release makes room";
  EXPECT_THAT(ids.Find("c"), Optional(0u));
}

TEST(IdAllocatorTest, RecoveredAllocatorKeepsClaimsAndReusesStaleIdsLast) {
  IdAllocator ids = IdAllocator::Recover(10, {{"a", 5}, {"b", 2}}, {7});
  EXPECT_THAT(ids.Find("a"), Optional(5u));
  EXPECT_THAT(ids.Find("b"), Optional(2u));
  std::vector<std::string> live = {"a", "b"};
  std::vector<uint32_t> handed_out;
  for (int i = 0; i < 8; ++i) {
    live.push_back("new" + std::to_string(i));
    ids.Sync(live);
    handed_out.push_back(*ids.Find(live.back()));
  }
  // Never used above the highest recovered id, then the gaps below it (freed
  // at an unknown time), then the id the maps held for something gone.
  EXPECT_THAT(handed_out, ElementsAre(8, 9, 0, 1, 3, 4, 6, 7));
}

TEST(IdAllocatorTest, RecoverDropsOutOfRangeIdsAndSecondClaims) {
  IdAllocator ids = IdAllocator::Recover(4, {{"a", 9}, {"b", 1}, {"c", 1}, {"b", 2}}, {});
  EXPECT_EQ(ids.Find("a"), std::nullopt);
  EXPECT_THAT(ids.Find("b"), Optional(1u));
  EXPECT_EQ(ids.Find("c"), std::nullopt);
  EXPECT_EQ(ids.size(), 1u);
}

}  // namespace
}  // namespace ferry::lb
