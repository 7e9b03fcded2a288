// The datapath against the user-space reference: for random flows, the
// backend ferry_xdp_lb sends a flow to must be the one ferry_flow_hash, the
// Maglev library's SlotFor and its table give; for fixed flows, the slot
// their fixed hashes give.
#include <arpa/inet.h>

#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/maglev/golden.h"
#include "agent/maglev/maglev.h"
#include "flow_hash.h"
#include "gtest/gtest.h"
#include "test/bpf/lb_fixture.h"
#include "test/bpf/world.h"
#include "test/packet/decoder.h"

namespace ferry::bpftest {
namespace {

using packet::Packet;

constexpr uint32_t kRandomSeed = 20240611;
constexpr int kFlows = 100000;
constexpr uint32_t kBackendsPerFamily = 50;
constexpr uint32_t kFrontendsPerFamily = 8;
constexpr uint32_t kTableSize = maglev::kDefaultTableSize;

struct Frontend {
  IpAddress vip;
  uint16_t port;
  uint8_t proto;
};

// One service per family; every backend sits on a node of its own, so the
// tunnel's destination names the backend.
struct Service {
  uint32_t id;
  std::vector<uint32_t> backend_ids;  // by Maglev backend index
  std::vector<uint32_t> table;        // slot -> Maglev backend index
  std::vector<Frontend> frontends;
};

// A flow's first packet, as the router hands it to the load-balancing node.
Bytes FirstPacket(const IpAddress& client, const IpAddress& vip, uint16_t sport, uint16_t dport,
                  uint8_t proto) {
  Packet input = world::FromRouter();
  if (client.is_v4()) {
    input.IPv4(client, vip, {.dont_fragment = true});
  } else {
    input.IPv6(client, vip);
  }
  if (proto == kTcp) {
    input.TCP(sport, dport, packet::kTcpSyn);
  } else {
    input.UDP(sport, dport).Payload("differential");
  }
  return input.Build();
}

class DifferentialTest : public LbFixture {
 protected:
  IpAddress RandomAddress(uint8_t family) {
    // 198.18.0.0/15 and 2001:db8::/32 (DESIGN.md §6).
    IpAddress address = family == FERRY_FAMILY_IPV4 ? IpAddress("198.18.0.0") : IpAddress("2001:db8::");
    const size_t fixed_bytes = family == FERRY_FAMILY_IPV4 ? 2 : 4;
    for (size_t i = fixed_bytes; i < address.size(); ++i) address.bytes[i] = static_cast<uint8_t>(rng_());
    if (family == FERRY_FAMILY_IPV4) address.bytes[1] = 18 + (rng_() & 1);
    return address;
  }

  // Nodes, backends, the Maglev table and the frontends of one family.
  void AddService(uint32_t service_id, uint8_t family, uint32_t first_backend_id, Service& service) {
    service.id = service_id;
    std::vector<maglev::Backend> keys;
    for (uint32_t i = 0; i < kBackendsPerFamily; ++i) {
      const uint32_t backend_id = first_backend_id + i;
      const uint32_t node_id = backend_id;  // a node of its own
      // Nodes alternate between IPv4 and IPv6 tunnels, whatever the VIP's family.
      const bool tunnel_v4 = i % 2 == 0;
      NodeSpec node{tunnel_v4 ? world::kLbNode4 : world::kLbNode6, RandomAddress(tunnel_v4 ? FERRY_FAMILY_IPV4 : FERRY_FAMILY_IPV6),
                    world::kLbMac, world::kNodeAMac};
      SetNode(node_id, node);
      const IpAddress pod = RandomAddress(family);
      SetBackend(backend_id, {pod, world::kPodPort, node_id});
      node_of_tunnel_[node.tunnel_dst.ToString()] = backend_id;
      service.backend_ids.push_back(backend_id);
      keys.push_back({absl::StrCat(pod.ToString(), ":", world::kPodPort), 1 + i % 3});
    }
    absl::StatusOr<std::vector<uint32_t>> table = maglev::BuildTable(keys, kTableSize);
    ASSERT_TRUE(table.ok()) << table.status();
    service.table = *table;
    std::vector<uint32_t> slots;
    for (uint32_t index : service.table) slots.push_back(service.backend_ids[index]);
    SetMaglevTable(service_id, slots);
    for (uint32_t i = 0; i < kFrontendsPerFamily; ++i) {
      const Frontend frontend{RandomAddress(family), static_cast<uint16_t>(1 + rng_() % 65535),
                              i % 2 == 0 ? kTcp : kUdp};
      SetFrontend(frontend.vip, frontend.port, frontend.proto, service_id, kTableSize);
      service.frontends.push_back(frontend);
    }
  }

