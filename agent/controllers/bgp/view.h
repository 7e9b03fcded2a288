// The agent API's BGP answers (ferry_agent.proto's BgpPeers, BgpRoutes),
// from the plan (what this node should run) and the speaker's sessions.
// Pure, so the shapes are unit-tested.
#ifndef FERRY_AGENT_CONTROLLERS_BGP_VIEW_H_
#define FERRY_AGENT_CONTROLLERS_BGP_VIEW_H_

#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/api/ferry_agent.pb.h"
#include "agent/controllers/bgp/plan.h"
#include "bgp/speaker.h"

namespace ferry::ferryd {

// Every planned peer with its session's status, and every peer that is down
// on this node with the reason, by name; plus the objects' conditions.
agent::v1::BgpPeers BgpPeersOf(absl::string_view node, const bgp_control::BgpPlan& plan,
                               std::span<const bgp::PeerStatus> sessions);

// `sent`: peer name -> the routes it holds, as the speaker sent them.
agent::v1::BgpRoutes BgpRoutesOf(absl::string_view node,
                                 const std::map<std::string, std::vector<bgp::Route>>& sent);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_BGP_VIEW_H_
