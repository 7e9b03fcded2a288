// BGP end to end (issue 6): ferryd on the three nodes of the DESIGN.md §6
// topology peers with a real router in the gw (FRR, then BIRD, configured as
// homelab gateways are) and advertises deploy/examples' VIPs. Checked from
// outside: the gw's kernel FIB (one ECMP route through every node), the
// router's view of its neighbors, the client's connections and long streams,
// and captures on the nodes' bridge ports of which node each client flow
// enters by.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bgp/interop_fixture.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test/e2e/examples.h"
#include "test/e2e/netns.h"
#include "test/e2e/routers.h"
#include "test/e2e/topology.h"
#include "test/e2e/traffic.h"

namespace ferry::ferryd {
namespace {

using bgp::interop::Eventually;
using bgp::interop::FibDiffers;
using bgp::interop::kGwAs;
using bgp::interop::kGwV4;
using bgp::interop::kGwV6;
using bgp::interop::RouterKind;
using bgp::interop::RouterName;
using netns::Node;
using netns::Process;
using netns::Topology;

using netns::examples::kPodPort;
using netns::examples::kVipPort;
constexpr const char* kVipV4 = netns::examples::kWebVipV4;
constexpr const char* kVipV6 = netns::examples::kWebVipV6;
// deploy/examples/bgp.yaml's AS of every node, and its hold time (the
// routers' too).
constexpr uint32_t kNodeAs = 64513;
constexpr absl::Duration kHoldTime = absl::Seconds(9);
constexpr absl::Duration kSessionTimeout = absl::Seconds(20);
constexpr absl::Duration kRouteTimeout = absl::Seconds(15);
// How long a long-lived connection lasts, and how long a gap in it may be.
constexpr absl::Duration kStreamDuration = absl::Seconds(8);
constexpr absl::Duration kMaxStreamGap = absl::Seconds(1);
// What each stream receives while the gw's choice of node is sampled: 64 of
// the server's 1 KiB writes (some 0.64 s), each answered by client ACKs.
constexpr size_t kStreamSample = 64 * 1024;
constexpr char kPasswordSecret[] = "gw-password";
constexpr char kPassword[] = "ferry-md5-secret";

std::string HostPrefix(const std::string& address) {
  return absl::StrCat(address, absl::StrContains(address, ':') ? "/128" : "/32");
}

// Written whole, then renamed in: ferryd never reads half a file.
void ReplaceManifest(const std::filesystem::path& path, const std::string& content) {
  const std::filesystem::path partial = path.parent_path() / ("." + path.filename().string());
  std::ofstream(partial) << content;
  std::filesystem::rename(partial, path);
}

// A BGPPeer to the gw, with bgp.yaml's timers.
struct PeerManifest {
  std::string name;
  std::string address;
  uint32_t local_asn = kNodeAs;
  std::string families = "[ipv4-unicast, ipv6-unicast]";
  std::string node;       // the one node it selects; empty: every node
  bool password = false;  // the TCP MD5 password of Secret kPasswordSecret
};

std::string PeerYaml(const PeerManifest& peer) {
  std::string yaml = absl::StrCat(
      "---\napiVersion: ferry.dev/v1alpha1\nkind: BGPPeer\nmetadata:\n  name: ", peer.name,
      "\nspec:\n  peerAddress: ", peer.address, "\n  peerASN: ", kGwAs,
      "\n  localASN: ", peer.local_asn,
      "\n  holdTime: 9s\n  keepaliveTime: 3s\n  connectRetryTime: 1s\n  families: ", peer.families,
      "\n");
  if (!peer.node.empty()) {
    absl::StrAppend(&yaml,
                    "  nodeSelector:\n    matchLabels:\n      kubernetes.io/hostname: ", peer.node,
                    "\n");
  }
  if (peer.password) {
    absl::StrAppend(&yaml, "  passwordSecretRef:\n    name: ", kPasswordSecret,
                    "\n    key: password\n");
  }
  return yaml;
}

// bgp.yaml's advertisement (the VIPs of the Services without `announce: l2`)
// for the peers named; none: every peer.
std::string AdvertisementYaml(const std::vector<std::string>& peers) {
  std::string yaml =
      "---\napiVersion: ferry.dev/v1alpha1\nkind: BGPAdvertisement\nmetadata:\n  name: vips\n"
      "spec:\n  advertise: [LoadBalancerIPs]\n  serviceSelector:\n    matchExpressions:\n"
      "    - key: announce\n      operator: NotIn\n      values: [l2]\n";
  if (!peers.empty()) absl::StrAppend(&yaml, "  peers: [", absl::StrJoin(peers, ", "), "]\n");
  return yaml;
}

// The client endpoint ("198.18.100.2.40000") of a TCP packet in a tcpdump
// -nn -e line: "<time> <mac> > <mac>, ethertype ..., length N: A.p > B.q: ...".
std::string ClientEndpoint(const std::string& line) {
  const size_t packet = line.find(", length ");
  const size_t start = packet == std::string::npos ? packet : line.find(": ", packet);
  const size_t arrow = start == std::string::npos ? start : line.find(" > ", start);
  if (arrow == std::string::npos) return "";
  return line.substr(start + 2, arrow - start - 2);
}

// Several long-lived connections through each VIP, started together.
class Streams {
 public:
  Streams(const netns::Namespace& client, int per_family) : streams_(client, Options(per_family)) {}

