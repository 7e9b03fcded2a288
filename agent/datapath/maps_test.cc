// Typed map access against real maps (label bpf).
#include "agent/datapath/maps.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>

#include "agent/datapath/datapath.h"
#include "agent/datapath/map_info.h"
#include "agent/datapath/testing/fixtures.h"
#include "flow_hash.h"
#include "gtest/gtest.h"

namespace ferry::datapath {
namespace {

using testing::MakeBackend;
using testing::MapKeyOf;

class MapsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Room for every flow the listing test writes from this one CPU.
    MapSizes sizes = testing::SmallMapSizes();
    sizes.flows = 8192;
    auto loaded = testing::LoadDatapath(pins_.path(), sizes);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    datapath_ = std::move(*loaded);
    auto maps = datapath_->OpenMaps();
    ASSERT_TRUE(maps.ok()) << maps.status();
    maps_.emplace(std::move(*maps));
  }

  testing::ScopedPinDir pins_{"dp-maps"};
  std::unique_ptr<Datapath> datapath_;
  std::optional<LbMaps> maps_;
};

ferry_frontend_key Frontend(const char* vip, uint16_t port, uint8_t proto = IPPROTO_TCP) {
  return MakeFrontendKey(net::IpAddress::Parse(vip).value(), port, proto);
}

uint32_t VipFrontends(const LbMaps& maps, const char* vip) {
  const ferry_addr_key wanted = MapKeyOf(vip);
  const Entries<ferry_addr_key, ferry_vip> vips = maps.ListVips().value();
  for (const auto& [key, value] : vips) {
    if (std::memcmp(&key, &wanted, sizeof(key)) == 0) return value.frontends;
  }
  return 0;
}

TEST_F(MapsTest, VipsCountTheirFrontends) {
  ASSERT_TRUE(maps_->UpsertFrontend(Frontend("198.19.0.10", 80), {1, 7}).ok());
  ASSERT_TRUE(maps_->UpsertFrontend(Frontend("198.19.0.10", 53, IPPROTO_UDP), {2, 7}).ok());
  ASSERT_TRUE(maps_->UpsertFrontend(Frontend("2001:db8:19::10", 80), {1, 7}).ok());
  EXPECT_EQ(VipFrontends(*maps_, "198.19.0.10"), 2u);
  EXPECT_EQ(VipFrontends(*maps_, "2001:db8:19::10"), 1u);

  // Updating a frontend in place does not count it twice.
  ASSERT_TRUE(maps_->UpsertFrontend(Frontend("198.19.0.10", 80), {3, 11}).ok());
  EXPECT_EQ(VipFrontends(*maps_, "198.19.0.10"), 2u);
  auto frontends = maps_->ListFrontends();
  ASSERT_TRUE(frontends.ok());
  EXPECT_EQ(frontends->size(), 3u);

  ASSERT_TRUE(maps_->DeleteFrontend(Frontend("198.19.0.10", 80)).ok());
  EXPECT_EQ(VipFrontends(*maps_, "198.19.0.10"), 1u);
  ASSERT_TRUE(maps_->DeleteFrontend(Frontend("198.19.0.10", 80)).ok()) << "absent is OK";
  EXPECT_EQ(VipFrontends(*maps_, "198.19.0.10"), 1u);
  ASSERT_TRUE(maps_->DeleteFrontend(Frontend("198.19.0.10", 53, IPPROTO_UDP)).ok());
  EXPECT_EQ(maps_->ListVips()->size(), 1u) << "the last frontend takes its VIP along";
}

// The map pinned as `name`, for what LbMaps has no accessor for: the
// datapath's own writes, the filter's slots.
Fd Pinned(const testing::ScopedPinDir& pins, const char* name) {
  Fd fd(bpf_obj_get((pins.path() / name).c_str()));
  EXPECT_TRUE(fd.valid()) << name << ": " << std::strerror(errno);
  return fd;
}

