// ferry-demo: Ferry on a simulated 3-node cluster (DESIGN.md §6, §7). Builds
// the namespaces, runs one web pod per node and ferryd on every node over
// deploy/examples, sends HTTP requests from the client to both VIPs of a
// Service and shows who answered, the distribution, the path the packets
// took (captures on the links of the nodes the requests enter by: direct
// server return) and ferryctl's view. Removes everything it made, also when
// it fails or is interrupted. Two variants:
//  - L2 (the default): default/web-lan of l2.yaml, whose VIPs are on the node
//    LAN; the gateway has no route to them, the node elected for each
//    answers ARP/NDP. bgp.yaml is left out: the gateway runs no BGP.
//  - BGP (--bgp): default/web of service.yaml; the gateway runs FRR (bgpd and
//    zebra), every node's ferryd peers with it as bgp.yaml says and
//    advertises the VIPs, and the gateway spreads flows over the nodes by
//    ECMP. l2.yaml is left out.
// With --api (either variant) the cluster's objects come from the Kubernetes
// API instead of a manifest directory: the test API server (test/apiserver)
// runs in the gateway, kubectl applies the manifests to it, every ferryd
// reads it with --kubeconfig, the elected leader writes the Services' status,
// and the demo shows what kubectl shows.
//
//   ferry-demo [--bgp] [--api] [--ferryd PATH] [--ferryctl PATH] [--test-server PATH]
//              [--examples DIR]
//
// Exits 0 only if every request was answered, every pod served both VIPs and
// no reply of a pod on another node crossed the node its request entered by.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "agent/datapath/maps.h"
#include "agent/k8s/testing/api_server.h"
#include "nlohmann/json.hpp"
#include "test/e2e/examples.h"
#include "test/e2e/netns.h"
#include "test/e2e/routers.h"
#include "test/e2e/topology.h"
#include "test/e2e/traffic.h"
#include "tools/ferry-demo/http_client.h"

namespace ferry::demo {
namespace {

using netns::Capture;
using netns::Node;
using netns::Process;
using netns::Topology;

// What tells the two variants apart: the Service shown, its VIPs, and the
// example manifest the variant leaves out.
struct Variant {
  bool bgp = false;
  const char* service;
  const char* vip_v4;
  const char* vip_v6;
  const char* left_out;
};
// l2.yaml's Service; its VIPs are on the node LAN.
constexpr Variant kL2 = {.bgp = false,
                         .service = "default/web-lan",
                         .vip_v4 = netns::examples::kLanVipV4,
                         .vip_v6 = netns::examples::kLanVipV6,
                         .left_out = "bgp.yaml"};
// service.yaml's Service; its VIPs come from the BGP-advertised pool.
constexpr Variant kBgp = {.bgp = true,
                          .service = "default/web",
                          .vip_v4 = netns::examples::kWebVipV4,
                          .vip_v6 = netns::examples::kWebVipV6,
                          .left_out = "l2.yaml"};
// bgp.yaml's gateway side and the nodes' AS.
constexpr uint32_t kGatewayAsn = 64512;
constexpr uint32_t kNodeAsn = 64513;
using netns::examples::kPodPort;
using netns::examples::kVipPort;
constexpr int kNodes = 3;
constexpr int kRequestsPerVip = 300;
constexpr int kAnswersShown = 5;
constexpr int kConntrackLinesShown = 8;
constexpr absl::Duration kProgrammingTimeout = absl::Seconds(20);

struct Flags {
  std::string ferryd = FERRYD_PATH;
  std::string ferryctl = FERRYCTL_PATH;
  std::string test_server = FERRY_TEST_SERVER_PATH;
  std::string examples = FERRY_EXAMPLES_DIR;
  Variant variant = kL2;
  bool api = false;
};

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  const std::map<std::string, std::string*> paths = {{"--ferryd", &flags.ferryd},
                                                     {"--ferryctl", &flags.ferryctl},
                                                     {"--test-server", &flags.test_server},
                                                     {"--examples", &flags.examples}};
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == std::string("--bgp")) {
      flags.variant = kBgp;
      continue;
    }
    if (argv[i] == std::string("--api")) {
      flags.api = true;
      continue;
    }
    auto path = paths.find(argv[i]);
    if (path == paths.end() || i + 1 >= argc) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected '", argv[i], "'; usage: ferry-demo [--bgp] [--api] [--ferryd PATH] "
          "[--ferryctl PATH] [--test-server PATH] [--examples DIR]"));
    }
    *path->second = argv[++i];
  }
  return flags;
}

