#include "agent/lb/desired.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ferry::lb {

namespace {

using datapath::FormatEndpoint;

std::string FrontendText(const Frontend& frontend) {
  return absl::StrCat(FormatEndpoint(frontend.vip, frontend.port), "/",
                      datapath::ProtocolName(frontend.protocol));
}

bool ValidFamily(uint8_t family) {
  return family == FERRY_FAMILY_IPV4 || family == FERRY_FAMILY_IPV6;
}

// This node's own entry: backends on it are delivered here (FERRY_NODE_LOCAL),
// so only its family and address matter.
std::optional<ferry_node> LocalNode(const NodeInfo& info) {
  const std::optional<IpAddress>& address = info.v4 ? info.v4 : info.v6;
  if (!address) return std::nullopt;
  const ferry_addr_key key = datapath::ToMapKey(*address);
  ferry_node node{};
  node.tunnel_dst = key.addr;
  node.tunnel_src = key.addr;
  node.family = key.family;
  node.flags = FERRY_NODE_LOCAL;
  return node;
}

// The nodes backends can be sent to, by name, with their desired entries.
absl::btree_map<std::string, ferry_node> ReachableNodes(const LbInput& input,
                                                        std::vector<std::string>& problems) {
  absl::btree_map<std::string, ferry_node> nodes;
  for (const NodeInfo& info : input.nodes) {
    std::optional<ferry_node> node;
    if (info.name == input.this_node) {
      node = LocalNode(info);
      if (!node) problems.push_back(absl::StrCat("node ", info.name, " (this node): no address"));
    } else if (ValidFamily(info.route.family)) {
      node = info.route;
      node->flags &= ~FERRY_NODE_LOCAL;
    } else {
      problems.push_back(absl::StrCat("node ", info.name, ": no route to it yet"));
    }
    if (!node) continue;
    if (!nodes.emplace(info.name, *node).second) {
      problems.push_back(absl::StrCat("node ", info.name, ": listed twice, the first kept"));
    }
  }
  if (!nodes.contains(input.this_node)) {
    problems.push_back(absl::StrCat("this node ", input.this_node,
                                    " is not among the usable nodes: backends on it are left out"));
  }
  return nodes;
}

}  // namespace

struct PlannedBackend {
  const Backend* backend;
  std::string maglev_key;  // addr:port
  std::string identity;    // addr:port@node
};

struct PlannedService {
  const LbService* service;
  std::vector<ferry_frontend_key> frontends;
  std::vector<PlannedBackend> backends;
};

