// The load-balancing datapath end to end, on namespaces: a client opens real
// TCP connections to a VIP; the gw routes the VIP to node "lb", whose XDP
// program tunnels each flow to the node of its Maglev-chosen pod; that node
// decapsulates and DNATs in TC; the pod's reply is rev-NATed at its veth and
// goes straight back to the client (DSR).
//
// Checked from outside: every connection got its own token back from a pod,
// every pod served a share, and captures show that no reply crosses the
// load-balancing node while requests and tunnelled packets do.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/datapath/addr.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps.h"
#include "agent/maglev/maglev.h"
#include "gtest/gtest.h"
#include "test/e2e/netns.h"
#include "test/e2e/status_macros.h"
#include "test/e2e/topology.h"
#include "test/e2e/traffic.h"

namespace ferry::netns {
namespace {

constexpr uint16_t kVipPort = 80;
constexpr uint16_t kPodPort = 8080;
constexpr char kVipV4[] = "198.19.0.10";
constexpr char kVipV6[] = "2001:db8:19::10";
constexpr uint32_t kServiceV4 = 1;
constexpr uint32_t kServiceV6 = 2;
constexpr uint32_t kFlowHashSeed = 0x5eedf00d;
constexpr uint16_t kTunnelMtu = 1500;
constexpr char kLbNode[] = "lb";

// Node ids: a node's IPv4 tunnel endpoint is its index k, its IPv6 one
// kV6NodeBase + k; a backend gets the id of the tunnel of its own family.
constexpr uint32_t kV6NodeBase = 100;
constexpr uint32_t kV4BackendBase = 100;
constexpr uint32_t kV6BackendBase = 200;

struct Family {
  int af;
  const char* vip;
  uint32_t service_id;
  uint32_t node_base;
  uint32_t backend_base;
  const char* tcpdump_ip;  // "ip" or "ip6"
  const char* tunnel;      // pcap filter of the lb's tunnelled packets
};
constexpr Family kV4 = {AF_INET, kVipV4, kServiceV4, 0, kV4BackendBase, "ip", "ip proto 4"};
constexpr Family kV6 = {AF_INET6, kVipV6, kServiceV6, kV6NodeBase, kV6BackendBase, "ip6",
                        "ip6 proto 41"};

const IpAddress& AddressOf(const Node& node, const Family& f) {
  return f.af == AF_INET ? node.v4 : node.v6;
}
const IpAddress& AddressOf(const Pod& pod, const Family& f) {
  return f.af == AF_INET ? pod.v4 : pod.v6;
}
uint8_t FerryFamily(const Family& f) {
  return f.af == AF_INET ? FERRY_FAMILY_IPV4 : FERRY_FAMILY_IPV6;
}

ferry_addr MapAddress(const IpAddress& address) { return datapath::ToMapKey(address).addr; }

std::string Counts(const std::vector<datapath::NamedCount>& counts) {
  std::vector<std::string> nonzero;
  for (const datapath::NamedCount& c : counts) {
    if (c.count != 0) nonzero.push_back(absl::StrCat(c.name, "=", c.count));
  }
  return nonzero.empty() ? "none" : absl::StrJoin(nonzero, " ");
}

uint64_t CountOf(const std::vector<datapath::NamedCount>& counts, absl::string_view name) {
  for (const datapath::NamedCount& c : counts) {
    if (c.name == name) return c.count;
  }
  return 0;
}

// One simulated node's instance of the datapath object.
struct NodeDatapath {
  Node* node;
  std::unique_ptr<datapath::Datapath> datapath;
  std::unique_ptr<datapath::LbMaps> maps;
};

class LbEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Topology>> topology = Topology::Build(
        {.nodes = {{.name = "node1"}, {.name = "node2"}, {.name = "node3"}, {.name = kLbNode, .pods = 0}}});
    ASSERT_TRUE(topology.ok()) << topology.status();
    topology_ = std::move(*topology);
    lb_ = topology_->node(kLbNode);
    for (Node& node : topology_->nodes()) {
      for (Pod& pod : node.pods) {
        absl::StatusOr<std::unique_ptr<Process>> server =
            StartTestServer(*pod.ns, FERRY_TEST_SERVER_PATH, pod.name, kPodPort);
        ASSERT_TRUE(server.ok()) << server.status();
        servers_.push_back(std::move(*server));
      }
    }
    // Until L2 announcements or BGP land, the gw routes the VIPs to one node.
    ASSERT_TRUE(
        topology_->gw().AddRoute({absl::StrCat(kVipV4, "/32"), "via", lb_->v4.ToString()}).ok());
    ASSERT_TRUE(
        topology_->gw().AddRoute({absl::StrCat(kVipV6, "/128"), "via", lb_->v6.ToString()}).ok());
    ASSERT_TRUE(topology_->EnableXdpTx(*lb_).ok());
    for (Node& node : topology_->nodes()) {
      absl::Status loaded = LoadAndAttach(node);
      ASSERT_TRUE(loaded.ok()) << node.name << ": " << loaded;
    }
    for (NodeDatapath& instance : datapaths_) {
      for (const Family* f : {&kV4, &kV6}) {
        absl::Status programmed = Program(instance, *f);
        ASSERT_TRUE(programmed.ok()) << instance.node->name << ": " << programmed;
      }
    }
    // Full neighbour tables and a bridge that knows every MAC: no flooded
    // frame reaches the lb's port later and passes for a reply.
    ASSERT_TRUE(topology_->WarmUp().ok());
  }