uint32_t VipFilterSlotCount(const testing::ScopedPinDir& pins, const char* vip) {
  const ferry_addr_key key = MapKeyOf(vip);
  const uint32_t slot = ferry_vip_filter_slot(&key.addr);
  uint32_t count = 0;
  EXPECT_EQ(bpf_map_lookup_elem(Pinned(pins, FERRY_MAP_VIP_FILTER).get(), &slot, &count), 0);
  return count;
}

// The datapath turns traffic away by vip_filter before any lookup, so a VIP's
// slot must count it from its first frontend to its last.
TEST_F(MapsTest, VipFilterCountsEachVipOnce) {
  EXPECT_EQ(VipFilterSlotCount(pins_, "198.19.0.10"), 0u);
  ASSERT_TRUE(maps_->UpsertFrontend(Frontend("198.19.0.10", 80), {1, 7}).ok());
  ASSERT_TRUE(maps_->UpsertFrontend(Frontend("198.19.0.10", 443), {2, 7}).ok());
  ASSERT_TRUE(maps_->UpsertFrontend(Frontend("2001:db8:19::10", 80), {3, 7}).ok());
  EXPECT_EQ(VipFilterSlotCount(pins_, "198.19.0.10"), 1u);
  EXPECT_EQ(VipFilterSlotCount(pins_, "2001:db8:19::10"), 1u);

  ASSERT_TRUE(maps_->DeleteFrontend(Frontend("198.19.0.10", 80)).ok());
  EXPECT_EQ(VipFilterSlotCount(pins_, "198.19.0.10"), 1u) << "port 443 still serves it";
  ASSERT_TRUE(maps_->DeleteFrontend(Frontend("198.19.0.10", 443)).ok());
  EXPECT_EQ(VipFilterSlotCount(pins_, "198.19.0.10"), 0u);
  EXPECT_EQ(VipFilterSlotCount(pins_, "2001:db8:19::10"), 1u);
}

// A conntrack hit is trusted without a frontend lookup, so deleting a
// frontend must take its flows along, and only its flows.
TEST_F(MapsTest, DeletingAFrontendForgetsItsFlows) {
  ASSERT_TRUE(maps_->UpsertFrontend(Frontend("198.19.0.10", 80), {1, 7}).ok());
  ASSERT_TRUE(maps_->UpsertFrontend(Frontend("198.19.0.10", 443), {2, 7}).ok());
  const Fd flows = Pinned(pins_, FERRY_MAP_FLOWS);
  auto flow_to = [](uint16_t client_port, uint16_t vip_port) {
    ferry_flow_key key = {};
    key.src = MapKeyOf("198.18.100.2").addr;
    key.dst = MapKeyOf("198.19.0.10").addr;
    key.sport = htons(client_port);
    key.dport = htons(vip_port);
    key.proto = IPPROTO_TCP;
    key.family = FERRY_FAMILY_IPV4;
    return key;
  };
  const ferry_flow value = {.backend_id = 1, .service_id = 1, .created_ns = 0};
  for (uint16_t client_port = 40000; client_port < 40010; ++client_port) {
    for (uint16_t vip_port : {80, 443}) {
      const ferry_flow_key key = flow_to(client_port, vip_port);
      ASSERT_EQ(bpf_map_update_elem(flows.get(), &key, &value, BPF_ANY), 0);
    }
  }

  ASSERT_TRUE(maps_->DeleteFrontend(Frontend("198.19.0.10", 80)).ok());
  auto left = maps_->ListFlows();
  ASSERT_TRUE(left.ok()) << left.status();
  ASSERT_EQ(left->size(), 10u);
  for (const auto& [key, flow] : *left) EXPECT_EQ(ntohs(key.dport), 443);
}

TEST_F(MapsTest, MaglevTableSwapsWholeAndMayChangeSize) {
  std::vector<uint32_t> first(16381);
  for (size_t i = 0; i < first.size(); ++i) first[i] = i % 3;
  ASSERT_TRUE(maps_->SetMaglevTable(5, first).ok());
  auto read = maps_->ReadMaglevTable(5);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, first);

  const std::vector<uint32_t> second = {9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 7};
  ASSERT_TRUE(maps_->SetMaglevTable(5, second).ok());
  EXPECT_EQ(maps_->ReadMaglevTable(5).value(), second);

  ASSERT_TRUE(maps_->DeleteMaglevTable(5).ok());
  EXPECT_TRUE(absl::IsNotFound(maps_->ReadMaglevTable(5).status()));
  EXPECT_TRUE(maps_->DeleteMaglevTable(5).ok()) << "absent is OK";
}

