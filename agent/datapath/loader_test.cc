// Loading, pinning and adopting pinned maps (label bpf: needs root and bpffs).
#include <bpf/bpf.h>
#include <sys/stat.h>

#include "agent/datapath/datapath.h"
#include "agent/datapath/testing/fixtures.h"
#include "gtest/gtest.h"
#include "layout.h"

namespace ferry::datapath {
namespace {

using testing::LoadDatapath;
using testing::MakeBackend;
using testing::ScopedPinDir;
using testing::SmallMapSizes;

uint32_t PinnedMaxEntries(const std::filesystem::path& path) {
  const int fd = bpf_obj_get(path.c_str());
  bpf_map_info info{};
  uint32_t info_len = sizeof(info);
  const bool ok = fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &info_len) == 0;
  if (fd >= 0) close(fd);
  return ok ? info.max_entries : 0;
}

TEST(LoaderTest, PinsEveryMapInAPrivateDirectory) {
  ScopedPinDir pins("dp-pins");
  auto datapath = LoadDatapath(pins.path());
  ASSERT_TRUE(datapath.ok()) << datapath.status();
  for (const char* name : {FERRY_MAP_FRONTENDS, FERRY_MAP_VIPS, FERRY_MAP_MAGLEV,
                           FERRY_MAP_BACKENDS, FERRY_MAP_NODES, FERRY_MAP_FLOWS,
                           FERRY_MAP_FRAGMENTS, FERRY_MAP_REV_NAT, FERRY_MAP_ENDPOINTS,
                           FERRY_MAP_CONFIG, FERRY_MAP_SERVICE_STATS, FERRY_MAP_DROPS,
                           FERRY_MAP_EVENTS}) {
    EXPECT_TRUE(std::filesystem::exists(pins.path() / name)) << name;
  }
  struct stat st {};
  ASSERT_EQ(stat(pins.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_GE((*datapath)->ProgramFd(Program::kXdpLb), 0);
  EXPECT_GE((*datapath)->ProgramFd(Program::kTcUplink), 0);
  EXPECT_GE((*datapath)->ProgramFd(Program::kTcPod), 0);
}

TEST(LoaderTest, AppliesMapSizesBeforeLoading) {
  ScopedPinDir pins("dp-sizes");
  MapSizes sizes = SmallMapSizes();
  sizes.flows = 3000;
  sizes.services = 37;
  sizes.frontends = 41;
  auto datapath = LoadDatapath(pins.path(), sizes);
  ASSERT_TRUE(datapath.ok()) << datapath.status();
  EXPECT_EQ(PinnedMaxEntries(pins.path() / FERRY_MAP_FLOWS), 3000u);
  EXPECT_EQ(PinnedMaxEntries(pins.path() / FERRY_MAP_MAGLEV), 37u);
  EXPECT_EQ(PinnedMaxEntries(pins.path() / FERRY_MAP_SERVICE_STATS), 37u);
  EXPECT_EQ(PinnedMaxEntries(pins.path() / FERRY_MAP_FRONTENDS), 41u);
  EXPECT_EQ(PinnedMaxEntries(pins.path() / FERRY_MAP_DROPS), uint32_t{FERRY_DROP_MAX});
}

TEST(LoaderTest, RejectsInvalidSizesBeforeTouchingBpffs) {
  ScopedPinDir pins("dp-badsize");
  MapSizes sizes = SmallMapSizes();
  sizes.nodes = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(LoadDatapath(pins.path(), sizes).status()));
  EXPECT_FALSE(std::filesystem::exists(pins.path()));
}

TEST(LoaderTest, SecondLoadAdoptsThePinnedMaps) {
  ScopedPinDir pins("dp-adopt");
  const uint32_t table[] = {4, 5, 4, 5, 4, 5, 4};
  {
    auto first = LoadDatapath(pins.path());
    ASSERT_TRUE(first.ok()) << first.status();
    auto maps = (*first)->OpenMaps();
    ASSERT_TRUE(maps.ok()) << maps.status();
    ASSERT_TRUE(maps->UpsertBackend(4, MakeBackend("198.18.17.2", 8080, 1)).ok());
    ASSERT_TRUE(maps->SetMaglevTable(3, table).ok());
  }  // the first agent exits: only the pins keep the maps alive
  auto second = LoadDatapath(pins.path());
  ASSERT_TRUE(second.ok()) << second.status();
  auto maps = (*second)->OpenMaps();
  ASSERT_TRUE(maps.ok()) << maps.status();
  auto backends = maps->ListBackends();
  ASSERT_TRUE(backends.ok()) << backends.status();
  ASSERT_EQ(backends->size(), 1u);
  EXPECT_EQ(backends->front().first, 4u);
  EXPECT_EQ(FormatEndpoint(backends->front().second.addr, backends->front().second.family,
                           backends->front().second.port),
            "198.18.17.2:8080");
  auto adopted_table = maps->ReadMaglevTable(3);
  ASSERT_TRUE(adopted_table.ok()) << adopted_table.status();
  EXPECT_EQ(*adopted_table, std::vector<uint32_t>(std::begin(table), std::end(table)));
}

TEST(LoaderTest, IncompatiblePinnedMapIsNamedWithItsPath) {
  ScopedPinDir pins("dp-compat");
  MapSizes sizes = SmallMapSizes();
  ASSERT_TRUE(LoadDatapath(pins.path(), sizes).ok());
  sizes.flows *= 2;
  const absl::Status status = LoadDatapath(pins.path(), sizes).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  const std::string flows_pin = (pins.path() / FERRY_MAP_FLOWS).string();
  EXPECT_NE(status.message().find(flows_pin), absl::string_view::npos) << status;
  EXPECT_NE(status.message().find("max_entries"), absl::string_view::npos) << status;
}

TEST(LoaderTest, InstancesWithTheirOwnPinDirsAreIndependent) {
  ScopedPinDir pins_a("dp-node-a");
  ScopedPinDir pins_b("dp-node-b");
  auto a = LoadDatapath(pins_a.path());
  auto b = LoadDatapath(pins_b.path());
  ASSERT_TRUE(a.ok() && b.ok());
  auto maps_a = (*a)->OpenMaps();
  auto maps_b = (*b)->OpenMaps();
  ASSERT_TRUE(maps_a.ok() && maps_b.ok());
  ASSERT_TRUE(maps_a->UpsertBackend(1, MakeBackend("198.18.17.2", 80, 0)).ok());
  EXPECT_EQ(maps_a->ListBackends()->size(), 1u);
  EXPECT_TRUE(maps_b->ListBackends()->empty());
}

TEST(LoaderTest, UnpinRemovesTheDirectory) {
  ScopedPinDir pins("dp-unpin");
  auto datapath = LoadDatapath(pins.path());
  ASSERT_TRUE(datapath.ok()) << datapath.status();
  ASSERT_TRUE((*datapath)->Unpin().ok());
  EXPECT_FALSE(std::filesystem::exists(pins.path()));
}

TEST(LoaderTest, PinnedMapsOpenReadOnlyWithNoAgent) {
  ScopedPinDir pins("dp-ro");
  {
    auto datapath = LoadDatapath(pins.path());
    ASSERT_TRUE(datapath.ok()) << datapath.status();
    ferry_node node{};
    node.family = FERRY_FAMILY_IPV4;
    ASSERT_TRUE((*datapath)->OpenMaps()->UpsertNode(2, node).ok());
  }
  auto maps = LbMaps::OpenPinned(pins.path(), LbMaps::Access::kReadOnly);
  ASSERT_TRUE(maps.ok()) << maps.status();
  auto nodes = maps->ListNodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ(nodes->front().first, 2u);
  EXPECT_FALSE(maps->DeleteNode(2).ok()) << "a read-only fd must not write";
}

TEST(LoaderTest, OpenPinnedWithoutMapsSaysWhere) {
  ScopedPinDir pins("dp-none");
  const absl::Status status =
      LbMaps::OpenPinned(pins.path(), LbMaps::Access::kReadOnly).status();
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_NE(status.message().find(pins.path().string()), absl::string_view::npos);
}

}  // namespace
}  // namespace ferry::datapath
