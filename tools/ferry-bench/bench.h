// The measurements: each case run several times, every run checked against
// the datapath's counters, the median reported.
#ifndef FERRY_TOOLS_FERRY_BENCH_BENCH_H_
#define FERRY_TOOLS_FERRY_BENCH_BENCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/ferry-bench/harness.h"
#include "tools/ferry-bench/scenario.h"

namespace ferry::bench {

struct Options {
  uint32_t repeat = 50000;  // iterations per test run
  uint32_t runs = 7;        // test runs per case; the median is reported
};

struct Row {
  std::string name;  // e.g. "ipv4-new-flow"
  std::string description;
  uint32_t repeat = 0;
  // Per packet, the wrapper's own cost taken out.
  double ns = 0;
  // The restoring wrapper's own cost, measured around the minimal program
  // and subtracted from ns; 0 for programs run without the wrapper.
  double wrapper_ns = 0;
  double ratio = 0;  // ns / the minimal program's ns
  std::optional<double> target_ratio;
  bool meets_target() const { return !target_ratio || ratio <= *target_ratio; }
};

struct Results {
  double minimal_ns = 0;
  std::vector<Row> rows;
};

// Runs every case on a harness whose maps ProgramServices() filled. An error
// names the case and, when a run did not take the intended path, what the
// counters and the verdict showed instead.
absl::StatusOr<Results> RunAll(Harness& harness, const Packets& packets, const Options& options);

}  // namespace ferry::bench

#endif  // FERRY_TOOLS_FERRY_BENCH_BENCH_H_
