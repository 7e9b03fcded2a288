// Self-test of the namespace harness: the §6 topology carries plain routed
// traffic (no BPF) from the client to every pod, captures see it, and clean-up
// leaves nothing behind.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "test/e2e/netns.h"
#include "test/e2e/topology.h"
#include "test/e2e/traffic.h"
#include "test/e2e/wait.h"

namespace ferry::netns {
namespace {

constexpr uint16_t kPodPort = 8080;

std::set<std::string> NamespacesWithPrefix(const std::string& prefix) {
  std::set<std::string> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = e.path().filename();
    if (name.starts_with(prefix)) found.insert(name);
  }
  return found;
}

std::string Describe(const TcpClientReport& report) {
  return absl::StrCat(report.error_count, " errors, first: ",
                      report.errors.empty() ? "none" : report.errors.front());
}

class NetnsHarness : public ::testing::Test {
 protected:
  // Captures and logs live in the run's scratch directory.
  void TearDown() override { EXPECT_TRUE(CleanUpRun(RunPrefix()).ok()); }
};

TopologyOptions ThreeNodes() {
  return {.nodes = {{.name = "node1"}, {.name = "node2"}, {.name = "node3"}}};
}

TEST_F(NetnsHarness, ThreeNodeTopologyRoutesClientTrafficToEveryPod) {
  std::vector<pid_t> server_pids;
  {
    absl::StatusOr<std::unique_ptr<Topology>> topology = Topology::Build(ThreeNodes());
    ASSERT_TRUE(topology.ok()) << topology.status();
    Topology& t = **topology;
    std::vector<std::unique_ptr<Process>> servers;
    for (Node& node : t.nodes()) {
      for (Pod& pod : node.pods) {
        absl::StatusOr<std::unique_ptr<Process>> server =
            StartTestServer(*pod.ns, FERRY_TEST_SERVER_PATH, pod.name, kPodPort);
        ASSERT_TRUE(server.ok()) << server.status();
        server_pids.push_back((*server)->pid());
        servers.push_back(std::move(*server));
      }
    }
    absl::Status warm = t.WarmUp();
    ASSERT_TRUE(warm.ok()) << warm;

    for (Node& node : t.nodes()) {
      EXPECT_EQ(node.ns->GetSysctl("net.ipv4.ip_forward").value_or("?"), "1") << node.name;
      EXPECT_EQ(node.ns->GetSysctl("net.ipv6.conf.all.forwarding").value_or("?"), "1");
      EXPECT_EQ(node.ns->GetSysctl("net.ipv4.conf.eth0.rp_filter").value_or("?"), "0");
      EXPECT_EQ(node.ns->GetSysctl("net.ipv4.conf.all.rp_filter").value_or("?"), "0");
      EXPECT_EQ(node.uplink.name, "eth0");
      EXPECT_GT(node.uplink.ifindex, 0);
      EXPECT_NE(node.uplink.mac, node.bridge_port.mac);
      for (Pod& pod : node.pods) {
        for (const IpAddress* address : {&pod.v4, &pod.v6}) {
          EXPECT_TRUE(
              RunCommand(&t.client(), {"ping", "-c", "1", "-W", "2", address->ToString()}).ok())
              << "ping " << address->ToString();
          absl::StatusOr<TcpClientReport> report = RunTcpClients(
              t.client(), {.address = address->ToString(), .port = kPodPort, .connections = 20});
          ASSERT_TRUE(report.ok()) << report.status();
          EXPECT_EQ(report->completed, 20) << address->ToString() << ": " << Describe(*report);
          EXPECT_EQ(report->by_pod, (std::map<std::string, int>{{pod.name, 20}}));
        }
      }
    }
    // A pod reaches another node's pod by native routing, not via the gw.
    Pod& from = t.nodes()[0].pods[0];
    Pod& to = t.nodes()[2].pods[0];
    absl::StatusOr<std::string> route = t.nodes()[0].ns->Ip({"route", "get", to.v4.ToString()});
    ASSERT_TRUE(route.ok()) << route.status();
    EXPECT_NE(route->find("via " + t.nodes()[2].v4.ToString()), std::string::npos) << *route;
    absl::StatusOr<TcpClientReport> report =
        RunTcpClients(*from.ns, {.address = to.v6.ToString(), .port = kPodPort, .connections = 5});
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->completed, 5);
  }
  // The topology is gone, and with it every process it ran.
  EXPECT_EQ(NamespacesWithPrefix(RunPrefix()), std::set<std::string>{});
  for (pid_t pid : server_pids) EXPECT_NE(kill(pid, 0), 0) << "server " << pid << " survived";
}

