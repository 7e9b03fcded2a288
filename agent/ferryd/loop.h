// ferryd's event loop: the source's changes (agent/sources), changes of the
// namespace's routes, neighbours and links (next hops, pods' veths), the
// agent's retries (only while something waits for one: nothing runs while
// nothing changes), and SIGTERM/SIGINT.
#ifndef FERRY_AGENT_FERRYD_LOOP_H_
#define FERRY_AGENT_FERRYD_LOOP_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/datapath/fd.h"
#include "agent/ferryd/agent.h"
#include "agent/sources/source.h"

namespace ferry::ferryd {

// Blocks SIGTERM and SIGINT in the calling thread and returns a signalfd
// that reads them. Call before any other thread starts (threads inherit the
// mask; a thread that did not block them would die of them instead).
absl::StatusOr<datapath::Fd> BlockTerminationSignals();

// Hands the agent the source's changes as they come until `signals` (from
// BlockTerminationSignals) reads SIGTERM or SIGINT, and returns that
// signal's number. Programs stay attached and maps pinned on return.
absl::StatusOr<int> RunLoop(Agent& agent, sources::Source& source, int signals);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_LOOP_H_