TEST_F(MapsTest, PinnedMapsDescribeTheirSizesAndMemory) {
  ASSERT_TRUE(maps_->SetMaglevTable(1, std::vector<uint32_t>(16381, 1)).ok());
  ASSERT_TRUE(maps_->SetMaglevTable(2, std::vector<uint32_t>(31, 2)).ok());
  absl::StatusOr<std::vector<PinnedMapInfo>> described = DescribePinnedMaps(pins_.path());
  ASSERT_TRUE(described.ok()) << described.status();
  auto find = [&](const std::string& name) {
    auto it = std::find_if(described->begin(), described->end(),
                           [&](const PinnedMapInfo& map) { return map.name == name; });
    EXPECT_NE(it, described->end()) << name;
    return it == described->end() ? PinnedMapInfo{} : *it;
  };
  const PinnedMapInfo flows = find(FERRY_MAP_FLOWS);
  EXPECT_EQ(flows.type, "lru_hash");
  EXPECT_EQ(flows.max_entries, 8192u);
  EXPECT_EQ(flows.key_size, sizeof(ferry_flow_key));
  EXPECT_GT(flows.memlock_bytes, 8192u * sizeof(ferry_flow_key));
  const PinnedMapInfo tables = find(FERRY_MAP_MAGLEV);
  EXPECT_EQ(tables.type, "array_of_maps");
  EXPECT_EQ(tables.inner_maps, 2u);
  EXPECT_GE(tables.inner_memlock_bytes, (16381u + 31u) * sizeof(uint32_t));
  EXPECT_LT(tables.inner_memlock_bytes, 3u * 16381u * sizeof(uint32_t))
      << "a 31-slot table must cost about 31 slots, not a preallocated maximum";
}

TEST_F(MapsTest, MaglevTableRejectsBadSizesAndIds) {
  EXPECT_TRUE(absl::IsInvalidArgument(maps_->SetMaglevTable(1, {})));
  const std::vector<uint32_t> huge(131072, 0);
  EXPECT_TRUE(absl::IsInvalidArgument(maps_->SetMaglevTable(1, huge)));
  const uint32_t table[] = {1, 2, 3};
  const absl::Status beyond = maps_->SetMaglevTable(testing::SmallMapSizes().services, table);
  EXPECT_FALSE(beyond.ok());
  EXPECT_NE(beyond.message().find("maglev_tables"), absl::string_view::npos) << beyond;
}

TEST_F(MapsTest, BackendsNodesEndpointsAndConfigRoundTrip) {
  ASSERT_TRUE(maps_->UpsertBackend(7, MakeBackend("2001:db8:16:1::5", 8443, 1)).ok());
  ASSERT_TRUE(maps_->UpsertBackend(8, MakeBackend("198.18.17.3", 80, 1)).ok());
  ASSERT_TRUE(maps_->DeleteBackend(8).ok());
  auto backends = maps_->ListBackends();
  ASSERT_TRUE(backends.ok());
  ASSERT_EQ(backends->size(), 1u);
  EXPECT_EQ(backends->front().first, 7u);
  EXPECT_EQ(backends->front().second.node_id, 1u);

  ferry_node node{};
  node.tunnel_dst = MapKeyOf("198.18.0.11").addr;
  node.family = FERRY_FAMILY_IPV4;
  node.egress_ifindex = 3;
  ASSERT_TRUE(maps_->UpsertNode(1, node).ok());
  auto nodes = maps_->ListNodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ(FormatAddress(nodes->front().second.tunnel_dst, FERRY_FAMILY_IPV4), "198.18.0.11");
  ASSERT_TRUE(maps_->DeleteNode(1).ok());
  EXPECT_TRUE(maps_->ListNodes()->empty());

  const ferry_addr_key pod = MapKeyOf("198.18.17.2");
  ferry_endpoint endpoint{};
  endpoint.ifindex = 12;
  ASSERT_TRUE(maps_->UpsertEndpoint(pod, endpoint).ok());
  ASSERT_EQ(maps_->ListEndpoints()->size(), 1u);
  EXPECT_EQ(maps_->ListEndpoints()->front().second.ifindex, 12u);
  ASSERT_TRUE(maps_->DeleteEndpoint(pod).ok());
  EXPECT_TRUE(maps_->ListEndpoints()->empty());

  ferry_config config{};
  config.node_v4 = MapKeyOf("198.18.0.11").addr;
  config.flow_hash_seed = 0xfe77;
  config.tunnel_mtu = 1500;
  ASSERT_TRUE(maps_->SetConfig(config).ok());
  auto read = maps_->GetConfig();
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->flow_hash_seed, 0xfe77u);
  EXPECT_EQ(read->tunnel_mtu, 1500);
}

