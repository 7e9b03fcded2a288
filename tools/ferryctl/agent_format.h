// ferryctl's views of the agent API's answers, as aligned text for people
// (scripts get the messages' JSON, agent/api/json.h).
#ifndef FERRY_TOOLS_FERRYCTL_AGENT_FORMAT_H_
#define FERRY_TOOLS_FERRYCTL_AGENT_FORMAT_H_

#include <cstdint>
#include <string>

#include "agent/api/ferry_agent.pb.h"

namespace ferry::ctl {

namespace api = ::ferry::agent::v1;

// now_unix_ns: for "up 3m07s" and "2s ago".
std::string StatusText(const api::AgentStatus& status, int64_t now_unix_ns);
std::string ServiceTable(const api::ServiceList& services);
// One table per (Service, port, family): slots and share per backend.
std::string MaglevText(const api::ServiceList& services);

std::string PoolTable(const api::PoolList& pools);
// now_unix_ns: for "since 3m07s".
std::string AllocationTable(const api::AllocationList& allocations, int64_t now_unix_ns);
// One row per VIP (and per interface it is answered on), then the node's
// view: phase, live nodes, the fence, and each policy's conditions.
std::string L2Table(const api::L2Announcements& l2, int64_t now_unix_ns);
// One row per peer; a down or failing peer says why. Then the BGPPeer and
// BGPAdvertisement conditions that are not True.
std::string BgpPeerTable(const api::BgpPeers& peers, int64_t now_unix_ns);
std::string BgpRouteTable(const api::BgpRoutes& routes);

// "1.5 KiB", "32.0 MiB".
std::string FormatBytes(uint64_t bytes);

}  // namespace ferry::ctl

#endif  // FERRY_TOOLS_FERRYCTL_AGENT_FORMAT_H_
