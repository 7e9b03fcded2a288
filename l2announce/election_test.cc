#include "l2announce/election.h"

#include <algorithm>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::l2announce {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

net::IpAddress Ip(const std::string& text) { return *net::IpAddress::Parse(text); }

PolicyMatcher Compiled(L2AnnouncementPolicy policy) {
  absl::StatusOr<PolicyMatcher> matcher = PolicyMatcher::Compile(std::move(policy));
  EXPECT_TRUE(matcher.ok()) << matcher.status();
  return *std::move(matcher);
}

std::vector<PolicyMatcher> OnePolicy(LabelSelectorSpec nodes = {}) {
  std::vector<PolicyMatcher> policies;
  policies.push_back(Compiled({.name = "lan", .node_selector = std::move(nodes)}));
  return policies;
}

const std::vector<ElectionNode> kThreeNodes = {{"node1", {}}, {"node2", {}}, {"node3", {}}};

// n Services with one VIP each, from 198.19.0.1 on, half of them IPv6.
std::vector<ElectionService> Services(int n) {
  std::vector<ElectionService> services;
  for (int i = 0; i < n; ++i) {
    const net::IpAddress vip = i % 2 ? Ip(absl::StrCat("2001:db8:19::", i + 1))
                                       : Ip(absl::StrCat("198.19.0.", i + 1));
    services.push_back({.name = absl::StrCat("default/svc", i), .addresses = {.load_balancer_ips = {vip}}});
  }
  return services;
}

std::map<std::string, int> Loads(const std::vector<Assignment>& assignments) {
  std::map<std::string, int> loads;
  for (const Assignment& a : assignments) {
    if (a.announcer) ++loads[*a.announcer];
  }
  return loads;
}

TEST(ElectionTest, ScoreDependsOnVipAndNode) {
  const net::IpAddress vip = Ip("198.18.0.200");
  EXPECT_EQ(RendezvousScore(vip, "node1"), RendezvousScore(Ip("198.18.0.200"), "node1"));
  EXPECT_NE(RendezvousScore(vip, "node1"), RendezvousScore(vip, "node2"));
  EXPECT_NE(RendezvousScore(vip, "node1"), RendezvousScore(Ip("198.18.0.201"), "node1"));
  EXPECT_NE(RendezvousScore(Ip("0.0.0.1"), "n"), RendezvousScore(Ip("::1"), "n"))
      << "the family is part of the input";
}

TEST(ElectionTest, HundredVipsSpreadWithinTwentyPercentOverThreeNodes) {
  const std::vector<Assignment> assignments = Elect(OnePolicy(), Services(100), kThreeNodes);
  ASSERT_EQ(assignments.size(), 100u);
  const std::map<std::string, int> loads = Loads(assignments);
  ASSERT_EQ(loads.size(), 3u);
  for (const auto& [node, load] : loads) {
    EXPECT_GE(load, 100.0 / 3 * 0.8) << node;
    EXPECT_LE(load, 100.0 / 3 * 1.2) << node;
  }
}

TEST(ElectionTest, EveryNodeComputesTheSameOwnersWhateverTheInputOrder) {
  std::vector<ElectionService> services = Services(60);
  // Two policies selecting the same Services: their order must not matter either.
  std::vector<PolicyMatcher> policies = OnePolicy();
  policies.push_back(Compiled({.name = "all-nodes"}));
  std::vector<ElectionNode> nodes = kThreeNodes;
  const std::vector<Assignment> reference = Elect(policies, services, nodes);
  std::mt19937 shuffle(7);
  for (int round = 0; round < 10; ++round) {
    std::shuffle(services.begin(), services.end(), shuffle);
    std::shuffle(nodes.begin(), nodes.end(), shuffle);
    std::shuffle(policies.begin(), policies.end(), shuffle);
    EXPECT_EQ(Elect(policies, services, nodes), reference) << "round " << round;
  }
}

TEST(ElectionTest, OnlyNodesTheNodeSelectorMatchesAreEligible) {
  const std::vector<ElectionNode> nodes = {
      {"node1", {{"ferry.dev/l2", "yes"}}}, {"node2", {}}, {"node3", {{"ferry.dev/l2", "yes"}}}};
  const std::vector<Assignment> assignments =
      Elect(OnePolicy({.match_labels = {{"ferry.dev/l2", "yes"}}}), Services(30), nodes);
  const std::map<std::string, int> loads = Loads(assignments);
  EXPECT_FALSE(loads.contains("node2"));
  EXPECT_EQ(loads.at("node1") + loads.at("node3"), 30);
}