  void TearDown() override {
    for (NodeDatapath& instance : datapaths_) {
      if (instance.datapath) {
        EXPECT_TRUE(instance.datapath->Unpin().ok());
      }
    }
    datapaths_.clear();
    servers_.clear();
    topology_.reset();
    EXPECT_TRUE(CleanUpRun(RunPrefix()).ok());
  }

  absl::Status LoadAndAttach(Node& node) {
    NodeDatapath& instance = datapaths_.emplace_back();
    instance.node = &node;
    datapath::MapSizes sizes{.services = 16, .vips = 16, .backends = 256, .nodes = 256,
                             .flows = 16384, .fragments = 256, .rev_nat = 16384, .endpoints = 16};
    FERRY_ASSIGN_OR_RETURN(instance.datapath,
                           datapath::Datapath::Load({.node_name = node.name,
                                                     .pin_dir = PinDir(node.name),
                                                     .sizes = sizes,
                                                     .object_dir = {}}));
    FERRY_ASSIGN_OR_RETURN(datapath::LbMaps maps, instance.datapath->OpenMaps());
    instance.maps = std::make_unique<datapath::LbMaps>(std::move(maps));
    datapath::Datapath& dp = *instance.datapath;
    return RunIn(*node.ns, [&]() -> absl::Status {
      if (&node == lb_) FERRY_RETURN_IF_ERROR(dp.AttachXdp(node.uplink.ifindex, datapath::XdpMode::kNative));
      FERRY_RETURN_IF_ERROR(dp.AttachTcIngress(node.uplink.ifindex, datapath::Program::kTcUplink));
      for (const Pod& pod : node.pods) {
        FERRY_RETURN_IF_ERROR(dp.AttachTcIngress(pod.host_link.ifindex, datapath::Program::kTcPod));
      }
      return absl::OkStatus();
    });
  }

  std::vector<Node*> BackendNodes() {
    std::vector<Node*> nodes;
    for (Node& node : topology_->nodes()) {
      if (!node.pods.empty()) nodes.push_back(&node);
    }
    return nodes;
  }

