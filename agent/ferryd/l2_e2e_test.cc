// L2 announcements end to end (issue 5), on the DESIGN.md §6 topology with
// the gateway on the node LAN and no route to the VIPs: the gateway finds
// deploy/examples/l2.yaml's VIPs on-link, by ARP and NDP, and the node
// elected for each answers. Checked from outside: the gateway's neighbour
// table, the client's connections, and a capture on the gateway's LAN port
// of every frame that speaks for a VIP (ARP from the VIP's address, neighbour
// advertisements from it).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test/e2e/examples.h"
#include "test/e2e/netns.h"
#include "test/e2e/topology.h"
#include "test/e2e/traffic.h"
#include "test/e2e/wait.h"

namespace ferry::ferryd {
namespace {

using netns::Node;
using netns::Process;
using netns::Topology;
using netns::WaitFor;

using netns::examples::kPodPort;
using netns::examples::kVipPort;
constexpr const char* kVipV4 = netns::examples::kLanVipV4;
constexpr const char* kVipV6 = netns::examples::kLanVipV6;
constexpr char kGwLan[] = "lan";

// Every frame of a capture that speaks for `vip`: ARP with the VIP as the
// sender (replies and gratuitous ARP), neighbour advertisements from it.
std::string SpeaksFor(const std::string& vip) {
  if (vip.find(':') != std::string::npos) {
    return absl::StrCat("ip6 src ", vip, " and icmp6 and ip6[40] == 136");
  }
  in_addr address{};
  inet_pton(AF_INET, vip.c_str(), &address);
  return absl::StrCat("arp and arp[14:4] = ", ntohl(address.s_addr));
}

struct Frame {
  double seconds = 0;  // of the day, from the capture's timestamp
  std::string source_mac;
};

// tcpdump -e lines: "HH:MM:SS.ffffff <src mac> > <dst mac>, ...".
std::vector<Frame> ParseFrames(const std::vector<std::string>& lines) {
  std::vector<Frame> frames;
  for (const std::string& line : lines) {
    std::vector<std::string> words = absl::StrSplit(line, ' ');
    std::vector<std::string> clock = absl::StrSplit(words.size() > 1 ? words[0] : "", ':');
    double hours = 0, minutes = 0, seconds = 0;
    if (clock.size() != 3 || !absl::SimpleAtod(clock[0], &hours) ||
        !absl::SimpleAtod(clock[1], &minutes) || !absl::SimpleAtod(clock[2], &seconds)) {
      continue;
    }
    frames.push_back({hours * 3600 + minutes * 60 + seconds, words[1]});
  }
  return frames;
}

// How often the speaker changes along the capture: a clean failover is one
// change, a failover and a return two; two nodes answering at once shows as
// the MACs interleaving, many changes.
int SpeakerChanges(const std::vector<Frame>& frames) {
  int changes = 0;
  for (size_t i = 1; i < frames.size(); ++i) {
    if (frames[i].source_mac != frames[i - 1].source_mac) ++changes;
  }
  return changes;
}

// TCP connects to the VIP from the client every few milliseconds, recording
// when each attempt started and whether it was answered.
class Prober {
 public:
  struct Attempt {
    absl::Time start;
    absl::Time end;
    bool answered = false;
  };

  Prober(const netns::Namespace& client, std::string vip) : vip_(std::move(vip)) {
    thread_ = std::thread([this, &client] {
      absl::Status ran = netns::RunIn(client, [this] {
        for (int i = 0; i < 3000 && !stop_.load(); ++i) {
          Attempt attempt;
          attempt.start = absl::Now();
          attempt.answered = Connect();
          attempt.end = absl::Now();
          {
            absl::MutexLock lock(&mu_);
            attempts_.push_back(attempt);
          }
          absl::SleepFor(absl::Milliseconds(20));
        }
        return absl::OkStatus();
      });
      if (!ran.ok()) std::fprintf(stderr, "prober: %s\n", ran.ToString().c_str());
    });
  }
  ~Prober() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::vector<Attempt> attempts() const {
    absl::MutexLock lock(&mu_);
    return attempts_;
  }

  // The end of the first attempt started after `since` that was answered.
  absl::Time FirstAnsweredAfter(absl::Time since) const {
    for (const Attempt& attempt : attempts()) {
      if (attempt.start >= since && attempt.answered) return attempt.end;
    }
    return absl::InfiniteFuture();
  }