namespace {

// The frontend's key, or nullopt when it is not usable.
std::optional<ferry_frontend_key> KeyOf(const Frontend& frontend) {
  if (frontend.port == 0 ||
      (frontend.protocol != IPPROTO_TCP && frontend.protocol != IPPROTO_UDP)) {
    return std::nullopt;
  }
  return datapath::MakeFrontendKey(frontend.vip, frontend.port, frontend.protocol);
}

// The service's valid frontends that no service before it (`owner`: the
// first by name that wants the frontend) claims, and its valid backends on
// reachable nodes, one per pod:port.
std::optional<PlannedService> PlanService(
    const LbService& service, const absl::btree_map<std::string, ferry_node>& nodes,
    absl::FunctionRef<std::optional<std::string>(const ferry_frontend_key&)> owner,
    std::vector<std::string>& problems) {
  PlannedService plan{.service = &service, .frontends = {}, .backends = {}};
  auto problem = [&](auto&&... parts) {
    problems.push_back(absl::StrCat("service ", service.name, ": ", parts...));
  };
  for (const Frontend& frontend : service.frontends) {
    const std::optional<ferry_frontend_key> key = KeyOf(frontend);
    if (!key) {
      problem("frontend ", FrontendText(frontend), " needs a port and tcp or udp");
      continue;
    }
    const std::optional<std::string> first = owner(*key);
    if (first && *first != service.name) {
      problem("frontend ", FrontendText(frontend), " is already served by ", *first);
      continue;
    }
    if (std::none_of(plan.frontends.begin(), plan.frontends.end(),
                     [&](const ferry_frontend_key& k) { return datapath::SameBytes(k, *key); })) {
      plan.frontends.push_back(*key);
    }
  }
  if (plan.frontends.empty()) {
    problem("no usable frontend, service left out");
    return std::nullopt;
  }
  absl::flat_hash_set<std::string> maglev_keys;
  for (const Backend& backend : service.backends) {
    const std::string maglev_key = FormatEndpoint(backend.address, backend.port);
    if (backend.port == 0) {
      problem("backend ", maglev_key, " needs a port");
    } else if (!nodes.contains(backend.node)) {
      problem("backend ", maglev_key, " is on node \"", backend.node,
              "\", which is unknown or unreachable");
    } else if (!maglev_keys.insert(maglev_key).second) {
      problem("backend ", maglev_key, " is listed twice, the first kept");
    } else {
      plan.backends.push_back({&backend, maglev_key, BackendIdentity(maglev_key, backend.node)});
    }
  }
  // Key order: ids are handed out, and table members listed, in an order that
  // does not depend on how the model listed the backends.
  std::sort(
      plan.backends.begin(), plan.backends.end(),
      [](const PlannedBackend& a, const PlannedBackend& b) { return a.maglev_key < b.maglev_key; });
  return plan;
}

std::string Unassigned(absl::string_view what, absl::string_view key, uint32_t capacity) {
  return absl::StrCat(what, " ", key, ": all ", capacity, " ", what, " ids are taken, left out");
}

void ReportUnassigned(absl::string_view what, const std::vector<std::string>& keys,
                      uint32_t capacity, std::vector<std::string>& problems) {
  for (const std::string& key : keys) problems.push_back(Unassigned(what, key, capacity));
}

ferry_backend BackendValue(const Backend& backend, const Ids& ids) {
  const ferry_addr_key address = datapath::ToMapKey(backend.address);
  ferry_backend value{};
  value.addr = address.addr;
  value.family = address.family;
  value.port = htons(backend.port);
  value.flags = FERRY_BACKEND_ACTIVE;
  value.node_id = *ids.nodes.Find(backend.node);
  return value;
}

// Notes the entry's value before its first change in this update.
template <typename Map, typename Key>
void Record(const Map& desired, const Key& key, auto& before) {
  if (before.contains(key)) return;
  auto it = desired.find(key);
  before.emplace(key, it == desired.end() ? std::nullopt : std::optional(it->second));
}

MaglevTableSpec TableOf(const PlannedService& plan, const LbInput& input, const Ids& ids) {
  MaglevTableSpec spec{.size = input.maglev_size, .members = {}};
  for (const PlannedBackend& planned : plan.backends) {
    const Backend& backend = *planned.backend;
    if (backend.weight == 0) continue;
    if (plan.service->policy == TrafficPolicy::kLocal && backend.node != input.this_node) continue;
    std::optional<uint32_t> id = ids.backends.Find(planned.identity);
    if (!id) continue;
    spec.members.push_back({*id, planned.maglev_key, backend.weight});  // in key order
  }
  return spec;
}

}  // namespace

IdCapacity CapacityOf(const datapath::MapSizes& sizes) {
  return {.services = sizes.services, .backends = sizes.backends, .nodes = sizes.nodes};
}

absl::StatusOr<std::vector<uint32_t>> BuildSlots(const MaglevTableSpec& spec) {
  std::vector<maglev::Backend> backends;
  backends.reserve(spec.members.size());
  for (const MaglevMember& member : spec.members) {
    backends.push_back({.key = member.key, .weight = member.weight});
  }
  absl::StatusOr<std::vector<uint32_t>> slots = maglev::BuildTable(backends, spec.size);
  if (!slots.ok()) return slots.status();
  for (uint32_t& slot : *slots) slot = spec.members[slot].backend_id;
  return slots;
}

absl::StatusOr<DesiredState> ComputeDesired(const LbInput& input, Ids& ids) {
  IncrementalDesired desired;
  if (absl::Status status = desired.Reset(input, ids); !status.ok()) return status;
  return desired.desired();
}

const LbService* IncrementalDesired::Find(absl::string_view name) const {
  auto it = std::lower_bound(input_.services.begin(), input_.services.end(), name,
                             [](const LbService& s, absl::string_view n) { return s.name < n; });
  if (it == input_.services.end() || it->name != name) return nullptr;
  return &*it;
}

void IncrementalDesired::Claim(const LbService& service, bool claim) {
  for (const Frontend& frontend : service.frontends) {
    const std::optional<ferry_frontend_key> key = KeyOf(frontend);
    if (!key) continue;
    if (claim) {
      claims_[*key].insert(service.name);
      continue;
    }
    auto wanted = claims_.find(*key);
    if (wanted == claims_.end()) continue;
    wanted->second.erase(service.name);
    if (wanted->second.empty()) claims_.erase(wanted);
  }
}

