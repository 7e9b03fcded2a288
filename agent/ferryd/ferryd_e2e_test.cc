// ferryd end to end, on namespaces: three nodes each run ferryd over a copy
// of deploy/examples; the gw routes the VIPs to node1 (static, until L2/BGP
// land). Checked from outside: the client's connections to each VIP are
// answered with their own token by every pod in turn, and a broken or
// invalid manifest is reported in errors.json while traffic keeps flowing.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agent/datapath/maps.h"
#include "agent/k8s/testing/api_server.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test/e2e/examples.h"
#include "test/e2e/netns.h"
#include "test/e2e/topology.h"
#include "test/e2e/traffic.h"
#include "test/e2e/wait.h"

namespace ferry::ferryd {
namespace {

using netns::CleanUpRun;
using netns::Node;
using netns::PinDir;
using netns::Process;
using netns::RunPrefix;
using netns::ScratchDir;
using netns::Topology;
using netns::WaitFor;

constexpr int kConnections = 300;
constexpr absl::Duration kProgrammingTimeout = absl::Seconds(15);
using netns::examples::kPodPort;
using netns::examples::kVipPort;
constexpr const char* kVipV4 = netns::examples::kWebVipV4;
constexpr const char* kVipV6 = netns::examples::kWebVipV6;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Written whole then renamed in, as kubectl or an editor would: ferryd never
// reads half a file.
void WriteManifest(const std::filesystem::path& path, const std::string& content) {
  const std::filesystem::path temporary = path.parent_path() / ("." + path.filename().string());
  std::ofstream(temporary) << content;
  std::filesystem::rename(temporary, path);
}

// ferryctl over the agent's socket, as JSON.
nlohmann::json Ferryctl(const Node& node, std::vector<std::string> command) {
  std::vector<std::string> argv = {FERRYCTL_PATH, "--pin-dir", PinDir(node.name), "--socket",
                                   netns::FerrydSocket(node), "-o", "json"};
  argv.insert(argv.end(), command.begin(), command.end());
  absl::StatusOr<std::string> output = netns::RunCommand(node.ns.get(), argv);
  EXPECT_TRUE(output.ok()) << output.status();
  return output.ok() ? nlohmann::json::parse(*output, nullptr, false) : nlohmann::json();
}

class FerrydEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<netns::PodCluster> cluster =
        netns::StartPodCluster(FERRY_TEST_SERVER_PATH, kPodPort);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    topology_ = std::move(cluster->topology);
    servers_ = std::move(cluster->servers);
    Node& node1 = *topology_->node("node1");
    ASSERT_TRUE(
        topology_->gw().AddRoute({absl::StrCat(kVipV4, "/32"), "via", node1.v4.ToString()}).ok());
    ASSERT_TRUE(
        topology_->gw().AddRoute({absl::StrCat(kVipV6, "/128"), "via", node1.v6.ToString()}).ok());
    ASSERT_TRUE(topology_->EnableXdpTx(node1).ok());
    ASSERT_TRUE(topology_->WarmUp().ok());

    manifests_ = std::filesystem::path(ScratchDir()) / "manifests";
    std::filesystem::create_directories(manifests_);
    for (const char* file : {"service.yaml", "endpoints.yaml", "nodes.yaml", "pools.yaml"}) {
      std::filesystem::copy_file(std::filesystem::path(FERRY_SOURCE_DIR) / "deploy/examples" / file,
                                 manifests_ / file);
    }
    source_args_ = {"--manifests", manifests_.string()};
    ASSERT_NO_FATAL_FAILURE(StartSource());
    for (Node& node : topology_->nodes()) {
      absl::StatusOr<std::unique_ptr<Process>> agent = StartAgent(node);
      ASSERT_TRUE(agent.ok()) << agent.status();
      agents_.push_back(std::move(*agent));
    }
  }

  // Another source for the agents than the manifest directory.
  virtual void StartSource() {}

  // Each start logs to its own file, so a restart's log stands alone.
  absl::StatusOr<std::unique_ptr<Process>> StartAgent(const Node& node) {
    return netns::StartFerrydFrom(node, FERRYD_PATH, source_args_,
                                  absl::StrCat("ferryd-", node.name, "-", ++starts_), agent_args_);
  }

  void TearDown() override {
    for (std::unique_ptr<Process>& agent : agents_) {
      absl::StatusOr<int> exit_status = agent->Stop();
      // SIGTERM is a clean exit: programs stay attached, maps stay pinned.
      EXPECT_TRUE(exit_status.ok() && *exit_status == 0)
          << agent->log_path() << ":\n" << agent->ReadLog();
      if (HasFailure()) std::printf("%s:\n%s\n", agent->log_path().c_str(), agent->ReadLog().c_str());
    }
    agents_.clear();
    servers_.clear();
    topology_.reset();
    EXPECT_TRUE(CleanUpRun(RunPrefix()).ok());
  }

  // The node's maps as ferryctl would see them, read-only, with the agent up.
  static size_t Count(const Node& node, bool frontends) {
    absl::StatusOr<datapath::LbMaps> maps =
        datapath::LbMaps::OpenPinned(PinDir(node.name), datapath::LbMaps::Access::kReadOnly);
    if (!maps.ok()) return 0;
    if (frontends) {
      auto listed = maps->ListFrontends();
      return listed.ok() ? listed->size() : 0;
    }
    auto listed = maps->ListEndpoints();
    return listed.ok() ? listed->size() : 0;
  }

  std::string Errors(const Node& node) {
    return ReadFile(std::filesystem::path(netns::FerrydStateDir(node)) / "errors.json");
  }

  // Every node programmed: node1 serves both VIPs, every node knows its pod.
  void WaitUntilProgrammed(size_t node1_frontends) {
    const absl::Time start = absl::Now();
    const bool programmed = WaitFor(
        [&] {
          for (Node& node : topology_->nodes()) {
            if (Count(node, /*frontends=*/true) != node1_frontends) return false;
            if (Count(node, /*frontends=*/false) != 2) return false;  // the pod's two addresses
          }
          return true;
        },
        kProgrammingTimeout);
    ASSERT_TRUE(programmed) << "not programmed within " << kProgrammingTimeout;
    std::printf("programmed in %s\n", absl::FormatDuration(absl::Now() - start).c_str());
  }

