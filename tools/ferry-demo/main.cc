// ferry-demo: Ferry on a simulated 3-node cluster (DESIGN.md §6, §7). Builds
// the namespaces, runs one web pod per node and ferryd on every node over
// deploy/examples, sends HTTP requests from the client to both VIPs of the
// Service default/web-lan and shows who answered, the distribution, the path
// the packets took (a capture on the link of the node that answers ARP/NDP
// for the VIP: direct server return) and ferryctl's view. The gateway has no
// route to the VIPs: they are on the node LAN, announced by L2. Removes
// everything it made, also when it fails or is interrupted.
//
//   ferry-demo [--ferryd PATH] [--ferryctl PATH] [--test-server PATH] [--examples DIR]
//
// Exits 0 only if every request was answered, every pod served both VIPs and
// no reply of a pod on another node crossed the announcing node.
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
#include "nlohmann/json.hpp"
#include "test/e2e/netns.h"
#include "test/e2e/topology.h"
#include "test/e2e/traffic.h"
#include "tools/ferry-demo/http_client.h"

namespace ferry::demo {
namespace {

using netns::Capture;
using netns::Node;
using netns::Process;
using netns::Topology;

// deploy/examples/l2.yaml's Service, its VIPs (on the node LAN) and port, and
// its pods' port.
constexpr char kService[] = "default/web-lan";
constexpr char kVipV4[] = "198.18.0.200";
constexpr char kVipV6[] = "2001:db8:0:1::ff10";
constexpr uint16_t kVipPort = 80;
constexpr uint16_t kPodPort = 8080;
constexpr int kNodes = 3;
constexpr int kRequestsPerVip = 300;
constexpr int kAnswersShown = 5;
constexpr int kConntrackLinesShown = 8;
constexpr absl::Duration kProgrammingTimeout = absl::Seconds(20);

struct Paths {
  std::string ferryd = FERRYD_PATH;
  std::string ferryctl = FERRYCTL_PATH;
  std::string test_server = FERRY_TEST_SERVER_PATH;
  std::string examples = FERRY_EXAMPLES_DIR;
};

absl::StatusOr<Paths> ParseFlags(int argc, char** argv) {
  Paths paths;
  const std::map<std::string, std::string*> flags = {{"--ferryd", &paths.ferryd},
                                                     {"--ferryctl", &paths.ferryctl},
                                                     {"--test-server", &paths.test_server},
                                                     {"--examples", &paths.examples}};
  for (int i = 1; i < argc; i += 2) {
    auto flag = flags.find(argv[i]);
    if (flag == flags.end() || i + 1 >= argc) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected '", argv[i], "'; usage: ferry-demo [--ferryd PATH] [--ferryctl PATH] "
          "[--test-server PATH] [--examples DIR]"));
    }
    *flag->second = argv[i + 1];
  }
  return paths;
}

// SIGINT/SIGTERM: the handler only wakes a thread, which removes the run's
// namespaces, processes and pin directories, then exits. Whoever tears down
// holds exit_mutex until the process ends, so main() cannot report the
// failures the clean-up causes under its feet.
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
  return absl::OkStatus();
}

// The pod of node k is "web-k", as deploy/examples/endpoints.yaml names it.
std::string PodName(const Node& node) { return absl::StrCat("web-", node.index); }

class Demo {
 public:
  explicit Demo(Paths paths) : paths_(std::move(paths)) {}

  // Each step fails with what went wrong; the caller tears down.
  absl::Status Run();
  // Stops the agents and servers and removes every namespace and pin dir.
  absl::Status TearDown();
  bool passed() const { return passed_; }

 private:
  absl::Status BuildCluster();
  absl::Status StartAgents();
  absl::Status WaitUntilProgrammed();
  // Every node agrees which node announces each VIP.
  absl::Status WaitUntilAnnounced();
  // Requests to one VIP, captured on its announcer's link; prints the story.
  absl::Status ServeVip(const std::string& vip, const std::string& label);
  void PrintPathProof(Capture& capture, const Node& announcer, const std::string& vip,
                      const std::vector<HttpAnswer>& answers);
  absl::StatusOr<std::string> Ferryctl(const Node& node, const std::vector<std::string>& command);
  void PrintFerryctl(const std::vector<std::string>& command, size_t max_lines);

