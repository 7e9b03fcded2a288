#include "l2announce/policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::l2announce {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

net::IpAddress Ip(const char* text) { return *net::IpAddress::Parse(text); }

L2AnnouncementPolicy Policy(std::vector<std::string> interfaces = {}) {
  return {.name = "lan",
          .service_selector = {.match_labels = {{"expose", "lan"}}},
          .node_selector = {.match_expressions = {{"ferry.dev/l2", "Exists", {}}}},
          .interfaces = std::move(interfaces)};
}

PolicyMatcher Compiled(L2AnnouncementPolicy policy) {
  absl::StatusOr<PolicyMatcher> matcher = PolicyMatcher::Compile(std::move(policy));
  EXPECT_TRUE(matcher.ok()) << matcher.status();
  return *std::move(matcher);
}

TEST(PolicyTest, BadRegularExpressionIsReportedWithItsField) {
  const std::vector<FieldError> errors = Validate(Policy({"eth0", "enp[0-9"}));
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0].field, "spec.interfaces[1]");
  EXPECT_THAT(errors[0].reason, HasSubstr("\"enp[0-9\" is not a regular expression"));
  const absl::StatusOr<PolicyMatcher> matcher = PolicyMatcher::Compile(Policy({"enp[0-9"}));
  EXPECT_EQ(matcher.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(matcher.status().message(), HasSubstr("L2AnnouncementPolicy lan: spec.interfaces[0]"));
}

TEST(PolicyTest, EmptyInterfaceEntryAndNothingToAnnounceAreErrors) {
  L2AnnouncementPolicy policy = Policy({""});
  policy.load_balancer_ips = false;
  const std::vector<FieldError> errors = Validate(policy);
  ASSERT_THAT(errors, SizeIs(2));
  EXPECT_EQ(errors[0].field, "spec.interfaces[0]");
  EXPECT_EQ(errors[1].field, "spec");
}

TEST(PolicyTest, InterfacesMatchByNameOrWholeRegularExpression) {
  const PolicyMatcher matcher = Compiled(Policy({"eth0\\.100", "enp[0-9]+s0", "br+lan"}));
  const std::vector<std::string> available = {"lo",     "eth0",     "eth0.100", "eth0x100",
                                              "enp3s0", "enp3s0f1", "br+lan"};
  EXPECT_THAT(matcher.SelectInterfaces(available), ElementsAre("eth0.100", "enp3s0", "br+lan"));
  EXPECT_THAT(matcher.UnmatchedInterfaceEntries(available), IsEmpty());
  EXPECT_THAT(matcher.UnmatchedInterfaceEntries(std::vector<std::string>{"enp3s0"}), ElementsAre(0, 2));
  // An unescaped dot is any character.
  EXPECT_THAT(Compiled(Policy({"eth0.100"})).SelectInterfaces(available),
              ElementsAre("eth0.100", "eth0x100"));
}

TEST(PolicyTest, NoInterfacesSelectsEveryAvailableOne) {
  const PolicyMatcher matcher = Compiled(Policy());
  const std::vector<std::string> available = {"eth0", "eth1"};
  EXPECT_THAT(matcher.SelectInterfaces(available), ElementsAre("eth0", "eth1"));
}

TEST(PolicyTest, AddressSwitchesChooseWhatIsAnnounced) {
  const ServiceAddresses service = {.labels = {{"expose", "lan"}},
                                    .load_balancer_ips = {Ip("198.18.0.200")},
                                    .external_ips = {Ip("198.18.0.201")}};
  L2AnnouncementPolicy policy = Policy();
  EXPECT_THAT(Compiled(policy).AnnouncedAddresses(service), ElementsAre(Ip("198.18.0.200")));
  policy.external_ips = true;
  EXPECT_THAT(Compiled(policy).AnnouncedAddresses(service),
              ElementsAre(Ip("198.18.0.200"), Ip("198.18.0.201")));
  policy.load_balancer_ips = false;
  EXPECT_THAT(Compiled(policy).AnnouncedAddresses(service), ElementsAre(Ip("198.18.0.201")));
  ServiceAddresses other = service;
  other.labels = {{"expose", "bgp"}};
  EXPECT_THAT(Compiled(policy).AnnouncedAddresses(other), IsEmpty());
}

TEST(PolicyTest, NodeSelector) {
  const PolicyMatcher matcher = Compiled(Policy());
  EXPECT_TRUE(matcher.SelectsNode({{"ferry.dev/l2", ""}}));
  EXPECT_FALSE(matcher.SelectsNode({{"role", "worker"}}));
}

TEST(PolicyTest, ConditionsOfAValidPolicyWhoseInterfacesMatch) {
  const std::vector<NodeInterfaces> nodes = {{"node1", {{"ferry.dev/l2", ""}}, {"eth0"}},
                                             {"node2", {}, {"wlan0"}}};
  EXPECT_THAT(PolicyConditions(Policy({"eth0"}), nodes),
              ElementsAre(Condition{"Accepted", ConditionStatus::kTrue, "Valid", "the policy is valid"},
                          testing::Field(&Condition::reason, "Matched")));
}

TEST(PolicyTest, ConditionsNameInterfacesThatMatchNothing) {
  const std::vector<NodeInterfaces> nodes = {{"node1", {{"ferry.dev/l2", ""}}, {"eth0"}},
                                             {"node2", {{"ferry.dev/l2", ""}}, {"eth1"}},
                                             {"node3", {}, {}}};
  const std::vector<Condition> conditions = PolicyConditions(Policy({"eth0", "bond.*"}), nodes);
  ASSERT_THAT(conditions, SizeIs(2));
  EXPECT_EQ(conditions[1].type, "InterfacesMatched");
  EXPECT_EQ(conditions[1].status, ConditionStatus::kFalse);
  EXPECT_EQ(conditions[1].reason, "NoMatchingInterface");
  EXPECT_EQ(conditions[1].message,
            "spec.interfaces[0] \"eth0\" matches no interface on node2; spec.interfaces[1] "
            "\"bond.*\" matches no interface on node1, node2");
}

TEST(PolicyTest, ConditionsWhenNoNodeIsSelected) {
  const std::vector<NodeInterfaces> nodes = {{"node1", {}, {"eth0"}}};
  const std::vector<Condition> conditions = PolicyConditions(Policy(), nodes);
  ASSERT_THAT(conditions, SizeIs(2));
  EXPECT_EQ(conditions[1].reason, "NoSelectedNode");
}

TEST(PolicyTest, ConditionsOfInvalidPolicies) {
  L2AnnouncementPolicy bad_selector = Policy({"eth["});
  bad_selector.node_selector.match_expressions[0].operator_ = "Has";
  std::vector<Condition> conditions = PolicyConditions(bad_selector, {});
  ASSERT_THAT(conditions, SizeIs(1));
  EXPECT_EQ(conditions[0].status, ConditionStatus::kFalse);
  EXPECT_EQ(conditions[0].reason, "InvalidSelector");
  EXPECT_THAT(conditions[0].message, HasSubstr("spec.nodeSelector.matchExpressions[0].operator"));
  EXPECT_THAT(conditions[0].message, HasSubstr("spec.interfaces[0]"));

  conditions = PolicyConditions(Policy({"eth["}), {});
  ASSERT_THAT(conditions, SizeIs(1));
  EXPECT_EQ(conditions[0].reason, "InvalidInterface");
  EXPECT_EQ(StatusName(conditions[0].status), "False");
}

}  // namespace
}  // namespace ferry::l2announce
