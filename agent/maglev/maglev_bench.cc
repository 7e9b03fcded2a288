// Time to build one service's Maglev table, which the agent does on every
// change to the service's backends.
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/maglev/maglev.h"
#include "benchmark/benchmark.h"

namespace ferry::maglev {
namespace {

void BM_BuildTable(benchmark::State& state) {
  std::vector<Backend> backends;
  for (int64_t i = 0; i < state.range(0); ++i) {
    backends.push_back({.key = absl::StrCat("198.18.", 16 + i / 200, ".", 10 + i % 200, ":8080")});
  }
  for (auto _ : state) {
    absl::StatusOr<std::vector<uint32_t>> table = BuildTable(backends, kDefaultTableSize);
    if (!table.ok()) {
      state.SkipWithError(std::string(table.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(table->data());
  }
  state.counters["slots"] = kDefaultTableSize;
}
BENCHMARK(BM_BuildTable)->ArgName("backends")->Arg(10)->Arg(100)->Arg(1000)->Unit(
    benchmark::kMicrosecond);

}  // namespace
}  // namespace ferry::maglev
