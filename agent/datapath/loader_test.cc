// Loading, pinning and adopting pinned maps (label bpf: needs root and bpffs).
#include <bpf/bpf.h>
#include <sys/stat.h>

#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
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

// The kernel's digest of a loaded program's instructions.
std::string ProgramTag(const Datapath& datapath, Program program) {
  bpf_prog_info info{};
  uint32_t length = sizeof(info);
  EXPECT_EQ(bpf_obj_get_info_by_fd(datapath.ProgramFd(program), &info, &length), 0);
  return std::string(reinterpret_cast<const char*>(info.tag), sizeof(info.tag));
}

TEST(LoaderTest, AnotherBuildFromADirectoryAdoptsTheSameMaps) {
  ScopedPinDir pins("dp-upgrade");
  const uint32_t table[] = {7, 8, 7};
  std::string previous_tag;
  {
    auto previous = Datapath::Load({.node_name = "test",
                                    .pin_dir = pins.path(),
                                    .sizes = SmallMapSizes(),
                                    .object_dir = FERRY_PREVIOUS_OBJECTS});
    ASSERT_TRUE(previous.ok()) << previous.status();
    previous_tag = ProgramTag(**previous, Program::kXdpLb);
    ASSERT_TRUE((*previous)->OpenMaps()->SetMaglevTable(2, table).ok());
  }
  auto current = LoadDatapath(pins.path());
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_NE(ProgramTag(**current, Program::kXdpLb), previous_tag)
      << "the v2 build must differ from this one, or the upgrade tests prove nothing";
  EXPECT_EQ((*current)->OpenMaps()->ReadMaglevTable(2).value(),
            std::vector<uint32_t>(std::begin(table), std::end(table)));
}

TEST(LoaderTest, AnObjectFileThatIsNotBpfIsRefusedByName) {
  ScopedPinDir pins("dp-badobject");
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / absl::StrCat("ferry-not-objects-", getpid());
  std::filesystem::create_directories(dir);
  const std::filesystem::path bogus = dir / "ferry_xdp.bpf.o";
  std::ofstream(bogus) << "#!/bin/sh\n";
  const absl::Status status = Datapath::Load({.node_name = "test",
                                              .pin_dir = pins.path(),
                                              .sizes = SmallMapSizes(),
                                              .object_dir = dir})
                                  .status();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_NE(status.message().find(bogus.string()), absl::string_view::npos) << status;
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

TEST(LoaderTest, ACountersMapOfAnotherShapeIsMadeAnew) {
  ScopedPinDir pins("dp-counters");
  ASSERT_TRUE(LoadDatapath(pins.path()).ok());
  const std::string events_pin = (pins.path() / FERRY_MAP_EVENTS).string();
  ASSERT_EQ(unlink(events_pin.c_str()), 0);
  // What an older build with fewer events pinned.
  const int older = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "events", sizeof(uint32_t),
                                   sizeof(uint64_t), 3, nullptr);
  ASSERT_GE(older, 0);
  ASSERT_EQ(bpf_obj_pin(older, events_pin.c_str()), 0);
  close(older);

  auto loaded = LoadDatapath(pins.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ((*loaded)->load_notes().size(), 1u);
  EXPECT_NE((*loaded)->load_notes()[0].find("'events' replaced"), std::string::npos)
      << (*loaded)->load_notes()[0];
  bpf_map_info info{};
  uint32_t length = sizeof(info);
  const int pinned = bpf_obj_get(events_pin.c_str());
  ASSERT_GE(pinned, 0);
  ASSERT_EQ(bpf_obj_get_info_by_fd(pinned, &info, &length), 0);
  close(pinned);
  EXPECT_EQ(info.max_entries, uint32_t{FERRY_EVENT_MAX});
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
