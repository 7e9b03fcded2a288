// Polling for the e2e tests: bounded in time, never a bare sleep-and-hope.
#ifndef FERRY_TEST_E2E_WAIT_H_
#define FERRY_TEST_E2E_WAIT_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ferry::netns {

// Polls `condition` every `every` until it holds (true) or `timeout` passes
// (false).
template <typename Condition>
bool WaitFor(Condition condition, absl::Duration timeout,
             absl::Duration every = absl::Milliseconds(50)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(every);
  }
  return true;
}

}  // namespace ferry::netns

#endif  // FERRY_TEST_E2E_WAIT_H_
