#include "agent/controllers/lb/view.h"

#include "agent/controllers/lb/plan.h"

namespace ferry::ferryd {

namespace api = ::ferry::agent::v1;

namespace {

api::Backend BackendOf(const lb::Backend& backend, const lb::Ids& ids,
                       const absl::flat_hash_map<uint32_t, uint32_t>* slots, uint32_t table_size) {
  api::Backend out;
  out.set_address(backend.address.ToString());
  out.set_port(backend.port);
  out.set_node(backend.node);
  out.set_weight(backend.weight);
  if (std::optional<uint32_t> id = ids.backends.Find(lb::BackendIdentity(backend))) {
    out.set_backend_id(*id);
    if (slots != nullptr) {
      auto held = slots->find(*id);
      const uint32_t count = held == slots->end() ? 0 : held->second;
      out.set_slots(count);
      out.set_share(table_size == 0 ? 0.0 : double(count) / table_size);
    }
  }
  return out;
}

}  // namespace

std::vector<api::LbService> ServiceEntries(const model::ObjectRef& ref,
                                           const model::Service& service,
                                           const std::vector<net::IpAddress>& vips,
                                           const IpamController& ipam, LbServiceNamed lb_service,
                                           uint32_t maglev_size, const lb::Ids& ids,
                                           SlotCountsOf slot_counts) {
  std::vector<api::LbService> entries;
  const ipam::Allocation* allocation =
      ipam.allocator().AllocationOf({.namespace_ = ref.namespace_, .name = ref.name});
  auto pool_of = [&](const net::IpAddress& vip) -> std::string {
    if (allocation == nullptr) return "";
    for (const ipam::Grant& grant : allocation->grants) {
      if (grant.address == vip) return grant.pool;
    }
    return "";
  };
  for (const model::ServicePort& port : service.ports) {
    for (net::IpFamily family : {net::IpFamily::kIPv4, net::IpFamily::kIPv6}) {
      api::LbService out;
      for (const net::IpAddress& vip : vips) {
        if (vip.family != family) continue;
        out.add_vips(vip.ToString());
        out.add_pools(pool_of(vip));
      }
      if (out.vips().empty()) continue;
      out.set_namespace_(ref.namespace_);
      out.set_name(ref.name);
      out.set_port_name(port.name);
      out.set_protocol(std::string(model::ProtocolName(port.protocol)));
      out.set_port(port.port);
      out.set_family(std::string(net::FamilyName(family)));
      out.set_traffic_policy(service.external_traffic_policy == model::TrafficPolicy::kLocal
                                 ? "Local"
                                 : "Cluster");
      out.set_maglev_size(maglev_size);
      const std::string name = LbServiceName(service, port, family);
      const lb::LbService* programmed = lb_service(name);
      const std::optional<uint32_t> id = ids.services.Find(name);
      const absl::flat_hash_map<uint32_t, uint32_t>* slots = id ? slot_counts(*id) : nullptr;
      if (id) out.set_service_id(*id);
      out.set_programmed(id.has_value() && programmed != nullptr);
      if (programmed != nullptr) {
        for (const lb::Backend& backend : programmed->backends) {
          *out.add_backends() = BackendOf(backend, ids, slots, maglev_size);
        }
      }
      entries.push_back(std::move(out));
    }
  }
  return entries;
}

bool Requested(const api::ListServicesRequest& request, const model::ObjectRef& service) {
  return request.name().empty() ||
         (service.namespace_ == request.namespace_() && service.name == request.name());
}

}  // namespace ferry::ferryd
