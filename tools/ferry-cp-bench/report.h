// The bench's figures, for a person (aligned text, one column per source
// and Maglev table size) or a program (--json).
#ifndef FERRY_TOOLS_FERRY_CP_BENCH_REPORT_H_
#define FERRY_TOOLS_FERRY_CP_BENCH_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "tools/ferry-cp-bench/bench.h"

namespace ferry::cpbench {

struct Report {
  ScenarioOptions scenario;
  std::optional<ManifestStats> manifests;  // when a run read them
  std::vector<RunResult> runs;
};

// False when a run's change wrote more than that service's entries or
// ferryd did not exit cleanly.
bool ChecksPassed(const Report& report);

std::string FormatText(const Report& report);
std::string FormatJson(const Report& report);

}  // namespace ferry::cpbench

#endif  // FERRY_TOOLS_FERRY_CP_BENCH_REPORT_H_
