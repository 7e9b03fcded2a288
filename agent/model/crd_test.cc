// Ferry's own kinds in the model: LoadBalancerIPPool and
// L2AnnouncementPolicy, decoded from YAML and checked by the libraries that
// own them, every problem naming its object and field.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "agent/model/decode.h"
#include "agent/model/model.h"
#include "agent/model/model_testing.h"
#include "agent/model/validate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::model {
namespace {

using testing::DecodeOnly;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::Problems;

constexpr absl::string_view kPool = R"(apiVersion: ferry.dev/v1alpha1
kind: LoadBalancerIPPool
metadata:
  name: lan
  creationTimestamp: "2024-05-02T10:11:12Z"
  labels:
    site: lab
  resourceVersion: "42"
spec:
  blocks:
  - cidr: 198.18.0.192/26
  - start: 2001:db8:0:1::ff00
    stop: 2001:db8:0:1::ff0f
  serviceSelector:
    matchLabels:
      announce: l2
    matchExpressions:
    - key: io.kubernetes.service.namespace
      operator: In
      values: [default, shop]
    - key: legacy
      operator: DoesNotExist
  disabled: true
  allowFirstLastIPs: true
  avoidBuggyIPs: true
status:
  conditions: []
)";

// A pool named lan with these spec fields (flow style).
std::string PoolYaml(absl::string_view spec) {
  return absl::StrCat("apiVersion: ferry.dev/v1alpha1\nkind: LoadBalancerIPPool\n",
                      "metadata: {name: lan}\nspec: {", spec, "}\n");
}

constexpr absl::string_view kPolicy = R"(apiVersion: ferry.dev/v1alpha1
kind: L2AnnouncementPolicy
metadata:
  name: lan
  creationTimestamp: "2024-05-02T10:11:12Z"
spec:
  serviceSelector:
    matchLabels: {announce: l2}
  nodeSelector:
    matchExpressions:
    - {key: ferry.dev/l2, operator: Exists}
    - {key: node-role.kubernetes.io/control-plane, operator: DoesNotExist}
  interfaces: [eth0, "enp[0-9]+s0"]
  loadBalancerIPs: false
  externalIPs: true
)";

std::string PolicyYaml(absl::string_view spec) {
  return absl::StrCat("apiVersion: ferry.dev/v1alpha1\nkind: L2AnnouncementPolicy\n",
                      "metadata: {name: lan}\nspec: {", spec, "}\n");
}

absl::Time May2() {
  return absl::FromCivil(absl::CivilSecond(2024, 5, 2, 10, 11, 12), absl::UTCTimeZone());
}

TEST(PoolTest, DecodesEveryField) {
  const LoadBalancerIPPool pool = DecodeOnly<LoadBalancerIPPool>(kPool);
  EXPECT_EQ(pool.Ref().ToString(), "LoadBalancerIPPool lan");
  EXPECT_EQ(pool.metadata.namespace_, "") << "cluster-scoped";
  EXPECT_EQ(pool.metadata.labels, (net::Labels{{"site", "lab"}}));
  EXPECT_EQ(pool.metadata.creation_timestamp, May2());
  const ipam::PoolSpec expected{
      .name = "lan",
      .blocks = {{.cidr = "198.18.0.192/26"},
                 {.start = "2001:db8:0:1::ff00", .stop = "2001:db8:0:1::ff0f"}},
      .service_selector = {.match_labels = {{"announce", "l2"}},
                           .match_expressions = {{.key = "io.kubernetes.service.namespace",
                                                  .operator_ = "In",
                                                  .values = {"default", "shop"}},
                                                 {.key = "legacy", .operator_ = "DoesNotExist"}}},
      .disabled = true,
      .allow_first_last_ips = true,
      .avoid_buggy_ips = true,
      .creation_timestamp = May2()};
  EXPECT_EQ(pool.spec, expected);
  EXPECT_TRUE(ipam::ParsePool(pool.spec).ok());
}

TEST(PoolTest, DefaultsAreTheCrds) {
  const LoadBalancerIPPool pool =
      DecodeOnly<LoadBalancerIPPool>(PoolYaml("blocks: [{cidr: 198.19.0.0/16}]"));
  EXPECT_EQ(pool.spec, (ipam::PoolSpec{.name = "lan", .blocks = {{.cidr = "198.19.0.0/16"}}}));
  EXPECT_EQ(pool.spec.creation_timestamp, absl::InfinitePast()) << "ordered by name alone";
}

