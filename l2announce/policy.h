// The ferry.dev/v1alpha1 L2AnnouncementPolicy (deploy/crds/
// l2announcementpolicy.yaml): which Services' addresses are announced on the
// link, by which nodes, on which interfaces. Cluster-scoped.
#ifndef FERRY_L2ANNOUNCE_POLICY_H_
#define FERRY_L2ANNOUNCE_POLICY_H_

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/address.h"
#include "net/selector.h"

namespace re2 {
class RE2;
}

namespace ferry::l2announce {

using net::FieldError;
using net::Labels;
using net::LabelSelector;
using net::LabelSelectorSpec;

inline constexpr absl::string_view kPolicyApiVersion = "ferry.dev/v1alpha1";
inline constexpr absl::string_view kPolicyKind = "L2AnnouncementPolicy";

struct L2AnnouncementPolicy {
  std::string name;
  LabelSelectorSpec service_selector;  // spec.serviceSelector; empty: every Service
  LabelSelectorSpec node_selector;     // spec.nodeSelector; empty: every node
  // spec.interfaces: each entry an interface name or an RE2 regular
  // expression that must match a whole name ("eth0", "enp.*s0"). Empty:
  // every interface the datapath is attached to. A '.' in a name matches
  // any character, as in any regular expression: "eth0\.100" is exact.
  std::vector<std::string> interfaces;
  bool load_balancer_ips = true;  // spec.loadBalancerIPs: the Service's LoadBalancer VIPs
  bool external_ips = false;      // spec.externalIPs: the Service's spec.externalIPs
  bool operator==(const L2AnnouncementPolicy&) const = default;
};

// Every problem with the policy; fields are JSON paths under "spec".
std::vector<FieldError> Validate(const L2AnnouncementPolicy& policy);

// The Service facts a policy looks at.
struct ServiceAddresses {
  Labels labels;
  std::vector<net::IpAddress> load_balancer_ips;  // assigned VIPs (status.loadBalancer.ingress)
  std::vector<net::IpAddress> external_ips;       // spec.externalIPs
};

// A valid policy with its selectors parsed and its regular expressions
// compiled.
class PolicyMatcher {
 public:
  // InvalidArgument naming the policy and listing every FieldError.
  static absl::StatusOr<PolicyMatcher> Compile(L2AnnouncementPolicy policy);

  PolicyMatcher(PolicyMatcher&&) noexcept;
  PolicyMatcher& operator=(PolicyMatcher&&) noexcept;
  ~PolicyMatcher();

  const L2AnnouncementPolicy& policy() const { return policy_; }
  bool SelectsNode(const Labels& node_labels) const;
  // The Service's addresses this policy announces (none when its selector
  // does not match), in the order given, load balancer IPs first.
  std::vector<net::IpAddress> AnnouncedAddresses(const ServiceAddresses& service) const;
  // The interfaces among `available` that the policy selects, in that order.
  std::vector<std::string> SelectInterfaces(std::span<const std::string> available) const;
  // Indexes into spec.interfaces of the entries that match none of
  // `available`.
  std::vector<size_t> UnmatchedInterfaceEntries(std::span<const std::string> available) const;

 private:
  explicit PolicyMatcher(L2AnnouncementPolicy policy);
  bool EntryMatches(size_t entry, absl::string_view interface) const;

  L2AnnouncementPolicy policy_;
  LabelSelector service_selector_;
  LabelSelector node_selector_;
  std::vector<std::unique_ptr<re2::RE2>> patterns_;  // one per spec.interfaces entry
};

// Kubernetes-style status conditions (metav1.Condition without the times
// and generation, which the writer adds).
enum class ConditionStatus { kTrue, kFalse, kUnknown };
struct Condition {
  std::string type;
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;  // CamelCase
  std::string message;
  bool operator==(const Condition&) const = default;
};
absl::string_view StatusName(ConditionStatus status);  // "True", "False", "Unknown"

inline constexpr absl::string_view kConditionAccepted = "Accepted";
inline constexpr absl::string_view kConditionInterfacesMatched = "InterfacesMatched";

// The interfaces one node has (those the datapath is attached to).
struct NodeInterfaces {
  std::string node;
  Labels labels;
  std::vector<std::string> interfaces;
};

// The policy's conditions:
//  Accepted: True/Valid, or False with every problem in the message and
//    the reason InvalidSelector (a selector is wrong), else InvalidInterface
//    (an interfaces entry is not a regular expression), else
//    NothingToAnnounce (both address switches off).
//  InterfacesMatched (valid policies only): False/NoSelectedNode when the
//    nodeSelector matches none of `nodes`; False/NoMatchingInterface naming
//    the entries that match no interface on some selected node, and the
//    nodes; otherwise True/Matched.
std::vector<Condition> PolicyConditions(const L2AnnouncementPolicy& policy,
                                        std::span<const NodeInterfaces> nodes);

}  // namespace ferry::l2announce

#endif  // FERRY_L2ANNOUNCE_POLICY_H_