// SIGINT/SIGTERM, and SIGPIPE (`scripts/demo | head` closing the pipe would
// otherwise kill the demo and leave the cluster behind): the handler only
// wakes a thread, which removes the run's namespaces, processes and pin
// directories, then exits. Whoever tears down holds exit_mutex until the
// process ends, so main() cannot report the failures the clean-up causes
// under its feet.
int signal_pipe[2] = {-1, -1};
std::mutex exit_mutex;

void OnSignal(int signal_number) {
  const char byte = static_cast<char>(signal_number);
  (void)!write(signal_pipe[1], &byte, 1);
}

absl::Status CleanUpOnSignals() {
  if (pipe2(signal_pipe, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  std::thread([] {
    char signal_number = 0;
    if (read(signal_pipe[0], &signal_number, 1) != 1) return;
    exit_mutex.lock();
    std::printf("\ninterrupted: removing the simulated cluster\n");
    std::fflush(stdout);
    (void)netns::CleanUpRun(netns::RunPrefix());
    _exit(128 + signal_number);
  }).detach();
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGPIPE, &action, nullptr);
  return absl::OkStatus();
}

std::string HostPrefix(const std::string& address) {
  return absl::StrCat(address, address.find(':') == std::string::npos ? "/32" : "/128");
}

// The pod of node k is "web-k", as deploy/examples/endpoints.yaml names it.
std::string PodName(const Node& node) { return absl::StrCat("web-", node.index); }

class Demo {
 public:
  explicit Demo(Flags flags) : flags_(std::move(flags)), variant_(flags_.variant) {}

  // Each step fails with what went wrong; the caller tears down.
  absl::Status Run();
  // Stops the agents and servers and removes every namespace and pin dir.
  absl::Status TearDown();
  bool passed() const { return passed_; }

 private:
  absl::Status BuildCluster();
  // BGP: FRR in the gateway, every node a neighbor.
  absl::Status StartRouter();
  absl::Status StartAgents();
  // --api: the test API server in the gateway, holding `manifests`
  // (applied with kubectl); the agents' source arguments.
  absl::StatusOr<std::vector<std::string>> StartApiServer(const std::vector<std::string>& manifests);
  // kubectl against the test API server, from the gateway, printed.
  void PrintKubectl(const std::vector<std::string>& command);
  absl::Status WaitUntilProgrammed();
  // L2: every node agrees which node announces each VIP; the requests to a
  // VIP enter by its announcer. BGP: every session is up and the gateway
  // routes both VIPs through every node.
  absl::Status WaitUntilAnnounced();
  absl::Status WaitUntilRouted();
  std::string NotRouted();
  // Requests to one VIP, captured on the links of the nodes they enter by;
  // prints the story.
  absl::Status ServeVip(const std::string& vip, const std::string& label);
  void PrintPathProof(Capture& capture, const Node& entry, const std::string& vip,
                      const std::vector<HttpAnswer>& answers);
  absl::StatusOr<std::string> Ferryctl(const Node& node, const std::vector<std::string>& command);
  void PrintFerryctl(const std::vector<std::string>& command, size_t max_lines);
  void PrintGatewayRoute(const std::string& vip);

  Flags flags_;
  const Variant variant_;
  std::unique_ptr<Topology> topology_;
  std::unique_ptr<netns::BgpRouter> router_;  // stopped before the namespaces go
  std::unique_ptr<k8s::testing::ApiServer> api_;  // --api
  Node* node1_ = nullptr;
  std::vector<std::unique_ptr<Process>> servers_;
  std::vector<std::unique_ptr<Process>> agents_;
  std::map<std::string, std::string> node_of_pod_;
  std::map<std::string, std::vector<Node*>> entries_of_;  // VIP -> the nodes requests enter by
  bool passed_ = true;
};

absl::Status Demo::BuildCluster() {
  netns::TopologyOptions options;
  for (int k = 1; k <= kNodes; ++k) options.nodes.push_back({.name = absl::StrCat("node", k)});
  absl::StatusOr<std::unique_ptr<Topology>> topology = Topology::Build(options);
  if (!topology.ok()) return topology.status();
  topology_ = std::move(*topology);
  node1_ = topology_->node("node1");
  std::vector<std::string> pods;
  for (Node& node : topology_->nodes()) {
    absl::StatusOr<std::unique_ptr<Process>> server = netns::StartTestServer(
        *node.pods[0].ns, flags_.test_server, PodName(node), kPodPort);
    if (!server.ok()) return server.status();
    servers_.push_back(std::move(*server));
    node_of_pod_[PodName(node)] = node.name;
    pods.push_back(absl::StrCat(PodName(node), " ", node.pods[0].v4.ToString(), " on ", node.name,
                                " ", node.v4.ToString()));
  }
  // Whichever node a request enters by (the elected one, or any by ECMP)
  // load-balances it by XDP_TX.
  for (Node& node : topology_->nodes()) {
    if (absl::Status xdp_tx = topology_->EnableXdpTx(node); !xdp_tx.ok()) return xdp_tx;
  }
  if (absl::Status warm = topology_->WarmUp(); !warm.ok()) return warm;
  std::printf("cluster: client %s -- gw -- lan -- node1..node%d; pods: %s\n",
              topology_->client_v4().ToString().c_str(), kNodes, absl::StrJoin(pods, ", ").c_str());
  if (!variant_.bgp) {
    std::printf("gw: no route to the VIPs %s and %s: they are on the node LAN, where the node "
                "elected for each answers ARP/NDP\n", variant_.vip_v4, variant_.vip_v6);
    return absl::OkStatus();
  }
  // Flows spread over the ECMP paths by their ports too, as a router's
  // would: by addresses alone, every request of the one client would take
  // one node.
  for (const char* key :
       {"net.ipv4.fib_multipath_hash_policy", "net.ipv6.fib_multipath_hash_policy"}) {
    if (absl::Status set = topology_->gw().SetSysctl(key, "1"); !set.ok()) return set;
  }
  return absl::OkStatus();
}

absl::Status Demo::StartRouter() {
  if (!variant_.bgp) return absl::OkStatus();
  netns::BgpRouterOptions options;
  options.name = "gw";
  options.asn = kGatewayAsn;
  std::vector<std::string> neighbors;
  for (const Node& node : topology_->nodes()) {
    options.neighbors.push_back({node.v4.ToString(), kNodeAsn, /*password=*/""});
    neighbors.push_back(node.v4.ToString());
  }
  absl::StatusOr<std::unique_ptr<netns::BgpRouter>> router =
      netns::StartFrr(topology_->gw(), options);
  if (!router.ok()) return router.status();
  router_ = std::move(*router);
  std::printf("gw: FRR (bgpd + zebra), router bgp %u, timers 3 9, maximum-paths %d; neighbors %s "
              "as AS %u; no route to the VIPs %s and %s until the nodes advertise them\n",
              kGatewayAsn, options.maximum_paths, absl::StrJoin(neighbors, ", ").c_str(), kNodeAsn,
              variant_.vip_v4, variant_.vip_v6);
  return absl::OkStatus();
}

absl::Status Demo::StartAgents() {
  const std::filesystem::path manifests = std::filesystem::path(netns::ScratchDir()) / "manifests";
  std::error_code error;
  std::filesystem::create_directories(manifests, error);
  std::vector<std::string> copied;
  for (const auto& entry : std::filesystem::directory_iterator(flags_.examples, error)) {
    const std::filesystem::path name = entry.path().filename();
    if (entry.path().extension() != ".yaml" || name == variant_.left_out) continue;
    std::filesystem::copy_file(entry.path(), manifests / entry.path().filename(), error);
    if (error) return absl::InternalError(absl::StrCat("copying ", entry.path().string(), ": ", error.message()));
    copied.push_back(entry.path().filename());
  }
  if (copied.empty()) {
    return absl::NotFoundError(absl::StrCat("no manifests in ", flags_.examples, ": ", error.message()));
  }
  std::sort(copied.begin(), copied.end());
  std::vector<std::string> source_args = {"--manifests", manifests.string()};
  if (flags_.api) {
    std::vector<std::string> files;
    for (const std::string& name : copied) files.push_back((manifests / name).string());
    absl::StatusOr<std::vector<std::string>> api_args = StartApiServer(files);
    if (!api_args.ok()) return api_args.status();
    source_args = *std::move(api_args);
  }
  for (Node& node : topology_->nodes()) {
    absl::StatusOr<std::unique_ptr<Process>> agent = netns::StartFerrydFrom(
        node, flags_.ferryd, source_args, absl::StrCat("ferryd-", node.name));
    if (!agent.ok()) return agent.status();
    agents_.push_back(std::move(*agent));
  }
  std::printf("ferryd: started on %d nodes over %s (%s; not %s)%s\n", kNodes,
              flags_.examples.c_str(), absl::StrJoin(copied, ", ").c_str(), variant_.left_out,
              flags_.api ? ", read from the API server" : "");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Demo::StartApiServer(
    const std::vector<std::string>& manifests) {
  const std::filesystem::path directory = std::filesystem::path(netns::ScratchDir()) / "apiserver";
  std::filesystem::create_directories(directory);
  // The agents' namespace: their Lease ferry-ipam and the Secrets BGPPeers name.
  const std::filesystem::path agent_namespace = directory / "namespace.yaml";
  std::FILE* file = std::fopen(agent_namespace.c_str(), "w");
  if (file == nullptr) return absl::InternalError(absl::StrCat("writing ", agent_namespace.string()));
  std::fputs("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ferry-system\n", file);
  std::fclose(file);
  std::vector<std::string> load = {agent_namespace.string()};
  load.insert(load.end(), manifests.begin(), manifests.end());
  absl::StatusOr<std::unique_ptr<k8s::testing::ApiServer>> server = k8s::testing::ApiServer::Start(
      directory,
      {.ns = &topology_->gw(), .address = topology_->gw_lan_v4().ToString(), .load = load});
  if (!server.ok()) return server.status();
  api_ = *std::move(server);
  std::printf("gw: test API server on https://%s:%d (test/apiserver), the manifests applied with "
              "kubectl\n", topology_->gw_lan_v4().ToString().c_str(), api_->port());
  return std::vector<std::string>{"--kubeconfig", api_->kubeconfig().string(), "--namespace",
                                  "ferry-system"};
}

void Demo::PrintKubectl(const std::vector<std::string>& command) {
  std::vector<std::string> argv = {FERRY_KUBECTL, "--kubeconfig", api_->kubeconfig().string()};
  argv.insert(argv.end(), command.begin(), command.end());
  std::printf("\n$ kubectl %s\n", absl::StrJoin(command, " ").c_str());
  absl::StatusOr<std::string> output = netns::RunCommand(&topology_->gw(), argv);
  std::printf("%s", output.ok() ? output->c_str() : (output.status().ToString() + "\n").c_str());
}

// A node is programmed when it has both VIPs' frontends, every pod as a
// backend and its own pod's two addresses as endpoints.
bool Programmed(const Node& node) {
  absl::StatusOr<datapath::LbMaps> maps =
      datapath::LbMaps::OpenPinned(netns::PinDir(node.name), datapath::LbMaps::Access::kReadOnly);
  if (!maps.ok()) return false;
  auto frontends = maps->ListFrontends();
  auto backends = maps->ListBackends();
  auto endpoints = maps->ListEndpoints();
  return frontends.ok() && frontends->size() >= 2 && backends.ok() &&
         backends->size() >= 2 * kNodes && endpoints.ok() && endpoints->size() >= 2;
}

absl::Status Demo::WaitUntilProgrammed() {
  const absl::Time start = absl::Now();
  for (Node& node : topology_->nodes()) {
    while (!Programmed(node)) {
      for (const std::unique_ptr<Process>& agent : agents_) {
        if (!agent->Running()) {
          return absl::InternalError(absl::StrCat("ferryd exited; its log ", agent->log_path(),
                                                  ":\n", agent->ReadLog()));
        }
      }
      if (absl::Now() - start > kProgrammingTimeout) {
        return absl::DeadlineExceededError(absl::StrCat(
            node.name, " not programmed within ", absl::FormatDuration(kProgrammingTimeout),
            "; ferryd's log:\n", agents_[node.index - 1]->ReadLog()));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  std::printf("ferryd: every node programmed in %s\n",
              absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1))).c_str());
  return absl::OkStatus();
}

absl::StatusOr<std::string> Demo::Ferryctl(const Node& node,
                                           const std::vector<std::string>& command) {
  std::vector<std::string> argv = {flags_.ferryctl, "--pin-dir", netns::PinDir(node.name),
                                   "--socket", netns::FerrydSocket(node)};
  argv.insert(argv.end(), command.begin(), command.end());
  return netns::RunCommand(node.ns.get(), argv);
}

absl::Status Demo::WaitUntilAnnounced() {
  const absl::Time start = absl::Now();
  for (;;) {
    std::map<std::string, std::set<std::string>> seen;  // VIP -> announcers named
    for (Node& node : topology_->nodes()) {
      absl::StatusOr<std::string> out = Ferryctl(node, {"-o", "json", "l2", "announcements"});
      const nlohmann::json view =
          out.ok() ? nlohmann::json::parse(*out, nullptr, false) : nlohmann::json();
      if (!view.is_object() || !view.contains("announcements")) continue;
      for (const nlohmann::json& entry : view["announcements"]) {
        if (entry.value("pending", false)) continue;
        seen[entry.value("address", "")].insert(entry.value("announcer", ""));
      }
    }
    entries_of_.clear();
    for (const char* vip : {variant_.vip_v4, variant_.vip_v6}) {
      Node* announcer = seen[vip].size() == 1 ? topology_->node(*seen[vip].begin()) : nullptr;
      if (announcer != nullptr) entries_of_[vip] = {announcer};
    }
    if (entries_of_.size() == 2) break;
    if (absl::Now() - start > kProgrammingTimeout) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the nodes did not agree on who announces ", variant_.vip_v4, " and ", variant_.vip_v6,
          " within ", absl::FormatDuration(kProgrammingTimeout)));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::printf("l2: elected in %s: %s answered by %s, %s by %s (every node agrees)\n",
              absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1))).c_str(),
              variant_.vip_v4, entries_of_[variant_.vip_v4][0]->name.c_str(), variant_.vip_v6,
              entries_of_[variant_.vip_v6][0]->name.c_str());
  return absl::OkStatus();
}

