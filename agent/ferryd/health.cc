#include "agent/ferryd/health.h"

#include "absl/strings/str_cat.h"

namespace ferry::ferryd {

void LoopHealth::PassStarted(absl::Time now) {
  pass_started_ns_.store(absl::ToUnixNanos(now), std::memory_order_relaxed);
}

void LoopHealth::PassEnded() { pass_started_ns_.store(0, std::memory_order_relaxed); }

void LoopHealth::Programmed() { programmed_.store(true, std::memory_order_release); }

ProbeAnswer LoopHealth::Liveness(absl::Time now) const {
  const int64_t started = pass_started_ns_.load(std::memory_order_relaxed);
  if (started == 0) return {200, "ok: waiting for changes\n"};
  const absl::Duration running = now - absl::FromUnixNanos(started);
  if (running < kStuckPass) return {200, "ok: a pass is running\n"};
  return {503, absl::StrCat("stuck: one pass has run for ", absl::FormatDuration(running),
                            " (more than ", absl::FormatDuration(kStuckPass), ")\n")};
}

ProbeAnswer LoopHealth::Readiness() const {
  if (programmed_.load(std::memory_order_acquire)) return {200, "ok: datapath programmed\n"};
  return {503, "not ready: the source's first full list has not been programmed yet\n"};
}

}  // namespace ferry::ferryd