  std::mt19937 rng_{kRandomSeed};
  std::map<std::string, uint32_t> node_of_tunnel_;  // tunnel destination -> backend id
};

// For 100,000 random flows (IPv4 and IPv6 VIPs, TCP and UDP, random clients
// and ports), the backend the XDP program picks is the one the user-space
// Maglev library picks.
TEST_F(DifferentialTest, DatapathPicksTheBackendMaglevLibraryPicks) {
  std::cout << "random seed " << kRandomSeed << ", " << kFlows << " flows, M = " << kTableSize << "\n";
  ferry_config config = Config();
  config.flow_hash_seed = rng_();
  SetConfig(config);
  Service services[2];
  ASSERT_NO_FATAL_FAILURE(AddService(1, FERRY_FAMILY_IPV4, 100, services[0]));
  ASSERT_NO_FATAL_FAILURE(AddService(2, FERRY_FAMILY_IPV6, 200, services[1]));

  int mismatches = 0;
  std::map<uint32_t, int> flows_per_backend;
  for (int i = 0; i < kFlows; ++i) {
    const Service& service = services[rng_() % 2];
    const Frontend& frontend = service.frontends[rng_() % service.frontends.size()];
    const IpAddress client = RandomAddress(frontend.vip.ferry_family());
    const uint16_t sport = static_cast<uint16_t>(1024 + rng_() % (65536 - 1024));

    const ferry_flow_key key = FlowKey(client, frontend.vip, sport, frontend.port, frontend.proto);
    const uint32_t slot = maglev::SlotFor(ferry_flow_hash(&key, config.flow_hash_seed), kTableSize);
    const uint32_t expected = service.backend_ids[service.table[slot]];

    const RunResult result =
        RunXdp(FirstPacket(client, frontend.vip, sport, frontend.port, frontend.proto));
    absl::StatusOr<packet::DecodedPacket> output = packet::Decode(result.output);
    const auto picked = output.ok() && output->ip ? node_of_tunnel_.find(output->ip->dst.ToString())
                                                  : node_of_tunnel_.end();
    const uint32_t actual = picked == node_of_tunnel_.end() ? 0 : picked->second;
    ++flows_per_backend[actual];
    if (result.verdict == kXdpTx && actual == expected) continue;
    if (++mismatches <= 10) {
      ADD_FAILURE() << "flow " << client.ToString() << ":" << sport << " -> " << frontend.vip.ToString() << ":"
                    << frontend.port << " proto " << int{frontend.proto} << ": slot " << slot << ", expected backend "
                    << expected << ", datapath verdict " << result.verdict << " backend " << actual << "\n"
                    << CounterSummary();
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << kFlows << " flows";
  // Every backend served some flows: the comparison covered them all.
  EXPECT_EQ(flows_per_backend.size(), 2 * kBackendsPerFamily);
}

// The flows of agent/maglev/golden.h through the XDP program. Slot s of
// the table names a node of its own, so the node a flow is tunnelled to
// gives its hash modulo the table size: the datapath's hash is pinned by
// the same constants as the user-space one.
TEST_F(DifferentialTest, GoldenFlowsLandInTheSlotsOfTheirFixedHashes) {
  constexpr uint32_t kSlots = 1021;  // a prime below the nodes map's 1024 entries
  std::map<std::string, uint32_t> slot_of_tunnel;
  std::vector<uint32_t> v4_backends;
  std::vector<uint32_t> v6_backends;
  for (uint32_t slot = 0; slot < kSlots; ++slot) {
    const uint32_t node_id = 1 + slot;
    IpAddress tunnel_dst("198.18.4.0");
    tunnel_dst.bytes[2] += static_cast<uint8_t>(slot >> 8);
    tunnel_dst.bytes[3] = static_cast<uint8_t>(slot);
    SetNode(node_id, {world::kLbNode4, tunnel_dst, world::kLbMac, world::kNodeAMac});
    slot_of_tunnel[tunnel_dst.ToString()] = slot;
    v4_backends.push_back(node_id);
    SetBackend(node_id, {world::kPodA4, world::kPodPort, node_id});
    v6_backends.push_back(kSlots + node_id);
    SetBackend(kSlots + node_id, {world::kPodA6, world::kPodPort, node_id});
  }
  SetMaglevTable(1, v4_backends);
  SetMaglevTable(2, v6_backends);
  for (const maglev::golden::Flow& flow : maglev::golden::kFlows) {
    const IpAddress client(flow.client);
    const IpAddress vip(flow.vip);
    SCOPED_TRACE(absl::StrCat(flow.client, ":", flow.client_port, " -> ", flow.vip, ":", flow.vip_port));
    SetFrontend(vip, flow.vip_port, flow.protocol, vip.is_v4() ? 1 : 2, kSlots);
    ferry_config config = Config();
    config.flow_hash_seed = flow.seed;
    SetConfig(config);
    const RunResult result =
        RunXdp(FirstPacket(client, vip, flow.client_port, flow.vip_port, flow.protocol));
    ASSERT_EQ(result.verdict, kXdpTx) << CounterSummary();
    absl::StatusOr<packet::DecodedPacket> output = packet::Decode(result.output);
    ASSERT_TRUE(output.ok() && output->ip) << packet::Describe(result.output);
    const auto slot = slot_of_tunnel.find(output->ip->dst.ToString());
    ASSERT_NE(slot, slot_of_tunnel.end()) << packet::Describe(result.output);
    EXPECT_EQ(slot->second, flow.hash % kSlots);
  }
}

}  // namespace
}  // namespace ferry::bpftest
