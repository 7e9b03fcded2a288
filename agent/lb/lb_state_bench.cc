// Control-plane cost of the load-balancing state (DESIGN.md §8): computing
// the desired state and reconciling it into maps (the in-memory fake, so this
// measures our code, not the kernel's map writes), for 10,000 services x 10
// backends at M = 16381.
#include <optional>

#include "agent/lb/desired.h"
#include "agent/lb/reconcile.h"
#include "agent/lb/testing/cluster.h"
#include "agent/lb/testing/fake_map_store.h"
#include "benchmark/benchmark.h"

namespace ferry::lb {
namespace {

constexpr int kServices = 10000;
constexpr int kBackends = 10;
constexpr int kNodes = 8;
constexpr IdCapacity kCapacity{.services = 16384, .backends = 131072, .nodes = 64};

const LbInput& Cluster() {
  static const LbInput* input = new LbInput(testing::MakeCluster(kServices, kBackends, kNodes));
  return *input;
}

bool Program(const LbInput& input, Ids& ids, Reconciler& reconciler, benchmark::State& state,
             int* writes) {
  absl::StatusOr<DesiredState> desired = ComputeDesired(input, ids);
  if (!desired.ok()) {
    state.SkipWithError(std::string(desired.status().message()).c_str());
    return false;
  }
  absl::StatusOr<ReconcileReport> report = reconciler.Reconcile(*desired);
  if (!report.ok()) {
    state.SkipWithError(std::string(report.status().message()).c_str());
    return false;
  }
  *writes = report->writes();
  return true;
}

// With every id already assigned: the cost of any recomputation.
void BM_ComputeDesired(benchmark::State& state) {
  Ids ids(kCapacity);
  if (!ComputeDesired(Cluster(), ids).ok()) return state.SkipWithError("bad input");
  for (auto _ : state) {
    absl::StatusOr<DesiredState> desired = ComputeDesired(Cluster(), ids);
    benchmark::DoNotOptimize(desired);
  }
}
BENCHMARK(BM_ComputeDesired)->Unit(benchmark::kMillisecond)->Iterations(5);

// From empty maps: ids, desired state, every table built and written.
void BM_FullProgramming(benchmark::State& state) {
  int writes = 0;
  std::optional<testing::FakeMapStore> store;
  for (auto _ : state) {
    state.PauseTiming();  // not the previous fake's 655 MB of tables going away
    store.emplace(testing::FakeMapStore::Checks::kOff);
    state.ResumeTiming();
    Ids ids(kCapacity);
    Reconciler reconciler(*store);
    if (!Program(Cluster(), ids, reconciler, state, &writes)) return;
  }
  state.counters["writes"] = writes;
}
BENCHMARK(BM_FullProgramming)->Unit(benchmark::kMillisecond)->Iterations(2);

// One backend of one service replaced, programmed maps: recompute + diff +
// one table rebuilt and swapped.
void BM_OneBackendChange(benchmark::State& state) {
  testing::FakeMapStore store(testing::FakeMapStore::Checks::kOff);
  Ids ids(kCapacity);
  Reconciler reconciler(store);
  LbInput input = Cluster();
  int writes = 0;
  if (!Program(input, ids, reconciler, state, &writes)) return;
  const Backend pods[2] = {input.services[5000].backends[3],
                           testing::MakePod(kServices * kBackends, kNodes)};
  int turn = 0;
  for (auto _ : state) {
    input.services[5000].backends[3] = pods[++turn % 2];
    if (!Program(input, ids, reconciler, state, &writes)) return;
    if (writes != 3) return state.SkipWithError("expected 3 writes per change");
  }
  state.counters["writes"] = writes;
}
BENCHMARK(BM_OneBackendChange)->Unit(benchmark::kMillisecond)->Iterations(10);

}  // namespace
}  // namespace ferry::lb
