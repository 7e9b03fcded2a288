#include "agent/model/model.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::model {
namespace {

template <typename T>
absl::Status Insert(std::map<ObjectRef, T>& objects, T object) {
  ObjectRef ref = object.Ref();
  auto [it, inserted] = objects.try_emplace(ref, std::move(object));
  if (!inserted)
    return absl::AlreadyExistsError(absl::StrCat(ref.ToString(), " is already in the model"));
  return absl::OkStatus();
}

// The container port a slice gives for `port`, or nullopt when the slice
// has none for it (see ServiceBackends).
std::optional<uint16_t> ResolveTargetPort(const ServicePort& port, const EndpointSlice& slice) {
  auto find_named = [&](absl::string_view name) -> const EndpointPort* {
    for (const EndpointPort& candidate : slice.ports) {
      if (candidate.protocol == port.protocol && candidate.name == name && candidate.port) {
        return &candidate;
      }
    }
    return nullptr;
  };
  if (const EndpointPort* by_service_port = find_named(port.name)) return by_service_port->port;
  if (!port.target_port.name.empty()) {
    if (const EndpointPort* by_target = find_named(port.target_port.name)) return by_target->port;
    return std::nullopt;
  }
  return port.target_port.number;
}

// Sorted by address then port, a pod listed by two slices once.
std::vector<Backend> SortedUnique(std::vector<Backend> backends) {
  std::sort(backends.begin(), backends.end());
  backends.erase(std::unique(backends.begin(), backends.end(),
                             [](const Backend& a, const Backend& b) {
                               return a.address == b.address && a.port == b.port;
                             }),
                 backends.end());
  return backends;
}

// Kubernetes' choice among candidates: the ready ones, else the serving and
// terminating ones.
PortBackends Select(const ServicePort& port, net::IpFamily family, std::vector<Backend> ready,
                    std::vector<Backend> draining) {
  const bool fallback = ready.empty() && !draining.empty();
  if (fallback) std::swap(ready, draining);
  return {.port = port,
          .family = family,
          .backends = SortedUnique(std::move(ready)),
          .terminating_fallback = fallback,
          .draining = SortedUnique(std::move(draining))};
}

}  // namespace

std::string ObjectRef::ToString() const {
  // Both arms string_views: a std::string arm would make a temporary.
  const absl::string_view shown_kind = kind.empty() ? absl::string_view("object") : kind;
  const absl::string_view shown_name = name.empty() ? absl::string_view("(no name)") : name;
  if (namespace_.empty()) return absl::StrCat(shown_kind, " ", shown_name);
  return absl::StrCat(shown_kind, " ", namespace_, "/", shown_name);
}

absl::string_view ProtocolName(Protocol protocol) {
  return protocol == Protocol::kTCP ? "TCP" : "UDP";
}

ObjectRef Service::Ref() const {
  return {std::string(kServiceKind), metadata.namespace_, metadata.name};
}

ObjectRef EndpointSlice::Ref() const {
  return {std::string(kEndpointSliceKind), metadata.namespace_, metadata.name};
}

ObjectRef EndpointSlice::ServiceRef() const {
  return {std::string(kServiceKind), metadata.namespace_, service_name};
}

ObjectRef Node::Ref() const { return {std::string(kNodeKind), "", metadata.name}; }

ObjectRef LoadBalancerIPPool::Ref() const {
  return {std::string(kLoadBalancerIPPoolKind), "", metadata.name};
}

ObjectRef L2AnnouncementPolicy::Ref() const {
  return {std::string(kL2AnnouncementPolicyKind), "", metadata.name};
}

ObjectRef BgpPeer::Ref() const { return {std::string(kBgpPeerKind), "", metadata.name}; }

ObjectRef BgpAdvertisement::Ref() const {
  return {std::string(kBgpAdvertisementKind), "", metadata.name};
}

ObjectRef RefOf(const Object& object) {
  return std::visit([](const auto& typed) { return typed.Ref(); }, object);
}

absl::Status Model::Add(Object object) {
  return std::visit(
      [this](auto& typed) {
        if constexpr (std::is_same_v<std::decay_t<decltype(typed)>, EndpointSlice>) {
          return AddSlice(std::move(typed));
        } else {
          return Insert(ObjectsOf(typed), std::move(typed));
        }
      },
      object);
}

// Slices are also indexed by their Service.
absl::Status Model::AddSlice(EndpointSlice slice) {
  const ObjectRef slice_ref = slice.Ref();
  const ObjectRef service_ref = slice.ServiceRef();
  if (absl::Status status = Insert(slices_, std::move(slice)); !status.ok()) return status;
  std::vector<ObjectRef>& siblings = slices_by_service_[service_ref];
  siblings.insert(std::upper_bound(siblings.begin(), siblings.end(), slice_ref), slice_ref);
  return absl::OkStatus();
}

const Service* Model::FindService(absl::string_view namespace_, absl::string_view name) const {
  auto it = services_.find(
      ObjectRef{std::string(kServiceKind), std::string(namespace_), std::string(name)});
  return it == services_.end() ? nullptr : &it->second;
}

const Node* Model::FindNode(absl::string_view name) const {
  auto it = nodes_.find(ObjectRef{std::string(kNodeKind), "", std::string(name)});
  return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<const EndpointSlice*> Model::SlicesOf(const ObjectRef& service) const {
  std::vector<const EndpointSlice*> result;
  auto it = slices_by_service_.find(service);
  if (it == slices_by_service_.end()) return result;
  for (const ObjectRef& ref : it->second) result.push_back(&slices_.at(ref));
  return result;
}


std::vector<PortBackends> ServiceBackends(const Model& model, const Service& service,
                                          absl::string_view receiving_node) {
  const std::vector<const EndpointSlice*> slices = model.SlicesOf(service.Ref());
  const bool local_only = service.external_traffic_policy == TrafficPolicy::kLocal;
  std::vector<PortBackends> result;
  for (const ServicePort& port : service.ports) {
    for (net::IpFamily family : {net::IpFamily::kIPv4, net::IpFamily::kIPv6}) {
      bool matched = false;
      std::vector<Backend> ready;
      std::vector<Backend> draining;
      for (const EndpointSlice* slice : slices) {
        if (slice->address_type != family) continue;
        const std::optional<uint16_t> target = ResolveTargetPort(port, *slice);
        if (!target) continue;
        matched = true;
        for (const Endpoint& endpoint : slice->endpoints) {
          if (local_only && endpoint.node_name != receiving_node) continue;
          const EndpointConditions& conditions = endpoint.conditions;
          Backend backend{.address = endpoint.addresses.front(),
                          .port = *target,
                          .node_name = endpoint.node_name,
                          .terminating = conditions.IsTerminating()};
          if (conditions.IsReady()) {
            ready.push_back(std::move(backend));
          } else if (conditions.IsServing() && conditions.IsTerminating()) {
            draining.push_back(std::move(backend));
          }
        }
      }
      if (matched) result.push_back(Select(port, family, std::move(ready), std::move(draining)));
    }
  }
  return result;
}

bool HasReadyEndpoints(const Model& model, const Service& service, absl::string_view receiving_node,
                       std::optional<net::IpFamily> family) {
  for (const PortBackends& port : ServiceBackends(model, service, receiving_node)) {
    if (family && port.family != *family) continue;
    if (!port.terminating_fallback && !port.backends.empty()) return true;
  }
  return false;
}

}  // namespace ferry::model
