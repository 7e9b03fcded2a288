// The typed model of the Kubernetes objects Ferry reads (DESIGN.md §2): what
// a manifest directory, and later the API server, tells the agent. Only
// objects that passed validation (validate.h) are ever in a Model, so
// consumers can rely on ports being 1-65535, addresses being parsed, pools
// passing ipam::ParsePool, etc.
#ifndef FERRY_AGENT_MODEL_MODEL_H_
#define FERRY_AGENT_MODEL_MODEL_H_

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/address.h"
#include "agent/model/bgp.h"
#include "net/selector.h"
#include "ipam/pool.h"
#include "ipam/service.h"
#include "l2announce/policy.h"

namespace ferry::model {

inline constexpr absl::string_view kServiceKind = "Service";
inline constexpr absl::string_view kEndpointSliceKind = "EndpointSlice";
inline constexpr absl::string_view kNodeKind = "Node";
inline constexpr absl::string_view kLoadBalancerIPPoolKind = ipam::kPoolKind;
inline constexpr absl::string_view kL2AnnouncementPolicyKind = l2announce::kPolicyKind;
inline constexpr absl::string_view kBgpPeerKind = "BGPPeer";
inline constexpr absl::string_view kBgpAdvertisementKind = "BGPAdvertisement";
// The apiVersion of Ferry's own kinds.
inline constexpr absl::string_view kFerryApiVersion = l2announce::kPolicyApiVersion;

// A Service whose spec.loadBalancerClass is unset or ipam::kLoadBalancerClass
// is Ferry's; one with any other class belongs to another load-balancer
// implementation. The ferry.dev/ annotations of a Service (the addresses it
// requests, its sharing key, its pool) are ipam's.
using ipam::kIpsAnnotation;
using ipam::kLoadBalancerClass;
using ipam::kPoolAnnotation;
using ipam::kSharingKeyAnnotation;
// The label that ties an EndpointSlice to its Service.
inline constexpr absl::string_view kServiceNameLabel = "kubernetes.io/service-name";

struct ObjectRef {
  std::string kind;
  std::string namespace_;  // empty for cluster-scoped kinds (Node, pools, policies)
  std::string name;

  // "Service default/web", "Node node1".
  std::string ToString() const;
  auto operator<=>(const ObjectRef&) const = default;
};
inline std::ostream& operator<<(std::ostream& out, const ObjectRef& ref) {
  return out << ref.ToString();
}

struct ObjectMeta {
  std::string name;
  // "default" when a namespaced object's manifest leaves it out (as kubectl
  // does); empty for cluster-scoped objects.
  std::string namespace_;
  net::Labels labels;
  std::map<std::string, std::string> annotations;
  std::optional<absl::Time> creation_timestamp;  // nullopt when absent
  // As the API server gave them (empty and 0 when a manifest has none): a
  // status write's precondition and its conditions' observedGeneration.
  std::string resource_version;
  int64_t generation = 0;
  bool operator==(const ObjectMeta&) const = default;
};

enum class Protocol : uint8_t { kTCP, kUDP };
absl::string_view ProtocolName(Protocol protocol);  // "TCP", "UDP"

// IntOrString: a container port number or the name of a container port.
struct TargetPort {
  uint16_t number = 0;  // 0 when `name` is set
  std::string name;
  bool operator==(const TargetPort&) const = default;
};

struct ServicePort {
  std::string name;  // may be empty only when the Service has one port
  Protocol protocol = Protocol::kTCP;
  uint16_t port = 0;
  // Defaults to `port`, as the API server does.
  TargetPort target_port;
  bool operator==(const ServicePort&) const = default;
};

using ipam::IpFamilyPolicy;

// A metav1.Condition as read; only Ferry's own are interpreted.
struct StatusCondition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;
  std::string message;
  std::string last_transition_time;  // RFC 3339, as written
  int64_t observed_generation = 0;
  bool operator==(const StatusCondition&) const = default;
};
enum class TrafficPolicy : uint8_t { kCluster, kLocal };

// A core/v1 Service of type LoadBalancer whose class is Ferry's; no other
// Service is in the model.
struct Service {
  ObjectMeta metadata;
  std::vector<ServicePort> ports;
  std::vector<net::IpFamily> ip_families;               // spec.ipFamilies, may be empty
  std::optional<IpFamilyPolicy> ip_family_policy;  // spec.ipFamilyPolicy
  std::string load_balancer_class;                 // empty or kLoadBalancerClass
  std::optional<net::IpAddress> load_balancer_ip;       // spec.loadBalancerIP
  // spec.externalIPs: addresses the cluster accepts traffic for, that an
  // L2AnnouncementPolicy with externalIPs: true announces.
  std::vector<net::IpAddress> external_ips;
  TrafficPolicy external_traffic_policy = TrafficPolicy::kCluster;
  // The ferry.dev/ips annotation, in order. The other ferry.dev/
  // annotations are read from metadata.annotations (ipam_input.h).
  std::vector<net::IpAddress> annotated_ips;
  std::vector<net::IpAddress> ingress_ips;    // status.loadBalancer.ingress[].ip, in order
  // status.conditions as read, every controller's: a status write keeps
  // those it does not own.
  std::vector<StatusCondition> conditions;