  void ExpectServed(const char* vip, int connections) {
    absl::StatusOr<netns::TcpClientReport> report = netns::RunTcpClients(
        topology_->client(),
        {.address = vip, .port = kVipPort, .connections = connections, .token_prefix = "req"});
    ASSERT_TRUE(report.ok()) << report.status();
    std::vector<std::string> shares;
    for (const auto& [pod, count] : report->by_pod) shares.push_back(absl::StrCat(pod, "=", count));
    std::printf("%s: %d/%d connections in %s; %s\n", vip, report->completed, report->attempted,
                absl::FormatDuration(report->elapsed).c_str(), absl::StrJoin(shares, " ").c_str());
    EXPECT_EQ(report->completed, connections)
        << report->error_count << " failed; first: " << absl::StrJoin(report->errors, "; ");
    for (const Node& node : topology_->nodes()) {
      // A third expected; a tenth is far outside chance for a working Maglev.
      EXPECT_GE(report->by_pod[node.pods[0].name], connections / 10) << node.pods[0].name;
    }
  }

  template <typename Condition>
  void ExpectErrorsFile(const Node& node, Condition condition, const std::string& what) {
    EXPECT_TRUE(WaitFor([&] { return condition(Errors(node)); }, absl::Seconds(5)))
        << what << "; errors.json:\n" << Errors(node);
  }

  std::unique_ptr<Topology> topology_;
  std::vector<std::unique_ptr<Process>> servers_;
  std::vector<std::unique_ptr<Process>> agents_;
  std::filesystem::path manifests_;
  std::vector<std::string> source_args_;
  int starts_ = 0;
  std::vector<std::string> agent_args_;  // for every ferryd started
};

TEST_F(FerrydEndToEndTest, ServesTheExampleServiceAndSurvivesBadManifests) {
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  ExpectServed(kVipV4, kConnections);
  ExpectServed(kVipV6, kConnections);
  const Node& node1 = *topology_->node("node1");

  // Broken YAML: reported by file, and nothing it or others held is dropped.
  WriteManifest(manifests_ / "broken.yaml", "kind: Service\nmetadata: [unclosed\n");
  ExpectErrorsFile(
      node1, [](const std::string& json) { return absl::StrContains(json, "broken.yaml"); },
      "broken.yaml not reported");
  ExpectServed(kVipV4, 100);

  // An invalid object: reported by kind, name, field; skipped alone.
  const std::string bad_service = R"(apiVersion: v1
kind: Service
metadata:
  name: bad
  namespace: default
  annotations:
    ferry.dev/ips: 198.19.0.11
spec:
  type: LoadBalancer
  ports:
  - name: http
    protocol: TCP
    port: PORT
    targetPort: 8080
)";
  auto with_port = [&](const std::string& port) {
    std::string text = bad_service;
    text.replace(text.find("PORT"), 4, port);
    return text;
  };
  WriteManifest(manifests_ / "bad.yaml", with_port("70000"));
  ExpectErrorsFile(
      node1,
      [](const std::string& json) {
        return absl::StrContains(json, "Service default/bad: spec.ports[0].port");
      },
      "the invalid Service not reported");
  EXPECT_EQ(Count(node1, /*frontends=*/true), 2u);
  ExpectServed(kVipV4, 100);

  // Both fixed: picked up, the errors gone.
  WriteManifest(manifests_ / "bad.yaml", with_port("80"));
  std::filesystem::remove(manifests_ / "broken.yaml");
  ExpectErrorsFile(
      node1,
      [](const std::string& json) {
        return !absl::StrContains(json, "default/bad: spec") &&
               !absl::StrContains(json, "broken.yaml");
      },
      "fixes not picked up");
  EXPECT_TRUE(WaitFor([&] { return Count(node1, /*frontends=*/true) == 3; }, absl::Seconds(5)))
      << "the fixed Service's frontend is not programmed";
  ExpectServed(kVipV6, 100);
}

// The same cluster with the Kubernetes API as the source: the test API
// server (test/apiserver) on the gw's LAN address, the same manifests applied
// to it with kubectl, and every agent started with --kubeconfig.
class FerrydFromApiTest : public FerrydEndToEndTest {
 protected:
  void StartSource() override {
    const std::filesystem::path directory = std::filesystem::path(ScratchDir()) / "apiserver";
    std::filesystem::create_directories(directory);
    // The agents' namespace, where their Lease ferry-ipam is.
    WriteManifest(manifests_ / "namespace.yaml",
                  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ferry-system\n");
    std::vector<std::string> manifests;
    for (const auto& entry : std::filesystem::directory_iterator(manifests_)) {
      if (!held_back_.contains(entry.path().filename().string())) {
        manifests.push_back(entry.path().string());
      }
    }
    absl::StatusOr<std::unique_ptr<k8s::testing::ApiServer>> server =
        k8s::testing::ApiServer::Start(directory, {.ns = &topology_->gw(),
                                                   .address = topology_->gw_lan_v4().ToString(),
                                                   .load = manifests});
    ASSERT_TRUE(server.ok()) << server.status();
    source_args_ = {"--kubeconfig", (*server)->kubeconfig().string()};
    api_ = *std::move(server);
    // Stopped with the pods' servers, after the agents.
    servers_.push_back(api_->TakeProcess());
  }

  // Manifests the test applies itself, later.
  std::set<std::string> held_back_;
  std::unique_ptr<k8s::testing::ApiServer> api_;
};

TEST_F(FerrydFromApiTest, ServesTheExampleServiceFromTheApiAndFollowsItsWatch) {
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  ExpectServed(kVipV4, kConnections);
  ExpectServed(kVipV6, kConnections);
  // Deleted through the API: every node withdraws its frontends.
  ASSERT_TRUE(api_->Delete("/api/v1/services", "default", "web").ok());
  EXPECT_TRUE(WaitFor(
      [&] {
        for (Node& node : topology_->nodes()) {
          if (Count(node, /*frontends=*/true) != 0) return false;
        }
        return true;
      },
      kProgrammingTimeout))
      << "the deleted Service's frontends are still programmed";
}

// LB-IPAM's one writer (agent/ferryd/ipam_writer.h): the three agents run
// from test/apiserver, with kubectl as the user. One agent holds the Lease
// ferry-ipam and writes the Service's status; every agent serves what the
// status says.
class FerrydLeaderTest : public FerrydFromApiTest {
 protected:
  FerrydLeaderTest() { held_back_ = {"service.yaml"}; }

