#include "agent/lb/reconcile.h"

#include <algorithm>
#include <optional>

#include "agent/lb/desired.h"
#include "agent/lb/recover.h"
#include "agent/lb/testing/cluster.h"
#include "agent/lb/testing/fake_map_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::lb {
namespace {

using testing::FakeMapStore;
using ::testing::IsEmpty;
using testing::MakeCluster;
using testing::OpKind;

constexpr int kServices = 1000;
constexpr int kBackends = 10;
constexpr int kNodes = 4;
constexpr IdCapacity kCapacity{.services = 4096, .backends = 65536, .nodes = 64};

// Position in the log of the first op of `kind` on `id`, or -1.
int Position(const FakeMapStore& store, OpKind kind, uint32_t id) {
  const auto& log = store.log();
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].kind == kind && log[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

std::vector<uint32_t> IdsOf(const FakeMapStore& store, OpKind kind) {
  std::vector<uint32_t> ids;
  for (const testing::Op& op : store.log()) {
    if (op.kind == kind) ids.push_back(op.id);
  }
  return ids;
}

class ReconcileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    input_ = MakeCluster(kServices, kBackends, kNodes);
    const ReconcileReport report = Apply();
    EXPECT_EQ(report, (ReconcileReport{.node_upserts = kNodes,
                                       .backend_upserts = kServices * kBackends,
                                       .stats_clears = kServices,
                                       .table_writes = kServices,
                                       .frontend_upserts = kServices}))
        << ToString(report);
    store_.ClearLog();
  }

  void TearDown() override { EXPECT_THAT(store_.violations(), IsEmpty()); }

  ReconcileReport Apply() {
    absl::StatusOr<DesiredState> desired = ComputeDesired(input_, ids_);
    EXPECT_TRUE(desired.ok()) << desired.status();
    if (!desired.ok()) return {};
    EXPECT_THAT(desired->problems, IsEmpty());
    absl::StatusOr<ReconcileReport> report = reconciler_->Reconcile(*desired);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : ReconcileReport{};
  }

  uint32_t ServiceId(int service) { return *ids_.services.Find(testing::ServiceName(service)); }
  uint32_t BackendId(const Backend& backend) {
    return *ids_.backends.Find(BackendIdentity(backend));
  }

  // Restarts the agent: ids and the reconciler's memory are gone, the maps stay.
  void Restart() {
    absl::StatusOr<ActualState> actual = ReadActual(store_);
    ASSERT_TRUE(actual.ok()) << actual.status();
    ids_ = RecoverIds(input_, *actual, kCapacity);
    reconciler_.emplace(store_);
  }

  LbInput input_;
  FakeMapStore store_;
  Ids ids_{kCapacity};
  std::optional<Reconciler> reconciler_{std::in_place, store_};
};

TEST_F(ReconcileTest, NothingChangedWritesNothing) {
  EXPECT_EQ(Apply().writes(), 0);
  EXPECT_EQ(store_.table_reads(), 0) << "tables are remembered, not read back";
}

TEST_F(ReconcileTest, ChangingOneBackendOfOneServiceWritesOnlyThatService) {
  std::vector<Backend>& backends = input_.services[500].backends;
  const uint32_t old_id = BackendId(backends[3]);
  backends[3] = testing::MakePod(kServices * kBackends + 1, kNodes);  // a new pod
  EXPECT_EQ(Apply(),
            (ReconcileReport{.backend_upserts = 1, .table_writes = 1, .backend_deletes = 1}));
  const uint32_t new_id = BackendId(backends[3]);
  EXPECT_EQ(new_id, uint32_t{kServices * kBackends}) << "a never-used id, not the freed one";
  EXPECT_EQ(IdsOf(store_, OpKind::kSetTable), std::vector<uint32_t>{ServiceId(500)});
  EXPECT_EQ(IdsOf(store_, OpKind::kDeleteBackend), std::vector<uint32_t>{old_id});
  EXPECT_LT(Position(store_, OpKind::kUpsertBackend, new_id),
            Position(store_, OpKind::kSetTable, ServiceId(500)));
  EXPECT_LT(Position(store_, OpKind::kSetTable, ServiceId(500)),
            Position(store_, OpKind::kDeleteBackend, old_id));
}

