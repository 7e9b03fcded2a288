#include "tools/ferry-bench/scenario.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "agent/datapath/addr.h"
#include "agent/maglev/maglev.h"
#include "test/packet/builder.h"

namespace ferry::bench {
namespace {

using packet::IpAddress;
using packet::MacAddress;

constexpr uint16_t kServicePort = 80;
constexpr uint16_t kPodPort = 8080;
constexpr uint32_t kFlowHashSeed = 0x5eed1e55;
constexpr uint16_t kTunnelMtu = 1500;

const MacAddress kRouterMac("02:00:00:00:00:01");
const MacAddress kNodeMac("02:00:00:00:00:02");

// One service per family; node and backend ids of the two never overlap.
struct FamilyPlan {
  uint8_t family;
  const char* vip;
  const char* client;
  const char* this_node;
  uint32_t service_id;
  uint32_t first_node_id;
  uint32_t first_backend_id;
  std::string (*remote_node)(uint32_t k);        // k = 1..kRemoteNodes
  std::string (*pod)(uint32_t k, uint32_t i);    // i-th backend, on node k
};

const FamilyPlan kIpv4 = {
    .family = FERRY_FAMILY_IPV4,
    .vip = "198.19.0.10",
    .client = "198.18.100.10",
    .this_node = "198.18.0.2",
    .service_id = 0,
    .first_node_id = 1,
    .first_backend_id = 0,
    .remote_node = [](uint32_t k) { return absl::StrCat("198.18.0.", 10 + k); },
    .pod = [](uint32_t k, uint32_t i) { return absl::StrCat("198.18.", 16 + k, ".", 10 + i); },
};

const FamilyPlan kIpv6 = {
    .family = FERRY_FAMILY_IPV6,
    .vip = "2001:db8:19::10",
    .client = "2001:db8:100::10",
    .this_node = "2001:db8:0:1::2",
    .service_id = 1,
    .first_node_id = 1 + kRemoteNodes,
    .first_backend_id = kBackendsPerService,
    .remote_node = [](uint32_t k) { return absl::StrCat("2001:db8:0:1::", 10 + k); },
    .pod = [](uint32_t k, uint32_t i) { return absl::StrCat("2001:db8:16:", k, "::", 10 + i); },
};

MacAddress RemoteNodeMac(uint32_t k) { return MacAddress(absl::StrCat("02:00:00:00:00:1", k).c_str()); }

absl::Status ProgramService(datapath::LbMaps& maps, const FamilyPlan& plan,
                            uint32_t ingress_ifindex, uint32_t maglev_size) {
  for (uint32_t k = 1; k <= kRemoteNodes; ++k) {
    ferry_node node{};
    node.tunnel_dst = IpAddress(plan.remote_node(k).c_str()).ToFerry();
    node.tunnel_src = IpAddress(plan.this_node).ToFerry();
    const MacAddress next_hop = RemoteNodeMac(k);
    std::copy(next_hop.bytes.begin(), next_hop.bytes.end(), node.next_hop_mac);
    std::copy(kNodeMac.bytes.begin(), kNodeMac.bytes.end(), node.source_mac);
    node.egress_ifindex = ingress_ifindex;
    node.family = plan.family;
    if (absl::Status status = maps.UpsertNode(plan.first_node_id + k - 1, node); !status.ok()) {
      return status;
    }
  }

  std::vector<maglev::Backend> maglev_backends;
  for (uint32_t i = 0; i < kBackendsPerService; ++i) {
    const uint32_t k = 1 + i % kRemoteNodes;
    ferry_backend backend{};
    backend.addr = IpAddress(plan.pod(k, i).c_str()).ToFerry();
    backend.port = htons(kPodPort);
    backend.family = plan.family;
    backend.flags = FERRY_BACKEND_ACTIVE;
    backend.node_id = plan.first_node_id + k - 1;
    if (absl::Status status = maps.UpsertBackend(plan.first_backend_id + i, backend);
        !status.ok()) {
      return status;
    }
    maglev_backends.push_back(
        {.key = datapath::FormatEndpoint(backend.addr, backend.family, backend.port)});
  }
  absl::StatusOr<std::vector<uint32_t>> table = maglev::BuildTable(maglev_backends, maglev_size);
  if (!table.ok()) return table.status();
  for (uint32_t& index : *table) index += plan.first_backend_id;
  if (absl::Status status = maps.SetMaglevTable(plan.service_id, *table); !status.ok()) {
    return status;
  }
  return maps.UpsertFrontend(
      datapath::MakeFrontendKey(*net::IpAddress::Parse(plan.vip), kServicePort, IPPROTO_TCP),
      {.service_id = plan.service_id, .maglev_size = maglev_size});
}

// What Linux puts in a SYN: MSS, SACK permitted, timestamps, NOP, window
// scale.
const packet::Bytes kSynOptions = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1,
                                   0, 0, 0, 0,    1, 3, 3, 7};

packet::Packet ToAddress(const FamilyPlan& plan, const char* dst) {
  packet::Packet p;
  p.Eth(kRouterMac, kNodeMac);
  if (plan.family == FERRY_FAMILY_IPV4) {
    p.IPv4(plan.client, dst, {.dont_fragment = true});
  } else {
    p.IPv6(plan.client, dst);
  }
  return p;
}

Bytes Syn(const FamilyPlan& plan) {
  return ToAddress(plan, plan.vip)
      .TCP(40000, kServicePort, packet::kTcpSyn, {.seq = 1000, .options = kSynOptions})
      .Build();
}

Bytes Ack(const FamilyPlan& plan, const char* dst, uint16_t port) {
  return ToAddress(plan, dst)
      .TCP(40000, port, packet::kTcpAck | packet::kTcpPsh, {.seq = 1001, .ack = 5001})
      .Payload("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
      .Build();
}

}  // namespace

absl::Status ProgramServices(datapath::LbMaps& maps, uint32_t ingress_ifindex,
                             uint32_t maglev_size) {
  if (absl::Status status = maglev::ValidateTableSize(maglev_size); !status.ok()) return status;
  ferry_config config{};
  config.node_v4 = IpAddress(kIpv4.this_node).ToFerry();
  config.node_v6 = IpAddress(kIpv6.this_node).ToFerry();
  config.flow_hash_seed = kFlowHashSeed;
  config.tunnel_mtu = kTunnelMtu;
  if (absl::Status status = maps.SetConfig(config); !status.ok()) return status;
  for (const FamilyPlan* plan : {&kIpv4, &kIpv6}) {
    if (absl::Status status = ProgramService(maps, *plan, ingress_ifindex, maglev_size);
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

Packets MakePackets() {
  return {
      .syn_v4 = Syn(kIpv4),
      .ack_v4 = Ack(kIpv4, kIpv4.vip, kServicePort),
      .syn_v6 = Syn(kIpv6),
      .ack_v6 = Ack(kIpv6, kIpv6.vip, kServicePort),
      .no_vip_v4 = Ack(kIpv4, kIpv4.this_node, 22),
      .no_vip_v6 = Ack(kIpv6, kIpv6.this_node, 22),
  };
}

}  // namespace ferry::bench