  absl::StatusOr<std::string> Kubectl(std::vector<std::string> args) {
    args.insert(args.begin(), {FERRY_KUBECTL, "--kubeconfig", api_->kubeconfig().string()});
    return netns::RunCommand(&topology_->gw(), args);
  }

  nlohmann::json KubectlJson(std::vector<std::string> args) {
    args.insert(args.end(), {"-o", "json"});
    absl::StatusOr<std::string> output = Kubectl(std::move(args));
    return output.ok() ? nlohmann::json::parse(*output, nullptr, false) : nlohmann::json();
  }

  // The Service web's status.loadBalancer.ingress addresses, as kubectl shows them.
  std::set<std::string> Ingress() {
    std::set<std::string> ips;
    const nlohmann::json service = KubectlJson({"get", "service", "web"});
    if (!service.is_object()) return ips;
    for (const auto& entry : service["status"]["loadBalancer"].value("ingress", nlohmann::json::array())) {
      ips.insert(entry.value("ip", ""));
    }
    return ips;
  }

  nlohmann::json Lease() {
    return KubectlJson({"-n", "ferry-system", "get", "lease", "ferry-ipam"});
  }
  std::string Holder() {
    const nlohmann::json lease = Lease();
    return lease.is_object() ? lease["spec"].value("holderIdentity", "") : "";
  }

  // Requests the agents' open connections have made.
  int64_t AgentRequests() {
    int64_t requests = 0;
    absl::StatusOr<nlohmann::json> stats = api_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    if (!stats.ok()) return 0;
    for (const auto& connection : (*stats)["connections"]) {
      requests += connection.value("requests", 0);
    }
    return requests;
  }

  const std::set<std::string> kVips{kVipV4, kVipV6};

  // Applies the Service and waits for its status and every node's frontends.
  void CreateService() {
    const absl::Time created = absl::Now();
    ASSERT_TRUE(Kubectl({"apply", "-f", (manifests_ / "service.yaml").string()}).ok());
    ASSERT_TRUE(WaitFor([&] { return Ingress() == kVips; }, absl::Seconds(30)))
        << "status: " << KubectlJson({"get", "service", "web"}).dump(2);
    const absl::Time written = absl::Now();
    ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
    std::printf("Service created -> status written %s, -> programmed on 3 nodes %s\n",
                absl::FormatDuration(written - created).c_str(),
                absl::FormatDuration(absl::Now() - created).c_str());
  }

  // Another holder than `holder`, once the Lease has one; "" if not within
  // `timeout`.
  std::string NextHolder(const std::string& holder, absl::Duration timeout) {
    std::string next;
    const bool taken = WaitFor(
        [&] {
          next = Holder();
          return !next.empty() && next != holder;
        },
        timeout);
    return taken ? next : "";
  }

  // Starts the node's agent again after `agent` ended.
  void Restart(Process* agent) {
    for (size_t i = 0; i < agents_.size(); ++i) {
      if (agents_[i].get() != agent) continue;
      absl::StatusOr<std::unique_ptr<Process>> restarted = StartAgent(topology_->nodes()[i]);
      ASSERT_TRUE(restarted.ok()) << restarted.status();
      agents_[i] = *std::move(restarted);
      Process& started = *agents_[i];
      ASSERT_TRUE(WaitFor([&] { return absl::StrContains(started.ReadLog(), "reconcile"); },
                          absl::Seconds(30)))
          << started.ReadLog();
    }
  }

  Process* AgentOf(const std::string& node) {
    for (size_t i = 0; i < agents_.size(); ++i) {
      if (topology_->nodes()[i].name == node) return agents_[i].get();
    }
    return nullptr;
  }
};

TEST_F(FerrydLeaderTest, OneLeaderWritesTheStatusAndEveryNodeServesIt) {
  ASSERT_TRUE(WaitFor([&] { return !Holder().empty(); }, absl::Seconds(30)));
  ASSERT_NO_FATAL_FAILURE(CreateService());
  const std::string holder = Holder();
  int leaders = 0;
  for (const std::unique_ptr<Process>& agent : agents_) {
    leaders += absl::StrContains(agent->ReadLog(), "this node leads") ? 1 : 0;
  }
  EXPECT_EQ(leaders, 1) << "holder " << holder;
  ASSERT_TRUE(absl::StrContains(AgentOf(holder)->ReadLog(), "this node leads"));

  absl::StatusOr<std::string> wide = Kubectl({"get", "svc", "web", "-o", "wide"});
  ASSERT_TRUE(wide.ok()) << wide.status();
  std::printf("kubectl get svc -o wide:\n%s", wide->c_str());
  EXPECT_TRUE(absl::StrContains(*wide, kVipV4) && absl::StrContains(*wide, kVipV6)) << *wide;
  const nlohmann::json service = KubectlJson({"get", "service", "web"});
  for (const auto& entry : service["status"]["loadBalancer"]["ingress"]) {
    EXPECT_EQ(entry["ipMode"], "VIP");
  }
  bool allocated = false;
  for (const auto& condition : service["status"]["conditions"]) {
    allocated = allocated || (condition["type"] == "ferry.dev/IPAllocated" &&
                              condition["status"] == "True");
  }
  EXPECT_TRUE(allocated) << service.dump(2);
  // The pools' status counts the addresses given.
  EXPECT_TRUE(WaitFor(
      [&] {
        int used = 0;
        const nlohmann::json pools = KubectlJson({"get", "loadbalancerippools"});
        for (const auto& pool : pools["items"]) {
          const nlohmann::json status = pool.value("status", nlohmann::json::object());
          for (const char* family : {"ipv4", "ipv6"}) {
            if (status.contains(family)) used += std::stoi(status[family].value("used", "0"));
          }
        }
        return used == 2;
      },
      absl::Seconds(10)))
      << KubectlJson({"get", "loadbalancerippools"}).dump(2);
  // An Event says what was allocated.
  EXPECT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<std::string> events = Kubectl({"get", "events", "-n", "default"});
        return events.ok() && absl::StrContains(*events, "AddressAllocated");
      },
      absl::Seconds(10)));
  ExpectServed(kVipV4, kConnections);
  ExpectServed(kVipV6, kConnections);

  // Idle: only the Lease is written (renewed every 2 s) and read.
  const std::string renewed = Lease()["spec"].value("renewTime", "");
  const int64_t before = AgentRequests();
  const absl::Time since = absl::Now();
  std::string last = renewed;
  int renewals = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string now = Lease()["spec"].value("renewTime", "");
        if (now != last) ++renewals;
        last = now;
        return renewals >= 5;
      },
      absl::Seconds(30)));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - since);
  const int64_t requests = AgentRequests() - before;
  std::printf("idle: %lld agent requests in %.1f s (%.2f/s) over %d lease renewals\n",
              static_cast<long long>(requests), seconds, requests / seconds, renewals);
  // The leader's renewals and the two followers' reads, one per 2 s each
  // (1.5/s), with room for a retry.
  EXPECT_LE(requests / seconds, 2.0);
}

