// The BGP controller's pure half: the model's BGPPeers and BGPAdvertisements
// turned into this node's sessions (bgp::PeerConfig, what bgp::Speaker runs)
// and the routes each peer should hold, with status conditions for the
// objects and problems for the log. No I/O: Services' VIPs and Secrets come
// through the functions passed in.
//
// Rules:
//  - A BGPPeer runs on the nodes its nodeSelector selects. Its router ID is
//    spec.routerID, else the node's first IPv4 InternalIP; its TTL is
//    spec.ebgpMultihop, else 1 for an external peer and 255 for an internal
//    one. It is kept down (listed in BgpPlan::down, never connected) when its
//    password cannot be read, when there is no router ID, or when a peer
//    earlier by name already uses its address on this node: a session must
//    never come up without the password it was given.
//  - A password is the Secret's value with one trailing line break dropped
//    (what `echo` and editors add to a file); empty or longer than 80 octets
//    (TCP_MD5SIG's limit) keeps the peer down.
//  - A BGPAdvertisement applies to the peers spec.peers names, or to every
//    peer when it names none. LoadBalancerIPs: each VIP of each Service its
//    serviceSelector selects (the namespace seen as the label
//    io.kubernetes.service.namespace), while the Service has a ready endpoint
//    of the VIP's family (model::HasReadyEndpoints), on this node when its
//    externalTrafficPolicy is Local; as a /32 or /128, or the prefix of the
//    aggregation length that holds it. PodCIDR: the node's spec.podCIDRs.
//  - A peer gets only prefixes of its families. The next hop of a prefix is
//    the peer's sourceAddress when of the prefix's family, else the node's
//    first InternalIP of that family (so IPv6 routes over an IPv4 session
//    carry the node's IPv6 address); a prefix with neither is not advertised
//    and a problem says so, once per peer and family.
//  - When several advertisements give a peer the same prefix, it carries the
//    union of their communities and large communities (sorted, without
//    duplicates), the highest localPreference and the lowest MED any of them
//    sets (the most preferred path); a problem names advertisements that
//    disagree.
//  - Everything comes out in a fixed order: peers by name, routes by prefix,
//    statuses by object, problems in the order found.
#ifndef FERRY_AGENT_CONTROLLERS_BGP_PLAN_H_
#define FERRY_AGENT_CONTROLLERS_BGP_PLAN_H_

#include <span>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/model/manifest_dir.h"
#include "agent/model/model.h"
#include "bgp/session.h"
#include "bgp/speaker.h"
#include "l2announce/policy.h"

namespace ferry::bgp_control {

// A Service's VIPs: what LB-IPAM granted it.
using VipsOf = absl::FunctionRef<std::vector<net::IpAddress>(const model::ObjectRef& service)>;
// The value of key `key` of the Secret `name` (secrets.h reads one from a
// directory; in a cluster, the Secret in the agent's namespace).
using SecretReader =
    absl::FunctionRef<absl::StatusOr<std::string>(absl::string_view name, absl::string_view key)>;

// Kubernetes-style conditions, the same shape as the L2 policy's.
using l2announce::Condition;
using l2announce::ConditionStatus;
inline constexpr absl::string_view kConditionAccepted = l2announce::kConditionAccepted;
// BGPPeer only, as this node sees it: True/Configured when this node runs
// the session; False/PasswordUnavailable, NoRouterID or AddressConflict when
// it keeps it down; False/NoSelectedNode when the nodeSelector selects no
// Node at all. Absent when the peer selects other nodes but not this one.
inline constexpr absl::string_view kConditionSessionConfigured = "SessionConfigured";

struct PeerPlan {
  bgp::PeerConfig config;
  std::vector<bgp::Advertisement> routes;  // by prefix
};

// A BGPPeer selecting this node whose session must not run.
struct DownPeer {
  std::string name;
  net::IpAddress address;
  std::string reason;
};

struct ObjectStatus {
  model::ObjectRef object;
  std::vector<Condition> conditions;
};

struct BgpPlan {
  std::vector<PeerPlan> peers;  // by name
  std::vector<DownPeer> down;   // by name
  // Every BGPPeer and BGPAdvertisement in the model or rejected, by ObjectRef.
  std::vector<ObjectStatus> statuses;
  std::vector<std::string> problems;
};

// `rejected`: the manifests' problems; those of BGPPeers and
// BGPAdvertisements make their Accepted condition False/Invalid (the last
// valid version, if any, is in the model and stays in effect).
BgpPlan PlanBgp(const model::Model& model, absl::string_view this_node, VipsOf vips_of,
                SecretReader read_secret, std::span<const model::ObjectError> rejected = {});

}  // namespace ferry::bgp_control

#endif  // FERRY_AGENT_CONTROLLERS_BGP_PLAN_H_