// What keeps the gateway from routing the VIPs through every node by BGP;
// empty when nothing does.
std::string Demo::NotRouted() {
  std::string missing;
  absl::StatusOr<std::map<std::string, std::string>> states = router_->NeighborStates();
  if (!states.ok()) return std::string(states.status().message());
  std::vector<std::string> v4, v6;
  for (const Node& node : topology_->nodes()) {
    const auto state = states->find(node.v4.ToString());
    if (state == states->end() || state->second != "Established") {
      absl::StrAppend(&missing, "the session with ", node.name, " is not established; ");
    }
    v4.push_back(node.v4.ToString());
    v6.push_back(node.v6.ToString());
  }
  for (auto [vip, next_hops] : {std::pair(HostPrefix(variant_.vip_v4), v4),
                                std::pair(HostPrefix(variant_.vip_v6), v6)}) {
    std::sort(next_hops.begin(), next_hops.end());
    absl::StatusOr<std::vector<std::string>> held = netns::FibNextHops(topology_->gw(), vip);
    if (!held.ok()) return std::string(held.status().message());
    if (*held != next_hops) {
      absl::StrAppend(&missing, vip, " via [", absl::StrJoin(*held, ", "), "]; ");
    }
  }
  return missing;
}

absl::Status Demo::WaitUntilRouted() {
  const absl::Time start = absl::Now();
  for (std::string missing = NotRouted(); !missing.empty(); missing = NotRouted()) {
    if (absl::Now() - start > kProgrammingTimeout) {
      return absl::DeadlineExceededError(
          absl::StrCat("the gw did not route the VIPs through every node within ",
                       absl::FormatDuration(kProgrammingTimeout), ": ", missing,
                       "\nFRR's log:\n", router_->Log()));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::vector<Node*> nodes;
  for (Node& node : topology_->nodes()) nodes.push_back(&node);
  entries_of_[variant_.vip_v4] = nodes;
  entries_of_[variant_.vip_v6] = nodes;
  const absl::Duration took = absl::Trunc(absl::Now() - start, absl::Milliseconds(1));
  std::printf("bgp: every node's session established and both VIPs routed through every node "
              "in %s\n",
              absl::FormatDuration(took).c_str());
  PrintGatewayRoute(variant_.vip_v4);
  PrintGatewayRoute(variant_.vip_v6);
  return absl::OkStatus();
}

void Demo::PrintGatewayRoute(const std::string& vip) {
  const bool v6 = vip.find(':') != std::string::npos;
  std::printf("\n$ ip %sroute show %s   (in the gw)\n", v6 ? "-6 " : "", vip.c_str());
  absl::StatusOr<std::string> route = topology_->gw().Ip({v6 ? "-6" : "-4", "route", "show", vip});
  if (!route.ok()) {
    std::printf("  failed: %s\n", std::string(route.status().message()).c_str());
    passed_ = false;
    return;
  }
  std::printf("%s", route->c_str());
}

absl::Status Demo::ServeVip(const std::string& vip, const std::string& label) {
  const std::vector<Node*>& entries = entries_of_.at(vip);
  std::vector<std::unique_ptr<Capture>> captures;
  for (const Node* entry : entries) {
    absl::StatusOr<std::unique_ptr<Capture>> capture =
        Capture::Start(topology_->lan(), entry->bridge_port.name);
    if (!capture.ok()) return capture.status();
    captures.push_back(std::move(*capture));
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<HttpAnswer>> answers = SendHttpRequests(
      topology_->client(),
      {.address = vip, .port = kVipPort, .count = kRequestsPerVip, .path_prefix = label});
  if (!answers.ok()) return answers.status();
  const absl::Duration elapsed = absl::Now() - start;

  std::map<std::string, int> served;
  std::vector<std::string> failures;
  for (const HttpAnswer& answer : *answers) {
    if (answer.status.ok()) {
      ++served[answer.pod];
    } else {
      failures.push_back(absl::StrCat("/", answer.path, ": ", answer.status.message()));
    }
  }
  const std::string host = vip.find(':') == std::string::npos ? vip : absl::StrCat("[", vip, "]");
  std::printf("\n%s VIP %s:%d: %zu/%d HTTP GETs answered in %s\n", label.c_str(), host.c_str(),
              kVipPort, answers->size() - failures.size(), kRequestsPerVip,
              absl::FormatDuration(absl::Trunc(elapsed, absl::Milliseconds(1))).c_str());
  for (int i = 0; i < kAnswersShown && i < static_cast<int>(answers->size()); ++i) {
    const HttpAnswer& answer = (*answers)[i];
    std::printf("  GET /%-8s -> %s\n", answer.path.c_str(),
                answer.status.ok() ? absl::StrCat(answer.pod, " (", node_of_pod_[answer.pod], ")").c_str()
                                   : std::string(answer.status.message()).c_str());
  }
  for (const auto& [pod, node] : node_of_pod_) {
    const int count = served[pod];
    std::printf("  %s (%s) %4d  %5.1f%%  %s\n", pod.c_str(), node.c_str(), count,
                100.0 * count / kRequestsPerVip, std::string(count / 5, '#').c_str());
    if (count == 0) passed_ = false;
  }
  for (size_t i = 0; i < failures.size() && i < 3; ++i) std::printf("  failed %s\n", failures[i].c_str());
  if (!failures.empty()) passed_ = false;
  if (!variant_.bgp) {
    absl::StatusOr<std::string> neighbor =
        topology_->gw().Ip({"neigh", "show", "to", vip, "dev", "lan"});
    std::printf("  gw's neighbour entry: %s  (%s's uplink is %s)\n",
                neighbor.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*neighbor)).c_str()
                              : "unreadable",
                entries[0]->name.c_str(), entries[0]->uplink.mac_text.c_str());
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    PrintPathProof(*captures[i], *entries[i], vip, *answers);
  }
  return absl::OkStatus();
}

// The reply's client port in a tcpdump -e line
// "<time> <mac> > <mac>, ethertype ..., length N: A.80 > B.<port>: Flags ...".
std::optional<uint16_t> DestinationPort(const std::string& line) {
  const size_t packet = line.find(", length ");
  if (packet == std::string::npos) return std::nullopt;
  const size_t arrow = line.find(" > ", packet);
  if (arrow == std::string::npos) return std::nullopt;
  const size_t end = line.find(": ", arrow);
  const std::string destination = line.substr(arrow + 3, end - arrow - 3);
  uint32_t port = 0;
  if (!absl::SimpleAtoi(destination.substr(destination.rfind('.') + 1), &port)) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// What one entry node's link saw: requests in, tunnelled to the backends'
// nodes, and no reply of a pod on another node. With BGP every node is an
// entry, so the link also carries the other nodes' tunnels to this one's
// pod: each direction is counted on its own.
void Demo::PrintPathProof(Capture& capture, const Node& entry, const std::string& vip,
                          const std::vector<HttpAnswer>& answers) {
  const std::string tunnels = "(ip proto 4 or ip proto 41 or ip6 proto 4 or ip6 proto 41)";
  const auto host = [](const char* direction, const Node& node) {
    return absl::StrCat("(", direction, " host ", node.v4.ToString(), " or ", direction, " host ",
                        node.v6.ToString(), ")");
  };
  absl::StatusOr<size_t> requests = capture.Count(absl::StrCat("dst host ", vip, " and tcp dst port ", kVipPort));
  absl::StatusOr<size_t> tunnelled_out = capture.Count(absl::StrCat(tunnels, " and ", host("src", entry)));
  absl::StatusOr<size_t> tunnelled_in = capture.Count(absl::StrCat(tunnels, " and ", host("dst", entry)));
  absl::StatusOr<std::vector<std::string>> replies =
      capture.Read(absl::StrCat("src host ", vip, " and tcp src port ", kVipPort));
  for (const absl::Status& status :
       {requests.status(), tunnelled_out.status(), tunnelled_in.status(), replies.status()}) {
    if (status.ok()) continue;
    std::printf("  path: capture unreadable: %s\n", std::string(status.message()).c_str());
    passed_ = false;
    return;
  }
  std::vector<std::string> out_per_node;
  std::vector<std::string> in_per_node;
  for (const Node& node : topology_->nodes()) {
    if (&node == &entry) continue;
    absl::StatusOr<size_t> to_node =
        capture.Count(absl::StrCat(tunnels, " and ", host("src", entry), " and ", host("dst", node)));
    absl::StatusOr<size_t> from_node =
        capture.Count(absl::StrCat(tunnels, " and ", host("src", node), " and ", host("dst", entry)));
    if (to_node.ok()) out_per_node.push_back(absl::StrCat(*to_node, " to ", node.name));
    if (from_node.ok()) in_per_node.push_back(absl::StrCat(*from_node, " from ", node.name));
  }
  // Which request, so which pod, each reply seen on the entry node's link
  // belongs to; a reply that cannot be attributed counts against DSR.
  std::map<uint16_t, std::string> pod_of_port;
  for (const HttpAnswer& answer : answers) pod_of_port[answer.local_port] = answer.pod;
  const std::string local_pod = PodName(entry);
  int local_replies = 0, remote_replies = 0;
  for (const std::string& line : *replies) {
    std::optional<uint16_t> port = DestinationPort(line);
    if (port && pod_of_port[*port] == local_pod) {
      ++local_replies;
    } else {
      ++remote_replies;
    }
  }
  std::printf("  path, captured on %s's link (%s):\n", entry.name.c_str(),
              entry.bridge_port.name.c_str());
  std::printf("    %zu packets to the VIP in; IPIP/IP6IP6 tunnelled out to the other nodes' pods: "
              "%zu (%s); tunnelled in to %s's pod: %zu (%s)\n",
              *requests, *tunnelled_out, absl::StrJoin(out_per_node, ", ").c_str(),
              entry.name.c_str(), *tunnelled_in, absl::StrJoin(in_per_node, ", ").c_str());
  std::printf("    replies from the VIP: %d for requests served on other nodes (DSR: they leave "
              "from their own node), %d for %s on %s itself\n",
              remote_replies, local_replies, local_pod.c_str(), entry.name.c_str());
  if (capture.dropped_by_kernel() != 0) {
    std::printf("    (the capture dropped %llu frames: not a proof)\n",
                static_cast<unsigned long long>(capture.dropped_by_kernel()));
    passed_ = false;
  }
  if (remote_replies != 0 || *tunnelled_out == 0) passed_ = false;
}

void Demo::PrintFerryctl(const std::vector<std::string>& command, size_t max_lines) {
  std::printf("\n$ ferryctl <node1's pins and socket> %s\n", absl::StrJoin(command, " ").c_str());
  absl::StatusOr<std::string> output = Ferryctl(*node1_, command);
  if (!output.ok()) {
    std::printf("  failed: %s\n", std::string(output.status().message()).c_str());
    passed_ = false;
    return;
  }
  std::vector<std::string> lines = absl::StrSplit(*output, '\n', absl::SkipEmpty());
  for (size_t i = 0; i < lines.size() && i < max_lines; ++i) std::printf("%s\n", lines[i].c_str());
  if (lines.size() > max_lines) std::printf("  ... %zu more lines\n", lines.size() - max_lines);
}

absl::Status Demo::Run() {
  for (auto step : {&Demo::BuildCluster, &Demo::StartRouter, &Demo::StartAgents,
                    &Demo::WaitUntilProgrammed,
                    variant_.bgp ? &Demo::WaitUntilRouted : &Demo::WaitUntilAnnounced}) {
    if (absl::Status status = (this->*step)(); !status.ok()) return status;
  }
  if (absl::Status status = ServeVip(variant_.vip_v4, "IPv4"); !status.ok()) return status;
  if (absl::Status status = ServeVip(variant_.vip_v6, "IPv6"); !status.ok()) return status;
  PrintFerryctl({"status"}, 40);
  PrintFerryctl({"service", "list"}, 8);
  // From the API, LB-IPAM runs on the elected node only: the pools and
  // allocations are shown by kubectl below.
  if (!flags_.api) {
    PrintFerryctl({"ipam", "pools"}, 6);
    PrintFerryctl({"ipam", "allocations"}, 8);
  }
  if (variant_.bgp) {
    PrintFerryctl({"bgp", "peers"}, 8);
    PrintFerryctl({"bgp", "routes"}, 8);
  } else {
    PrintFerryctl({"l2", "announcements"}, 16);
  }
  PrintFerryctl({"maglev", variant_.service}, 16);
  PrintFerryctl({"bpf", "lb", "list"}, 16);
  PrintFerryctl({"bpf", "ct", "list"}, kConntrackLinesShown);
  PrintFerryctl({"bpf", "drops"}, 12);
  if (flags_.api) {
    PrintKubectl({"get", "services", "-o", "wide"});
    PrintKubectl({"get", "loadbalancerippools"});
    PrintKubectl({"-n", "ferry-system", "get", "leases"});
    PrintKubectl({"get", "events"});
  }
  return absl::OkStatus();
}

absl::Status Demo::TearDown() {
  absl::Status result = absl::OkStatus();
  for (const std::unique_ptr<Process>& agent : agents_) {
    absl::StatusOr<int> exit_status = agent->Stop();
    if (!exit_status.ok() || *exit_status != 0) {
      result = absl::InternalError(absl::StrCat("ferryd did not exit cleanly; its log ",
                                                agent->log_path(), ":\n", agent->ReadLog()));
    }
  }
  agents_.clear();
  api_.reset();
  router_.reset();
  servers_.clear();
  topology_.reset();
  if (absl::Status cleaned = netns::CleanUpRun(netns::RunPrefix()); !cleaned.ok()) result = cleaned;
  return result;
}

}  // namespace
}  // namespace ferry::demo

int main(int argc, char** argv) {
  using ferry::demo::Demo;
  absl::StatusOr<ferry::demo::Flags> flags = ferry::demo::ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "ferry-demo: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  if (absl::Status handled = ferry::demo::CleanUpOnSignals(); !handled.ok()) {
    std::fprintf(stderr, "ferry-demo: %s\n", std::string(handled.message()).c_str());
    return 1;
  }
  Demo demo(*std::move(flags));
  const absl::Status run = demo.Run();
  const std::lock_guard<std::mutex> exiting(ferry::demo::exit_mutex);
  const absl::Status torn_down = demo.TearDown();
  std::printf("\nteardown: %s\n", torn_down.ok() ? "namespaces, processes and pin dirs removed"
                                                 : std::string(torn_down.message()).c_str());
  const bool passed = run.ok() && demo.passed() && torn_down.ok();
  if (!run.ok()) {
    std::printf("FAILED: %s\n", std::string(run.message()).c_str());
  } else {
    std::printf("%s\n", passed ? "PASS: every request answered, every pod served, replies "
                                 "bypassed the node their request entered by"
                               : "FAILED: see above");
  }
  std::fflush(stdout);
  // Not a return: exit_mutex stays held while the process ends.
  std::exit(passed ? 0 : 1);
}
