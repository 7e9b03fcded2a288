// Reads the pinned maps into rows.
#ifndef FERRY_TOOLS_FERRYCTL_SNAPSHOT_H_
#define FERRY_TOOLS_FERRYCTL_SNAPSHOT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/maps.h"
#include "tools/ferryctl/rows.h"

namespace ferry::ctl {

// Frontends sorted by family, VIP, port and protocol, each with the backends
// of its Maglev table.
absl::StatusOr<std::vector<FrontendRow>> ReadFrontends(const datapath::LbMaps& maps);
// Flows sorted by client, then VIP. monotonic_now_ns: CLOCK_MONOTONIC, the
// clock of the flows' timestamps.
absl::StatusOr<std::vector<FlowRow>> ReadFlows(const datapath::LbMaps& maps,
                                               uint64_t monotonic_now_ns);
// Every drop reason and event, zeros included, in enum order.
absl::StatusOr<Counters> ReadCounters(const datapath::LbMaps& maps);

}  // namespace ferry::ctl

#endif  // FERRY_TOOLS_FERRYCTL_SNAPSHOT_H_
