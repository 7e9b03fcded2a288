// Time per allocation and per release as pools fill and empty: Services
// allocated one by one from an IPv4 /16 (65,534 Services fill it to the last
// address), an IPv6 /48 (100,000 Services), and both (100,000
// PreferDualStack Services; past 65,534 they wait for IPv4), then released in
// random order. Each 1,000 operations are timed on their own; the counters
// give the time per operation of the blocks at 0%, 25%, 50%, 75% and the
// last 1,000. Flat figures mean no operation scans the pool.
#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "ipam/allocator.h"
#include "ipam/ipam_testing.h"

namespace ferry::ipam {
namespace {

constexpr int kBlock = 1000;
enum Families : int64_t { kIPv4Only = 4, kIPv6Only = 6, kDual = 46 };

Service BenchService(int64_t families, int i) {
  Service service = testing::ServiceOf("bench", absl::StrCat("s", i));
  service.creation_timestamp = absl::FromUnixSeconds(i);
  if (families == kIPv6Only) service.ip_families = {IpFamily::kIPv6};
  if (families == kDual) service = testing::DualStack(service, IpFamilyPolicy::kPreferDualStack);
  return service;
}

// Runs `operation(i)` for i in [0, count), timing each block of kBlock, and
// returns the seconds per operation of each block.
template <typename Operation>
std::vector<double> TimeBlocks(int count, Operation operation) {
  std::vector<double> per_operation;
  for (int start = 0; start < count; start += kBlock) {
    const int end = std::min(count, start + kBlock);
    const auto begin = std::chrono::steady_clock::now();
    for (int i = start; i < end; ++i) operation(i);
    const std::chrono::duration<double> spent = std::chrono::steady_clock::now() - begin;
    per_operation.push_back(spent.count() / (end - start));
  }
  return per_operation;
}

void Report(benchmark::State& state, const std::string& what, const std::vector<double>& blocks) {
  const size_t n = blocks.size();
  const std::pair<const char*, size_t> points[] = {
      {"@0%", 0}, {"@25%", n / 4}, {"@50%", n / 2}, {"@75%", 3 * n / 4}, {"@last", n - 1}};
  for (const auto& [name, index] : points) {
    state.counters[absl::StrCat(what, name)] = blocks[index] * 1e6;  // microseconds
  }
}

void BM_FillThenEmpty(benchmark::State& state) {
  const int64_t families = state.range(0);
  const int count = static_cast<int>(state.range(1));
  testing::FakeClock clock;
  std::mt19937 random(count);
  for (auto _ : state) {
    Allocator allocator(clock.AsClock());
    allocator.UpsertPool(
        testing::Parsed(testing::PoolOf("bench", {"198.19.0.0/16", "2001:db8:19::/48"})));
    std::vector<Service> services;
    for (int i = 0; i < count; ++i) services.push_back(BenchService(families, i));
    const auto begin = std::chrono::steady_clock::now();
    const std::vector<double> allocations = TimeBlocks(count, [&](int i) {
      benchmark::DoNotOptimize(allocator.UpsertService(services[i]));
    });
    if (allocator.AllocationOf(services[count - 1].ref)->grants.empty()) {
      state.SkipWithError("the last Service got no address");
      return;
    }
    std::vector<int> order(count);
    for (int i = 0; i < count; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), random);
    const std::vector<double> releases = TimeBlocks(count, [&](int i) {
      benchmark::DoNotOptimize(allocator.DeleteService(services[order[i]].ref));
    });
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
    Report(state, "alloc_us", allocations);
    Report(state, "release_us", releases);
  }
  state.SetItemsProcessed(2 * count);
}

BENCHMARK(BM_FillThenEmpty)
    ->ArgNames({"families", "services"})
    ->Args({kIPv4Only, 65534})
    ->Args({kIPv6Only, 100000})
    ->Args({kDual, 100000})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ferry::ipam