  ObjectRef Ref() const;
  bool operator==(const Service&) const = default;
};

// Kubernetes documents nil conditions as: ready unknown = ready, serving
// unknown = whatever ready says, terminating unknown = not terminating.
struct EndpointConditions {
  std::optional<bool> ready;
  std::optional<bool> serving;
  std::optional<bool> terminating;

  bool IsReady() const { return ready.value_or(true); }
  bool IsServing() const { return serving.value_or(IsReady()); }
  bool IsTerminating() const { return terminating.value_or(false); }
  bool operator==(const EndpointConditions&) const = default;
};

struct Endpoint {
  // At least one, all of the slice's address type. Like kube-proxy, Ferry
  // sends traffic to the first one only.
  std::vector<net::IpAddress> addresses;
  EndpointConditions conditions;
  std::string node_name;  // empty when unknown
  bool operator==(const Endpoint&) const = default;
};

struct EndpointPort {
  std::string name;
  // nullopt: the slice does not say (Kubernetes: "all ports"); a Service
  // port with a numeric targetPort then uses that number.
  std::optional<uint16_t> port;
  Protocol protocol = Protocol::kTCP;
  bool operator==(const EndpointPort&) const = default;
};

// A discovery.k8s.io/v1 EndpointSlice of address type IPv4 or IPv6.
struct EndpointSlice {
  ObjectMeta metadata;
  net::IpFamily address_type = net::IpFamily::kIPv4;
  std::string service_name;  // the kubernetes.io/service-name label
  std::vector<Endpoint> endpoints;
  std::vector<EndpointPort> ports;

  ObjectRef Ref() const;
  // The Service this slice belongs to.
  ObjectRef ServiceRef() const;
  bool operator==(const EndpointSlice&) const = default;
};

// A core/v1 Node. Address types other than these three (InternalDNS,
// ExternalDNS) are valid Kubernetes but not used by Ferry, so not kept.
struct Node {
  ObjectMeta metadata;
  std::vector<net::IpAddress> internal_ips;
  std::vector<net::IpAddress> external_ips;
  std::vector<std::string> hostnames;
  std::vector<net::IpPrefix> pod_cidrs;  // spec.podCIDRs, else spec.podCIDR

  ObjectRef Ref() const;
  bool operator==(const Node&) const = default;
};

// A ferry.dev/v1alpha1 LoadBalancerIPPool (cluster-scoped). `spec` is as
// written, with its name and creation time copied from `metadata`, which
// is what ipam::ParsePool takes.
struct LoadBalancerIPPool {
  ObjectMeta metadata;
  ipam::PoolSpec spec;

  ObjectRef Ref() const;
  bool operator==(const LoadBalancerIPPool&) const = default;
};

// A ferry.dev/v1alpha1 L2AnnouncementPolicy (cluster-scoped); `spec.name`
// is metadata.name.
struct L2AnnouncementPolicy {
  ObjectMeta metadata;
  l2announce::L2AnnouncementPolicy spec;

  ObjectRef Ref() const;
  bool operator==(const L2AnnouncementPolicy&) const = default;
};

// A ferry.dev/v1alpha1 BGPPeer (cluster-scoped): one BGP session per
// selected node.
struct BgpPeer {
  ObjectMeta metadata;
  BgpPeerSpec spec;

  ObjectRef Ref() const;
  bool operator==(const BgpPeer&) const = default;
};

// A ferry.dev/v1alpha1 BGPAdvertisement (cluster-scoped): what the nodes
// advertise to their peers, with which attributes.
struct BgpAdvertisement {
  ObjectMeta metadata;
  BgpAdvertisementSpec spec;

  ObjectRef Ref() const;
  bool operator==(const BgpAdvertisement&) const = default;
};

using Object = std::variant<Service, EndpointSlice, Node, LoadBalancerIPPool, L2AnnouncementPolicy,
                            BgpPeer, BgpAdvertisement>;
ObjectRef RefOf(const Object& object);

struct ChangeSet;
struct ModelDelta;

class Model {
 public:
  // AlreadyExists when an object with the same ObjectRef is in the model;
  // the model is then unchanged.
  absl::Status Add(Object object);
  // Adds or replaces the object; false when the model held it as it is.
  bool Put(Object object);
  // False when the model did not hold it.
  bool Remove(const ObjectRef& ref);
  // Applies a source's changes (change.h) and says what changed: a change
  // that leaves an object as it was is no change.
  ModelDelta Apply(const ChangeSet& changes);

  const std::map<ObjectRef, Service>& services() const { return services_; }
  const std::map<ObjectRef, EndpointSlice>& endpoint_slices() const { return slices_; }
  const std::map<ObjectRef, Node>& nodes() const { return nodes_; }
  const std::map<ObjectRef, LoadBalancerIPPool>& pools() const { return pools_; }
  const std::map<ObjectRef, L2AnnouncementPolicy>& l2_policies() const { return l2_policies_; }
  const std::map<ObjectRef, BgpPeer>& bgp_peers() const { return bgp_peers_; }
  const std::map<ObjectRef, BgpAdvertisement>& bgp_advertisements() const {
    return bgp_advertisements_;
  }
  size_t size() const {
    return services_.size() + slices_.size() + nodes_.size() + pools_.size() + l2_policies_.size() +
           bgp_peers_.size() + bgp_advertisements_.size();
  }