std::optional<std::string> IncrementalDesired::Owner(const ferry_frontend_key& key) const {
  auto wanted = claims_.find(key);
  if (wanted == claims_.end()) return std::nullopt;
  return *wanted->second.begin();
}

void IncrementalDesired::Fill(const PlannedService& plan, uint32_t service_id, Ids& ids,
                              Planned& planned, DesiredChange* change) {
  for (const ferry_frontend_key& key : plan.frontends) {
    if (change) Record(desired_.frontends, key, change->frontends);
    desired_.frontends.insert_or_assign(key, ferry_frontend{service_id, input_.maglev_size});
    planned.frontends.push_back(key);
  }
  for (const PlannedBackend& backend : plan.backends) {
    ++backend_users_[backend.identity];
    planned.backends.push_back(backend.identity);
    std::optional<uint32_t> id =
        change ? ids.backends.Acquire(backend.identity) : ids.backends.Find(backend.identity);
    if (!id) {
      if (change) {
        planned.problems.push_back(
            Unassigned("backend", backend.identity, ids.backends.capacity()));
      }
      continue;
    }
    if (change) Record(desired_.backends, *id, change->backends);
    desired_.backends.insert_or_assign(*id, BackendValue(*backend.backend, ids));
  }
  if (change) change->tables.insert(service_id);
  MaglevTableSpec table = TableOf(plan, input_, ids);
  if (table.members.size() > table.size) {
    planned.problems.push_back(absl::StrCat("service ", plan.service->name, ": ",
                                            table.members.size(),
                                            " backends do not fit a Maglev table of ", table.size,
                                            " slots; it gets no table"));
  } else if (!table.members.empty()) {
    desired_.maglev_tables.insert_or_assign(service_id, std::move(table));
  }
}

absl::Status IncrementalDesired::Reset(LbInput input, Ids& ids) {
  if (absl::Status status = maglev::ValidateTableSize(input.maglev_size); !status.ok()) {
    return status;
  }
  input_ = std::move(input);
  std::stable_sort(input_.services.begin(), input_.services.end(),
                   [](const LbService& a, const LbService& b) { return a.name < b.name; });
  desired_ = {};
  node_problems_.clear();
  claims_.clear();
  planned_.clear();
  backend_users_.clear();

  nodes_ = ReachableNodes(input_, node_problems_);
  std::vector<std::string> node_names;
  for (const auto& [name, node] : nodes_) node_names.push_back(name);
  const std::vector<std::string> nodes_left_out = ids.nodes.Sync(node_names);
  ReportUnassigned("node", nodes_left_out, ids.nodes.capacity(), node_problems_);
  for (const std::string& name : nodes_left_out) nodes_.erase(name);
  for (const auto& [name, node] : nodes_) desired_.nodes.emplace(*ids.nodes.Find(name), node);

  for (size_t i = 0; i < input_.services.size(); ++i) {
    if (i == 0 || input_.services[i - 1].name != input_.services[i].name) {
      Claim(input_.services[i], true);
    }
  }
  std::vector<PlannedService> plans;
  std::vector<std::string> service_names;
  for (const LbService& service : input_.services) {
    if (!service_names.empty() && service_names.back() == service.name) {
      node_problems_.push_back(
          absl::StrCat("service ", service.name, ": listed twice, the first kept"));
      continue;
    }
    std::optional<PlannedService> plan =
        PlanService(service, nodes_, [this](const auto& key) { return Owner(key); },
                    planned_[service.name].problems);
    if (!plan) continue;
    plans.push_back(std::move(*plan));
    service_names.push_back(service.name);
  }
  for (const std::string& name : ids.services.Sync(service_names)) {
    planned_[name].problems.push_back(Unassigned("service", name, ids.services.capacity()));
  }
  std::vector<std::string> identities;
  for (const PlannedService& plan : plans) {
    for (const PlannedBackend& backend : plan.backends) identities.push_back(backend.identity);
  }
  ReportUnassigned("backend", ids.backends.Sync(identities), ids.backends.capacity(),
                   node_problems_);
  for (const PlannedService& plan : plans) {
    std::optional<uint32_t> service_id = ids.services.Find(plan.service->name);
    if (!service_id) continue;
    Planned& planned = planned_[plan.service->name];
    planned.id = *service_id;
    Fill(plan, *service_id, ids, planned, nullptr);
  }
  CollectProblems();
  return absl::OkStatus();
}