  // Waits until every stream has received `bytes` more (1 from the start:
  // every stream is connected and served).
  void WaitForBytes(size_t bytes) {
    EXPECT_TRUE(streams_.WaitForBytes(bytes, kSessionTimeout))
        << "a stream received less than " << bytes << " bytes within " << kSessionTimeout;
  }

  // Waits for every stream and checks that it ran to its end, served by one
  // pod from start to end (another would have answered with a reset) and
  // never stalled; returns how many did.
  int ExpectSurvived() {
    int survived = 0;
    for (const absl::StatusOr<netns::TcpStreamReport>& report : streams_.Reports()) {
      EXPECT_TRUE(report.ok()) << report.status();
      if (!report.ok()) continue;
      const bool intact =
          report->completed && report->end_pod == report->pod && report->max_gap < kMaxStreamGap;
      EXPECT_TRUE(intact) << "a stream from " << report->pod << " ended by " << report->end_pod
                          << " after " << report->bytes << " bytes, longest gap " << report->max_gap
                          << ": " << report->error;
      survived += intact;
    }
    return survived;
  }

  int size() const { return streams_.size(); }

 private:
  static std::vector<netns::TcpStreamOptions> Options(int per_family) {
    std::vector<netns::TcpStreamOptions> options;
    for (const char* vip : {kVipV4, kVipV6}) {
      for (int i = 0; i < per_family; ++i) {
        options.push_back({.address = vip, .port = kVipPort, .duration = kStreamDuration});
      }
    }
    return options;
  }

  netns::TcpStreams streams_;
};

class FerrydBgpTest : public ::testing::TestWithParam<RouterKind> {
 protected:
  void SetUp() override {
    absl::StatusOr<netns::PodCluster> cluster =
        netns::StartPodCluster(FERRY_TEST_SERVER_PATH, kPodPort);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    topology_ = std::move(cluster->topology);
    servers_ = std::move(cluster->servers);
    for (Node& node : topology_->nodes()) {
      // Every node receives flows by ECMP and hands some to the others by XDP_TX.
      ASSERT_EQ(topology_->EnableXdpTx(node), absl::OkStatus());
      all_nodes_.push_back(&node);
    }
    ASSERT_EQ(topology_->WarmUp(), absl::OkStatus());
    // Hash ports too, as routers spreading flows over ECMP paths do: by
    // addresses alone, every flow of the one client would take one node.
    ASSERT_EQ(topology_->gw().SetSysctl("net.ipv4.fib_multipath_hash_policy", "1"),
              absl::OkStatus());
    ASSERT_EQ(topology_->gw().SetSysctl("net.ipv6.fib_multipath_hash_policy", "1"),
              absl::OkStatus());
    absl::StatusOr<netns::Interface> gw_lan = topology_->gw().Link("lan");
    ASSERT_TRUE(gw_lan.ok()) << gw_lan.status();
    gw_lan_mac_ = gw_lan->mac_text;

    manifests_ = std::filesystem::path(netns::ScratchDir()) / "manifests";
    std::filesystem::create_directories(manifests_);
    for (const char* file : {"service.yaml", "endpoints.yaml", "nodes.yaml", "pools.yaml"}) {
      UseExample(file);
    }
    // A mounted Secret's layout; the line break is what `echo` leaves.
    secrets_ = std::filesystem::path(netns::ScratchDir()) / "secrets";
    std::filesystem::create_directories(secrets_ / kPasswordSecret);
    std::ofstream(secrets_ / kPasswordSecret / "password") << kPassword << "\n";
  }

