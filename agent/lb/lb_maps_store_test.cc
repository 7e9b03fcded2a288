// The reconciler against a loaded datapath's maps (label bpf).
#include "agent/lb/lb_maps_store.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "agent/datapath/datapath.h"
#include "agent/datapath/testing/fixtures.h"
#include "agent/lb/desired.h"
#include "agent/lb/reconcile.h"
#include "agent/lb/recover.h"
#include "agent/lb/testing/cluster.h"
#include "agent/lb/testing/counting_map_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::lb {
namespace {

constexpr uint32_t kTableSize = 1021;

template <typename Map, typename Entries>
void ExpectSameContent(const Map& desired, const Entries& actual, absl::string_view what) {
  ASSERT_EQ(actual.size(), desired.size()) << what;
  for (const auto& [key, value] : actual) {
    auto it = desired.find(key);
    ASSERT_NE(it, desired.end()) << what;
    EXPECT_EQ(std::memcmp(&it->second, &value, sizeof(value)), 0) << what;
  }
}

class LbMapsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = datapath::testing::LoadDatapath(pins_.path(), sizes_);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    datapath_ = std::move(*loaded);
    OpenMaps(datapath_->OpenMaps());
    input_ = testing::MakeCluster(5, 4, 3, kTableSize);
  }

  void OpenMaps(absl::StatusOr<datapath::LbMaps> maps) {
    ASSERT_TRUE(maps.ok()) << maps.status();
    maps_.emplace(std::move(*maps));
    store_.emplace(*maps_, sizes_.services);
    reconciler_.emplace(*store_);
  }

  ReconcileReport Apply() {
    absl::StatusOr<DesiredState> desired = ComputeDesired(input_, ids_);
    EXPECT_TRUE(desired.ok()) << desired.status();
    if (!desired.ok()) return {};
    desired_ = std::move(*desired);
    absl::StatusOr<ReconcileReport> report = reconciler_->Reconcile(desired_);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : ReconcileReport{};
  }

  void ExpectMapsHoldDesired() {
    ExpectSameContent(desired_.frontends, maps_->ListFrontends().value(), "frontends");
    ExpectSameContent(desired_.backends, maps_->ListBackends().value(), "backends");
    ExpectSameContent(desired_.nodes, maps_->ListNodes().value(), "nodes");
    for (const auto& [id, spec] : desired_.maglev_tables) {
      absl::StatusOr<std::vector<uint32_t>> table = maps_->ReadMaglevTable(id);
      ASSERT_TRUE(table.ok()) << table.status();
      EXPECT_EQ(*table, BuildSlots(spec).value()) << "service " << id;
    }
  }

  datapath::MapSizes sizes_ = datapath::testing::SmallMapSizes();
  datapath::testing::ScopedPinDir pins_{"lb-state"};
  std::unique_ptr<datapath::Datapath> datapath_;
  std::optional<datapath::LbMaps> maps_;
  std::optional<LbMapsStore> store_;
  std::optional<Reconciler> reconciler_;
  Ids ids_{CapacityOf(sizes_)};
  LbInput input_;
  DesiredState desired_;
};

TEST_F(LbMapsStoreTest, ProgramsChangesAndAdoptsTheMapsAfterARestart) {
  EXPECT_EQ(Apply(), (ReconcileReport{.node_upserts = 3,
                                      .backend_upserts = 20,
                                      .stats_clears = 5,
                                      .table_writes = 5,
                                      .frontend_upserts = 5}));
  ExpectMapsHoldDesired();
  EXPECT_EQ(maps_->ListVips()->size(), 5u) << "one VIP per frontend";

  input_.services[2].backends[1] = testing::MakePod(100, 3);
  EXPECT_EQ(Apply(),
            (ReconcileReport{.backend_upserts = 1, .table_writes = 1, .backend_deletes = 1}));
  ExpectMapsHoldDesired();

  input_.services.erase(input_.services.begin());
  EXPECT_EQ(Apply(),
            (ReconcileReport{.frontend_deletes = 1, .table_deletes = 1, .backend_deletes = 4}));
  ExpectMapsHoldDesired();
  EXPECT_EQ(maps_->ListVips()->size(), 4u);

  // A new agent: the maps as pinned, ids recovered from them.
  datapath_.reset();
  OpenMaps(datapath::LbMaps::OpenPinned(pins_.path(), datapath::LbMaps::Access::kReadWrite));
  absl::StatusOr<ActualState> actual = ReadActual(*store_);
  ASSERT_TRUE(actual.ok()) << actual.status();
  ids_ = RecoverIds(input_, *actual, CapacityOf(sizes_));
  EXPECT_EQ(Apply().writes(), 0);
  ExpectMapsHoldDesired();
}

