#include "agent/lb/testing/cluster.h"

#include <netinet/in.h>

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ferry::lb::testing {

namespace {

IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return IpAddress{.family = net::IpFamily::kIPv4, .bytes = {a, b, c, d}};
}

}  // namespace

NodeInfo MakeNode(int k) {
  NodeInfo node;
  node.name = absl::StrCat("node", k);
  node.v4 = V4(198, 18, 0, 10 + k);
  node.route.tunnel_dst = datapath::ToMapKey(*node.v4).addr;
  node.route.tunnel_src = datapath::ToMapKey(V4(198, 18, 0, 10)).addr;
  const uint8_t next_hop[6] = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(k)};
  const uint8_t source[6] = {0x02, 0, 0, 0, 0, 0};
  std::copy(std::begin(next_hop), std::end(next_hop), node.route.next_hop_mac);
  std::copy(std::begin(source), std::end(source), node.route.source_mac);
  node.route.egress_ifindex = 2;
  node.route.family = FERRY_FAMILY_IPV4;
  return node;
}

Backend MakePod(uint32_t pod, int nodes) {
  const int node = static_cast<int>(pod % nodes);
  const uint32_t on_node = pod / nodes;
  return Backend{.address = V4(198, 18, 16 + node, 1 + on_node % 250),
                 .port = static_cast<uint16_t>(8000 + on_node / 250),
                 .node = absl::StrCat("node", node)};
}

Frontend MakeFrontend(uint32_t service) {
  return Frontend{
      .vip = V4(198, 19, service / 256 % 256, service % 256), .port = 80, .protocol = IPPROTO_TCP};
}

std::string ServiceName(int service) { return absl::StrFormat("ns/svc%05d", service); }

LbInput MakeCluster(int services, int backends_per_service, int nodes, uint32_t maglev_size) {
  LbInput input;
  input.this_node = "node0";
  input.maglev_size = maglev_size;
  for (int k = 0; k < nodes; ++k) input.nodes.push_back(MakeNode(k));
  input.services.reserve(services);
  for (int i = 0; i < services; ++i) {
    LbService service;
    service.name = ServiceName(i);
    service.frontends = {MakeFrontend(i)};
    for (int j = 0; j < backends_per_service; ++j) {
      service.backends.push_back(MakePod(i * backends_per_service + j, nodes));
    }
    input.services.push_back(std::move(service));
  }
  return input;
}

}  // namespace ferry::lb::testing