void IncrementalDesired::Unplan(const std::string& name, DesiredChange& change) {
  auto it = planned_.find(name);
  if (it == planned_.end()) return;
  for (const ferry_frontend_key& key : it->second.frontends) {
    Record(desired_.frontends, key, change.frontends);
    desired_.frontends.erase(key);
  }
  for (const std::string& identity : it->second.backends) {
    if (--backend_users_[identity] == 0) released_backends_.insert(identity);
  }
  if (it->second.id) {
    change.tables.insert(*it->second.id);
    desired_.maglev_tables.erase(*it->second.id);
  }
  planned_.erase(it);
}

void IncrementalDesired::Plan(const std::string& name, Ids& ids, DesiredChange& change) {
  const LbService* service = Find(name);
  if (service == nullptr) return;
  Planned& planned = planned_[name];
  std::optional<PlannedService> plan = PlanService(
      *service, nodes_, [this](const auto& key) { return Owner(key); }, planned.problems);
  if (!plan) return;
  const bool had_id = ids.services.Find(name).has_value();
  std::optional<uint32_t> id = ids.services.Acquire(name);
  if (!id) {
    planned.problems.push_back(Unassigned("service", name, ids.services.capacity()));
    return;
  }
  if (!had_id) change.new_services.insert(*id);
  planned.id = *id;
  Fill(*plan, *id, ids, planned, &change);
}

void IncrementalDesired::ReleaseUnused(const absl::btree_set<std::string>& names, Ids& ids,
                                       DesiredChange& change) {
  for (const std::string& identity : released_backends_) {
    auto users = backend_users_.find(identity);
    if (users == backend_users_.end() || users->second > 0) continue;
    backend_users_.erase(users);
    if (std::optional<uint32_t> id = ids.backends.Find(identity)) {
      Record(desired_.backends, *id, change.backends);
      desired_.backends.erase(*id);
      ids.backends.Release(identity);
    }
  }
  released_backends_.clear();
  for (const std::string& name : names) {
    auto planned = planned_.find(name);
    if (planned == planned_.end() || !planned->second.id) ids.services.Release(name);
  }
}

void IncrementalDesired::Replace(std::vector<Group> groups, Ids& ids, DesiredChange& change) {
  auto by_name = [](const LbService& a, const LbService& b) { return a.name < b.name; };
  absl::btree_set<std::string> dirty;
  // Who had each frontend the changed services want or wanted.
  absl::btree_map<ferry_frontend_key, std::optional<std::string>, FrontendKeyLess> owners;
  auto note = [&](const LbService& service) {
    dirty.insert(service.name);
    for (const Frontend& frontend : service.frontends) {
      if (std::optional<ferry_frontend_key> key = KeyOf(frontend)) {
        owners.try_emplace(*key, Owner(*key));
      }
    }
  };
  for (auto& [prefix, services] : groups) {
    std::stable_sort(services.begin(), services.end(), by_name);
    auto first = std::lower_bound(
        input_.services.begin(), input_.services.end(), prefix,
        [](const LbService& s, const std::string& p) { return s.name < p; });
    auto last = first;
    while (last != input_.services.end() && absl::StartsWith(last->name, prefix)) ++last;
    for (auto it = first; it != last; ++it) {
      note(*it);
      Claim(*it, false);
    }
    for (const LbService& service : services) note(service);
    const auto at = input_.services.erase(first, last);
    const auto inserted = input_.services.insert(at, std::make_move_iterator(services.begin()),
                                                 std::make_move_iterator(services.end()));
    for (auto it = inserted; it != inserted + static_cast<ptrdiff_t>(services.size()); ++it) {
      Claim(*it, true);
    }
  }
  // A frontend that changed hands changes both services.
  for (const auto& [key, before] : owners) {
    const std::optional<std::string> after = Owner(key);
    if (before == after) continue;
    if (before) dirty.insert(*before);
    if (after) dirty.insert(*after);
  }
  for (const std::string& name : dirty) Unplan(name, change);
  for (const std::string& name : dirty) Plan(name, ids, change);
  ReleaseUnused(dirty, ids, change);
  CollectProblems();
}

void IncrementalDesired::CollectProblems() {
  desired_.problems = node_problems_;
  for (const auto& [name, planned] : planned_) {
    desired_.problems.insert(desired_.problems.end(), planned.problems.begin(),
                             planned.problems.end());
  }
}

}  // namespace ferry::lb