  // The same service, backends, Maglev table and node table on every node;
  // what differs is the node's own addresses, its LOCAL flag and its pods.
  absl::Status Program(NodeDatapath& instance, const Family& f) {
    datapath::LbMaps& maps = *instance.maps;
    const Node& self = *instance.node;
    ferry_config config = {};
    config.node_v4 = MapAddress(self.v4);
    config.node_v6 = MapAddress(self.v6);
    config.flow_hash_seed = kFlowHashSeed;
    config.tunnel_mtu = kTunnelMtu;
    FERRY_RETURN_IF_ERROR(maps.SetConfig(config));
    const ferry_addr self_address = MapAddress(AddressOf(self, f));
    std::vector<maglev::Backend> maglev_backends;
    std::vector<uint32_t> backend_ids;
    for (Node* node : BackendNodes()) {
      const uint32_t node_id = f.node_base + node->index;
      ferry_node tunnel = {};
      tunnel.family = FerryFamily(f);
      tunnel.tunnel_dst = MapAddress(AddressOf(*node, f));
      tunnel.tunnel_src = self_address;
      std::memcpy(tunnel.next_hop_mac, node->uplink.mac.data(), 6);
      std::memcpy(tunnel.source_mac, self.uplink.mac.data(), 6);
      tunnel.egress_ifindex = self.uplink.ifindex;
      tunnel.flags = node == &self ? FERRY_NODE_LOCAL : 0;
      FERRY_RETURN_IF_ERROR(maps.UpsertNode(node_id, tunnel));
      for (size_t j = 0; j < node->pods.size(); ++j) {
        const Pod& pod = node->pods[j];
        const uint32_t backend_id = f.backend_base + 10 * node->index + static_cast<uint32_t>(j);
        ferry_backend backend = {};
        backend.port = htons(kPodPort);
        backend.family = FerryFamily(f);
        backend.flags = FERRY_BACKEND_ACTIVE;
        backend.node_id = node_id;
        const ferry_addr_key pod_address = datapath::ToMapKey(AddressOf(pod, f));
        backend.addr = pod_address.addr;
        FERRY_RETURN_IF_ERROR(maps.UpsertBackend(backend_id, backend));
        maglev_backends.push_back(
            {.key = datapath::FormatEndpoint(backend.addr, backend.family, backend.port)});
        backend_ids.push_back(backend_id);
        if (node != &self) continue;
        ferry_endpoint endpoint = {};
        endpoint.ifindex = static_cast<uint32_t>(pod.host_link.ifindex);
        std::memcpy(endpoint.pod_mac, pod.link.mac.data(), 6);
        std::memcpy(endpoint.host_mac, pod.host_link.mac.data(), 6);
        FERRY_RETURN_IF_ERROR(maps.UpsertEndpoint(pod_address, endpoint));
      }
    }
    FERRY_ASSIGN_OR_RETURN(std::vector<uint32_t> slots,
                           maglev::BuildTable(maglev_backends, maglev::kDefaultTableSize));
    std::vector<uint32_t> table;
    table.reserve(slots.size());
    for (uint32_t index : slots) table.push_back(backend_ids[index]);
    FERRY_RETURN_IF_ERROR(maps.SetMaglevTable(f.service_id, table));
    FERRY_ASSIGN_OR_RETURN(net::IpAddress vip, net::IpAddress::Parse(f.vip));
    return maps.UpsertFrontend(datapath::MakeFrontendKey(vip, kVipPort, IPPROTO_TCP),
                               {.service_id = f.service_id,
                                .maglev_size = static_cast<uint32_t>(table.size())});
  }

  // datapaths_ follows the topology's node order.
  datapath::LbMaps& MapsOf(const Node& node) { return *datapaths_[node.index - 1].maps; }

  void ExpectBalancedAndDirectReturn(const Family& f, int connections);

  std::unique_ptr<Topology> topology_;
  Node* lb_ = nullptr;
  std::vector<std::unique_ptr<Process>> servers_;
  std::vector<NodeDatapath> datapaths_;
};

