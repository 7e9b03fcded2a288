#include "agent/controllers/l2/inputs.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_replace.h"
#include "agent/controllers/examples_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::ferryd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// deploy/examples' nodes and pools with l2.yaml, `edit` applied to l2.yaml.
model::LoadResult Load(const std::map<std::string, std::string>& edits = {}) {
  std::string l2 = ReadExample("l2.yaml");
  for (const auto& [from, to] : edits) {
    EXPECT_THAT(l2, HasSubstr(from));
    l2 = absl::StrReplaceAll(l2, {{from, to}});
  }
  return model::LoadManifests({{"l2.yaml", l2},
                               {"nodes.yaml", ReadExample("nodes.yaml")},
                               {"pools.yaml", ReadExample("pools.yaml")}},
                              {});
}

std::vector<net::IpAddress> LanVips(const model::ObjectRef& service) {
  if (service.name != "web-lan") return {};
  return {*net::IpAddress::Parse("198.18.0.200"), *net::IpAddress::Parse("2001:db8:0:1::ff10")};
}

L2Inputs Build(const model::LoadResult& loaded, std::vector<std::string> interfaces = {"eth0"},
               absl::string_view node = "node1") {
  return BuildL2Inputs(loaded.model, loaded.object_errors, node, interfaces, LanVips);
}

const l2announce::Condition* Find(const L2Inputs& inputs, absl::string_view type) {
  for (const L2PolicyStatus& policy : inputs.policy_status) {
    for (const l2announce::Condition& condition : policy.conditions) {
      if (condition.type == type) return &condition;
    }
  }
  return nullptr;
}

TEST(L2InputsTest, TheExamplePolicyAnnouncesTheLanServicesVips) {
  const L2Inputs inputs = Build(Load());
  ASSERT_EQ(inputs.policies.size(), 1u);
  EXPECT_EQ(inputs.policies[0].policy().name, "lan");
  ASSERT_EQ(inputs.services.size(), 1u);
  EXPECT_EQ(inputs.services[0].name, "default/web-lan");
  EXPECT_THAT(inputs.policies[0].AnnouncedAddresses(inputs.services[0].addresses),
              ElementsAre(*net::IpAddress::Parse("198.18.0.200"),
                          *net::IpAddress::Parse("2001:db8:0:1::ff10")));
  EXPECT_FALSE(inputs.services[0].external_traffic_local);
  ASSERT_EQ(inputs.nodes.size(), 3u);
  EXPECT_EQ(inputs.nodes[0].name, "node1");
  ASSERT_NE(Find(inputs, "Accepted"), nullptr);
  EXPECT_EQ(Find(inputs, "Accepted")->status, l2announce::ConditionStatus::kTrue);
  EXPECT_EQ(Find(inputs, "InterfacesMatched")->status, l2announce::ConditionStatus::kTrue);
}

TEST(L2InputsTest, LocalTrafficPolicyListsTheNodesWithReadyEndpoints) {
  const L2Inputs inputs =
      Build(Load({{"externalTrafficPolicy: Cluster", "externalTrafficPolicy: Local"},
                  {"{addresses: [198.18.18.10], conditions: {ready: true}",
                   "{addresses: [198.18.18.10], conditions: {ready: false}"},
                  {"{addresses: [\"2001:db8:16:2::10\"], conditions: {ready: true}",
                   "{addresses: [\"2001:db8:16:2::10\"], conditions: {ready: false}"}}));
  ASSERT_EQ(inputs.services.size(), 1u);
  EXPECT_TRUE(inputs.services[0].external_traffic_local);
  EXPECT_THAT(inputs.services[0].nodes_with_ready_endpoints, ElementsAre("node1", "node3"));
}

TEST(L2InputsTest, AnInterfaceEntryMatchingNothingHereIsReported) {
  const L2Inputs inputs = Build(Load(), {"ens3"});
  const l2announce::Condition* matched = Find(inputs, "InterfacesMatched");
  ASSERT_NE(matched, nullptr);
  EXPECT_EQ(matched->status, l2announce::ConditionStatus::kFalse);
  EXPECT_EQ(matched->reason, "NoMatchingInterface");
  EXPECT_THAT(matched->message, HasSubstr("node1"));
}

TEST(L2InputsTest, AnotherNodesInterfacesAreNotJudgedHere) {
  const L2Inputs inputs = Build(Load({{"  interfaces:\n", "  nodeSelector:\n    matchLabels:\n"
                                                          "      kubernetes.io/hostname: node2\n"
                                                          "  interfaces:\n"}}),
                                {"ens3"});
  EXPECT_EQ(Find(inputs, "InterfacesMatched"), nullptr);
  EXPECT_EQ(Find(inputs, "Accepted")->status, l2announce::ConditionStatus::kTrue);
}

TEST(L2InputsTest, AnInvalidPolicyIsNotAcceptedAndSaysWhy) {
  const model::LoadResult loaded = Load({{"  - eth0\n", "  - \"eth[0\"\n"}});
  const L2Inputs inputs = Build(loaded);
  EXPECT_THAT(inputs.policies, IsEmpty());
  EXPECT_THAT(inputs.services, IsEmpty()) << "no policy: nothing to elect";
  const l2announce::Condition* accepted = Find(inputs, "Accepted");
  ASSERT_NE(accepted, nullptr);
  EXPECT_EQ(accepted->status, l2announce::ConditionStatus::kFalse);
  EXPECT_THAT(accepted->message, HasSubstr("spec.interfaces[0]"));
  EXPECT_THAT(accepted->message, HasSubstr("not in effect"));
}

TEST(L2InputsTest, ExternalIPsAreAnnouncedWhenThePolicySaysSo) {
  const model::LoadResult loaded =
      Load({{"  loadBalancerIPs: true\n", "  loadBalancerIPs: false\n  externalIPs: true\n"},
            {"  externalTrafficPolicy: Cluster\n",
             "  externalTrafficPolicy: Cluster\n  externalIPs: [198.18.0.230]\n"}});
  const L2Inputs inputs = Build(loaded);
  ASSERT_EQ(inputs.policies.size(), 1u);
  ASSERT_EQ(inputs.services.size(), 1u);
  EXPECT_THAT(inputs.policies[0].AnnouncedAddresses(inputs.services[0].addresses),
              ElementsAre(*net::IpAddress::Parse("198.18.0.230")));
}

TEST(L2InputsTest, ABadExternalIPIsNamed) {
  const model::LoadResult loaded = Load({{"  externalTrafficPolicy: Cluster\n",
                                          "  externalTrafficPolicy: Cluster\n"
                                          "  externalIPs: [198.18.0.230, 198.18.0.300]\n"}});
  ASSERT_EQ(loaded.object_errors.size(), 1u);
  EXPECT_THAT(loaded.object_errors[0].ToString(), HasSubstr("spec.externalIPs[1]"));
}

}  // namespace
}  // namespace ferry::ferryd