  // Until an attempt is answered: the probes reach the VIP from then on.
  bool WaitUntilAnswered() const {
    return WaitFor(
        [&] { return FirstAnsweredAfter(absl::InfinitePast()) != absl::InfiniteFuture(); },
        absl::Seconds(5));
  }

  int FailedAfter(absl::Time since) const {
    int failed = 0;
    for (const Attempt& attempt : attempts()) failed += attempt.start >= since && !attempt.answered;
    return failed;
  }

 private:
  bool Connect() {
    const bool v6 = vip_.find(':') != std::string::npos;
    const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_storage address{};
    socklen_t length = 0;
    if (v6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(kVipPort);
      inet_pton(AF_INET6, vip_.c_str(), &in6->sin6_addr);
      length = sizeof(*in6);
    } else {
      auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
      in4->sin_family = AF_INET;
      in4->sin_port = htons(kVipPort);
      inet_pton(AF_INET, vip_.c_str(), &in4->sin_addr);
      length = sizeof(*in4);
    }
    bool answered = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), length) == 0) {
      answered = true;
    } else if (errno == EINPROGRESS) {
      pollfd ready{.fd = fd, .events = POLLOUT, .revents = 0};
      int error = 0;
      socklen_t size = sizeof(error);
      answered = poll(&ready, 1, 150) == 1 &&
                 getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0;
    }
    close(fd);
    return answered;
  }

  std::string vip_;
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  std::vector<Attempt> attempts_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class L2AnnouncementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<netns::PodCluster> cluster =
        netns::StartPodCluster(FERRY_TEST_SERVER_PATH, kPodPort);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    topology_ = std::move(cluster->topology);
    servers_ = std::move(cluster->servers);
    // The ARP and NDP answers leave by XDP_TX.
    for (Node& node : topology_->nodes()) ASSERT_TRUE(topology_->EnableXdpTx(node).ok());
    ASSERT_TRUE(topology_->WarmUp().ok());
    manifests_ = std::filesystem::path(netns::ScratchDir()) / "manifests";
    std::filesystem::create_directories(manifests_);
    for (const char* file : {"l2.yaml", "nodes.yaml", "pools.yaml"}) {
      std::filesystem::copy_file(std::filesystem::path(FERRY_SOURCE_DIR) / "deploy/examples" / file,
                                 manifests_ / file);
    }
    for (Node& node : topology_->nodes()) {
      absl::StatusOr<std::unique_ptr<Process>> agent = StartAgent(node);
      ASSERT_TRUE(agent.ok()) << agent.status();
      agents_[node.name] = std::move(*agent);
    }
    ASSERT_NO_FATAL_FAILURE(WaitUntilElected());
  }

  void TearDown() override {
    for (auto& [name, agent] : agents_) {
      kill(agent->pid(), SIGCONT);
      absl::StatusOr<int> exit_status = agent->Stop();
      EXPECT_TRUE(exit_status.ok() && *exit_status == 0) << agent->log_path();
      if (HasFailure()) {
        std::printf("%s:\n%s\n", agent->log_path().c_str(), agent->ReadLog().c_str());
      }
    }
    agents_.clear();
    servers_.clear();
    topology_.reset();
    EXPECT_TRUE(netns::CleanUpRun(netns::RunPrefix()).ok());
  }

  absl::StatusOr<std::unique_ptr<Process>> StartAgent(const Node& node) {
    return netns::StartFerryd(node, FERRYD_PATH, manifests_.string(),
                              absl::StrCat("ferryd-", node.name, "-", ++starts_));
  }

  // `ferryctl l2 announcements -o json` against one node's agent.
  nlohmann::json L2View(const Node& node) {
    absl::StatusOr<std::string> out =
        netns::RunCommand(nullptr, {FERRYCTL_PATH, "--socket", netns::FerrydSocket(node),
                                    "--pin-dir", netns::PinDir(node.name), "-o", "json", "l2",
                                    "announcements"});
    if (!out.ok()) return nlohmann::json();
    return nlohmann::json::parse(*out, nullptr, /*allow_exceptions=*/false);
  }

  // The announcer of `vip` as `node` sees it; empty when it has none.
  std::string AnnouncerSeenBy(const Node& node, const std::string& vip) {
    const nlohmann::json view = L2View(node);
    if (!view.is_object() || !view.contains("announcements")) return "";
    for (const nlohmann::json& entry : view["announcements"]) {
      if (entry.value("address", "") == vip && !entry.value("pending", false)) {
        return entry.value("announcer", "");
      }
    }
    return "";
  }

  // Every node names the same announcer for both VIPs.
  void WaitUntilElected() {
    const absl::Time start = absl::Now();
    const bool agreed = WaitFor(
        [&] {
          for (const char* vip : {kVipV4, kVipV6}) {
            std::string first;
            for (Node& node : topology_->nodes()) {
              const std::string seen = AnnouncerSeenBy(node, vip);
              if (seen.empty() || (!first.empty() && seen != first)) return false;
              first = seen;
            }
          }
          return true;
        },
        absl::Seconds(20), absl::Milliseconds(100));
    ASSERT_TRUE(agreed) << "the nodes did not agree on the announcers within 20 s; node1 sees "
                        << L2View(*topology_->node("node1")).dump();
    std::printf("elected in %s: %s by %s, %s by %s\n",
                absl::FormatDuration(absl::Now() - start).c_str(), kVipV4,
                AnnouncerSeenBy(*topology_->node("node1"), kVipV4).c_str(), kVipV6,
                AnnouncerSeenBy(*topology_->node("node1"), kVipV6).c_str());
  }

  // The MAC the gateway's neighbour table holds for the VIP ("" if none).
  std::string GatewayNeighbor(const std::string& vip) {
    absl::StatusOr<std::string> out =
        topology_->gw().Ip({"-j", "neigh", "show", "to", vip, "dev", kGwLan});
    if (!out.ok()) return "";
    const nlohmann::json entries = nlohmann::json::parse(*out, nullptr, false);
    if (!entries.is_array()) return "";
    for (const nlohmann::json& entry : entries) {
      if (entry.contains("lladdr")) return entry["lladdr"].get<std::string>();
    }
    return "";
  }

  const Node* NodeWithMac(const std::string& mac) {
    for (Node& node : topology_->nodes()) {
      if (node.uplink.mac_text == mac) return &node;
    }
    return nullptr;
  }

  void ExpectServed(const char* vip, int connections) {
    absl::StatusOr<netns::TcpClientReport> report = netns::RunTcpClients(
        topology_->client(),
        {.address = vip, .port = kVipPort, .connections = connections, .token_prefix = "l2"});
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->completed, connections)
        << vip << ": " << report->error_count << " failed; first: "
        << absl::StrJoin(report->errors, "; ") << "\n" << Diagnose(vip);
  }

  // After a node comes back, until every pod answers again: its neighbour
  // entries went FAILED while it was away and must be resolved anew.
  void WaitUntilServed(const std::string& vip) {
    const absl::Time start = absl::Now();
    const bool served = WaitFor(
        [&] {
          absl::StatusOr<netns::TcpClientReport> report = netns::RunTcpClients(
              topology_->client(), {.address = vip,
                                    .port = kVipPort,
                                    .connections = 10,
                                    .token_prefix = "l2",
                                    .connection_timeout = absl::Milliseconds(500)});
          return report.ok() && report->completed == 10;
        },
        absl::Seconds(5), absl::Milliseconds(100));
    EXPECT_TRUE(served) << vip << " not fully served 5 s after the node came back\n"
                        << Diagnose(vip);
    std::printf("%s: fully served again %s after the node came back\n", vip.c_str(),
                absl::FormatDuration(absl::Now() - start).c_str());
  }

  // What a person debugging this would look at first.
  std::string Diagnose(const std::string& vip) {
    std::string out = absl::StrCat("gw neigh: ", GatewayNeighbor(vip), "\n");
    for (Node& node : topology_->nodes()) {
      absl::StrAppend(&out, node.name, " (", node.uplink.mac_text, "): ", L2View(node).dump(),
                      "\n");
    }
    return out;
  }

  // Makes the gateway ask again, by broadcast ARP and multicast
  // solicitations that reach every node.
  void FlushGatewayNeighbors() {
    for (const char* vip : {kVipV4, kVipV6}) {
      ASSERT_TRUE(topology_->gw().Ip({"neigh", "flush", "to", vip, "dev", kGwLan}).ok());
    }
  }

  struct Failover {
    std::string from, to;
    absl::Duration neighbor_moved;
    absl::Duration traffic_back;
  };

  // Connections to the VIP while `away`'s pod may be unreachable: every
  // other node's pod answers some.
  void ExpectServedWithout(const std::string& vip, const Node& away) {
    absl::StatusOr<netns::TcpClientReport> report = netns::RunTcpClients(
        topology_->client(), {.address = vip,
                              .port = kVipPort,
                              .connections = 30,
                              .token_prefix = "l2",
                              .connection_timeout = absl::Milliseconds(300)});
    ASSERT_TRUE(report.ok()) << report.status();
    for (const Node& node : topology_->nodes()) {
      if (node.name == away.name) continue;
      EXPECT_GT(report->by_pod[node.pods[0].name], 0) << vip << " via " << node.name;
    }
  }

  // Takes the announcer of `vip` away by `take_away`, measures how long
  // until the gateway's entry names another node and until the client's
  // connections are answered again, brings it back, and checks on a capture
  // that the VIP never had two speakers at once.
  Failover MeasureFailover(const std::string& vip, const std::function<void(Node&)>& take_away,
                           const std::function<void(Node&)>& bring_back) {
    Failover failover;
    Node& victim = *topology_->node(AnnouncerSeenBy(*topology_->node("node1"), vip));
    failover.from = victim.name;
    ExpectServed(vip.c_str(), 5);
    EXPECT_EQ(GatewayNeighbor(vip), victim.uplink.mac_text) << vip;
    absl::StatusOr<std::unique_ptr<netns::Capture>> capture =
        netns::Capture::Start(topology_->gw(), kGwLan);
    EXPECT_TRUE(capture.ok()) << capture.status();
    Prober prober(topology_->client(), vip);
    EXPECT_TRUE(prober.WaitUntilAnswered()) << vip;
    const absl::Time cut = absl::Now();
    take_away(victim);
    absl::Time moved = absl::InfiniteFuture();
    WaitFor(
        [&] {
          const std::string mac = GatewayNeighbor(vip);
          if (mac.empty() || mac == victim.uplink.mac_text) return false;
          moved = absl::Now();
          if (const Node* node = NodeWithMac(mac)) failover.to = node->name;
          return true;
        },
        absl::Seconds(5), absl::Milliseconds(5));
    failover.neighbor_moved = moved - cut;
    // Broadcast and multicast requests during the outage reach every node:
    // only the new announcer may answer them.
    FlushGatewayNeighbors();
    ExpectServedWithout(vip, victim);
    prober.Stop();
    // Not from `taken`: the bridge floods frames for the cut port's MAC to
    // every port, and the other nodes' XDP serves them, which a real switch
    // port's MAC filter would not let through.
    failover.traffic_back = prober.FirstAnsweredAfter(moved) - cut;
    bring_back(victim);
    WaitUntilElected();
    FlushGatewayNeighbors();
    WaitUntilServed(vip);
    if (capture.ok()) {
      absl::StatusOr<std::vector<std::string>> lines = (*capture)->Read(SpeaksFor(vip));
      EXPECT_TRUE(lines.ok()) << lines.status();
      const std::vector<Frame> frames = lines.ok() ? ParseFrames(*lines) : std::vector<Frame>{};
      // Away and possibly back (rendezvous gives the VIP back to the node
      // when it returns): at most two changes of speaker.
      const std::string seen = lines.ok() ? absl::StrJoin(*lines, "\n") : "";
      EXPECT_GE(SpeakerChanges(frames), 1) << vip << ":\n" << seen;
      EXPECT_LE(SpeakerChanges(frames), 2) << vip << ":\n" << seen;
      EXPECT_EQ((*capture)->dropped_by_kernel(), 0u);
    }
    std::printf("%s: %s -> %s; the gateway's entry moved after %s; connections answered again "
                "after %s\n",
                vip.c_str(), failover.from.c_str(), failover.to.c_str(),
                absl::FormatDuration(failover.neighbor_moved).c_str(),
                absl::FormatDuration(failover.traffic_back).c_str());
    EXPECT_FALSE(failover.to.empty()) << vip << ": the gateway's entry never moved";
    EXPECT_NE(failover.to, failover.from);
    EXPECT_LT(failover.neighbor_moved, absl::Seconds(1)) << vip << ": failover over 1 s";
    return failover;
  }

  std::unique_ptr<Topology> topology_;
  std::vector<std::unique_ptr<Process>> servers_;
  std::map<std::string, std::unique_ptr<Process>> agents_;
  std::filesystem::path manifests_;
  int starts_ = 0;
};

