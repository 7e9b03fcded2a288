#include "tools/ferryctl/snapshot.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

#include "agent/datapath/addr.h"

namespace ferry::ctl {
namespace {

using datapath::FormatAddress;

std::string FamilyName(uint8_t family) {
  return family == FERRY_FAMILY_IPV6 ? "ipv6" : family == FERRY_FAMILY_IPV4 ? "ipv4" : "?";
}

// The backends and nodes maps, indexed, to describe the ids that frontends
// and flows refer to.
class Directory {
 public:
  static absl::StatusOr<Directory> Read(const datapath::LbMaps& maps) {
    auto backends = maps.ListBackends();
    if (!backends.ok()) return backends.status();
    auto nodes = maps.ListNodes();
    if (!nodes.ok()) return nodes.status();
    Directory directory;
    directory.backends_.insert(backends->begin(), backends->end());
    directory.nodes_.insert(nodes->begin(), nodes->end());
    return directory;
  }

  BackendRow Backend(uint32_t id) const {
    BackendRow row;
    row.id = id;
    const auto backend = backends_.find(id);
    if (backend == backends_.end()) return row;
    row.known = true;
    row.address = FormatAddress(backend->second.addr, backend->second.family);
    row.port = ntohs(backend->second.port);
    row.node.id = backend->second.node_id;
    const auto node = nodes_.find(backend->second.node_id);
    if (node != nodes_.end()) {
      row.node.address = FormatAddress(node->second.tunnel_dst, node->second.family);
      row.node.local = (node->second.flags & FERRY_NODE_LOCAL) != 0;
    }
    return row;
  }