TEST_F(ReconcileTest, AddingAServiceWritesItsBackendsThenTableThenFrontend) {
  LbInput more = MakeCluster(kServices + 1, kBackends, kNodes);
  input_.services.push_back(more.services.back());
  EXPECT_EQ(Apply(), (ReconcileReport{.backend_upserts = kBackends,
                                      .stats_clears = 1,
                                      .table_writes = 1,
                                      .frontend_upserts = 1}));
  const uint32_t id = ServiceId(kServices);
  const int table = Position(store_, OpKind::kSetTable, id);
  for (uint32_t backend : IdsOf(store_, OpKind::kUpsertBackend)) {
    EXPECT_LT(Position(store_, OpKind::kUpsertBackend, backend), table);
  }
  EXPECT_LT(Position(store_, OpKind::kClearStats, id), table);
  EXPECT_LT(table, Position(store_, OpKind::kUpsertFrontend, id));
}

TEST_F(ReconcileTest, RemovingAServiceDeletesFrontendThenTableThenBackends) {
  const uint32_t id = ServiceId(10);
  input_.services.erase(input_.services.begin() + 10);
  EXPECT_EQ(Apply(), (ReconcileReport{
                         .frontend_deletes = 1, .table_deletes = 1, .backend_deletes = kBackends}));
  const int table = Position(store_, OpKind::kDeleteTable, id);
  EXPECT_LT(Position(store_, OpKind::kDeleteFrontend, id), table);
  for (uint32_t backend : IdsOf(store_, OpKind::kDeleteBackend)) {
    EXPECT_GT(Position(store_, OpKind::kDeleteBackend, backend), table);
  }
}

TEST_F(ReconcileTest, PolicyLocalAndBackSwapsOnlyTheTable) {
  input_.services[7].policy = TrafficPolicy::kLocal;
  EXPECT_EQ(Apply(), (ReconcileReport{.table_writes = 1}));
  const Entries<uint32_t, ferry_backend> backends = store_.ListBackends().value();
  const std::vector<uint32_t> table = store_.ReadMaglevTable(ServiceId(7)).value();
  for (uint32_t backend_id : table) {
    auto it = std::find_if(backends.begin(), backends.end(),
                           [&](const auto& entry) { return entry.first == backend_id; });
    ASSERT_NE(it, backends.end());
    EXPECT_EQ(it->second.node_id, *ids_.nodes.Find("node0"));
  }
  store_.ClearLog();
  input_.services[7].policy = TrafficPolicy::kCluster;
  EXPECT_EQ(Apply(), (ReconcileReport{.table_writes = 1}));
}