TEST_F(L2AnnouncementTest, OnlyTheElectedNodeAnswersAndTrafficFlows) {
  absl::StatusOr<std::unique_ptr<netns::Capture>> capture =
      netns::Capture::Start(topology_->gw(), kGwLan);
  ASSERT_TRUE(capture.ok()) << capture.status();
  for (int round = 0; round < 3; ++round) {
    ASSERT_NO_FATAL_FAILURE(FlushGatewayNeighbors());
    ExpectServed(kVipV4, 20);
    ExpectServed(kVipV6, 20);
  }
  for (const char* vip : {kVipV4, kVipV6}) {
    const Node& announcer = *topology_->node(AnnouncerSeenBy(*topology_->node("node2"), vip));
    EXPECT_EQ(GatewayNeighbor(vip), announcer.uplink.mac_text) << vip;
    absl::StatusOr<std::vector<std::string>> lines = (*capture)->Read(SpeaksFor(vip));
    ASSERT_TRUE(lines.ok()) << lines.status();
    const std::vector<Frame> frames = ParseFrames(*lines);
    // Three rounds of requests, three answers at least.
    EXPECT_GE(frames.size(), 3u) << vip;
    for (const Frame& frame : frames) {
      EXPECT_EQ(frame.source_mac, announcer.uplink.mac_text) << vip << ": a second node answered";
    }
    std::printf("%s: %zu answers on the LAN, all from %s\n", vip, frames.size(),
                announcer.name.c_str());
  }
  EXPECT_EQ((*capture)->dropped_by_kernel(), 0u);
}

