// IncrementalDesired and Reconciler::ReconcileChange: replacing a few
// services gives what a computation from scratch gives, and writes only
// what those services changed.
#include <cstring>

#include "agent/lb/desired.h"
#include "agent/lb/reconcile.h"
#include "agent/lb/testing/cluster.h"
#include "agent/lb/testing/fake_map_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::lb {
namespace {

using testing::FakeMapStore;
using testing::MakeCluster;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int kServices = 100;
constexpr int kBackends = 5;
constexpr int kNodes = 4;
constexpr IdCapacity kCapacity{.services = 1024, .backends = 4096, .nodes = 64};
constexpr uint32_t kTable = 251;

template <typename Map>
bool SameEntries(const Map& a, const Map& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return std::memcmp(&x.first, &y.first, sizeof(x.first)) == 0 &&
           std::memcmp(&x.second, &y.second, sizeof(x.second)) == 0;
  });
}

class IncrementalDesiredTest : public ::testing::Test {
 protected:
  void SetUp() override {
    input_ = MakeCluster(kServices, kBackends, kNodes, kTable);
    ASSERT_TRUE(desired_.Reset(input_, ids_).ok());
    absl::StatusOr<ReconcileReport> written = reconciler_.Reconcile(desired_.desired());
    ASSERT_TRUE(written.ok()) << written.status();
    store_.ClearLog();
  }
  void TearDown() override { EXPECT_THAT(store_.violations(), IsEmpty()); }

  // Replaces service `i` (its one LbService) by `service`, or removes it.
  ReconcileReport Replace(int i, std::optional<LbService> service) {
    std::vector<IncrementalDesired::Group> groups;
    groups.emplace_back(testing::ServiceName(i), std::vector<LbService>{});
    if (service) groups.back().second.push_back(*service);
    DesiredChange change;
    desired_.Replace(std::move(groups), ids_, change);
    absl::StatusOr<ReconcileReport> report =
        reconciler_.ReconcileChange(desired_.desired(), change);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : ReconcileReport{};
  }

  // What a computation from scratch over the same input and ids gives.
  void ExpectSameAsFromScratch() {
    Ids ids = ids_;
    absl::StatusOr<DesiredState> scratch = ComputeDesired(desired_.input(), ids);
    ASSERT_TRUE(scratch.ok()) << scratch.status();
    const DesiredState& kept = desired_.desired();
    EXPECT_TRUE(SameEntries(kept.frontends, scratch->frontends));
    EXPECT_TRUE(SameEntries(kept.backends, scratch->backends));
    EXPECT_TRUE(SameEntries(kept.nodes, scratch->nodes));
    EXPECT_EQ(kept.maglev_tables, scratch->maglev_tables);
    EXPECT_EQ(kept.problems.size(), scratch->problems.size());
    // And the maps hold it: a full pass finds nothing to write.
    absl::StatusOr<ReconcileReport> full = reconciler_.Reconcile(kept);
    ASSERT_TRUE(full.ok()) << full.status();
    EXPECT_EQ(full->writes(), 0) << ToString(*full);
  }

  LbInput input_;
  IncrementalDesired desired_;
  FakeMapStore store_;
  Ids ids_{kCapacity};
  Reconciler reconciler_{store_};
};

TEST_F(IncrementalDesiredTest, OneBackendChangedWritesThreeEntries) {
  LbService service = input_.services[50];
  service.backends[2] = testing::MakePod(kServices * kBackends + 7, kNodes);
  EXPECT_EQ(Replace(50, service),
            (ReconcileReport{.backend_upserts = 1, .table_writes = 1, .backend_deletes = 1}));
  EXPECT_EQ(store_.table_reads(), 0);
  ExpectSameAsFromScratch();
}

TEST_F(IncrementalDesiredTest, ServicesComeAndGo) {
  const uint32_t id = *ids_.services.Find(testing::ServiceName(10));
  EXPECT_EQ(Replace(10, std::nullopt),
            (ReconcileReport{.frontend_deletes = 1, .table_deletes = 1,
                             .backend_deletes = kBackends}));
  EXPECT_FALSE(ids_.services.Find(testing::ServiceName(10)));
  ExpectSameAsFromScratch();
  EXPECT_EQ(Replace(10, input_.services[10]),
            (ReconcileReport{.backend_upserts = kBackends, .stats_clears = 1, .table_writes = 1,
                             .frontend_upserts = 1}));
  EXPECT_NE(*ids_.services.Find(testing::ServiceName(10)), id) << "a never-used id first";
  ExpectSameAsFromScratch();
}

TEST_F(IncrementalDesiredTest, AFrontendPassesToTheNextServiceWantingIt) {
  // Service 20 wants service 10's frontend too: 10 keeps it, 20 is left out.
  LbService rival = input_.services[20];
  rival.frontends = input_.services[10].frontends;
  Replace(20, rival);
  EXPECT_THAT(desired_.desired().problems, ::testing::Contains(HasSubstr("already served by")));
  ExpectSameAsFromScratch();
  // Once 10 is gone, 20 gets it, without being touched itself.
  Replace(10, std::nullopt);
  const uint32_t rival_id = *ids_.services.Find(testing::ServiceName(20));
  bool served = false;
  for (const auto& [key, frontend] : desired_.desired().frontends) {
    served = served || frontend.service_id == rival_id;
  }
  EXPECT_TRUE(served);
  EXPECT_THAT(desired_.desired().problems, IsEmpty());
  ExpectSameAsFromScratch();
}

TEST_F(IncrementalDesiredTest, ABackendSharedByTwoServicesStaysWhileOneUsesIt) {
  LbService sharing = input_.services[30];
  sharing.backends.push_back(input_.services[31].backends[0]);
  EXPECT_EQ(Replace(30, sharing), (ReconcileReport{.table_writes = 1}));
  EXPECT_EQ(Replace(31, std::nullopt).backend_deletes, kBackends - 1);
  ExpectSameAsFromScratch();
}

}  // namespace
}  // namespace ferry::lb