TEST_F(NetnsHarness, CaptureCountsTheConnectionsItSaw) {
  absl::StatusOr<std::unique_ptr<Topology>> topology =
      Topology::Build({.nodes = {{.name = "node1"}}});
  ASSERT_TRUE(topology.ok()) << topology.status();
  Topology& t = **topology;
  Pod& pod = t.nodes()[0].pods[0];
  absl::StatusOr<std::unique_ptr<Process>> server =
      StartTestServer(*pod.ns, FERRY_TEST_SERVER_PATH, pod.name, kPodPort);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::unique_ptr<Capture>> capture =
      Capture::Start(*pod.ns, "eth0");
  ASSERT_TRUE(capture.ok()) << capture.status();

  absl::StatusOr<TcpClientReport> report =
      RunTcpClients(t.client(), {.address = pod.v4.ToString(), .port = kPodPort, .connections = 7});
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->completed, 7);

  absl::StatusOr<size_t> syns =
      (*capture)->Count(absl::StrCat("tcp dst port ", kPodPort, " and tcp[tcpflags] == tcp-syn"));
  ASSERT_TRUE(syns.ok()) << syns.status();
  EXPECT_EQ(*syns, 7u);
  EXPECT_EQ((*capture)->dropped_by_kernel(), 0u);
  absl::StatusOr<size_t> from_client =
      (*capture)->Count(absl::StrCat("src host ", t.client_v4().ToString()));
  absl::StatusOr<size_t> to_client =
      (*capture)->Count(absl::StrCat("dst host ", t.client_v4().ToString()));
  ASSERT_TRUE(from_client.ok() && to_client.ok());
  // Each connection: SYN, ACK, data, FIN/ACK... both ways.
  EXPECT_GE(*from_client, 7u * 4);
  EXPECT_GE(*to_client, 7u * 3);
  absl::StatusOr<size_t> none = (*capture)->Count("udp");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

// A run that died (its pid is gone) left a namespace with a process in it
// and a pin directory: CleanUpStaleRuns removes them, and leaves the
// resources of live runs alone.
TEST_F(NetnsHarness, CleanUpRemovesLeftoversOfDeadRunsOnly) {
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  waitpid(dead, nullptr, 0);
  const std::string stale_prefix = absl::StrCat("ft", dead, "-");
  const std::string stale_ns = stale_prefix + "node1";
  const std::string stale_pin = absl::StrCat("/sys/fs/bpf/ferry/", stale_prefix, "node1");
  ASSERT_TRUE(RunCommand(nullptr, {"ip", "netns", "add", stale_ns}).ok());
  std::filesystem::create_directories(stale_pin);
  // A leaked process in the stale namespace.
  pid_t leaked = fork();
  if (leaked == 0) {
    execlp("ip", "ip", "netns", "exec", stale_ns.c_str(), "sleep", "60", nullptr);
    _exit(127);
  }
  // Until it is in there: `ip netns exec` enters the namespace, then runs
  // sleep. The namespace's bind mount and the process's link name one inode.
  const auto inode = [](const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        return inode(absl::StrCat("/proc/", leaked, "/ns/net")) == inode("/run/netns/" + stale_ns);
      },
      absl::Seconds(5)));
  absl::StatusOr<std::unique_ptr<Namespace>> live = Namespace::Create("live");
  ASSERT_TRUE(live.ok()) << live.status();

  absl::StatusOr<std::vector<std::string>> removed = CleanUpStaleRuns();
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_NE(std::find(removed->begin(), removed->end(), stale_prefix), removed->end());
  EXPECT_EQ(NamespacesWithPrefix(stale_prefix), std::set<std::string>{});
  EXPECT_FALSE(std::filesystem::exists(stale_pin));
  int status = 0;
  EXPECT_EQ(waitpid(leaked, &status, 0), leaked);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the leaked process was not killed";
  EXPECT_EQ(NamespacesWithPrefix(RunPrefix()), std::set<std::string>{(*live)->name()});
}

}  // namespace
}  // namespace ferry::netns