// The cut node's pod is cut off too: a third of the flows fail until its
// endpoints would be marked not ready, so traffic counts as back once a
// connection is answered through the new announcer.
TEST_F(L2AnnouncementTest, FailsOverWhenTheAnnouncersLinkIsCut) {
  for (const char* vip : {kVipV4, kVipV6}) {
    MeasureFailover(
        vip,
        [&](Node& node) {
          ASSERT_TRUE(topology_->lan().Ip({"link", "set", node.bridge_port.name, "down"}).ok());
        },
        [&](Node& node) {
          ASSERT_TRUE(topology_->lan().Ip({"link", "set", node.bridge_port.name, "up"}).ok());
        });
  }
}

// A frozen agent's XDP keeps forwarding what reaches it, so connections
// never stop; what must move is who answers ARP/NDP, before the fence lapses.
TEST_F(L2AnnouncementTest, FailsOverWhenTheAnnouncersAgentFreezes) {
  for (const char* vip : {kVipV4, kVipV6}) {
    MeasureFailover(
        vip, [&](Node& node) { ASSERT_EQ(kill(agents_[node.name]->pid(), SIGSTOP), 0); },
        [&](Node& node) { ASSERT_EQ(kill(agents_[node.name]->pid(), SIGCONT), 0); });
  }
}

