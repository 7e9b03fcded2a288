#include "agent/controllers/lb/plan.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "ipam/allocator.h"

namespace ferry::ferryd {
namespace {

using net::IpFamily;

std::optional<net::IpAddress> FirstOf(const std::vector<net::IpAddress>& addresses,
                                        IpFamily family) {
  for (const net::IpAddress& address : addresses) {
    if (address.family == family) return address;
  }
  return std::nullopt;
}


lb::NodeInfo NodeInfoOf(const model::Node& node, const model::Node* self, Resolver resolve,
                        std::vector<std::string>& problems, bool& unresolved) {
  lb::NodeInfo info;
  info.name = node.metadata.name;
  info.v4 = FirstOf(node.internal_ips, IpFamily::kIPv4);
  info.v6 = FirstOf(node.internal_ips, IpFamily::kIPv6);
  if (self == nullptr || self == &node) return info;
  for (IpFamily family : {IpFamily::kIPv4, IpFamily::kIPv6}) {
    std::optional<net::IpAddress> peer = FirstOf(node.internal_ips, family);
    std::optional<net::IpAddress> own = FirstOf(self->internal_ips, family);
    if (!peer || !own) continue;
    absl::StatusOr<ferry_node> route = resolve(*peer);
    unresolved = unresolved || !route.ok();
    if (route.ok()) {
      info.route = *route;
    } else if (absl::IsUnavailable(route.status())) {
      const ferry_addr_key destination = datapath::ToMapKey(*peer);
      info.route.tunnel_dst = destination.addr;
      info.route.tunnel_src = datapath::ToMapKey(*own).addr;
      info.route.family = destination.family;
      problems.push_back(absl::StrCat("node ", info.name, ": ", route.status().message(),
                                      "; until then the kernel's FIB picks the next hop"));
    } else {
      problems.push_back(absl::StrCat("node ", info.name, ": ", route.status().message()));
    }
    return info;
  }
  problems.push_back(absl::StrCat("node ", info.name,
                                  ": no InternalIP of a family this node also has"));
  return info;
}

}  // namespace

std::vector<lb::LbService> LbServicesOf(const model::Model& model, const model::Service& service,
                                        const std::vector<net::IpAddress>& vips,
                                        absl::string_view this_node,
                                        std::vector<std::string>& problems) {
  std::vector<lb::LbService> out;
  if (vips.empty()) {
    problems.push_back(absl::StrCat("service ", service.metadata.namespace_, "/",
                                    service.metadata.name,
                                    ": no address allocated (its ", ipam::kAllocatedCondition,
                                    " condition says why), not served"));
    return out;
  }
  const std::vector<model::PortBackends> all_backends =
      model::ServiceBackends(model, service, this_node);
  for (const model::ServicePort& port : service.ports) {
    for (IpFamily family : {IpFamily::kIPv4, IpFamily::kIPv6}) {
      lb::LbService lb_service{
          .name = LbServiceName(service, port, family),
          .frontends = {},
          .backends = {},
          .policy = service.external_traffic_policy == model::TrafficPolicy::kLocal
                        ? lb::TrafficPolicy::kLocal
                        : lb::TrafficPolicy::kCluster};
      for (const net::IpAddress& vip : vips) {
        if (vip.family != family) continue;
        lb_service.frontends.push_back(
            {.vip = vip,
             .port = port.port,
             .protocol = static_cast<uint8_t>(
                 port.protocol == model::Protocol::kTCP ? IPPROTO_TCP : IPPROTO_UDP)});
      }
      if (lb_service.frontends.empty()) continue;
      for (const model::PortBackends& entry : all_backends) {
        if (entry.family != family || entry.port != port) continue;
        // Draining backends stay in the backends map, weight 0: no table
        // slot, so no new flow, while their established flows continue.
        for (uint32_t weight : {1u, 0u}) {
          for (const model::Backend& backend : weight > 0 ? entry.backends : entry.draining) {
            lb_service.backends.push_back({.address = backend.address,
                                           .port = backend.port,
                                           .node = backend.node_name,
                                           .weight = weight});
          }
        }
      }
      out.push_back(std::move(lb_service));
    }
  }
  return out;
}

std::string LbServicePrefix(const model::ObjectRef& service) {
  return absl::StrCat(service.namespace_, "/", service.name, "/");
}

std::string PortLabel(const model::ServicePort& port) {
  return port.name.empty() ? absl::StrCat(port.port) : port.name;
}

std::string LbServiceName(const model::Service& service, const model::ServicePort& port,
                          net::IpFamily family) {
  return absl::StrCat(service.metadata.namespace_, "/", service.metadata.name, "/",
                      PortLabel(port), "/", net::FamilyName(family));
}

std::vector<lb::NodeInfo> NodeInfosOf(const model::Model& model, absl::string_view this_node,
                                      Resolver resolve, std::vector<std::string>& problems,
                                      bool& unresolved) {
  const model::Node* self = model.FindNode(this_node);
  if (self == nullptr) {
    problems.push_back(absl::StrCat("this node ", this_node,
                                    " has no Node object in the manifests"));
  }
  std::vector<lb::NodeInfo> nodes;
  for (const auto& [ref, node] : model.nodes()) {
    nodes.push_back(NodeInfoOf(node, self, resolve, problems, unresolved));
  }
  return nodes;
}

ControllerOutput BuildLbInput(const model::Model& model, absl::string_view this_node,
                              uint32_t maglev_size, Resolver resolve, VipsOf vips_of) {
  ControllerOutput output;
  output.input.this_node = std::string(this_node);
  output.input.maglev_size = maglev_size;
  bool unresolved = false;
  output.input.nodes = NodeInfosOf(model, this_node, resolve, output.problems, unresolved);
  for (const auto& [ref, service] : model.services()) {
    for (lb::LbService& lb_service :
         LbServicesOf(model, service, vips_of(ref), this_node, output.problems)) {
      output.input.services.push_back(std::move(lb_service));
    }
  }
  return output;
}

absl::StatusOr<ferry_config> ConfigOf(const model::Model& model, absl::string_view this_node,
                                      uint32_t flow_hash_seed, uint16_t tunnel_mtu) {
  const model::Node* self = model.FindNode(this_node);
  if (self == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("this node ", this_node, " has no Node object in the manifests"));
  }
  ferry_config config{};
  if (auto v4 = FirstOf(self->internal_ips, IpFamily::kIPv4)) {
    config.node_v4 = datapath::ToMapKey(*v4).addr;
  }
  if (auto v6 = FirstOf(self->internal_ips, IpFamily::kIPv6)) {
    config.node_v6 = datapath::ToMapKey(*v6).addr;
  }
  config.flow_hash_seed = flow_hash_seed;
  config.tunnel_mtu = tunnel_mtu;
  return config;
}