void LbEndToEndTest::ExpectBalancedAndDirectReturn(const Family& f, int connections) {
  const std::string vip = f.vip;
  // The lb's wire, both ways, seen from the bridge: XDP-handled packets are
  // invisible to a capture inside the lb, not to one on the peer.
  absl::StatusOr<std::unique_ptr<Capture>> lb_wire =
      Capture::Start(topology_->lan(), lb_->bridge_port.name);
  ASSERT_TRUE(lb_wire.ok()) << lb_wire.status();
  absl::StatusOr<std::unique_ptr<Capture>> lb_inside =
      Capture::Start(*lb_->ns, lb_->uplink.name);
  ASSERT_TRUE(lb_inside.ok()) << lb_inside.status();
  // Where the replies do go: into the gw from the LAN.
  absl::StatusOr<std::unique_ptr<Capture>> gw_lan =
      Capture::Start(topology_->gw(), "lan");
  ASSERT_TRUE(gw_lan.ok()) << gw_lan.status();

  absl::StatusOr<TcpClientReport> report = RunTcpClients(
      topology_->client(),
      {.address = vip, .port = kVipPort, .connections = connections, .token_prefix = "conn"});
  ASSERT_TRUE(report.ok()) << report.status();
  // Positive control for the capture inside the lb: the stack's own traffic.
  ASSERT_TRUE(RunCommand(&topology_->gw(),
                         {"ping", "-c", "2", "-i", "0.2", "-W", "1", AddressOf(*lb_, f).ToString()})
                  .ok());

  absl::StatusOr<std::vector<datapath::NamedCount>> lb_events = MapsOf(*lb_).EventCounts();
  absl::StatusOr<std::vector<datapath::NamedCount>> lb_drops = MapsOf(*lb_).DropCounts();
  ASSERT_TRUE(lb_events.ok() && lb_drops.ok());
  std::printf("%s: %d/%d connections in %s; lb events: %s; lb drops: %s\n", vip.c_str(),
              report->completed, report->attempted, absl::FormatDuration(report->elapsed).c_str(),
              Counts(*lb_events).c_str(), Counts(*lb_drops).c_str());
  for (Node* node : BackendNodes()) {
    absl::StatusOr<std::vector<datapath::NamedCount>> events = MapsOf(*node).EventCounts();
    absl::StatusOr<std::vector<datapath::NamedCount>> drops = MapsOf(*node).DropCounts();
    ASSERT_TRUE(events.ok() && drops.ok());
    std::printf("  %s events: %s; drops: %s\n", node->name.c_str(), Counts(*events).c_str(),
                Counts(*drops).c_str());
  }
  for (const auto& [pod, count] : report->by_pod) std::printf("  %s served %d\n", pod.c_str(), count);
  // veth's XDP counters on both ends of the lb's wire (xdp_tx_errors: the
  // peer could not take an XDP_TX frame).
  for (const auto& [ns, link] : {std::pair<const Namespace*, std::string>{lb_->ns.get(), lb_->uplink.name},
                                 std::pair<const Namespace*, std::string>{&topology_->lan(), lb_->bridge_port.name}}) {
    absl::StatusOr<std::string> stats = RunCommand(ns, {"ethtool", "-S", link});
    if (!stats.ok()) continue;
    for (absl::string_view line : absl::StrSplit(*stats, '\n')) {
      if (absl::StrContains(line, "xdp") && !absl::EndsWith(line, ": 0")) {
        std::printf("  %s %s:%s\n", ns->name().c_str(), link.c_str(), std::string(line).c_str());
      }
    }
  }

  EXPECT_EQ(report->completed, connections)
      << report->error_count << " failed; first: " << absl::StrJoin(report->errors, "; ");
  // Every connection crossed the load balancer: as a new flow, or as a
  // conntrack hit where the client reused the port of a closed connection
  // (a server that closes first leaves the client no TIME_WAIT).
  EXPECT_GE(CountOf(*lb_events, "flow-new") + CountOf(*lb_events, "flow-hit"),
            static_cast<uint64_t>(connections));
  EXPECT_GE(CountOf(*lb_events, "encap-tx"), static_cast<uint64_t>(connections));
  std::set<std::string> pods;
  for (Node* node : BackendNodes()) {
    for (const Pod& pod : node->pods) pods.insert(pod.name);
  }
  for (const std::string& pod : pods) {
    // 1/3 expected; a tenth is far outside chance for a working Maglev.
    EXPECT_GE(report->by_pod[pod], connections / 10) << pod << " served too few";
  }

  const std::string vip_port = absl::StrCat(f.tcpdump_ip, " and dst host ", vip, " and tcp dst port ", kVipPort);
  const std::string from_vip = absl::StrCat("src host ", vip);
  absl::StatusOr<size_t> wire_requests = (*lb_wire)->Count(vip_port);
  absl::StatusOr<size_t> wire_tunnelled = (*lb_wire)->Count(f.tunnel);
  absl::StatusOr<size_t> wire_replies = (*lb_wire)->Count(from_vip);
  absl::StatusOr<size_t> wire_pod_replies =
      (*lb_wire)->Count(absl::StrCat("tcp src port ", kPodPort));
  absl::StatusOr<size_t> inside_requests = (*lb_inside)->Count(vip_port);
  absl::StatusOr<size_t> inside_replies = (*lb_inside)->Count(from_vip);
  absl::StatusOr<size_t> inside_pings = (*lb_inside)->Count(f.af == AF_INET ? "icmp" : "icmp6");
  const std::string vip_replies = absl::StrCat("src host ", vip, " and tcp src port ", kVipPort);
  absl::StatusOr<size_t> gw_replies = (*gw_lan)->Count(vip_replies);
  absl::StatusOr<std::vector<std::string>> gw_reply_lines = (*gw_lan)->Read(vip_replies);
  for (auto* count : {&wire_requests, &wire_tunnelled, &wire_replies, &wire_pod_replies,
                      &inside_requests, &inside_replies, &inside_pings, &gw_replies}) {
    ASSERT_TRUE(count->ok()) << count->status();
  }
  ASSERT_TRUE(gw_reply_lines.ok());
  std::printf("  lb wire: %zu requests, %zu tunnelled, %zu from the VIP, %zu from pod port; "
              "inside lb: %zu requests, %zu from the VIP, %zu ICMP; gw from LAN: %zu replies "
              "from the VIP; kernel drops %lld/%lld/%lld\n",
              *wire_requests, *wire_tunnelled, *wire_replies, *wire_pod_replies, *inside_requests,
              *inside_replies, *inside_pings, *gw_replies,
              static_cast<long long>((*lb_wire)->dropped_by_kernel()),
              static_cast<long long>((*lb_inside)->dropped_by_kernel()),
              static_cast<long long>((*gw_lan)->dropped_by_kernel()));

  if (*wire_tunnelled < 4u * connections) {
    absl::StatusOr<std::vector<std::string>> sample = (*lb_wire)->Read("");
    for (size_t i = 0; sample.ok() && i < sample->size() && i < 8; ++i) {
      std::printf("  lb wire sample: %s\n", (*sample)[i].c_str());
    }
  }
  // The captures saw everything they were given.
  EXPECT_EQ((*lb_wire)->dropped_by_kernel(), 0u);
  EXPECT_EQ((*lb_inside)->dropped_by_kernel(), 0u);
  EXPECT_EQ((*gw_lan)->dropped_by_kernel(), 0u);
  // Positive controls: each connection's SYN, ACK, request and FIN reached
  // the lb and left it tunnelled; the stack inside the lb saw its pings.
  EXPECT_GE(*wire_requests, 4u * connections);
  EXPECT_GE(*wire_tunnelled, 4u * connections);
  EXPECT_GE(*inside_pings, 4u);
  // XDP took every request: none reached the lb's stack.
  EXPECT_EQ(*inside_requests, 0u);
  // DSR: no reply crossed the lb, neither rev-NATed nor raw from a pod...
  EXPECT_EQ(*wire_replies, 0u);
  EXPECT_EQ(*wire_pod_replies, 0u);
  EXPECT_EQ(*inside_replies, 0u);
  // ...they reached the gw (SYN-ACK, answer, FIN at least) from the backend
  // nodes' MACs, never from the lb's.
  EXPECT_GE(*gw_replies, 3u * connections);
  for (const std::string& line : *gw_reply_lines) {
    ASSERT_EQ(line.find(lb_->uplink.mac_text), std::string::npos) << line;
  }
}

TEST_F(LbEndToEndTest, Ipv4ConnectionsAreBalancedAndRepliesBypassTheLb) {
  ExpectBalancedAndDirectReturn(kV4, 1000);
}

TEST_F(LbEndToEndTest, Ipv6ConnectionsAreBalancedAndRepliesBypassTheLb) {
  ExpectBalancedAndDirectReturn(kV6, 1000);
}

}  // namespace
}  // namespace ferry::netns