TEST_F(L2AnnouncementTest, AQuickRestartMovesNothing) {
  const std::string owner = AnnouncerSeenBy(*topology_->node("node1"), kVipV4);
  Node& node = *topology_->node(owner);
  absl::StatusOr<std::unique_ptr<netns::Capture>> capture =
      netns::Capture::Start(topology_->gw(), kGwLan);
  ASSERT_TRUE(capture.ok()) << capture.status();
  Prober prober(topology_->client(), kVipV4);
  ASSERT_TRUE(prober.WaitUntilAnswered());
  const absl::Time restart = absl::Now();
  absl::StatusOr<int> stopped = agents_[owner]->Stop();
  ASSERT_TRUE(stopped.ok() && *stopped == 0) << agents_[owner]->ReadLog();
  absl::StatusOr<std::unique_ptr<Process>> again = StartAgent(node);
  ASSERT_TRUE(again.ok()) << again.status();
  agents_[owner] = std::move(*again);
  // Through the restart and well past the failover time.
  absl::SleepFor(absl::Seconds(2));
  FlushGatewayNeighbors();
  ExpectServed(kVipV4, 10);
  prober.Stop();
  EXPECT_EQ(prober.FailedAfter(restart), 0);
  EXPECT_EQ(GatewayNeighbor(kVipV4), node.uplink.mac_text);
  for (Node& peer : topology_->nodes()) {
    EXPECT_EQ(AnnouncerSeenBy(peer, kVipV4), owner) << "as " << peer.name << " sees it";
  }
  absl::StatusOr<std::vector<std::string>> lines = (*capture)->Read(SpeaksFor(kVipV4));
  ASSERT_TRUE(lines.ok()) << lines.status();
  for (const Frame& frame : ParseFrames(*lines)) {
    EXPECT_EQ(frame.source_mac, node.uplink.mac_text) << "another node took the VIP";
  }
  std::printf("%s: %s restarted; %zu probe connections, none failed; the VIP did not move\n",
              kVipV4, owner.c_str(), prober.attempts().size());
}

}  // namespace
}  // namespace ferry::ferryd
