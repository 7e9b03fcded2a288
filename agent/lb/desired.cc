#include "agent/lb/desired.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
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

// The service's valid frontends that no service before it claimed, and its
// valid backends on reachable nodes, one per pod:port.
std::optional<PlannedService> Plan(
    const LbService& service, const absl::btree_map<std::string, ferry_node>& nodes,
    absl::btree_map<ferry_frontend_key, std::string, FrontendKeyLess>& claimed,
    std::vector<std::string>& problems) {
  PlannedService plan{.service = &service, .frontends = {}, .backends = {}};
  auto problem = [&](auto&&... parts) {
    problems.push_back(absl::StrCat("service ", service.name, ": ", parts...));
  };
  for (const Frontend& frontend : service.frontends) {
    if (frontend.port == 0 ||
        (frontend.protocol != IPPROTO_TCP && frontend.protocol != IPPROTO_UDP)) {
      problem("frontend ", FrontendText(frontend), " needs a port and tcp or udp");
      continue;
    }
    const ferry_frontend_key key =
        datapath::MakeFrontendKey(frontend.vip, frontend.port, frontend.protocol);
    auto [owner, added] = claimed.emplace(key, service.name);
    if (!added) {
      if (owner->second != service.name) {
        problem("frontend ", FrontendText(frontend), " is already served by ", owner->second);
      }
      continue;
    }
    plan.frontends.push_back(key);
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

void ReportUnassigned(absl::string_view what, const std::vector<std::string>& keys,
                      uint32_t capacity, std::vector<std::string>& problems) {
  for (const std::string& key : keys) {
    problems.push_back(
        absl::StrCat(what, " ", key, ": all ", capacity, " ", what, " ids are taken, left out"));
  }
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
  if (absl::Status status = maglev::ValidateTableSize(input.maglev_size); !status.ok()) {
    return status;
  }
  DesiredState desired;
  std::vector<std::string>& problems = desired.problems;

  absl::btree_map<std::string, ferry_node> nodes = ReachableNodes(input, problems);
  std::vector<std::string> node_names;
  for (const auto& [name, node] : nodes) node_names.push_back(name);
  const std::vector<std::string> nodes_left_out = ids.nodes.Sync(node_names);
  ReportUnassigned("node", nodes_left_out, ids.nodes.capacity(), problems);
  for (const std::string& name : nodes_left_out) nodes.erase(name);
  for (const auto& [name, node] : nodes) desired.nodes.emplace(*ids.nodes.Find(name), node);

  std::vector<const LbService*> by_name;
  for (const LbService& service : input.services) by_name.push_back(&service);
  std::stable_sort(by_name.begin(), by_name.end(),
                   [](const LbService* a, const LbService* b) { return a->name < b->name; });
  absl::btree_map<ferry_frontend_key, std::string, FrontendKeyLess> claimed;
  std::vector<PlannedService> plans;
  std::vector<std::string> service_names;
  for (const LbService* service : by_name) {
    if (!service_names.empty() && service_names.back() == service->name) {
      problems.push_back(absl::StrCat("service ", service->name, ": listed twice, the first kept"));
      continue;
    }
    std::optional<PlannedService> plan = Plan(*service, nodes, claimed, problems);
    if (!plan) continue;
    plans.push_back(std::move(*plan));
    service_names.push_back(service->name);
  }
  ReportUnassigned("service", ids.services.Sync(service_names), ids.services.capacity(), problems);

  std::vector<std::string> identities;
  for (const PlannedService& plan : plans) {
    for (const PlannedBackend& backend : plan.backends) identities.push_back(backend.identity);
  }
  ReportUnassigned("backend", ids.backends.Sync(identities), ids.backends.capacity(), problems);

  for (const PlannedService& plan : plans) {
    std::optional<uint32_t> service_id = ids.services.Find(plan.service->name);
    if (!service_id) continue;
    for (const ferry_frontend_key& key : plan.frontends) {
      desired.frontends.emplace(key, ferry_frontend{*service_id, input.maglev_size});
    }
    for (const PlannedBackend& planned : plan.backends) {
      std::optional<uint32_t> backend_id = ids.backends.Find(planned.identity);
      if (!backend_id) continue;
      const ferry_addr_key address = datapath::ToMapKey(planned.backend->address);
      ferry_backend value{};
      value.addr = address.addr;
      value.family = address.family;
      value.port = htons(planned.backend->port);
      value.flags = FERRY_BACKEND_ACTIVE;
      value.node_id = *ids.nodes.Find(planned.backend->node);
      desired.backends.emplace(*backend_id, value);
    }
    MaglevTableSpec table = TableOf(plan, input, ids);
    if (table.members.size() > table.size) {
      problems.push_back(absl::StrCat("service ", plan.service->name, ": ", table.members.size(),
                                      " backends do not fit a Maglev table of ", table.size,
                                      " slots; it gets no table"));
    } else if (!table.members.empty()) {
      desired.maglev_tables.emplace(*service_id, std::move(table));
    }
  }
  return desired;
}

}  // namespace ferry::lb