  void TearDown() override {
    for (auto& [name, agent] : agents_) {
      // SIGTERM: the routes stay on the router, as in a restart.
      absl::StatusOr<int> exit_status = agent->Stop();
      EXPECT_TRUE(exit_status.ok() && *exit_status == 0) << agent->log_path();
      if (HasFailure())
        std::printf("%s:\n%s\n", agent->log_path().c_str(), agent->ReadLog().c_str());
    }
    if (HasFailure() && router_) std::printf("router:\n%s\n", router_->Log().c_str());
    agents_.clear();
    router_.reset();
    servers_.clear();
    topology_.reset();
    EXPECT_TRUE(netns::CleanUpRun(netns::RunPrefix()).ok());
  }

  // The gw's neighbors: node k's address of `family`, as AS asn(k), with
  // password(k) ("" for none).
  std::vector<netns::BgpNeighbor> Neighbors(
      bool v6, const std::function<uint32_t(int)>& asn = [](int) { return kNodeAs; },
      const std::function<std::string(int)>& password = [](int) { return ""; }) const {
    std::vector<netns::BgpNeighbor> neighbors;
    for (const Node* node : all_nodes_) {
      neighbors.push_back({.address = v6 ? node->v6.ToString() : node->v4.ToString(),
                           .asn = asn(node->index),
                           .password = password(node->index)});
    }
    return neighbors;
  }

  void UseExample(const std::string& file) {
    std::filesystem::copy_file(std::filesystem::path(FERRY_SOURCE_DIR) / "deploy/examples" / file,
                               manifests_ / file);
  }

  // The router with these neighbors first, so that no agent waits for a
  // retry; then ferryd on every node over the manifests.
  void Start(std::vector<netns::BgpNeighbor> neighbors) {
    absl::StatusOr<std::unique_ptr<netns::BgpRouter>> router;
    const netns::BgpRouterOptions options = {.name = RouterName(GetParam()),
                                             .neighbors = std::move(neighbors)};
    router = GetParam() == RouterKind::kFrr ? netns::StartFrr(topology_->gw(), options)
                                            : netns::StartBird(topology_->gw(), options);
    ASSERT_TRUE(router.ok()) << router.status();
    router_ = std::move(*router);
    for (Node* node : all_nodes_) ASSERT_NO_FATAL_FAILURE(StartAgent(*node));
  }

  void StartAgent(const Node& node) {
    absl::StatusOr<std::unique_ptr<Process>> agent = netns::StartFerryd(
        node, FERRYD_PATH, manifests_.string(), absl::StrCat("ferryd-", node.name, "-", ++starts_),
        {"--secrets-dir", secrets_.string()});
    ASSERT_TRUE(agent.ok()) << agent.status();
    agents_[node.name] = std::move(*agent);
  }

  // `ferryctl -o json <command>` against the node's agent: an object, with
  // only "error" when there is no answer.
  static nlohmann::json Ferryctl(const Node& node, const std::vector<std::string>& command) {
    std::vector<std::string> argv = {FERRYCTL_PATH, "--socket", netns::FerrydSocket(node), "-o",
                                     "json"};
    argv.insert(argv.end(), command.begin(), command.end());
    absl::StatusOr<std::string> out = netns::RunCommand(node.ns.get(), argv);
    if (!out.ok()) return {{"error", out.status().ToString()}};
    nlohmann::json answer = nlohmann::json::parse(*out, nullptr, /*allow_exceptions=*/false);
    if (!answer.is_object()) return {{"error", "not a JSON object: " + *out}};
    return answer;
  }

  std::string RouterState(const std::string& neighbor) const {
    absl::StatusOr<std::map<std::string, std::string>> states = router_->NeighborStates();
    if (!states.ok()) return std::string(states.status().message());
    const auto it = states->find(neighbor);
    return it == states->end() ? "unknown" : it->second;
  }

