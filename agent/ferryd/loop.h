// ferryd's event loop: the manifest directory's changes (inotify, debounced
// so an editor's or kubectl's burst of writes is one reload), a periodic
// pass that retries what could not be resolved, and SIGTERM/SIGINT.
#ifndef FERRY_AGENT_FERRYD_LOOP_H_
#define FERRY_AGENT_FERRYD_LOOP_H_

#include <filesystem>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/datapath/fd.h"
#include "agent/ferryd/agent.h"

namespace ferry::ferryd {

struct LoopTiming {
  // Quiet time after the last change before reloading...
  absl::Duration debounce = absl::Milliseconds(100);
  // ...but no longer than this after the first one, under constant writes.
  absl::Duration max_delay = absl::Seconds(1);
  absl::Duration tick = absl::Seconds(2);
};

// Blocks SIGTERM and SIGINT in the calling thread and returns a signalfd
// that reads them. Call before any other thread starts (threads inherit the
// mask; a thread that did not block them would die of them instead).
absl::StatusOr<datapath::Fd> BlockTerminationSignals();

// Loads the manifests once, then reacts to changes until `signals` (from
// BlockTerminationSignals) reads SIGTERM or SIGINT, and returns that
// signal's number. Programs stay attached and maps pinned on return.
absl::StatusOr<int> RunLoop(Agent& agent, const std::filesystem::path& manifests, int signals,
                     const LoopTiming& timing);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_LOOP_H_
