// The bench's output: an aligned table for people, JSON for scripts.
#ifndef FERRY_TOOLS_FERRY_BENCH_REPORT_H_
#define FERRY_TOOLS_FERRY_BENCH_REPORT_H_

#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"
#include "tools/ferry-bench/bench.h"

namespace ferry::bench {

// Under what conditions the figures were taken.
struct Setup {
  std::string kernel;
  int cpu = -1;
  uint32_t runs = 0;
  uint32_t maglev_size = 0;
  uint32_t flow_table_size = 0;
  uint32_t flow_entries_per_cpu = 0;
};

bool AllTargetsMet(const Results& results);
std::string FormatTable(const Setup& setup, const Results& results);
nlohmann::json ToJson(const Setup& setup, const Results& results);

}  // namespace ferry::bench

#endif  // FERRY_TOOLS_FERRY_BENCH_REPORT_H_
