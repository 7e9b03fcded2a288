// What the kubelet's probes ask of ferryd (deploy/helm/ferry's DaemonSet):
// liveness fails only when the loop is stuck inside one pass, never while it
// waits for changes (an idle agent is a healthy one); readiness holds once a
// pass has programmed the datapath from the source's first full list (a
// retry or a route change before that list, as while the API server cannot
// be reached, does not make an agent ready).
// The loop's thread writes it, the health server's thread reads it.
#ifndef FERRY_AGENT_FERRYD_HEALTH_H_
#define FERRY_AGENT_FERRYD_HEALTH_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace ferry::ferryd {

// Longer than any first pass seen (43 s for 10,000 Services at the default
// Maglev size), so a large cluster's start is not taken for a hang.
inline constexpr absl::Duration kStuckPass = absl::Minutes(5);

struct ProbeAnswer {
  int http_status = 200;
  std::string text;
};

class LoopHealth {
 public:
  void PassStarted(absl::Time now);
  void PassEnded();
  // The pass that ended had the source's whole list.
  void Programmed();

  ProbeAnswer Liveness(absl::Time now) const;
  ProbeAnswer Readiness() const;

 private:
  // Unix ns of the running pass's start; 0 between passes.
  std::atomic<int64_t> pass_started_ns_{0};
  std::atomic<bool> programmed_{false};
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_HEALTH_H_
