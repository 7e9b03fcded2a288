#include "agent/lb/recover.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace ferry::lb {

namespace {

// What the maps say about one kind of id.
class Recovered {
 public:
  // The maps hold `id`; `key` (if any) is the live thing it belongs to. A
  // second claim on a key or an id loses: that id is stale.
  bool Add(uint32_t id, const std::string* key = nullptr) {
    if (key != nullptr && !ids_.contains(id) && keys_.insert(*key).second) {
      ids_.insert(id);
      in_use_.emplace_back(*key, id);
      return true;
    }
    held_.push_back(id);
    return false;
  }

  IdAllocator Allocator(uint32_t capacity) const {
    std::vector<uint32_t> stale;
    for (uint32_t id : held_) {
      if (!ids_.contains(id)) stale.push_back(id);
    }
    return IdAllocator::Recover(capacity, in_use_, stale);
  }

 private:
  std::vector<std::pair<std::string, uint32_t>> in_use_;
  std::vector<uint32_t> held_;
  absl::flat_hash_set<std::string> keys_;
  absl::flat_hash_set<uint32_t> ids_;
};

bool SameAddress(const ferry_addr& addr, uint8_t family, const std::optional<IpAddress>& other) {
  if (!other) return false;
  const absl::StatusOr<IpAddress> address = datapath::FromMap(addr, family);
  return address.ok() && *address == *other;
}

// Node id -> name.
absl::flat_hash_map<uint32_t, std::string> RecoverNodes(const LbInput& input,
                                                        const ActualState& actual,
                                                        Recovered& recovered) {
  absl::flat_hash_map<uint32_t, std::string> names;
  for (const auto& [id, node] : actual.nodes) {
    const NodeInfo* match = nullptr;
    for (const NodeInfo& info : input.nodes) {
      const bool local = (node.flags & FERRY_NODE_LOCAL) != 0;
      if (local ? info.name == input.this_node
                : info.name != input.this_node &&
                      (SameAddress(node.tunnel_dst, node.family, info.v4) ||
                       SameAddress(node.tunnel_dst, node.family, info.v6))) {
        match = &info;
        break;
      }
    }
    if (recovered.Add(id, match == nullptr ? nullptr : &match->name)) {
      names.emplace(id, match->name);
    }
  }
  return names;
}

void RecoverServices(const LbInput& input, const ActualState& actual, Recovered& recovered) {
  absl::btree_map<ferry_frontend_key, uint32_t, FrontendKeyLess> service_of;
  for (const auto& [key, frontend] : actual.frontends) service_of.emplace(key, frontend.service_id);
  std::vector<const LbService*> by_name;
  for (const LbService& service : input.services) by_name.push_back(&service);
  std::stable_sort(by_name.begin(), by_name.end(),
                   [](const LbService* a, const LbService* b) { return a->name < b->name; });
  for (const LbService* service : by_name) {
    for (const Frontend& frontend : service->frontends) {
      auto it = service_of.find(
          datapath::MakeFrontendKey(frontend.vip, frontend.port, frontend.protocol));
      if (it != service_of.end() && recovered.Add(it->second, &service->name)) break;
    }
  }
  for (const auto& [key, frontend] : actual.frontends) recovered.Add(frontend.service_id);
}

void RecoverBackends(const ActualState& actual,
                     const absl::flat_hash_map<uint32_t, std::string>& node_names,
                     Recovered& recovered) {
  for (const auto& [id, backend] : actual.backends) {
    auto node = node_names.find(backend.node_id);
    if (node == node_names.end()) {
      recovered.Add(id);
      continue;
    }
    const std::string identity = BackendIdentity(
        datapath::FormatEndpoint(backend.addr, backend.family, backend.port), node->second);
    recovered.Add(id, &identity);
  }
}

}  // namespace

Ids RecoverIds(const LbInput& input, const ActualState& actual, const IdCapacity& capacity) {
  Recovered nodes, services, backends;
  const absl::flat_hash_map<uint32_t, std::string> node_names = RecoverNodes(input, actual, nodes);
  RecoverServices(input, actual, services);
  RecoverBackends(actual, node_names, backends);
  return Ids(services.Allocator(capacity.services), backends.Allocator(capacity.backends),
             nodes.Allocator(capacity.nodes));
}

}  // namespace ferry::lb