  // Empty when, for each node, the router says Established for its address
  // of each family in `families` and its agent for every peer it runs.
  std::string SessionsDown(const std::vector<Node*>& nodes, std::vector<bool> families = {false}) {
    std::string down;
    for (const Node* node : nodes) {
      for (bool v6 : families) {
        const std::string address = v6 ? node->v6.ToString() : node->v4.ToString();
        const std::string state = RouterState(address);
        if (state != "Established")
          absl::StrAppend(&down, "the router says ", address, " is ", state, "; ");
      }
      const nlohmann::json peers = Ferryctl(*node, {"bgp", "peers"});
      if (!peers.contains("peers") || peers["peers"].empty()) {
        absl::StrAppend(&down, node->name, " runs no peer: ", peers.dump(), "; ");
        continue;
      }
      for (const nlohmann::json& peer : peers["peers"]) {
        if (peer.value("state", "") != "Established") {
          absl::StrAppend(&down, node->name, " says ", peer.dump(), "; ");
        }
      }
    }
    return down;
  }

  void WaitForSessions(const std::vector<Node*>& nodes, std::vector<bool> families = {false}) {
    const absl::Time start = absl::Now();
    ASSERT_EQ(
        Eventually("the sessions", kSessionTimeout, [&] { return SessionsDown(nodes, families); }),
        absl::OkStatus());
    std::printf("%s: sessions established in %s\n", RouterName(GetParam()).c_str(),
                absl::FormatDuration(absl::Now() - start).c_str());
  }

  // Empty when the gw routes both VIPs through exactly `nodes`, by their
  // addresses of the VIP's family (no route at all when there are none).
  std::string EcmpDiffers(const std::vector<Node*>& nodes) const {
    std::vector<std::string> v4, v6;
    for (const Node* node : nodes) {
      v4.push_back(node->v4.ToString());
      v6.push_back(node->v6.ToString());
    }
    const std::string v4_differs = FibDiffers(topology_->gw(), HostPrefix(kVipV4), v4);
    const std::string v6_differs = FibDiffers(topology_->gw(), HostPrefix(kVipV6), v6);
    return absl::StrCat(v4_differs, v4_differs.empty() || v6_differs.empty() ? "" : "; ",
                        v6_differs);
  }

  // Waits for EcmpDiffers(nodes) to be empty; returns the time since `since`.
  absl::Duration WaitForEcmp(const std::vector<Node*>& nodes, absl::Time since) {
    const absl::Status routed = Eventually("the gw's routes to the VIPs", kRouteTimeout,
                                           [&] { return EcmpDiffers(nodes); });
    EXPECT_TRUE(routed.ok()) << routed.message();
    return absl::Now() - since;
  }

  std::vector<Node*> AllBut(const Node& away) {
    std::vector<Node*> others = all_nodes_;
    std::erase(others, &away);
    return others;
  }

  // Connections to `vip`: every one answered, every pod answering a share.
  void ExpectServed(const char* vip, int connections) {
    absl::StatusOr<netns::TcpClientReport> report = netns::RunTcpClients(
        topology_->client(),
        {.address = vip, .port = kVipPort, .connections = connections, .token_prefix = "bgp"});
    ASSERT_TRUE(report.ok()) << report.status();
    std::vector<std::string> shares;
    for (const auto& [pod, count] : report->by_pod) shares.push_back(absl::StrCat(pod, "=", count));
    std::printf("%s: %d/%d connections answered; %s\n", vip, report->completed, connections,
                absl::StrJoin(shares, " ").c_str());
    EXPECT_EQ(report->completed, connections)
        << report->error_count << " failed; first: " << absl::StrJoin(report->errors, "; ");
    for (const Node* node : all_nodes_) {
      // A third expected; a tenth is far outside chance for a working Maglev.
      EXPECT_GE(report->by_pod[node->pods[0].name], connections / 10) << node->pods[0].name;
    }
  }

  // The client flows the gw hands each node while `during` runs, from
  // captures on the nodes' bridge ports: node -> client endpoints.
  std::map<std::string, std::set<std::string>> FlowsByNode(const std::function<void()>& during) {
    std::map<std::string, std::unique_ptr<netns::Capture>> captures;
    for (const Node* node : all_nodes_) {
      absl::StatusOr<std::unique_ptr<netns::Capture>> capture =
          netns::Capture::Start(topology_->lan(), node->bridge_port.name);
      EXPECT_TRUE(capture.ok()) << capture.status();
      if (capture.ok()) captures[node->name] = std::move(*capture);
    }
    during();
    std::map<std::string, std::set<std::string>> flows;
    for (auto& [name, capture] : captures) {
      absl::StatusOr<std::vector<std::string>> lines =
          capture->Read(absl::StrCat("ether src ", gw_lan_mac_, " and tcp dst port ", kVipPort));
      EXPECT_TRUE(lines.ok()) << lines.status();
      EXPECT_EQ(capture->dropped_by_kernel(), 0u) << name;
      std::set<std::string>& clients = flows[name];  // present even when empty
      for (const std::string& line : lines.ok() ? *lines : std::vector<std::string>{}) {
        if (std::string client = ClientEndpoint(line); !client.empty()) clients.insert(client);
      }
    }
    return flows;
  }