TEST(ElectionTest, LocalTrafficPolicyFollowsReadyEndpoints) {
  std::vector<ElectionService> services = Services(1);
  services[0].external_traffic_local = true;
  services[0].nodes_with_ready_endpoints = {"node2"};
  EXPECT_EQ(Elect(OnePolicy(), services, kThreeNodes)[0].announcer, "node2");
  // The endpoint moves: so does the announcer.
  services[0].nodes_with_ready_endpoints = {"node3"};
  EXPECT_EQ(Elect(OnePolicy(), services, kThreeNodes)[0].announcer, "node3");
  // No ready endpoint anywhere: nobody announces, so clients fail fast
  // rather than being sent to a node that would drop them.
  services[0].nodes_with_ready_endpoints.clear();
  const std::vector<Assignment> none = Elect(OnePolicy(), services, kThreeNodes);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].announcer, std::nullopt);
  EXPECT_THAT(none[0].services, ElementsAre("default/svc0"));
}

TEST(ElectionTest, UnselectedServicesAreNotAnnounced) {
  std::vector<PolicyMatcher> policies;
  policies.push_back(Compiled({.name = "lan", .service_selector = {.match_labels = {{"l2", "on"}}}}));
  std::vector<ElectionService> services = Services(2);
  services[1].addresses.labels = {{"l2", "on"}};
  const std::vector<Assignment> assignments = Elect(policies, services, kThreeNodes);
  ASSERT_EQ(assignments.size(), 1u);
  EXPECT_EQ(assignments[0].vip, services[1].addresses.load_balancer_ips[0]);
  EXPECT_THAT(assignments[0].policies, ElementsAre("lan"));
}

TEST(ElectionTest, ADeadNodesVipsMoveAndFewOthersDo) {
  const std::vector<ElectionService> services = Services(100);
  const std::vector<Assignment> before = Elect(OnePolicy(), services, kThreeNodes);
  const std::vector<ElectionNode> survivors = {kThreeNodes[0], kThreeNodes[2]};
  const std::vector<Assignment> after = Elect(OnePolicy(), services, survivors);
  ASSERT_EQ(before.size(), after.size());
  int moved_from_survivors = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_NE(after[i].announcer, "node2");
    if (before[i].announcer != "node2" && before[i].announcer != after[i].announcer) {
      ++moved_from_survivors;
    }
  }
  // Bounded loads may shift a few VIPs between survivors, never many.
  EXPECT_LE(moved_from_survivors, 10);
  const std::map<std::string, int> loads = Loads(after);
  EXPECT_EQ(loads.at("node1") + loads.at("node3"), 100);
}

TEST(ElectionTest, LargeLoadFactorIsPlainRendezvousHashing) {
  const std::vector<Assignment> assignments =
      Elect(OnePolicy(), Services(40), kThreeNodes, {.load_factor = 1000});
  for (const Assignment& a : assignments) {
    std::string best;
    for (const ElectionNode& node : kThreeNodes) {
      if (best.empty() || RendezvousScore(a.vip, node.name) > RendezvousScore(a.vip, best)) {
        best = node.name;
      }
    }
    EXPECT_EQ(a.announcer, best) << a.vip;
  }
}

TEST(ElectionTest, NoLiveNodeMeansNoAnnouncer) {
  const std::vector<Assignment> assignments = Elect(OnePolicy(), Services(2), {});
  ASSERT_EQ(assignments.size(), 2u);
  EXPECT_EQ(assignments[0].announcer, std::nullopt);
  EXPECT_THAT(assignments[0].policies, IsEmpty());
}

TEST(ElectionTest, AnnouncingInterfacesComeFromTheAnnouncersPolicies) {
  std::vector<PolicyMatcher> policies;
  policies.push_back(Compiled({.name = "a", .interfaces = {"eth0"}}));
  policies.push_back(Compiled({.name = "b", .interfaces = {"eth1"}}));
  policies.push_back(Compiled({.name = "c", .interfaces = {"eth2"}}));
  const Assignment assignment = {.vip = Ip("198.18.0.200"), .announcer = "node1", .policies = {"a", "c"}};
  const std::vector<std::string> interfaces = {"eth0", "eth1", "eth2", "eth3"};
  EXPECT_THAT(AnnouncingInterfaces(assignment, policies, interfaces), ElementsAre("eth0", "eth2"));
}

}  // namespace
}  // namespace ferry::l2announce
