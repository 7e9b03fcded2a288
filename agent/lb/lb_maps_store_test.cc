// The reconciler against a loaded datapath's maps (label bpf).
#include "agent/lb/lb_maps_store.h"

#include <cstring>
#include <memory>
#include <optional>

#include "agent/datapath/datapath.h"
#include "agent/datapath/testing/fixtures.h"
#include "agent/lb/desired.h"
#include "agent/lb/reconcile.h"
#include "agent/lb/recover.h"
#include "agent/lb/testing/cluster.h"
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

}  // namespace
}  // namespace ferry::lb