  // Each node's sessions, by when they were established.
  std::map<std::string, std::vector<int64_t>> EstablishedSince() {
    std::map<std::string, std::vector<int64_t>> since;
    for (const Node* node : all_nodes_) {
      const nlohmann::json peers = Ferryctl(*node, {"bgp", "peers"});
      for (const nlohmann::json& peer : peers.value("peers", nlohmann::json::array())) {
        since[node->name].push_back(std::stoll(peer.value("established_since_unix_ns", "0")));
      }
    }
    return since;
  }

  static std::string Describe(const std::map<std::string, std::set<std::string>>& flows) {
    std::vector<std::string> counts;
    for (const auto& [node, clients] : flows)
      counts.push_back(absl::StrCat(node, "=", clients.size()));
    return absl::StrJoin(counts, " ");
  }

  // Long-lived connections through both VIPs while the node that carries
  // most of them stops advertising by `withdraw`: the gw moves them to the
  // other nodes, whose identical Maglev tables send every packet to the pod
  // that served it so far. Checks that every stream survives, that the gw
  // sends the moved ones to the others, and prints the figures.
  void ExpectStreamsSurviveWithdrawal(const std::string& how,
                                      const std::function<void(Node&)>& withdraw) {
    Streams streams(topology_->client(), /*per_family=*/4);
    streams.WaitForBytes(1);
    const std::map<std::string, std::set<std::string>> before =
        FlowsByNode([&] { streams.WaitForBytes(kStreamSample); });
    Node* victim = all_nodes_[0];
    for (Node* node : all_nodes_) {
      if (before.at(node->name).size() > before.at(victim->name).size()) victim = node;
    }
    const absl::Time cut = absl::Now();
    withdraw(*victim);
    const absl::Duration rerouted = WaitForEcmp(AllBut(*victim), cut);
    const std::map<std::string, std::set<std::string>> after =
        FlowsByNode([&] { streams.WaitForBytes(kStreamSample); });
    EXPECT_TRUE(after.at(victim->name).empty()) << "the gw still sends flows to " << victim->name;
    // Each of the victim's streams seen on another node, once: the gw's
    // FIB may still be settling while the sample is taken, so a stream can
    // show on two of the others.
    size_t moved = 0;
    for (const std::string& client : before.at(victim->name)) {
      const std::vector<Node*> others = AllBut(*victim);
      moved += std::any_of(others.begin(), others.end(),
                           [&](const Node* node) { return after.at(node->name).contains(client); });
    }
    EXPECT_EQ(moved, before.at(victim->name).size())
        << "streams of " << victim->name << " not seen on the others; before: " << Describe(before)
        << ", after: " << Describe(after);
    const int survived = streams.ExpectSurvived();
    EXPECT_EQ(survived, streams.size());
    std::printf(
        "%s: %s withdrew (%s); the gw's FIB dropped it after %s; streams by node before: "
        "%s, after: %s; %zu of %zu moved; %d/%d streams survived\n",
        RouterName(GetParam()).c_str(), victim->name.c_str(), how.c_str(),
        absl::FormatDuration(rerouted).c_str(), Describe(before).c_str(), Describe(after).c_str(),
        moved, before.at(victim->name).size(), survived, streams.size());
  }