TEST_F(FerrydLeaderTest, ALeaderKilledIsReplacedAndNoAddressMoves) {
  ASSERT_TRUE(WaitFor([&] { return !Holder().empty(); }, absl::Seconds(30)));
  ASSERT_NO_FATAL_FAILURE(CreateService());
  netns::TcpStreams streams(topology_->client(),
                            {{.address = kVipV4, .port = kVipPort, .duration = absl::Seconds(45)},
                             {.address = kVipV6, .port = kVipPort, .duration = absl::Seconds(45)}});
  ASSERT_TRUE(streams.WaitForBytes(1, absl::Seconds(10)));
  const std::string leader = Holder();
  Process* agent = AgentOf(leader);
  ASSERT_NE(agent, nullptr) << leader;
  const absl::Time killed = absl::Now();
  ASSERT_TRUE(agent->Kill().ok());
  const std::string next = NextHolder(leader, absl::Seconds(45));
  ASSERT_FALSE(next.empty()) << "no other agent took the Lease";
  std::printf("failover: %s took the Lease from %s %s after SIGKILL\n", next.c_str(),
              leader.c_str(), absl::FormatDuration(absl::Now() - killed).c_str());
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains(AgentOf(next)->ReadLog(), "this node leads"); },
                      absl::Seconds(10)));
  EXPECT_EQ(Ingress(), kVips) << "the new leader moved an address";
  // The killed agent comes back as a follower, its address unchanged.
  ASSERT_NO_FATAL_FAILURE(Restart(agent));
  for (const absl::StatusOr<netns::TcpStreamReport>& report : streams.Reports()) {
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->completed) << report->error;
    std::printf("stream through the failover: %zu bytes, longest gap %s\n", report->bytes,
                absl::FormatDuration(report->max_gap).c_str());
  }
  EXPECT_EQ(Holder(), next);
  EXPECT_EQ(Ingress(), kVips);
  ExpectServed(kVipV4, 100);
}

TEST_F(FerrydLeaderTest, ALeaderThatLeavesReleasesTheLeaseAtOnce) {
  ASSERT_TRUE(WaitFor([&] { return !Holder().empty(); }, absl::Seconds(30)));
  ASSERT_NO_FATAL_FAILURE(CreateService());
  const std::string leader = Holder();
  Process* agent = AgentOf(leader);
  ASSERT_NE(agent, nullptr) << leader;
  const absl::Time left = absl::Now();
  ASSERT_EQ(kill(agent->pid(), SIGINT), 0);
  // Released, not expired: well within the 15 s lease.
  const std::string next = NextHolder(leader, absl::Seconds(8));
  ASSERT_FALSE(next.empty()) << agent->ReadLog();
  std::printf("handover: %s took the Lease %s after %s left (SIGINT)\n", next.c_str(),
              absl::FormatDuration(absl::Now() - left).c_str(), leader.c_str());
  EXPECT_EQ(Ingress(), kVips);
  ASSERT_TRUE(WaitFor([&] { return !agent->Running(); }, absl::Seconds(10)));
  ASSERT_NO_FATAL_FAILURE(Restart(agent));
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  ExpectServed(kVipV4, 100);
}

TEST_F(FerrydLeaderTest, StatusWritesThatConflictConverge) {
  ASSERT_TRUE(WaitFor([&] { return !Holder().empty(); }, absl::Seconds(30)));
  ASSERT_TRUE(api_->Admin("concurrent-writes?count=3&subresource=status").ok());
  ASSERT_NO_FATAL_FAILURE(CreateService());
  EXPECT_TRUE(absl::StrContains(AgentOf(Holder())->ReadLog(), "409 Conflict"))
      << AgentOf(Holder())->ReadLog();
  ExpectServed(kVipV4, 100);
}

TEST_F(FerrydLeaderTest, AnApiServerDownWithdrawsNothing) {
  ASSERT_TRUE(WaitFor([&] { return !Holder().empty(); }, absl::Seconds(30)));
  ASSERT_NO_FATAL_FAILURE(CreateService());
  Process* leader = AgentOf(Holder());
  ASSERT_TRUE(api_->Admin("down").ok());
  // The leader finds out when it renews (every 2 s), and stops leading
  // after its renew deadline (10 s): the VIPs stay all the same.
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains(leader->ReadLog(), "no longer leads"); },
                      absl::Seconds(30)))
      << leader->ReadLog();
  for (Node& node : topology_->nodes()) EXPECT_EQ(Count(node, /*frontends=*/true), 2u) << node.name;
  ExpectServed(kVipV4, 100);
  ASSERT_TRUE(api_->Admin("up").ok());
  ASSERT_TRUE(WaitFor([&] { return !Holder().empty(); }, absl::Seconds(60)));
  EXPECT_EQ(Ingress(), kVips);
  for (Node& node : topology_->nodes()) EXPECT_EQ(Count(node, /*frontends=*/true), 2u) << node.name;
  ExpectServed(kVipV6, 100);
}