EndpointPlan PlanEndpoints(const lb::LbInput& input, int uplink_ifindex, Resolver resolve) {
  std::vector<net::IpAddress> pods;
  for (const lb::LbService& service : input.services) {
    for (const lb::Backend& backend : service.backends) {
      if (backend.node == input.this_node) pods.push_back(backend.address);
    }
  }
  std::sort(pods.begin(), pods.end());
  pods.erase(std::unique(pods.begin(), pods.end()), pods.end());

  EndpointPlan plan;
  for (const net::IpAddress& pod : pods) {
    const std::string text = pod.ToString();
    absl::StatusOr<ferry_node> route = resolve(pod);
    if (!route.ok()) {
      plan.unresolved.push_back(pod);
      plan.problems.push_back(absl::StrCat("local pod ", text, ": ", route.status().message()));
      continue;
    }
    if (route->egress_ifindex == static_cast<uint32_t>(uplink_ifindex)) {
      plan.unresolved.push_back(pod);
      plan.problems.push_back(absl::StrCat(
          "local pod ", text, " is routed out of the uplink, not to a pod's veth on this node"));
      continue;
    }
    LocalEndpoint local{.pod = pod, .endpoint = {}};
    local.endpoint.ifindex = route->egress_ifindex;
    std::memcpy(local.endpoint.pod_mac, route->next_hop_mac, sizeof(local.endpoint.pod_mac));
    std::memcpy(local.endpoint.host_mac, route->source_mac, sizeof(local.endpoint.host_mac));
    plan.endpoints.push_back(local);
  }
  return plan;
}

}  // namespace ferry::ferryd
