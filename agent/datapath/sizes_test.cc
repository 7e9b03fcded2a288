#include "agent/datapath/datapath.h"

#include "gtest/gtest.h"

namespace ferry::datapath {
namespace {

TEST(MapSizesTest, DefaultsAreValid) { EXPECT_TRUE(ValidateMapSizes(MapSizes{}).ok()); }

TEST(MapSizesTest, ZeroIsRejectedNamingTheField) {
  MapSizes sizes;
  sizes.endpoints = 0;
  const absl::Status status = ValidateMapSizes(sizes);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_NE(status.message().find("endpoints"), absl::string_view::npos) << status;
}

TEST(MapSizesTest, ConntrackMayBeLargerThanOtherMaps) {
  MapSizes sizes;
  sizes.flows = 8u << 20;
  sizes.rev_nat = 8u << 20;
  EXPECT_TRUE(ValidateMapSizes(sizes).ok());
  sizes.flows = (16u << 20) + 1;
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateMapSizes(sizes)));
  sizes = MapSizes{};
  sizes.backends = 8u << 20;
  const absl::Status status = ValidateMapSizes(sizes);
  EXPECT_NE(status.message().find("backends"), absl::string_view::npos) << status;
}

TEST(PinDirTest, DefaultIsPerNodeUnderFerryRoot) {
  absl::StatusOr<std::filesystem::path> dir = DefaultPinDir("node1");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->string(), "/sys/fs/bpf/ferry/node1");
}

TEST(PinDirTest, RejectsNamesThatLeaveTheRoot) {
  for (const char* name : {"", ".", "..", "a/b", "../x"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(DefaultPinDir(name).status())) << name;
  }
}

}  // namespace
}  // namespace ferry::datapath