 private:
  std::map<uint32_t, ferry_backend> backends_;
  std::map<uint32_t, ferry_node> nodes_;
};

// Orders keys the way a person scans them: family, address bytes, port.
auto SortKey(const ferry_addr& addr, uint8_t family, uint16_t port_be) {
  std::array<uint8_t, 16> bytes;
  std::memcpy(bytes.data(), addr.bytes, bytes.size());
  return std::make_tuple(family, bytes, ntohs(port_be));
}

absl::StatusOr<FrontendRow> DescribeFrontend(const datapath::LbMaps& maps,
                                             const Directory& directory,
                                             const ferry_frontend_key& key,
                                             const ferry_frontend& frontend) {
  FrontendRow row;
  row.vip = FormatAddress(key.vip, key.family);
  row.port = ntohs(key.port);
  row.protocol = datapath::ProtocolName(key.proto);
  row.family = FamilyName(key.family);
  row.service_id = frontend.service_id;
  row.maglev_size = frontend.maglev_size;
  auto stats = maps.ServiceStats(frontend.service_id);
  if (!stats.ok()) return stats.status();
  row.packets = stats->packets;
  row.bytes = stats->bytes;
  auto table = maps.ReadMaglevTable(frontend.service_id);
  if (absl::IsNotFound(table.status())) return row;
  if (!table.ok()) return table.status();
  row.table_slots = static_cast<uint32_t>(table->size());
  std::map<uint32_t, uint32_t> slots_by_backend;
  for (uint32_t backend_id : *table) ++slots_by_backend[backend_id];
  for (const auto& [backend_id, slots] : slots_by_backend) {
    BackendRow backend = directory.Backend(backend_id);
    backend.slots = slots;
    row.backends.push_back(std::move(backend));
  }
  std::stable_sort(row.backends.begin(), row.backends.end(),
                   [](const BackendRow& a, const BackendRow& b) { return a.slots > b.slots; });
  return row;
}

}  // namespace

absl::StatusOr<std::vector<FrontendRow>> ReadFrontends(const datapath::LbMaps& maps) {
  auto frontends = maps.ListFrontends();
  if (!frontends.ok()) return frontends.status();
  auto directory = Directory::Read(maps);
  if (!directory.ok()) return directory.status();
  std::sort(frontends->begin(), frontends->end(), [](const auto& a, const auto& b) {
    return std::tuple(SortKey(a.first.vip, a.first.family, a.first.port), a.first.proto) <
           std::tuple(SortKey(b.first.vip, b.first.family, b.first.port), b.first.proto);
  });
  std::vector<FrontendRow> rows;
  for (const auto& [key, frontend] : *frontends) {
    auto row = DescribeFrontend(maps, *directory, key, frontend);
    if (!row.ok()) return row.status();
    rows.push_back(std::move(*row));
  }
  return rows;
}

absl::StatusOr<std::vector<FlowRow>> ReadFlows(const datapath::LbMaps& maps,
                                               uint64_t monotonic_now_ns) {
  auto flows = maps.ListFlows();
  if (!flows.ok()) return flows.status();
  auto directory = Directory::Read(maps);
  if (!directory.ok()) return directory.status();
  std::sort(flows->begin(), flows->end(), [](const auto& a, const auto& b) {
    const ferry_flow_key& x = a.first;
    const ferry_flow_key& y = b.first;
    return std::tuple(SortKey(x.src, x.family, x.sport), SortKey(x.dst, x.family, x.dport),
                      x.proto) <
           std::tuple(SortKey(y.src, y.family, y.sport), SortKey(y.dst, y.family, y.dport),
                      y.proto);
  });
  // The datapath's coarse clock may run slightly behind ours: never negative.
  auto since = [monotonic_now_ns](uint64_t then_ns) {
    return monotonic_now_ns > then_ns ? monotonic_now_ns - then_ns : 0;
  };
  std::vector<FlowRow> rows;
  rows.reserve(flows->size());
  for (const auto& [key, flow] : *flows) {
    FlowRow row;
    row.client = FormatAddress(key.src, key.family);
    row.client_port = ntohs(key.sport);
    row.vip = FormatAddress(key.dst, key.family);
    row.vip_port = ntohs(key.dport);
    row.protocol = datapath::ProtocolName(key.proto);
    row.family = FamilyName(key.family);
    row.backend = directory->Backend(flow.backend_id);
    row.age_ns = since(flow.created_ns);
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::StatusOr<Counters> ReadCounters(const datapath::LbMaps& maps) {
  Counters counters;
  const std::pair<absl::StatusOr<std::vector<datapath::NamedCount>>, std::vector<CounterRow>*>
      sources[] = {{maps.DropCounts(), &counters.drops}, {maps.EventCounts(), &counters.events}};
  for (const auto& [counts, rows] : sources) {
    if (!counts.ok()) return counts.status();
    for (const datapath::NamedCount& count : *counts) {
      rows->push_back({std::string(count.name), count.count});
    }
  }
  return counters;
}

absl::Status ReadMaglevShares(const datapath::LbMaps& maps, agent::v1::ServiceList& services) {
  for (agent::v1::LbService& service : *services.mutable_services()) {
    if (!service.programmed()) continue;
    absl::StatusOr<std::vector<uint32_t>> table = maps.ReadMaglevTable(service.service_id());
    if (absl::IsNotFound(table.status())) {
      table = std::vector<uint32_t>();  // a service with no backend has no table
    } else if (!table.ok()) {
      return table.status();
    }
    std::map<uint32_t, uint32_t> slots;
    for (uint32_t backend : *table) ++slots[backend];
    service.set_maglev_size(table->size());
    for (agent::v1::Backend& backend : *service.mutable_backends()) {
      auto held = slots.find(backend.backend_id());
      const uint32_t count = held == slots.end() ? 0 : held->second;
      if (held != slots.end()) slots.erase(held);
      backend.set_slots(count);
      backend.set_share(table->empty() ? 0.0 : double(count) / table->size());
    }
    for (const auto& [id, count] : slots) {
      agent::v1::Backend* stranger = service.add_backends();
      stranger->set_backend_id(id);
      stranger->set_slots(count);
      stranger->set_share(double(count) / table->size());
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::ctl