  std::unique_ptr<Topology> topology_;
  std::vector<Node*> all_nodes_;
  std::string gw_lan_mac_;
  std::unique_ptr<netns::BgpRouter> router_;  // stopped before the namespaces go
  std::vector<std::unique_ptr<Process>> servers_;
  std::map<std::string, std::unique_ptr<Process>> agents_;
  std::filesystem::path manifests_, secrets_;
  int starts_ = 0;
};

TEST_P(FerrydBgpTest, EcmpThroughEveryNodeServesAndFollowsTheService) {
  UseExample("bgp.yaml");
  ASSERT_NO_FATAL_FAILURE(Start(Neighbors(/*v6=*/false)));
  ASSERT_NO_FATAL_FAILURE(WaitForSessions(all_nodes_));
  const absl::Time established = absl::Now();
  const std::map<std::string, std::vector<int64_t>> sessions = EstablishedSince();
  WaitForEcmp(all_nodes_, established);
  // One IPv4 session each: the IPv6 VIP went over it with the node's IPv6
  // address as next hop.
  for (const Node* node : all_nodes_) {
    const nlohmann::json routes = Ferryctl(*node, {"bgp", "routes"});
    ASSERT_EQ(routes.value("routes", nlohmann::json::array()).size(), 2u) << routes.dump();
    EXPECT_EQ(routes["routes"][0]["prefix"], HostPrefix(kVipV4));
    EXPECT_EQ(routes["routes"][0]["next_hop"], node->v4.ToString());
    EXPECT_EQ(routes["routes"][1]["prefix"], HostPrefix(kVipV6));
    EXPECT_EQ(routes["routes"][1]["next_hop"], node->v6.ToString());
    EXPECT_EQ(routes["routes"][0]["as_path"], nlohmann::json::array({kNodeAs}));
  }
  const std::map<std::string, std::set<std::string>> flows = FlowsByNode([&] {
    ExpectServed(kVipV4, 300);
    ExpectServed(kVipV6, 300);
  });
  std::printf("connections by the node they entered: %s\n", Describe(flows).c_str());
  for (const Node* node : all_nodes_) {
    EXPECT_GE(flows.at(node->name).size(), 60u) << "ECMP hardly used " << node->name;
  }

  const std::filesystem::path aside = std::filesystem::path(netns::ScratchDir()) / "service.yaml";
  const absl::Time deleted = absl::Now();
  std::filesystem::rename(manifests_ / "service.yaml", aside);
  const absl::Duration withdrawn = WaitForEcmp({}, deleted);
  const absl::Time added = absl::Now();
  std::filesystem::rename(aside, manifests_ / "service.yaml");
  const absl::Duration back = WaitForEcmp(all_nodes_, added);
  std::printf(
      "%s: Service deleted: both routes gone from the gw's FIB after %s; added back: "
      "routed through every node again after %s\n",
      RouterName(GetParam()).c_str(), absl::FormatDuration(withdrawn).c_str(),
      absl::FormatDuration(back).c_str());
  ExpectServed(kVipV4, 60);

  // Past the hold time and a few KEEPALIVEs more: no session went down,
  // not even to come back.
  absl::SleepFor(established + kHoldTime + absl::Seconds(3) - absl::Now());
  EXPECT_EQ(SessionsDown(all_nodes_), "");
  EXPECT_EQ(EstablishedSince(), sessions) << "a session was re-established";
  EXPECT_EQ(EcmpDiffers(all_nodes_), "");
}

TEST_P(FerrydBgpTest, Ipv6SessionsCarryTheIpv6Vip) {
  std::vector<netns::BgpNeighbor> neighbors = Neighbors(/*v6=*/false);
  for (netns::BgpNeighbor& v6 : Neighbors(/*v6=*/true)) neighbors.push_back(v6);
  ReplaceManifest(
      manifests_ / "bgp.yaml",
      PeerYaml({.name = "gw-ipv4", .address = kGwV4, .families = "[ipv4-unicast]"}) +
          PeerYaml({.name = "gw-ipv6", .address = kGwV6, .families = "[ipv6-unicast]"}) +
          AdvertisementYaml({}));
  ASSERT_NO_FATAL_FAILURE(Start(neighbors));
  ASSERT_NO_FATAL_FAILURE(WaitForSessions(all_nodes_, {false, true}));
  WaitForEcmp(all_nodes_, absl::Now());
  for (const Node* node : all_nodes_) {
    const nlohmann::json routes = Ferryctl(*node, {"bgp", "routes"});
    ASSERT_EQ(routes.value("routes", nlohmann::json::array()).size(), 2u) << routes.dump();
    EXPECT_EQ(routes["routes"][0]["peer"], "gw-ipv4");
    EXPECT_EQ(routes["routes"][0]["prefix"], HostPrefix(kVipV4));
    EXPECT_EQ(routes["routes"][1]["peer"], "gw-ipv6");
    EXPECT_EQ(routes["routes"][1]["prefix"], HostPrefix(kVipV6));
    EXPECT_EQ(routes["routes"][1]["next_hop"], node->v6.ToString());
    const nlohmann::json peers = Ferryctl(*node, {"bgp", "peers"});
    ASSERT_EQ(peers.value("peers", nlohmann::json::array()).size(), 2u) << peers.dump();
    EXPECT_EQ(peers["peers"][1]["families"], nlohmann::json::array({"IPv6 unicast"}));
  }
  ExpectServed(kVipV6, 150);
}

TEST_P(FerrydBgpTest, AnAgentStoppedWithoutGracefulRestartLosesNoConnection) {
  UseExample("bgp.yaml");
  ASSERT_NO_FATAL_FAILURE(Start(Neighbors(/*v6=*/false)));
  ASSERT_NO_FATAL_FAILURE(WaitForSessions(all_nodes_));
  WaitForEcmp(all_nodes_, absl::Now());
  ExpectStreamsSurviveWithdrawal("ferryd stopped by SIGINT", [&](Node& victim) {
    Process& agent = *agents_[victim.name];
    ASSERT_EQ(kill(agent.pid(), SIGINT), 0);
    // SIGINT: a Cease to the router, which withdraws at once.
    EXPECT_TRUE(Eventually("ferryd exiting", absl::Seconds(5), [&] {
                  return agent.Running() ? "still running" : "";
                }).ok());
    absl::StatusOr<int> exit_status = agent.Stop();
    EXPECT_TRUE(exit_status.ok() && *exit_status == 0) << agent.ReadLog();
    agents_.erase(victim.name);
  });
}

// Each node its own AS (DESIGN.md §6) and its own BGPPeer; the one
// advertisement stops naming the victim's peer, whose session stays up.
TEST_P(FerrydBgpTest, ANodeLeftOutOfTheAdvertisementLosesNoConnection) {
  const auto asn = [](int k) { return kGwAs + static_cast<uint32_t>(k); };
  std::string peers;
  std::vector<std::string> names;
  for (const Node* node : all_nodes_) {
    names.push_back("gw-" + node->name);
    peers += PeerYaml({.name = names.back(),
                       .address = kGwV4,
                       .local_asn = asn(node->index),
                       .node = node->name});
  }
  ReplaceManifest(manifests_ / "bgp.yaml", peers + AdvertisementYaml(names));
  ASSERT_NO_FATAL_FAILURE(Start(Neighbors(/*v6=*/false, asn)));
  ASSERT_NO_FATAL_FAILURE(WaitForSessions(all_nodes_));
  WaitForEcmp(all_nodes_, absl::Now());
  std::string victim_name;
  ExpectStreamsSurviveWithdrawal("left out of BGPAdvertisement vips", [&](Node& victim) {
    victim_name = victim.name;
    std::vector<std::string> others = names;
    std::erase(others, "gw-" + victim.name);
    ReplaceManifest(manifests_ / "bgp.yaml", peers + AdvertisementYaml(others));
  });
  Node& victim = *topology_->node(victim_name);
  EXPECT_EQ(SessionsDown({&victim}), "") << "the session must outlive the advertisement";
  const nlohmann::json view = Ferryctl(victim, {"bgp", "peers"});
  EXPECT_EQ(view["peers"][0]["prefixes_sent"], "0") << view.dump();
}

TEST_P(FerrydBgpTest, ASigkilledAgentKeepsItsRoutesAndTrafficUntilItsSessionIsBack) {
  // Within the streams' time, and long past the router's reaction to the
  // closed connection.
  constexpr absl::Duration kAgentDown = absl::Seconds(3);
  UseExample("bgp.yaml");
  ASSERT_NO_FATAL_FAILURE(Start(Neighbors(/*v6=*/false)));
  ASSERT_NO_FATAL_FAILURE(WaitForSessions(all_nodes_));
  WaitForEcmp(all_nodes_, absl::Now());
  Streams streams(topology_->client(), /*per_family=*/3);
  streams.WaitForBytes(1);
  Node& victim = *all_nodes_[0];
  const absl::Time killed = absl::Now();
  absl::StatusOr<int> exit_status = agents_[victim.name]->Kill();
  ASSERT_TRUE(exit_status.ok() && *exit_status == 128 + SIGKILL);
  ASSERT_EQ(Eventually("the router noticing", kSessionTimeout,
                       [&] {
                         const std::string state = RouterState(victim.v4.ToString());
                         return state == "Established" ? "still Established" : "";
                       }),
            absl::OkStatus());
  const absl::Duration noticed = absl::Now() - killed;
  // The router holds the dead agent's routes as stale: flows still enter by
  // the victim, whose datapath serves on, for as long as the agent is down.
  EXPECT_EQ(EcmpDiffers(all_nodes_), "");
  const std::map<std::string, std::set<std::string>> flows = FlowsByNode([&] {
    ExpectServed(kVipV4, 90);
    absl::SleepFor(killed + kAgentDown - absl::Now());
  });
  EXPECT_FALSE(flows.at(victim.name).empty()) << "no flow entered by " << victim.name;
  EXPECT_EQ(EcmpDiffers(all_nodes_), "");
  const absl::Duration held = absl::Now() - killed;

  const absl::Time restarted = absl::Now();
  ASSERT_NO_FATAL_FAILURE(StartAgent(victim));
  ASSERT_NO_FATAL_FAILURE(WaitForSessions({&victim}));
  const absl::Duration back = absl::Now() - restarted;
  // Past the End-of-RIB, which replaces the stale routes with fresh ones.
  ASSERT_EQ(Eventually("the router taking the End-of-RIB", kSessionTimeout,
                       [&]() -> std::string {
                         absl::StatusOr<bool> received =
                             router_->EndOfRibReceived(victim.v4.ToString());
                         if (!received.ok()) return std::string(received.status().message());
                         return *received ? "" : "not yet";
                       }),
            absl::OkStatus());
  EXPECT_EQ(EcmpDiffers(all_nodes_), "");
  const int survived = streams.ExpectSurvived();
  EXPECT_EQ(survived, streams.size());
  std::printf(
      "%s: %s's ferryd SIGKILLed; the router saw the session drop after %s and still "
      "routed through it %s later (connections by entry node: %s); restarted, the session "
      "was back after %s; %d/%d streams survived\n",
      RouterName(GetParam()).c_str(), victim.name.c_str(), absl::FormatDuration(noticed).c_str(),
      absl::FormatDuration(held).c_str(), Describe(flows).c_str(),
      absl::FormatDuration(back).c_str(), survived, streams.size());
}

TEST_P(FerrydBgpTest, AWrongMd5PasswordKeepsTheSessionDownAndFerryctlSaysWhy) {
  Node& wrong = *all_nodes_[2];
  ReplaceManifest(
      manifests_ / "bgp.yaml",
      PeerYaml({.name = "gw", .address = kGwV4, .password = true}) + AdvertisementYaml({}));
  ASSERT_NO_FATAL_FAILURE(Start(Neighbors(
      /*v6=*/false, [](int) { return kNodeAs; },
      [&](int k) { return k == wrong.index ? "not-" + std::string(kPassword) : kPassword; })));
  ASSERT_NO_FATAL_FAILURE(WaitForSessions(AllBut(wrong)));
  WaitForEcmp(AllBut(wrong), absl::Now());
  nlohmann::json peer;
  ASSERT_EQ(Eventually("a connect error on " + wrong.name, kSessionTimeout,
                       [&] {
                         const nlohmann::json view = Ferryctl(wrong, {"bgp", "peers"});
                         peer = view.contains("peers") && !view["peers"].empty() ? view["peers"][0]
                                                                                 : nlohmann::json();
                         return peer.value("connect_error", "").empty() ? "none yet: " + view.dump()
                                                                        : "";
                       }),
            absl::OkStatus());
  EXPECT_NE(peer.value("state", ""), "Established") << peer.dump();
  EXPECT_TRUE(absl::StrContains(peer.value("connect_error", ""), "MD5")) << peer.dump();
  EXPECT_NE(RouterState(wrong.v4.ToString()), "Established");
  EXPECT_EQ(EcmpDiffers(AllBut(wrong)), "");
  absl::StatusOr<std::string> table = netns::RunCommand(
      wrong.ns.get(), {FERRYCTL_PATH, "--socket", netns::FerrydSocket(wrong), "bgp", "peers"});
  std::printf("%s: ferryctl bgp peers on %s:\n%s\n", RouterName(GetParam()).c_str(),
              wrong.name.c_str(), table.ok() ? table->c_str() : table.status().ToString().c_str());
}

INSTANTIATE_TEST_SUITE_P(Routers, FerrydBgpTest,
                         ::testing::Values(RouterKind::kFrr, RouterKind::kBird),
                         [](const auto& info) { return RouterName(info.param); });

}  // namespace
}  // namespace ferry::ferryd