TEST_F(ReconcileTest, LocalPolicyWithoutLocalBackendDropsTheTableAndKeepsTheFrontend) {
  LbService& service = input_.services[9];
  std::erase_if(service.backends, [](const Backend& backend) { return backend.node == "node0"; });
  EXPECT_EQ(Apply(), (ReconcileReport{.table_writes = 1, .backend_deletes = 2}));
  store_.ClearLog();
  service.policy = TrafficPolicy::kLocal;
  EXPECT_EQ(Apply(), (ReconcileReport{.table_deletes = 1}));
  EXPECT_EQ(store_.ReadMaglevTable(ServiceId(9)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.ListFrontends()->size(), size_t{kServices});
  store_.ClearLog();
  service.policy = TrafficPolicy::kCluster;
  EXPECT_EQ(Apply(), (ReconcileReport{.table_writes = 1}));
}

TEST_F(ReconcileTest, NextHopChangeRewritesOnlyThatNode) {
  input_.nodes[2].route.next_hop_mac[5] = 0x99;
  EXPECT_EQ(Apply(), (ReconcileReport{.node_upserts = 1}));
  EXPECT_EQ(IdsOf(store_, OpKind::kUpsertNode), std::vector<uint32_t>{*ids_.nodes.Find("node2")});
}

TEST_F(ReconcileTest, RemovingANodeDeletesItAfterItsBackends) {
  input_.nodes.pop_back();  // node3, and its pods with it
  for (LbService& service : input_.services) {
    std::erase_if(service.backends, [](const Backend& backend) { return backend.node == "node3"; });
  }
  const uint32_t node = kNodes - 1;
  const ReconcileReport report = Apply();
  EXPECT_EQ(report, (ReconcileReport{.table_writes = kServices,
                                     .backend_deletes = kServices * kBackends / kNodes,
                                     .node_deletes = 1}))
      << ToString(report);
  const int deleted = Position(store_, OpKind::kDeleteNode, node);
  for (uint32_t backend : IdsOf(store_, OpKind::kDeleteBackend)) {
    EXPECT_LT(Position(store_, OpKind::kDeleteBackend, backend), deleted);
  }
}

TEST_F(ReconcileTest, RestartRecoversIdsFromTheMapsAndWritesNothing) {
  Restart();
  EXPECT_EQ(Apply().writes(), 0);
  EXPECT_EQ(store_.table_reads(), kServices) << "each table verified once, slot by slot";
  EXPECT_EQ(Apply().writes(), 0);
  EXPECT_EQ(store_.table_reads(), kServices);
}

TEST_F(ReconcileTest, RestartAfterChangesWhileDownWritesOnlyThoseAndKeepsStaleIdsAside) {
  const uint32_t gone_service = ServiceId(3);
  std::vector<uint32_t> stale;
  for (const Backend& backend : input_.services[3].backends) stale.push_back(BackendId(backend));
  stale.push_back(BackendId(input_.services[4].backends[0]));
  input_.services.erase(input_.services.begin() + 3);
  input_.services[3].backends[0] = testing::MakePod(kServices * kBackends + 5, kNodes);

  Restart();
  EXPECT_EQ(Apply(), (ReconcileReport{.backend_upserts = 1,
                                      .table_writes = 1,
                                      .frontend_deletes = 1,
                                      .table_deletes = 1,
                                      .backend_deletes = kBackends + 1}));
  EXPECT_EQ(IdsOf(store_, OpKind::kDeleteTable), std::vector<uint32_t>{gone_service});
  const uint32_t new_id = BackendId(input_.services[3].backends[0]);
  EXPECT_EQ(std::count(stale.begin(), stale.end(), new_id), 0)
      << "a backend id conntrack may still hold is not given to a new pod";
}

TEST_F(ReconcileTest, ATableTheMapsHoldDifferentlyIsRewrittenAfterRestart) {
  const uint32_t id = ServiceId(42);
  std::vector<uint32_t> slots = store_.ReadMaglevTable(id).value();
  std::swap(slots.front(), slots.back());
  const MaglevTableWrite altered[] = {{id, slots}};
  ASSERT_TRUE(store_.SetMaglevTables(altered).ok());
  store_.ClearLog();
  Restart();
  EXPECT_EQ(Apply(), (ReconcileReport{.table_writes = 1}));
  EXPECT_EQ(IdsOf(store_, OpKind::kSetTable), std::vector<uint32_t>{id});
}

TEST_F(ReconcileTest, SlotCountsAreThoseOfTheTableWrittenOrVerified) {
  auto check = [&](int service) {
    const uint32_t id = ServiceId(service);
    const absl::flat_hash_map<uint32_t, uint32_t>* counts = reconciler_->SlotCounts(id);
    ASSERT_NE(counts, nullptr) << "service " << service;
    absl::flat_hash_map<uint32_t, uint32_t> expected;
    const std::vector<uint32_t> slots = store_.ReadMaglevTable(id).value();
    for (uint32_t backend : slots) ++expected[backend];
    EXPECT_EQ(*counts, expected) << "service " << service;
    EXPECT_EQ(counts->size(), input_.services[service].backends.size());
  };
  check(7);
  input_.services[7].backends.pop_back();
  Apply();
  check(7);
  Restart();
  Apply();
  check(7);
  check(8);
  EXPECT_EQ(reconciler_->SlotCounts(kServices * 2), nullptr) << "no such table";
}

TEST(ReconcileReportTest, NamesOnlyTheKindsWritten) {
  EXPECT_EQ(ToString(ReconcileReport{}), "no writes");
  EXPECT_EQ(ToString(ReconcileReport{.table_writes = 2, .backend_deletes = 1}),
            "table_writes=2 backend_deletes=1");
}

}  // namespace
}  // namespace ferry::lb