TEST(PoolTest, EveryProblemNamesItsField) {
  EXPECT_THAT(
      Problems(PoolYaml("blocks: [{cidr: 198.19.0.0/33}, {start: 198.18.0.9, stop: 198.18.0.1}, "
                        "{start: 198.18.1.1, stop: \"2001:db8::1\"}, {cidr: 198.20.0.0/16, "
                        "start: 198.20.0.1}, {cidr: 198.18.0.0/24}, {start: 198.18.0.10, "
                        "stop: 198.18.0.20}]")),
      ElementsAre(
          "LoadBalancerIPPool lan: spec.blocks[0].cidr: \"198.19.0.0/33\": the prefix length "
          "must be 0-32 for IPv4",
          "LoadBalancerIPPool lan: spec.blocks[1].start: \"198.18.0.9\" is after stop "
          "\"198.18.0.1\"",
          "LoadBalancerIPPool lan: spec.blocks[2]: start 198.18.1.1 is IPv4 but stop "
          "2001:db8::1 is IPv6; one block is one family",
          "LoadBalancerIPPool lan: spec.blocks[3]: set either cidr, or start and stop",
          "LoadBalancerIPPool lan: spec.blocks[5]: 198.18.0.10-198.18.0.20 overlaps "
          "198.18.0.0/24 of the same pool"));
  EXPECT_THAT(Problems(PoolYaml("blocks: []")),
              ElementsAre("LoadBalancerIPPool lan: spec.blocks: a pool needs at least one block"));
  EXPECT_THAT(
      Problems(PoolYaml("blocks: [{cidr: 198.19.0.0/16}], serviceSelector: {matchLabels: "
                        "{\"a b\": x}, matchExpressions: [{key: tier, operator: Equals}]}")),
      ElementsAre("LoadBalancerIPPool lan: spec.serviceSelector.matchLabels[a b]: label key "
                  "\"a b\": the name must be 1-63 letters, digits, '-', '_' and '.', starting "
                  "and ending with a letter or digit",
                  "LoadBalancerIPPool lan: spec.serviceSelector.matchExpressions[0].operator: "
                  "\"Equals\" is not one of In, NotIn, Exists, DoesNotExist"));
}

TEST(PoolTest, FieldShapesAreCheckedWhileDecoding) {
  EXPECT_THAT(
      Problems(PoolYaml("blocks: [{cidr: [198.19.0.0/16]}], disabled: \"yes\", "
                        "serviceSelector: {matchExpressions: [{key: a, operator: In, values: "
                        "x}]}")),
      ElementsAre("LoadBalancerIPPool lan: spec.blocks[0].cidr: must be a string",
                  "LoadBalancerIPPool lan: spec.serviceSelector.matchExpressions[0].values: must "
                  "be a list",
                  "LoadBalancerIPPool lan: spec.disabled: \"yes\" is not a boolean (true or "
                  "false)"));
  EXPECT_THAT(Problems(PoolYaml("blocks: {cidr: 198.19.0.0/16}")),
              ElementsAre("LoadBalancerIPPool lan: spec.blocks: must be a list"));
  EXPECT_THAT(Problems("apiVersion: ferry.dev/v1alpha1\nkind: LoadBalancerIPPool\n"
                       "metadata: {name: lan}\n"),
              ElementsAre("LoadBalancerIPPool lan: spec: required"));
}

TEST(PoolTest, NameAndVersion) {
  const std::string pool = PoolYaml("blocks: [{cidr: 198.19.0.0/16}]");
  EXPECT_THAT(Problems(absl::StrReplaceAll(pool, {{"name: lan", "name: LAN_1"}})),
              ElementsAre("LoadBalancerIPPool LAN_1: metadata.name: \"LAN_1\" is not a DNS-1123 "
                          "subdomain (at most 253 characters: DNS-1123 labels joined by '.')"));
  EXPECT_THAT(Problems(absl::StrReplaceAll(pool, {{"name: lan", "labels: {}"}})),
              ElementsAre("LoadBalancerIPPool (no name): metadata.name: must not be empty"));
  EXPECT_THAT(Problems(absl::StrReplaceAll(pool, {{"v1alpha1", "v1"}})),
              ElementsAre("LoadBalancerIPPool lan: apiVersion: \"ferry.dev/v1\" is not supported "
                          "for LoadBalancerIPPool; use ferry.dev/v1alpha1"));
}

TEST(L2PolicyTest, DecodesEveryField) {
  const L2AnnouncementPolicy policy = DecodeOnly<L2AnnouncementPolicy>(kPolicy);
  EXPECT_EQ(policy.Ref().ToString(), "L2AnnouncementPolicy lan");
  EXPECT_EQ(policy.metadata.creation_timestamp, May2());
  EXPECT_EQ(
      policy.spec,
      (l2announce::L2AnnouncementPolicy{
          .name = "lan",
          .service_selector = {.match_labels = {{"announce", "l2"}}},
          .node_selector = {.match_expressions = {{.key = "ferry.dev/l2", .operator_ = "Exists"},
                                                  {.key = "node-role.kubernetes.io/control-plane",
                                                   .operator_ = "DoesNotExist"}}},
          .interfaces = {"eth0", "enp[0-9]+s0"},
          .load_balancer_ips = false,
          .external_ips = true}));
}

TEST(L2PolicyTest, DefaultsAreTheCrds) {
  const L2AnnouncementPolicy policy = DecodeOnly<L2AnnouncementPolicy>(PolicyYaml(""));
  EXPECT_EQ(policy.spec, (l2announce::L2AnnouncementPolicy{.name = "lan"}));
  EXPECT_TRUE(policy.spec.load_balancer_ips);
  EXPECT_FALSE(policy.spec.external_ips);
  EXPECT_THAT(policy.spec.interfaces, IsEmpty());
}