TEST_F(FerrydEndToEndTest, AManifestDirectoryThatGoesAwayKeepsTheLastModel) {
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  const Node& node1 = *topology_->node("node1");
  const std::filesystem::path aside = manifests_.string() + ".aside";
  std::filesystem::rename(manifests_, aside);
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(agents_[0]->ReadLog(), "removed or renamed"); },
                      absl::Seconds(5)))
      << agents_[0]->ReadLog();
  EXPECT_EQ(Count(node1, /*frontends=*/true), 2u);
  ExpectServed(kVipV4, 50);
  std::filesystem::rename(aside, manifests_);
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(agents_[0]->ReadLog(), "is back"); },
                      absl::Seconds(5)))
      << agents_[0]->ReadLog();
  WriteManifest(manifests_ / "bad.yaml", "kind: Service\nmetadata: [unclosed\n");
  ExpectErrorsFile(
      node1, [](const std::string& json) { return absl::StrContains(json, "bad.yaml"); },
      "changes after the directory came back are not watched");
}

TEST_F(FerrydEndToEndTest, FerryctlShowsTheAgentsStatusServicesAndMaglevShares) {
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  const Node& node1 = *topology_->node("node1");
  const nlohmann::json status = Ferryctl(node1, {"status"});
  EXPECT_EQ(status["node"], "node1");
  std::set<std::string> programs;
  for (const auto& program : status["programs"]) programs.insert(program["program"]);
  EXPECT_EQ(programs, (std::set<std::string>{"ferry_xdp_lb", "ferry_tc_uplink", "ferry_tc_pod"}));
  EXPECT_EQ(status["counts"]["services"], 1);
  EXPECT_EQ(status["counts"]["lb_services"], 2);
  EXPECT_EQ(status["counts"]["backends"], 6);
  bool tables_seen = false;
  for (const auto& map : status["maps"]) {
    if (map["name"] != "maglev_tables") continue;
    tables_seen = true;
    EXPECT_EQ(map["inner_maps"], 2);
    EXPECT_GE(std::stoull(map["inner_memlock_bytes"].get<std::string>()), 2u * 16381u * 4u);
  }
  EXPECT_TRUE(tables_seen) << status.dump(2);
  EXPECT_TRUE(status["errors"]["object_errors"].empty()) << status.dump(2);

  const nlohmann::json services = Ferryctl(node1, {"service", "list"});
  ASSERT_EQ(services["services"].size(), 2u) << services.dump(2);
  const nlohmann::json maglev = Ferryctl(node1, {"maglev", "default/web"});
  ASSERT_EQ(maglev["services"].size(), 2u) << maglev.dump(2);
  for (const auto& service : maglev["services"]) {
    int slots = 0;
    for (const auto& backend : service["backends"]) {
      slots += backend["slots"].get<int>();
      EXPECT_NEAR(backend["share"].get<double>(), 1.0 / 3, 0.01) << backend.dump();
    }
    EXPECT_EQ(slots, 16381) << "the pinned table, read by ferryctl, has every slot";
  }
  absl::StatusOr<std::string> missing = netns::RunCommand(
      node1.ns.get(), {FERRYCTL_PATH, "--socket", netns::FerrydSocket(node1), "maglev", "default/nope"});
  EXPECT_FALSE(missing.ok()) << "an unknown Service is an error";
}

// The addresses status.json gives a Service (ingress IPs, in order).
std::vector<std::string> IngressOf(const std::string& status_json, const std::string& name) {
  std::vector<std::string> ips;
  const nlohmann::json status = nlohmann::json::parse(status_json, nullptr, false);
  if (status.is_discarded()) return ips;
  for (const auto& service : status.value("services", nlohmann::json::array())) {
    if (service["metadata"]["name"] != name) continue;
    for (const auto& ingress : service["status"]["loadBalancer"]["ingress"]) {
      ips.push_back(ingress["ip"]);
    }
  }
  return ips;
}

TEST_F(FerrydEndToEndTest, APreferDualStackServiceGetsBothFamiliesFromThePools) {
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  // A second Service over the same pods, asking for no address: LB-IPAM
  // gives it one of each family from deploy/examples/pools.yaml.
  const std::string examples = std::string(FERRY_SOURCE_DIR) + "/deploy/examples/";
  std::string service = ReadFile(examples + "service.yaml");
  std::string slices = ReadFile(examples + "endpoints.yaml");
  service = absl::StrReplaceAll(service, {{"name: web\n", "name: auto\n"},
                                          {"  annotations:\n    ferry.dev/ips: 198.19.0.10,2001:db8:19::10\n", ""}});
  slices = absl::StrReplaceAll(slices, {{"name: web-ipv", "name: auto-ipv"},
                                        {"kubernetes.io/service-name: web", "kubernetes.io/service-name: auto"}});
  ASSERT_EQ(service.find("ferry.dev/ips: "), std::string::npos) << service;
  WriteManifest(manifests_ / "auto-endpoints.yaml", slices);
  WriteManifest(manifests_ / "auto-service.yaml", service);

  // The lowest of each family: past the IPv4 network address, and past
  // 2001:db8:19::, the /48's Subnet-Router anycast address.
  const std::vector<std::string> vips = {"198.19.0.1", "2001:db8:19::1"};
  const Node& node1 = *topology_->node("node1");
  auto status_of = [&](const Node& node) {
    return ReadFile(std::filesystem::path(netns::FerrydStateDir(node)) / "status.json");
  };
  // Each agent writes its own status once it has seen the new files.
  for (const Node& node : topology_->nodes()) {
    EXPECT_TRUE(
        WaitFor([&] { return IngressOf(status_of(node), "auto") == vips; }, absl::Seconds(10)))
        << node.name << " disagrees: " << status_of(node);
  }
  std::printf("default/auto got %s\n", absl::StrJoin(vips, ", ").c_str());
  EXPECT_TRUE(WaitFor([&] { return Count(node1, /*frontends=*/true) == 4; }, absl::Seconds(5)));
  ASSERT_TRUE(topology_->gw().AddRoute({vips[0] + "/32", "via", node1.v4.ToString()}).ok());
  ASSERT_TRUE(topology_->gw().AddRoute({vips[1] + "/128", "via", node1.v6.ToString()}).ok());
  ExpectServed(vips[0].c_str(), 150);
  ExpectServed(vips[1].c_str(), 150);

  const nlohmann::json allocations = Ferryctl(node1, {"ipam", "allocations"});
  std::vector<std::string> granted;
  for (const auto& allocation : allocations["allocations"]) {
    if (allocation["name"] != "auto") continue;
    EXPECT_EQ(allocation["condition"]["status"], "True") << allocation.dump();
    for (const auto& grant : allocation["grants"]) {
      granted.push_back(grant["address"]);
      EXPECT_EQ(grant["pool"], "bgp");
    }
  }
  EXPECT_EQ(granted, vips);
  const nlohmann::json pools = Ferryctl(node1, {"ipam", "pools"});
  ASSERT_EQ(pools["pools"].size(), 2u) << pools.dump(2);
  EXPECT_EQ(pools["pools"][0]["name"], "bgp");
  EXPECT_EQ(pools["pools"][0]["ipv4"]["used"], "2") << "web's and auto's";
  EXPECT_EQ(pools["pools"][0]["ipv6"]["used"], "2");
}