  const Service* FindService(absl::string_view namespace_, absl::string_view name) const;
  const Node* FindNode(absl::string_view name) const;
  // The slices labelled with this Service's name, in ObjectRef order, whether
  // or not the Service itself is in the model.
  std::vector<const EndpointSlice*> SlicesOf(const ObjectRef& service) const;

  bool operator==(const Model& other) const {
    return services_ == other.services_ && slices_ == other.slices_ && nodes_ == other.nodes_ &&
           pools_ == other.pools_ && l2_policies_ == other.l2_policies_ &&
           bgp_peers_ == other.bgp_peers_ && bgp_advertisements_ == other.bgp_advertisements_;
  }

 private:
  std::map<ObjectRef, Service>& ObjectsOf(const Service&) { return services_; }
  std::map<ObjectRef, Node>& ObjectsOf(const Node&) { return nodes_; }
  std::map<ObjectRef, LoadBalancerIPPool>& ObjectsOf(const LoadBalancerIPPool&) { return pools_; }
  std::map<ObjectRef, L2AnnouncementPolicy>& ObjectsOf(const L2AnnouncementPolicy&) {
    return l2_policies_;
  }
  std::map<ObjectRef, BgpPeer>& ObjectsOf(const BgpPeer&) { return bgp_peers_; }
  std::map<ObjectRef, BgpAdvertisement>& ObjectsOf(const BgpAdvertisement&) {
    return bgp_advertisements_;
  }
  absl::Status AddSlice(EndpointSlice slice);
  void IndexSlice(const EndpointSlice& slice);
  void UnindexSlice(const EndpointSlice& slice);
  template <typename Visit>
  void ForEachRef(Visit visit) const;

  std::map<ObjectRef, Service> services_;
  std::map<ObjectRef, EndpointSlice> slices_;
  std::map<ObjectRef, Node> nodes_;
  std::map<ObjectRef, LoadBalancerIPPool> pools_;
  std::map<ObjectRef, L2AnnouncementPolicy> l2_policies_;
  std::map<ObjectRef, BgpPeer> bgp_peers_;
  std::map<ObjectRef, BgpAdvertisement> bgp_advertisements_;
  std::map<ObjectRef, std::vector<ObjectRef>> slices_by_service_;
};


struct Backend {
  net::IpAddress address;
  uint16_t port = 0;
  std::string node_name;
  bool terminating = false;
  auto operator<=>(const Backend&) const = default;
};

// The endpoints that receive new traffic for one port of a Service in one
// address family (a VIP of that family is DNATed to them).
struct PortBackends {
  ServicePort port;
  net::IpFamily family = net::IpFamily::kIPv4;
  // Sorted by address then port, without duplicates (a pod listed by two
  // slices while the slices are rebalanced counts once).
  std::vector<Backend> backends;
  // No endpoint was ready, so these are the serving-and-terminating ones
  // (Kubernetes' fallback, KEP-1669) so connections can still drain to them.
  bool terminating_fallback = false;
  // Serving and terminating while others are ready: they take no new
  // connection but keep the ones they have until they stop serving. Sorted
  // like `backends`; empty under terminating_fallback.
  std::vector<Backend> draining;
  bool operator==(const PortBackends&) const = default;
};

// The backends of each Service port, per family, for traffic arriving at
// `receiving_node`: with externalTrafficPolicy Local only endpoints on that
// node count, with Cluster every endpoint does (and receiving_node is not
// used). Within that set, the ready endpoints are used; when none is ready,
// the ones that are serving and terminating; never any other for new
// connections. Serving-and-terminating endpoints next to ready ones drain.
//
// A slice port matches a Service port when the protocols are equal and
//  1. its name is the Service port's name (what the EndpointSlice controller
//     writes: slice ports are named after Service ports and carry the
//     resolved target port), else
//  2. its name is the Service port's named targetPort (hand-written slices
//     that name the container port), else
//  3. the targetPort is a number: that number is used for the slice's
//     endpoints.
// A family appears once a slice of that family matches the port, even if
// none of its endpoints qualifies (the entry then has no backends).
std::vector<PortBackends> ServiceBackends(const Model& model, const Service& service,
                                          absl::string_view receiving_node);

// Whether traffic for the Service arriving at `receiving_node` has a ready
// endpoint to go to (ServiceBackends: with externalTrafficPolicy Local one on
// that node, with Cluster any), on some port, of `family` when given. Only
// serving-and-terminating endpoints do not count: they take no new
// connections, so a node should not draw traffic for them.
bool HasReadyEndpoints(const Model& model, const Service& service, absl::string_view receiving_node,
                       std::optional<net::IpFamily> family = std::nullopt);

}  // namespace ferry::model

#endif  // FERRY_AGENT_MODEL_MODEL_H_