TEST(L2PolicyTest, EveryProblemNamesItsField) {
  EXPECT_THAT(
      Problems(PolicyYaml("interfaces: [eth0, \"enp[0-9\", \"\"], loadBalancerIPs: false, "
                          "nodeSelector: {matchExpressions: [{key: ferry.dev/l2, operator: Has}]}, "
                          "serviceSelector: {matchLabels: {app: \"-web\"}}")),
      ElementsAre(
          "L2AnnouncementPolicy lan: spec.serviceSelector.matchLabels[app]: label value \"-web\" "
          "must be empty or 1-63 letters, digits, '-', '_' and '.', starting and ending with a "
          "letter or digit",
          "L2AnnouncementPolicy lan: spec.nodeSelector.matchExpressions[0].operator: \"Has\" is "
          "not one of In, NotIn, Exists, DoesNotExist",
          "L2AnnouncementPolicy lan: spec.interfaces[1]: \"enp[0-9\" is not a regular "
          "expression: missing ]: [0-9",
          "L2AnnouncementPolicy lan: spec.interfaces[2]: empty: give an interface name or a "
          "regular expression",
          "L2AnnouncementPolicy lan: spec: loadBalancerIPs and externalIPs are both false: "
          "nothing to announce"));
  EXPECT_THAT(Problems(PolicyYaml("interfaces: eth0, externalIPs: 1")),
              ElementsAre("L2AnnouncementPolicy lan: spec.interfaces: must be a list",
                          "L2AnnouncementPolicy lan: spec.externalIPs: \"1\" is not a boolean "
                          "(true or false)"));
  EXPECT_THAT(Problems("apiVersion: ferry.dev/v1alpha1\nkind: L2AnnouncementPolicy\n"
                       "metadata: {name: lan}\nspec: [eth0]\n"),
              ElementsAre("L2AnnouncementPolicy lan: spec: must be a map of fields"));
}

TEST(CrdTest, AnInvalidPoolCostsOnlyItself) {
  const DecodedManifest decoded =
      testing::Decode(absl::StrCat(PoolYaml("blocks: [{cidr: 198.19.0.1/16}]"), "---\n",
                                   absl::StrReplaceAll(PoolYaml("blocks: [{cidr: 198.19.0.0/16}]"),
                                                       {{"name: lan", "name: bgp"}}),
                                   "---\n", PolicyYaml("")));
  ASSERT_EQ(decoded.objects.size(), 2u);
  EXPECT_EQ(RefOf(decoded.objects[0].object).ToString(), "LoadBalancerIPPool bgp");
  EXPECT_EQ(RefOf(decoded.objects[1].object).ToString(), "L2AnnouncementPolicy lan");
  ASSERT_EQ(decoded.problems.size(), 1u);
  EXPECT_EQ(decoded.problems[0].line, 1);
  EXPECT_EQ(decoded.problems[0].error,
            (ValidationError{.object = {"LoadBalancerIPPool", "", "lan"},
                             .field = "spec.blocks[0].cidr",
                             .reason = "\"198.19.0.1/16\" has host bits set; did you mean "
                                       "198.19.0.0/16?"}));
}

TEST(CrdTest, TheModelKeepsPoolsAndPoliciesByName) {
  Model model;
  const LoadBalancerIPPool pool = DecodeOnly<LoadBalancerIPPool>(kPool);
  const L2AnnouncementPolicy policy = DecodeOnly<L2AnnouncementPolicy>(kPolicy);
  ASSERT_TRUE(model.Add(pool).ok());
  ASSERT_TRUE(model.Add(policy).ok());
  EXPECT_EQ(model.size(), 2u);
  EXPECT_EQ(model.pools().at(pool.Ref()), pool);
  EXPECT_EQ(model.l2_policies().at(policy.Ref()), policy);
  const absl::Status again = model.Add(pool);
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_EQ(again.message(), "LoadBalancerIPPool lan is already in the model");

  Model other;
  ASSERT_TRUE(other.Add(pool).ok());
  EXPECT_NE(other, model) << "policies count in equality";
  ASSERT_TRUE(other.Add(policy).ok());
  EXPECT_EQ(other, model);
}

TEST(CrdTest, ValidationOfTypedObjectsNeedsNoYaml) {
  const LoadBalancerIPPool pool{.metadata = {.name = "lan"}, .spec = {.name = "lan"}};
  EXPECT_THAT(Validate(Object(pool)),
              ElementsAre(ValidationError{.object = {"LoadBalancerIPPool", "", "lan"},
                                          .field = "spec.blocks",
                                          .reason = "a pool needs at least one block"}));
  const L2AnnouncementPolicy policy{.metadata = {.name = "lan"}, .spec = {.name = "lan"}};
  EXPECT_THAT(Validate(Object(policy)), IsEmpty());
}

}  // namespace
}  // namespace ferry::model