// What a restarted agent must find and leave as it is.
std::string MapsSnapshot(const Node& node) {
  absl::StatusOr<datapath::LbMaps> maps =
      datapath::LbMaps::OpenPinned(PinDir(node.name), datapath::LbMaps::Access::kReadOnly);
  if (!maps.ok()) return std::string(maps.status().message());
  auto frontends = maps->ListFrontends();
  auto backends = maps->ListBackends();
  auto nodes = maps->ListNodes();
  auto endpoints = maps->ListEndpoints();
  if (!frontends.ok() || !backends.ok() || !nodes.ok() || !endpoints.ok()) return "unreadable";
  std::string bytes;
  auto append = [&](const auto& entries) {
    for (const auto& [key, value] : entries) {
      bytes.append(reinterpret_cast<const char*>(&key), sizeof(key));
      bytes.append(reinterpret_cast<const char*>(&value), sizeof(value));
    }
  };
  append(*frontends);
  append(*backends);
  append(*nodes);
  append(*endpoints);
  return bytes;
}

// Whether `node`'s nodes map has an entry whose next hop is `mac`.
bool HasNextHop(const Node& node, const std::array<uint8_t, 6>& mac) {
  absl::StatusOr<datapath::LbMaps> maps =
      datapath::LbMaps::OpenPinned(PinDir(node.name), datapath::LbMaps::Access::kReadOnly);
  if (!maps.ok()) return false;
  auto nodes = maps->ListNodes();
  if (!nodes.ok()) return false;
  return std::any_of(nodes->begin(), nodes->end(), [&](const auto& entry) {
    return std::memcmp(entry.second.next_hop_mac, mac.data(), mac.size()) == 0;
  });
}

TEST_F(FerrydEndToEndTest, ANextHopThatChangesIsRewrittenWithNoManifestChange) {
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  const Node& node1 = *topology_->node("node1");
  const Node& node2 = *topology_->node("node2");
  EXPECT_TRUE(WaitFor([&] { return HasNextHop(node1, node2.uplink.mac); }, absl::Seconds(10)))
      << "node2's MAC never became node1's next hop to it";
  // As when node2's address moves to another machine: the neighbour entry
  // changes, and nothing else does.
  constexpr std::array<uint8_t, 6> kMoved = {0x02, 0x00, 0x5e, 0x00, 0x53, 0x01};
  absl::StatusOr<std::string> replaced = netns::RunCommand(
      node1.ns.get(), {"ip", "neigh", "replace", node2.v4.ToString(), "lladdr", "02:00:5e:00:53:01",
                       "dev", node1.uplink.name, "nud", "permanent"});
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_TRUE(WaitFor([&] { return HasNextHop(node1, kMoved); }, absl::Seconds(5)))
      << agents_[0]->ReadLog();
}

TEST_F(FerrydEndToEndTest, ServesWhileStoppedAndRestartsWithoutRewriting) {
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  const Node& node1 = *topology_->node("node1");
  const std::string before = MapsSnapshot(node1);
  absl::StatusOr<int> stopped = agents_[0]->Stop();
  ASSERT_TRUE(stopped.ok() && *stopped == 0) << agents_[0]->ReadLog();

  // The agent is down; the pinned maps and attached programs serve on.
  ExpectServed(kVipV4, 100);

  absl::StatusOr<std::unique_ptr<Process>> restarted = StartAgent(node1);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  agents_[0] = std::move(*restarted);
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(agents_[0]->ReadLog(), "reconcile"); },
                      kProgrammingTimeout))
      << agents_[0]->ReadLog();
  // It adopted what it found: its first pass wrote nothing, and a normal
  // restart is nothing for libbpf to warn about.
  EXPECT_TRUE(absl::StrContains(agents_[0]->ReadLog(), "; 0 writes (none)")) << agents_[0]->ReadLog();
  EXPECT_FALSE(absl::StrContains(agents_[0]->ReadLog(), "libbpf:")) << agents_[0]->ReadLog();
  EXPECT_EQ(MapsSnapshot(node1), before);
  ExpectServed(kVipV6, 100);
}

// The kubelet's probes, asked by curl as a probe would ask: a restarted
// agent is alive at once and ready once its first pass has programmed the
// node (the restart adopts the maps, so that is its first reconcile).
TEST_F(FerrydEndToEndTest, HealthProbesAnswerOnTheAddressGiven) {
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  const Node& node1 = *topology_->node("node1");
  ASSERT_TRUE(agents_[0]->Stop().ok());
  agent_args_ = {"--health-listen", "127.0.0.1:0"};
  absl::StatusOr<std::unique_ptr<Process>> restarted = StartAgent(node1);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  agents_[0] = std::move(*restarted);
  std::string port;
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string log = agents_[0]->ReadLog();
        const size_t at = log.find("/readyz on 127.0.0.1:");
        if (at == std::string::npos) return false;
        const size_t start = at + std::strlen("/readyz on 127.0.0.1:");
        port = log.substr(start, log.find('\n', start) - start);
        return true;
      },
      kProgrammingTimeout))
      << agents_[0]->ReadLog();
  auto ask = [&](absl::string_view path) {
    absl::StatusOr<std::string> answer = netns::RunCommand(
        node1.ns.get(), {"curl", "-sS", "--max-time", "5", "-w", " %{http_code}",
                         absl::StrCat("http://127.0.0.1:", port, path)});
    return answer.ok() ? *answer : answer.status().ToString();
  };
  EXPECT_TRUE(WaitFor([&] { return ask("/readyz") == "ok: datapath programmed\n 200"; },
                      kProgrammingTimeout))
      << ask("/readyz") << "\n" << agents_[0]->ReadLog();
  EXPECT_EQ(ask("/healthz"), "ok: waiting for changes\n 200");
  EXPECT_EQ(ask("/elsewhere"), "ferryd serves /healthz and /readyz\n 404");
}