TEST_F(MapsTest, ListsFlowsAcrossManyBatches) {
  const int fd = bpf_obj_get((pins_.path() / FERRY_MAP_FLOWS).c_str());
  ASSERT_GE(fd, 0);
  constexpr uint32_t kFlows = 6000;  // more than one batch of 4096
  for (uint32_t i = 0; i < kFlows; ++i) {
    ferry_flow_key key{};
    key.src = MapKeyOf("198.18.100.2").addr;
    key.dst = MapKeyOf("198.19.0.10").addr;
    key.sport = htons(1024 + i);
    key.dport = htons(80);
    key.proto = IPPROTO_TCP;
    key.family = FERRY_FAMILY_IPV4;
    ferry_flow flow{};
    flow.backend_id = i % 5;
    ASSERT_EQ(bpf_map_update_elem(fd, &key, &flow, BPF_NOEXIST), 0) << i;
  }
  close(fd);
  auto flows = maps_->ListFlows();
  ASSERT_TRUE(flows.ok()) << flows.status();
  ASSERT_EQ(flows->size(), kFlows);
  uint64_t port_sum = 0;
  for (const auto& [key, flow] : *flows) {
    EXPECT_EQ(flow.backend_id, (ntohs(key.sport) - 1024u) % 5);
    port_sum += ntohs(key.sport) - 1024u;
  }
  EXPECT_EQ(port_sum, uint64_t{kFlows} * (kFlows - 1) / 2) << "each flow exactly once";
}

TEST_F(MapsTest, CountersAreSummedOverCpus) {
  ASSERT_TRUE(testing::WritePerCpu(pins_.path(), FERRY_MAP_SERVICE_STATS, 3, {10, 1000}).ok());
  ASSERT_TRUE(testing::WritePerCpu(pins_.path(), FERRY_MAP_DROPS, FERRY_DROP_NO_BACKEND, {2}).ok());
  ASSERT_TRUE(testing::WritePerCpu(pins_.path(), FERRY_MAP_EVENTS, FERRY_EVENT_FLOW_NEW, {5}).ok());
  auto stats = maps_->ServiceStats(3);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->packets, 10 * testing::CpuFactorSum());
  EXPECT_EQ(stats->bytes, 1000 * testing::CpuFactorSum());

  auto drops = maps_->DropCounts();
  ASSERT_TRUE(drops.ok()) << drops.status();
  ASSERT_EQ(drops->size(), size_t{FERRY_DROP_MAX});
  EXPECT_EQ((*drops)[FERRY_DROP_NO_BACKEND].name, "no-backend");
  EXPECT_EQ((*drops)[FERRY_DROP_NO_BACKEND].count, 2 * testing::CpuFactorSum());
  EXPECT_EQ((*drops)[FERRY_DROP_MALFORMED].count, 0u);
  auto events = maps_->EventCounts();
  ASSERT_TRUE(events.ok());
  EXPECT_EQ((*events)[FERRY_EVENT_FLOW_NEW].count, 5 * testing::CpuFactorSum());

  ASSERT_TRUE(maps_->ClearServiceStats(3).ok());
  EXPECT_EQ(maps_->ServiceStats(3)->packets, 0u);
}

}  // namespace
}  // namespace ferry::datapath
