#include "agent/lb/desired.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "agent/lb/testing/cluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::lb {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::MakeCluster;
using testing::MakePod;

constexpr IdCapacity kCapacity{.services = 64, .backends = 1024, .nodes = 16};
constexpr uint32_t kSmallTable = 251;

DesiredState Compute(const LbInput& input, Ids& ids) {
  absl::StatusOr<DesiredState> desired = ComputeDesired(input, ids);
  EXPECT_TRUE(desired.ok()) << desired.status();
  return desired.ok() ? std::move(*desired) : DesiredState{};
}

DesiredState Compute(const LbInput& input) {
  Ids ids(kCapacity);
  return Compute(input, ids);
}

std::vector<std::string> MemberKeys(const MaglevTableSpec& spec) {
  std::vector<std::string> keys;
  for (const MaglevMember& member : spec.members) keys.push_back(member.key);
  return keys;
}

// Everything but the problems, as comparable bytes.
std::string Bytes(const DesiredState& desired) {
  std::string bytes;
  auto append = [&](const auto& value) {
    bytes.append(reinterpret_cast<const char*>(&value), sizeof(value));
  };
  for (const auto& [key, value] : desired.frontends) append(key), append(value);
  for (const auto& [id, value] : desired.backends) append(id), append(value);
  for (const auto& [id, value] : desired.nodes) append(id), append(value);
  for (const auto& [id, spec] : desired.maglev_tables) {
    append(id);
    for (const MaglevMember& member : spec.members) append(member.backend_id), bytes += member.key;
  }
  return bytes;
}

TEST(DesiredTest, OneServiceAcrossNodes) {
  const LbInput input = MakeCluster(1, 4, 2, kSmallTable);
  const DesiredState desired = Compute(input);
  EXPECT_THAT(desired.problems, IsEmpty());
  ASSERT_EQ(desired.frontends.size(), 1u);
  const auto& [key, frontend] = *desired.frontends.begin();
  EXPECT_EQ(ntohs(key.port), 80);
  EXPECT_EQ(key.proto, IPPROTO_TCP);
  EXPECT_EQ(frontend.maglev_size, kSmallTable);
  EXPECT_EQ(desired.backends.size(), 4u);
  ASSERT_EQ(desired.nodes.size(), 2u);
  ASSERT_TRUE(desired.maglev_tables.contains(frontend.service_id));
  EXPECT_THAT(
      MemberKeys(desired.maglev_tables.at(frontend.service_id)),
      ElementsAre("198.18.16.1:8000", "198.18.16.2:8000", "198.18.17.1:8000", "198.18.17.2:8000"));
  for (const auto& [id, backend] : desired.backends) {
    EXPECT_EQ(backend.flags, FERRY_BACKEND_ACTIVE);
    EXPECT_TRUE(desired.nodes.contains(backend.node_id));
  }
}

TEST(DesiredTest, ThisNodeIsMarkedLocalAndOthersAreNot) {
  LbInput input = MakeCluster(1, 2, 2, kSmallTable);
  input.nodes[1].route.flags = FERRY_NODE_LOCAL;  // a stale flag in the input
  const DesiredState desired = Compute(input);
  int local = 0;
  for (const auto& [id, node] : desired.nodes) {
    if (node.flags & FERRY_NODE_LOCAL) {
      ++local;
      EXPECT_EQ(datapath::FromMap(node.tunnel_dst, node.family).value(), *input.nodes[0].v4);
    } else {
      EXPECT_EQ(std::memcmp(&node, &input.nodes[1].route, offsetof(ferry_node, flags)), 0);
    }
  }
  EXPECT_EQ(local, 1);
}

TEST(DesiredTest, LocalPolicyTableHoldsOnlyThisNodesBackends) {
  LbInput input = MakeCluster(1, 6, 3, kSmallTable);
  input.services[0].policy = TrafficPolicy::kLocal;
  const DesiredState desired = Compute(input);
  ASSERT_EQ(desired.maglev_tables.size(), 1u);
  EXPECT_THAT(MemberKeys(desired.maglev_tables.begin()->second),
              ElementsAre("198.18.16.1:8000", "198.18.16.2:8000"));
  EXPECT_EQ(desired.backends.size(), 6u) << "other nodes' backends keep their flows";
}

TEST(DesiredTest, LocalPolicyWithoutLocalBackendKeepsTheFrontendAndHasNoTable) {
  LbInput input = MakeCluster(1, 1, 2, kSmallTable);
  input.services[0].backends = {MakePod(1, 2)};  // on node1
  input.services[0].policy = TrafficPolicy::kLocal;
  const DesiredState desired = Compute(input);
  EXPECT_EQ(desired.frontends.size(), 1u) << "the VIP drops with no-backend";
  EXPECT_THAT(desired.maglev_tables, IsEmpty());
}

TEST(DesiredTest, WeightZeroBackendKeepsItsEntryButNoSlots) {
  LbInput input = MakeCluster(1, 3, 1, kSmallTable);
  input.services[0].backends[1].weight = 0;
  const DesiredState desired = Compute(input);
  EXPECT_EQ(desired.backends.size(), 3u);
  EXPECT_THAT(MemberKeys(desired.maglev_tables.begin()->second),
              ElementsAre("198.18.16.1:8000", "198.18.16.3:8000"));
}

