#include "agent/model/model.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/model/change.h"

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
  auto [it, inserted] = slices_.try_emplace(slice_ref, std::move(slice));
  if (!inserted) {
    return absl::AlreadyExistsError(absl::StrCat(slice_ref.ToString(), " is already in the model"));
  }
  IndexSlice(it->second);
  return absl::OkStatus();
}

void Model::IndexSlice(const EndpointSlice& slice) {
  const ObjectRef slice_ref = slice.Ref();
  std::vector<ObjectRef>& siblings = slices_by_service_[slice.ServiceRef()];
  siblings.insert(std::upper_bound(siblings.begin(), siblings.end(), slice_ref), slice_ref);
}

void Model::UnindexSlice(const EndpointSlice& slice) {
  auto siblings = slices_by_service_.find(slice.ServiceRef());
  if (siblings == slices_by_service_.end()) return;
  std::erase(siblings->second, slice.Ref());
  if (siblings->second.empty()) slices_by_service_.erase(siblings);
}

bool Model::Put(Object object) {
  return std::visit(
      [this](auto& typed) {
        using T = std::decay_t<decltype(typed)>;
        auto& objects = [this]() -> std::map<ObjectRef, T>& {
          if constexpr (std::is_same_v<T, EndpointSlice>) {
            return slices_;
          } else {
            return ObjectsOf(T{});
          }
        }();
        const ObjectRef ref = typed.Ref();
        auto it = objects.find(ref);
        if (it != objects.end() && it->second == typed) return false;
        if constexpr (std::is_same_v<T, EndpointSlice>) {
          if (it != objects.end()) UnindexSlice(it->second);
          IndexSlice(typed);
        }
        objects.insert_or_assign(ref, std::move(typed));
        return true;
      },
      object);
}

bool Model::Remove(const ObjectRef& ref) {
  if (ref.kind == kEndpointSliceKind) {
    auto it = slices_.find(ref);
    if (it == slices_.end()) return false;
    UnindexSlice(it->second);
    slices_.erase(it);
    return true;
  }
  if (ref.kind == kServiceKind) return services_.erase(ref) > 0;
  if (ref.kind == kNodeKind) return nodes_.erase(ref) > 0;
  if (ref.kind == kLoadBalancerIPPoolKind) return pools_.erase(ref) > 0;
  if (ref.kind == kL2AnnouncementPolicyKind) return l2_policies_.erase(ref) > 0;
  if (ref.kind == kBgpPeerKind) return bgp_peers_.erase(ref) > 0;
  if (ref.kind == kBgpAdvertisementKind) return bgp_advertisements_.erase(ref) > 0;
  return false;
}

template <typename Visit>
void Model::ForEachRef(Visit visit) const {
  auto each = [&](const auto& objects) {
    for (const auto& [ref, object] : objects) visit(ref);
  };
  each(services_);
  each(slices_);
  each(nodes_);
  each(pools_);
  each(l2_policies_);
  each(bgp_peers_);
  each(bgp_advertisements_);
}

ModelDelta Model::Apply(const ChangeSet& changes) {
  ModelDelta delta;
  auto owner_of = [this](const ObjectRef& ref) -> std::optional<ObjectRef> {
    if (ref.kind != kEndpointSliceKind) return std::nullopt;
    auto it = slices_.find(ref);
    if (it == slices_.end()) return std::nullopt;
    return it->second.ServiceRef();
  };
  // `before`: the slice's Service before the change.
  auto note = [&](const ObjectRef& ref, const std::optional<ObjectRef>& before, bool changed) {
    if (!changed) return;
    delta.changed.insert(ref);
    if (before) delta.services.insert(*before);
    if (ref.kind == kServiceKind) delta.services.insert(ref);
    if (std::optional<ObjectRef> owner = owner_of(ref)) delta.services.insert(*owner);
  };
  if (changes.replace_all) {
    std::set<ObjectRef> listed;
    for (const ObjectChange& change : changes.changes) {
      if (change.object) listed.insert(change.ref);
    }
    std::vector<ObjectRef> gone;
    ForEachRef([&](const ObjectRef& ref) {
      if (!listed.contains(ref)) gone.push_back(ref);
    });
    for (const ObjectRef& ref : gone) {
      const std::optional<ObjectRef> before = owner_of(ref);
      note(ref, before, Remove(ref));
    }
  }
  for (const ObjectChange& change : changes.changes) {
    const std::optional<ObjectRef> before = owner_of(change.ref);
    note(change.ref, before, change.object ? Put(*change.object) : Remove(change.ref));
  }
  return delta;
}

bool ModelDelta::Changed(absl::string_view kind) const {
  return std::any_of(changed.begin(), changed.end(),
                     [&](const ObjectRef& ref) { return ref.kind == kind; });
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
