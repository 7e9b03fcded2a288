// Reads the pinned maps into rows.
#ifndef FERRY_TOOLS_FERRYCTL_SNAPSHOT_H_
#define FERRY_TOOLS_FERRYCTL_SNAPSHOT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/api/ferry_agent.pb.h"
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

// Sets each programmed service's slots and shares to what its pinned Maglev
// table holds (the agent's figures are what it wrote; these are what the
// datapath uses). A backend id the table holds that the agent did not list
// is added without an address.
absl::Status ReadMaglevShares(const datapath::LbMaps& maps, agent::v1::ServiceList& services);

}  // namespace ferry::ctl

#endif  // FERRY_TOOLS_FERRYCTL_SNAPSHOT_H_