TEST(DesiredTest, BackendsOnUnknownOrUnreachableNodesAreLeftOut) {
  LbInput input = MakeCluster(1, 2, 2, kSmallTable);
  input.nodes[1].route.family = FERRY_FAMILY_NONE;
  input.services[0].backends.push_back(
      {.address = IpAddress::Parse("198.18.30.1").value(), .port = 80, .node = "node9"});
  const DesiredState desired = Compute(input);
  EXPECT_EQ(desired.backends.size(), 1u);
  EXPECT_EQ(desired.nodes.size(), 1u);
  EXPECT_THAT(desired.problems, Contains(HasSubstr("node node1: no route to it yet")));
  EXPECT_THAT(desired.problems, Contains(HasSubstr("backend 198.18.30.1:80 is on node \"node9\"")));
}

TEST(DesiredTest, AFrontendClaimedTwiceGoesToTheFirstServiceByName) {
  LbInput input = MakeCluster(2, 1, 1, kSmallTable);
  input.services[0].frontends = input.services[1].frontends;
  std::swap(input.services[0], input.services[1]);  // input order must not matter
  const DesiredState desired = Compute(input);
  EXPECT_EQ(desired.frontends.size(), 1u);
  EXPECT_THAT(desired.problems,
              ElementsAre(HasSubstr("service ns/svc00001: frontend 198.19.0.1:80/tcp is "
                                    "already served by ns/svc00000"),
                          HasSubstr("service ns/svc00001: no usable frontend")));
}

TEST(DesiredTest, InvalidFrontendsAndBackendsAreReported) {
  LbInput input = MakeCluster(1, 2, 1, kSmallTable);
  input.services[0].frontends.push_back(
      {.vip = input.services[0].frontends[0].vip, .port = 0, .protocol = IPPROTO_TCP});
  input.services[0].backends.push_back(input.services[0].backends[0]);
  input.services[0].backends.push_back({.node = "node0"});
  const DesiredState desired = Compute(input);
  EXPECT_EQ(desired.frontends.size(), 1u);
  EXPECT_EQ(desired.backends.size(), 2u);
  EXPECT_EQ(desired.problems.size(), 3u) << ::testing::PrintToString(desired.problems);
}

TEST(DesiredTest, ServicesNamingTheSamePodShareOneBackendId) {
  LbInput input = MakeCluster(2, 2, 1, kSmallTable);
  input.services[1].backends = input.services[0].backends;
  const DesiredState desired = Compute(input);
  EXPECT_EQ(desired.backends.size(), 2u);
  ASSERT_EQ(desired.maglev_tables.size(), 2u);
  EXPECT_EQ(desired.maglev_tables.begin()->second.members,
            std::next(desired.maglev_tables.begin())->second.members);
}

TEST(DesiredTest, SameInputInAnyOrderGivesTheSameState) {
  const LbInput input = MakeCluster(20, 5, 3, kSmallTable);
  LbInput shuffled = input;
  std::mt19937 random(7);
  std::shuffle(shuffled.services.begin(), shuffled.services.end(), random);
  for (LbService& service : shuffled.services) {
    std::shuffle(service.backends.begin(), service.backends.end(), random);
  }
  std::shuffle(shuffled.nodes.begin(), shuffled.nodes.end(), random);
  EXPECT_EQ(Bytes(Compute(input)), Bytes(Compute(shuffled)));
}

TEST(DesiredTest, IdsOfWhatStaysSurviveRemovals) {
  LbInput input = MakeCluster(10, 3, 2, kSmallTable);
  Ids ids(kCapacity);
  const DesiredState before = Compute(input, ids);
  input.services.erase(input.services.begin() + 4);
  input.services[0].backends.pop_back();
  const DesiredState after = Compute(input, ids);
  for (const auto& [key, frontend] : after.frontends) {
    ASSERT_TRUE(before.frontends.contains(key));
    EXPECT_EQ(before.frontends.at(key).service_id, frontend.service_id);
  }
  for (const auto& [id, backend] : after.backends) {
    ASSERT_TRUE(before.backends.contains(id));
    EXPECT_EQ(std::memcmp(&before.backends.at(id), &backend, sizeof(backend)), 0);
  }
  EXPECT_EQ(after.backends.size(), before.backends.size() - 4);
}

TEST(DesiredTest, ServicesBeyondTheIdCapacityAreReported) {
  const LbInput input = MakeCluster(3, 1, 1, kSmallTable);
  Ids ids(IdCapacity{.services = 2, .backends = 16, .nodes = 4});
  const DesiredState desired = Compute(input, ids);
  EXPECT_EQ(desired.frontends.size(), 2u);
  EXPECT_THAT(desired.problems, ElementsAre(HasSubstr("service ns/svc00002: all 2 service ids")));
}

TEST(DesiredTest, RejectsATableSizeThatIsNotPrime) {
  Ids ids(kCapacity);
  EXPECT_FALSE(ComputeDesired(MakeCluster(1, 1, 1, 1000), ids).ok());
}

TEST(DesiredTest, SlotsNameTheMembersBackendIdsInWeightProportion) {
  const MaglevTableSpec spec{.size = 1009,
                             .members = {{7, "198.18.16.1:80", 1}, {42, "198.18.16.2:80", 3}}};
  absl::StatusOr<std::vector<uint32_t>> slots = BuildSlots(spec);
  ASSERT_TRUE(slots.ok()) << slots.status();
  ASSERT_EQ(slots->size(), 1009u);
  absl::flat_hash_map<uint32_t, int> share;
  for (uint32_t id : *slots) ++share[id];
  EXPECT_EQ(share.size(), 2u);
  EXPECT_NEAR(share[42], 3 * share[7], 8);
}

}  // namespace
}  // namespace ferry::lb