// A long transfer through each VIP while something happens to the agents:
// it must neither reset nor stall for a second, and one pod must serve it
// from start to end (another pod would answer the next segment with a reset).
class StreamsThroughTheVips {
 public:
  static constexpr absl::Duration kMaxStall = absl::Seconds(1);

  explicit StreamsThroughTheVips(const netns::Namespace& client,
                                 absl::Duration duration = absl::Seconds(6))
      : duration_(duration),
        streams_(client, {{.address = kVipV4, .port = kVipPort, .duration = duration},
                          {.address = kVipV6, .port = kVipPort, .duration = duration}}) {}

  // Both connected and served: the flows are in the conntrack.
  void WaitUntilFlowing() {
    ASSERT_TRUE(streams_.WaitForBytes(1, duration_)) << "a stream received nothing";
  }

  void ExpectUndisturbed() {
    const std::vector<absl::StatusOr<netns::TcpStreamReport>> reports = streams_.Reports();
    for (size_t i = 0; i < reports.size(); ++i) {
      const char* vip = i == 0 ? kVipV4 : kVipV6;
      const absl::StatusOr<netns::TcpStreamReport>& report = reports[i];
      ASSERT_TRUE(report.ok()) << report.status();
      std::printf("%s stream: %zu bytes in %s from %s, longest gap %s%s\n", vip, report->bytes,
                  absl::FormatDuration(report->elapsed).c_str(), report->pod.c_str(),
                  absl::FormatDuration(report->max_gap).c_str(),
                  report->error.empty() ? "" : absl::StrCat(", ", report->error).c_str());
      EXPECT_TRUE(report->completed) << vip << ": " << report->error;
      EXPECT_EQ(report->end_pod, report->pod) << vip << ": the stream changed pods";
      EXPECT_LT(report->max_gap, kMaxStall) << vip;
      // 1 KiB per 10 ms; allow for the pacing's slack.
      EXPECT_GT(report->bytes, size_t{80 * 1024} * absl::ToInt64Seconds(duration_)) << vip;
    }
  }

 private:
  const absl::Duration duration_;
  netns::TcpStreams streams_;
};

// The flows node1's conntrack holds (client tuple -> backend), as bytes.
std::map<std::string, uint32_t> Flows(const Node& node) {
  std::map<std::string, uint32_t> flows;
  absl::StatusOr<datapath::LbMaps> maps =
      datapath::LbMaps::OpenPinned(PinDir(node.name), datapath::LbMaps::Access::kReadOnly);
  if (!maps.ok()) return flows;
  auto listed = maps->ListFlows();
  if (!listed.ok()) return flows;
  for (const auto& [key, flow] : *listed) {
    flows[std::string(reinterpret_cast<const char*>(&key), sizeof(key))] = flow.backend_id;
  }
  return flows;
}

TEST_F(FerrydEndToEndTest, SigkilledAgentsRestartUnderALongStream) {
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  const Node& node1 = *topology_->node("node1");
  const std::string before = MapsSnapshot(node1);
  StreamsThroughTheVips streams(topology_->client());
  ASSERT_NO_FATAL_FAILURE(streams.WaitUntilFlowing());
  for (std::unique_ptr<Process>& agent : agents_) {
    absl::StatusOr<int> killed = agent->Kill();
    ASSERT_TRUE(killed.ok() && *killed == 128 + SIGKILL) << agent->ReadLog();
  }
  absl::SleepFor(absl::Milliseconds(500));  // down for a while, as in a crash loop
  for (size_t i = 0; i < agents_.size(); ++i) {
    absl::StatusOr<std::unique_ptr<Process>> restarted = StartAgent(topology_->nodes()[i]);
    ASSERT_TRUE(restarted.ok()) << restarted.status();
    agents_[i] = std::move(*restarted);
  }
  streams.ExpectUndisturbed();
  EXPECT_TRUE(absl::StrContains(agents_[0]->ReadLog(), "; 0 writes (none)")) << agents_[0]->ReadLog();
  EXPECT_EQ(MapsSnapshot(node1), before);
}