// Service id -> the id of the inner map holding its table: a table that is
// swapped gets a new inner map, one left alone keeps its id.
std::map<uint32_t, uint32_t> InnerTableIds(const std::filesystem::path& pin_dir) {
  std::map<uint32_t, uint32_t> ids;
  const int outer = bpf_obj_get((pin_dir / FERRY_MAP_MAGLEV).c_str());
  EXPECT_GE(outer, 0);
  uint32_t key = 0, next = 0, inner = 0;
  for (uint32_t* previous = nullptr; bpf_map_get_next_key(outer, previous, &next) == 0;
       previous = &key) {
    key = next;
    if (bpf_map_lookup_elem(outer, &key, &inner) == 0) ids[key] = inner;
  }
  close(outer);
  return ids;
}

TEST(LbMapsStoreScaleTest, OneBackendOfOneOfAThousandServicesWritesOnlyThatService) {
  constexpr int kServices = 1000;
  constexpr int kBackends = 10;
  const datapath::MapSizes sizes = {.services = 1024,
                                    .vips = 1024,
                                    .backends = 16384,
                                    .nodes = 16,
                                    .flows = 1024,
                                    .fragments = 64,
                                    .rev_nat = 64,
                                    .endpoints = 64,
                                    .frontends = 1024};
  datapath::testing::ScopedPinDir pins("lb-scale");
  auto loaded = datapath::testing::LoadDatapath(pins.path(), sizes);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<datapath::LbMaps> maps = (*loaded)->OpenMaps();
  ASSERT_TRUE(maps.ok()) << maps.status();
  LbMapsStore real(*maps, sizes.services);
  testing::CountingMapStore counted(real);
  Reconciler reconciler(counted);
  Ids ids(CapacityOf(sizes));
  LbInput input = testing::MakeCluster(kServices, kBackends, 4, kTableSize);
  auto apply = [&]() -> DesiredState {
    absl::StatusOr<DesiredState> desired = ComputeDesired(input, ids);
    EXPECT_TRUE(desired.ok()) << desired.status();
    EXPECT_TRUE(reconciler.Reconcile(*desired).ok());
    return std::move(*desired);
  };
  apply();
  EXPECT_EQ(counted.log().size(), size_t{4 + kServices * (kBackends + 3)}) << "first programming";
  const std::map<uint32_t, uint32_t> tables_before = InnerTableIds(pins.path());
  ASSERT_EQ(tables_before.size(), size_t{kServices});
  const auto frontends_before = maps->ListFrontends().value();
  counted.ClearLog();

  const uint32_t service = *ids.services.Find(testing::ServiceName(500));
  const uint32_t old_backend = *ids.backends.Find(BackendIdentity(input.services[500].backends[3]));
  input.services[500].backends[3] = testing::MakePod(kServices * kBackends + 1, 4);
  const DesiredState desired = apply();
  const uint32_t new_backend = *ids.backends.Find(BackendIdentity(input.services[500].backends[3]));

  using testing::Op;
  using testing::OpKind;
  std::vector<std::pair<OpKind, uint32_t>> ops;
  for (const Op& op : counted.log()) ops.emplace_back(op.kind, op.id);
  EXPECT_THAT(ops, ::testing::ElementsAre(std::pair{OpKind::kUpsertBackend, new_backend},
                                          std::pair{OpKind::kSetTable, service},
                                          std::pair{OpKind::kDeleteBackend, old_backend}))
      << "three map operations, all of service 500";
  const std::map<uint32_t, uint32_t> tables_after = InnerTableIds(pins.path());
  for (const auto& [id, inner] : tables_before) {
    if (id == service) {
      EXPECT_NE(tables_after.at(id), inner) << "service 500's table was swapped whole";
    } else {
      EXPECT_EQ(tables_after.at(id), inner) << "service " << id << "'s table was touched";
    }
  }
  EXPECT_EQ(maps->ReadMaglevTable(service).value(),
            BuildSlots(desired.maglev_tables.at(service)).value());
  const auto frontends_after = maps->ListFrontends().value();
  ASSERT_EQ(frontends_after.size(), frontends_before.size());
  for (size_t i = 0; i < frontends_after.size(); ++i) {
    EXPECT_EQ(std::memcmp(&frontends_after[i], &frontends_before[i], sizeof(frontends_after[i])), 0);
  }
}

}  // namespace
}  // namespace ferry::lb