  Paths paths_;
  std::unique_ptr<Topology> topology_;
  Node* node1_ = nullptr;
  std::vector<std::unique_ptr<Process>> servers_;
  std::vector<std::unique_ptr<Process>> agents_;
  std::map<std::string, std::string> node_of_pod_;
  std::map<std::string, Node*> announcer_of_;  // VIP -> node
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
        *node.pods[0].ns, paths_.test_server, PodName(node), kPodPort);
    if (!server.ok()) return server.status();
    servers_.push_back(std::move(*server));
    node_of_pod_[PodName(node)] = node.name;
    pods.push_back(absl::StrCat(PodName(node), " ", node.pods[0].v4.text, " on ", node.name, " ",
                                node.v4.text));
  }
  // Whichever node is elected answers ARP/NDP and load-balances by XDP_TX.
  for (Node& node : topology_->nodes()) {
    if (absl::Status xdp_tx = topology_->EnableXdpTx(node); !xdp_tx.ok()) return xdp_tx;
  }
  if (absl::Status warm = topology_->WarmUp(); !warm.ok()) return warm;
  std::printf("cluster: client %s -- gw -- lan -- node1..node%d; pods: %s\n",
              topology_->client_v4().text.c_str(), kNodes, absl::StrJoin(pods, ", ").c_str());
  std::printf("gw: no route to the VIPs %s and %s: they are on the node LAN, where the node "
              "elected for each answers ARP/NDP\n", kVipV4, kVipV6);
  return absl::OkStatus();
}

absl::Status Demo::StartAgents() {
  const std::filesystem::path manifests = std::filesystem::path(netns::ScratchDir()) / "manifests";
  std::error_code error;
  std::filesystem::create_directories(manifests, error);
  std::vector<std::string> copied;
  for (const auto& entry : std::filesystem::directory_iterator(paths_.examples, error)) {
    if (entry.path().extension() != ".yaml") continue;
    std::filesystem::copy_file(entry.path(), manifests / entry.path().filename(), error);
    if (error) return absl::InternalError(absl::StrCat("copying ", entry.path().string(), ": ", error.message()));
    copied.push_back(entry.path().filename());
  }
  if (copied.empty()) {
    return absl::NotFoundError(absl::StrCat("no manifests in ", paths_.examples, ": ", error.message()));
  }
  std::sort(copied.begin(), copied.end());
  for (Node& node : topology_->nodes()) {
    absl::StatusOr<std::unique_ptr<Process>> agent = netns::StartFerryd(
        node, paths_.ferryd, manifests.string(), absl::StrCat("ferryd-", node.name));
    if (!agent.ok()) return agent.status();
    agents_.push_back(std::move(*agent));
  }
  std::printf("ferryd: started on %d nodes over %s (%s)\n", kNodes, paths_.examples.c_str(),
              absl::StrJoin(copied, ", ").c_str());
  return absl::OkStatus();
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
  std::vector<std::string> argv = {paths_.ferryctl, "--pin-dir", netns::PinDir(node.name),
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
    announcer_of_.clear();
    for (const char* vip : {kVipV4, kVipV6}) {
      if (seen[vip].size() == 1 && !seen[vip].begin()->empty()) {
        announcer_of_[vip] = topology_->node(*seen[vip].begin());
      }
    }
    if (announcer_of_.size() == 2 && announcer_of_[kVipV4] && announcer_of_[kVipV6]) break;
    if (absl::Now() - start > kProgrammingTimeout) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the nodes did not agree on who announces ", kVipV4, " and ", kVipV6, " within ",
          absl::FormatDuration(kProgrammingTimeout)));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::printf("l2: elected in %s: %s answered by %s, %s by %s (every node agrees)\n",
              absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1))).c_str(),
              kVipV4, announcer_of_[kVipV4]->name.c_str(), kVipV6,
              announcer_of_[kVipV6]->name.c_str());
  return absl::OkStatus();
}

absl::Status Demo::ServeVip(const std::string& vip, const std::string& label) {
  const Node& announcer = *announcer_of_.at(vip);
  absl::StatusOr<std::unique_ptr<Capture>> capture =
      Capture::Start(topology_->lan(), announcer.bridge_port.name);
  if (!capture.ok()) return capture.status();
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
  absl::StatusOr<std::string> neighbor =
      topology_->gw().Ip({"neigh", "show", "to", vip, "dev", "lan"});
  std::printf("  gw's neighbour entry: %s  (%s's uplink is %s)\n",
              neighbor.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*neighbor)).c_str()
                            : "unreadable",
              announcer.name.c_str(), announcer.uplink.mac_text.c_str());
  PrintPathProof(**capture, announcer, vip, *answers);
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