// Faults of the API server under long streams through both VIPs (issue 12,
// point 6). After each, a change made through the API reaches every node (the
// agents' view is the server's again), and the streams never stop.
TEST_F(FerrydFromApiTest, ApiFaultsStopNoTrafficAndTheAgentsCatchUp) {
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  constexpr absl::Duration kStreams = absl::Seconds(40);
  StreamsThroughTheVips streams(topology_->client(), kStreams);
  ASSERT_NO_FATAL_FAILURE(streams.WaitUntilFlowing());
  const absl::Time start = absl::Now();
  const nlohmann::json web2 = k8s::testing::LoadBalancer("web2");  // one IPv4 VIP from a pool
  // Every node programs `frontends` (web's two, and web2's one while it exists).
  auto converged = [&](size_t frontends, const std::string& after) {
    EXPECT_TRUE(WaitFor(
        [&] {
          for (Node& node : topology_->nodes()) {
            if (Count(node, /*frontends=*/true) != frontends) return false;
          }
          return true;
        },
        absl::Seconds(60)))
        << after << ": not every node has " << frontends << " frontends";
  };
  // Each agent's count of logged API failures.
  auto failures = [&] {
    std::vector<size_t> counts;
    for (std::unique_ptr<Process>& agent : agents_) {
      const std::string log = agent->ReadLog();
      size_t count = 0;
      for (size_t at = 0;
           (at = log.find("; retrying, the last objects stay in use", at)) != std::string::npos;
           ++at) {
        ++count;
      }
      counts.push_back(count);
    }
    return counts;
  };
  // Every agent has logged a failure since `before`.
  auto each_failed_since = [&](const std::vector<size_t>& before) {
    const std::vector<size_t> now = failures();
    for (size_t i = 0; i < now.size(); ++i) {
      if (now[i] <= before[i]) return false;
    }
    return true;
  };

  // Restarted mid-watch: down (every connection dropped, state kept), up.
  std::vector<size_t> before = failures();
  ASSERT_TRUE(api_->Admin("down").ok());
  ASSERT_TRUE(WaitFor([&] { return each_failed_since(before); }, absl::Seconds(30)))
      << agents_[0]->ReadLog();
  ASSERT_TRUE(api_->Admin("up").ok());
  ASSERT_TRUE(api_->Put("/api/v1/services", {web2}).ok());
  converged(3, "the server restarted");

  // A watch cut between events.
  ASSERT_TRUE(api_->Admin("close-watches").ok());
  ASSERT_TRUE(api_->Delete("/api/v1/services", "default", "web2").ok());
  converged(2, "the watches cut");

  // A 410 storm: every resumed watch finds its resourceVersion compacted.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(api_->Admin("compact").ok());
    ASSERT_TRUE(api_->Admin("close-watches").ok());
  }
  ASSERT_TRUE(api_->Put("/api/v1/services", {web2}).ok());
  converged(3, "a 410 storm");

  // A slow server: every answer but watches 10 s late, so the relists too
  // (and the harness's own write).
  ASSERT_TRUE(api_->Admin("delay?seconds=10").ok());
  ASSERT_TRUE(api_->Admin("compact").ok());
  ASSERT_TRUE(api_->Admin("close-watches").ok());
  ASSERT_TRUE(api_->Delete("/api/v1/services", "default", "web2").ok());
  converged(2, "a slow server");
  ASSERT_TRUE(api_->Admin("delay?seconds=0").ok());
  ASSERT_TRUE(api_->Put("/api/v1/services", {web2}).ok());
  converged(3, "the server fast again");

  // Deleted while the agents were cut off (their connections reset at the
  // gw, the server's history compacted): seen after the relist, by its
  // differences.
  const std::vector<std::string> cut = {
      "INPUT", "-i", "lan", "-p", "tcp", "--dport", std::to_string(api_->port()),
      "-j", "REJECT", "--reject-with", "tcp-reset"};
  auto iptables = [&](const char* op) {
    std::vector<std::string> argv = {"iptables", op};
    argv.insert(argv.end(), cut.begin(), cut.end());
    return netns::RunCommand(&topology_->gw(), argv).status();
  };
  // The server sends a bookmark every 250 ms: each agent's answer to it is
  // reset, and so is every reconnection, which the agent logs.
  before = failures();
  ASSERT_TRUE(iptables("-I").ok());
  EXPECT_TRUE(WaitFor([&] { return each_failed_since(before); }, absl::Seconds(30)))
      << "the agents' connections outlived the cut:\n" << agents_[0]->ReadLog();
  ASSERT_TRUE(api_->Delete("/api/v1/services", "default", "web2").ok());
  ASSERT_TRUE(api_->Admin("compact").ok());
  ASSERT_TRUE(iptables("-D").ok());
  converged(2, "a deletion while cut off");

  const absl::Duration faults = absl::Now() - start;
  std::printf("the faults took %s\n", absl::FormatDuration(faults).c_str());
  EXPECT_LT(faults, kStreams) << "the streams ended before the faults did";
  streams.ExpectUndisturbed();
}

// The agents first run the previous build of the datapath (its objects for
// BPF CPU v2, loaded with --bpf-object), then are replaced one node after the
// other by this build, as a DaemonSet rollout would.
class FerrydUpgradeTest : public FerrydEndToEndTest {
 protected:
  FerrydUpgradeTest() { agent_args_ = {"--bpf-object", FERRY_PREVIOUS_OBJECTS}; }

  // The kernel's tag (instruction digest) of the XDP program on the node's uplink.
  static std::string XdpTag(const Node& node) {
    uint32_t id = 0;
    absl::Status queried = netns::RunIn(*node.ns, [&]() -> absl::Status {
      return bpf_xdp_query_id(node.uplink.ifindex, XDP_FLAGS_DRV_MODE, &id) == 0
                 ? absl::OkStatus()
                 : absl::InternalError("bpf_xdp_query_id");
    });
    const int fd = queried.ok() ? bpf_prog_get_fd_by_id(id) : -1;
    if (fd < 0) return "none";
    bpf_prog_info info{};
    uint32_t length = sizeof(info);
    bpf_obj_get_info_by_fd(fd, &info, &length);
    close(fd);
    return std::string(reinterpret_cast<const char*>(info.tag), sizeof(info.tag));
  }
};

TEST_F(FerrydUpgradeTest, ANewBuildReplacesTheProgramsAndKeepsMapsAndFlows) {
  ASSERT_NO_FATAL_FAILURE(WaitUntilProgrammed(2));
  const Node& node1 = *topology_->node("node1");
  const std::string previous_tag = XdpTag(node1);
  const std::string before = MapsSnapshot(node1);
  StreamsThroughTheVips streams(topology_->client());
  ASSERT_NO_FATAL_FAILURE(streams.WaitUntilFlowing());
  const std::map<std::string, uint32_t> flows_before = Flows(node1);
  ASSERT_FALSE(flows_before.empty());

  agent_args_.clear();  // this build's programs, built into ferryd
  for (size_t i = 0; i < agents_.size(); ++i) {
    absl::StatusOr<int> stopped = agents_[i]->Stop();
    ASSERT_TRUE(stopped.ok() && *stopped == 0) << agents_[i]->ReadLog();
    absl::StatusOr<std::unique_ptr<Process>> upgraded = StartAgent(topology_->nodes()[i]);
    ASSERT_TRUE(upgraded.ok()) << upgraded.status();
    agents_[i] = std::move(*upgraded);
    EXPECT_TRUE(WaitFor([&] { return absl::StrContains(agents_[i]->ReadLog(), "reconcile"); },
                        kProgrammingTimeout))
        << agents_[i]->ReadLog();
  }
  EXPECT_NE(XdpTag(node1), previous_tag) << "the XDP program was not replaced by the new build";
  streams.ExpectUndisturbed();
  EXPECT_EQ(MapsSnapshot(node1), before);
  const std::map<std::string, uint32_t> flows_after = Flows(node1);
  int kept = 0;
  for (const auto& [key, backend] : flows_before) {
    auto after = flows_after.find(key);
    kept += after != flows_after.end() && after->second == backend;
  }
  EXPECT_EQ(kept, static_cast<int>(flows_before.size())) << "flows lost or moved by the upgrade";
}

}  // namespace
}  // namespace ferry::ferryd