void Demo::PrintPathProof(Capture& capture, const Node& announcer, const std::string& vip,
                          const std::vector<HttpAnswer>& answers) {
  const std::string tunnels = "(ip proto 4 or ip proto 41 or ip6 proto 4 or ip6 proto 41)";
  absl::StatusOr<size_t> requests = capture.Count(absl::StrCat("dst host ", vip, " and tcp dst port ", kVipPort));
  absl::StatusOr<size_t> tunnelled = capture.Count(tunnels);
  absl::StatusOr<std::vector<std::string>> replies =
      capture.Read(absl::StrCat("src host ", vip, " and tcp src port ", kVipPort));
  if (!requests.ok() || !tunnelled.ok() || !replies.ok()) {
    std::printf("  path: capture unreadable: %s\n",
                std::string((!requests.ok() ? requests.status() : !tunnelled.ok() ? tunnelled.status()
                                                                                   : replies.status())
                                .message())
                    .c_str());
    passed_ = false;
    return;
  }
  std::vector<std::string> per_node;
  for (const Node& node : topology_->nodes()) {
    if (&node == &announcer) continue;
    absl::StatusOr<size_t> to_node = capture.Count(
        absl::StrCat(tunnels, " and (dst host ", node.v4.text, " or dst host ", node.v6.text, ")"));
    if (to_node.ok()) per_node.push_back(absl::StrCat(*to_node, " to ", node.name));
  }
  // Which request, so which pod, each reply seen on the announcer's link
  // belongs to; a reply that cannot be attributed counts against DSR.
  std::map<uint16_t, std::string> pod_of_port;
  for (const HttpAnswer& answer : answers) pod_of_port[answer.local_port] = answer.pod;
  const std::string local_pod = PodName(announcer);
  int local_replies = 0, remote_replies = 0;
  for (const std::string& line : *replies) {
    std::optional<uint16_t> port = DestinationPort(line);
    if (port && pod_of_port[*port] == local_pod) {
      ++local_replies;
    } else {
      ++remote_replies;
    }
  }
  std::printf("  path, captured on %s's link (%s):\n", announcer.name.c_str(),
              announcer.bridge_port.name.c_str());
  std::printf("    %zu packets to the VIP in; %zu tunnelled out (IPIP/IP6IP6: %s)\n", *requests,
              *tunnelled, absl::StrJoin(per_node, ", ").c_str());
  std::printf("    replies from the VIP: %d for requests served on other nodes (DSR: they leave "
              "from their own node), %d for %s on %s itself\n",
              remote_replies, local_replies, local_pod.c_str(), announcer.name.c_str());
  if (capture.dropped_by_kernel() != 0) {
    std::printf("    (the capture dropped %llu frames: not a proof)\n",
                static_cast<unsigned long long>(capture.dropped_by_kernel()));
    passed_ = false;
  }
  if (remote_replies != 0 || *tunnelled == 0) passed_ = false;
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
  for (auto step : {&Demo::BuildCluster, &Demo::StartAgents, &Demo::WaitUntilProgrammed,
                    &Demo::WaitUntilAnnounced}) {
    if (absl::Status status = (this->*step)(); !status.ok()) return status;
  }
  if (absl::Status status = ServeVip(kVipV4, "IPv4"); !status.ok()) return status;
  if (absl::Status status = ServeVip(kVipV6, "IPv6"); !status.ok()) return status;
  PrintFerryctl({"status"}, 40);
  PrintFerryctl({"service", "list"}, 8);
  PrintFerryctl({"ipam", "pools"}, 6);
  PrintFerryctl({"ipam", "allocations"}, 8);
  PrintFerryctl({"l2", "announcements"}, 16);
  PrintFerryctl({"maglev", kService}, 16);
  PrintFerryctl({"bpf", "lb", "list"}, 16);
  PrintFerryctl({"bpf", "ct", "list"}, kConntrackLinesShown);
  PrintFerryctl({"bpf", "drops"}, 12);
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
  servers_.clear();
  topology_.reset();
  if (absl::Status cleaned = netns::CleanUpRun(netns::RunPrefix()); !cleaned.ok()) result = cleaned;
  return result;
}

}  // namespace
}  // namespace ferry::demo

int main(int argc, char** argv) {
  using ferry::demo::Demo;
  absl::StatusOr<ferry::demo::Paths> paths = ferry::demo::ParseFlags(argc, argv);
  if (!paths.ok()) {
    std::fprintf(stderr, "ferry-demo: %s\n", std::string(paths.status().message()).c_str());
    return 2;
  }
  if (absl::Status handled = ferry::demo::CleanUpOnSignals(); !handled.ok()) {
    std::fprintf(stderr, "ferry-demo: %s\n", std::string(handled.message()).c_str());
    return 1;
  }
  Demo demo(*std::move(paths));
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
                                 "bypassed the announcing node"
                               : "FAILED: see above");
  }
  std::fflush(stdout);
  // Not a return: exit_mutex stays held while the process ends.
  std::exit(passed ? 0 : 1);
}
