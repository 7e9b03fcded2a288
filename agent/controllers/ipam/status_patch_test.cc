#include "agent/controllers/ipam/status_patch.h"

#include "gtest/gtest.h"

namespace ferry::ferryd {
namespace {

net::IpAddress Ip(const char* text) { return *net::IpAddress::Parse(text); }

ipam::Allocation Granted() {
  return {.grants = {{.address = Ip("192.0.2.10"), .pool = "lan", .since = absl::UnixEpoch()},
                     {.address = Ip("2001:db8::10"), .pool = "lan", .since = absl::UnixEpoch()}},
          .condition = {.type = std::string(ipam::kAllocatedCondition),
                        .status = true,
                        .reason = "Allocated",
                        .message = "192.0.2.10, 2001:db8::10 from lan",
                        .last_transition_time = absl::FromUnixSeconds(1000)}};
}

model::Service Observed() {
  return {.metadata = {.name = "web", .namespace_ = "default", .resource_version = "41",
                       .generation = 3}};
}

TEST(ServiceStatusPatchTest, AFreshServiceGetsItsAddressesAndConditionUnderItsVersion) {
  const std::optional<nlohmann::json> patch = ServiceStatusPatch(Observed(), Granted());
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ((*patch)["metadata"]["resourceVersion"], "41");
  const nlohmann::json& ingress = (*patch)["status"]["loadBalancer"]["ingress"];
  ASSERT_EQ(ingress.size(), 2u);
  EXPECT_EQ(ingress[0], (nlohmann::json{{"ip", "192.0.2.10"}, {"ipMode", "VIP"}}));
  EXPECT_EQ(ingress[1]["ip"], "2001:db8::10");
  const nlohmann::json& conditions = (*patch)["status"]["conditions"];
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0]["type"], "ferry.dev/IPAllocated");
  EXPECT_EQ(conditions[0]["status"], "True");
  EXPECT_EQ(conditions[0]["observedGeneration"], 3);
  EXPECT_EQ(conditions[0]["lastTransitionTime"], "1970-01-01T00:16:40+00:00");
}

TEST(ServiceStatusPatchTest, NothingIsWrittenWhenTheStatusAlreadySaysIt) {
  model::Service observed = Observed();
  observed.ingress_ips = {Ip("192.0.2.10"), Ip("2001:db8::10")};
  observed.conditions = {{.type = "ferry.dev/IPAllocated",
                          .status = "True",
                          .reason = "Allocated",
                          .message = "192.0.2.10, 2001:db8::10 from lan",
                          .last_transition_time = "2020-01-01T00:00:00Z",
                          .observed_generation = 3}};
  EXPECT_FALSE(ServiceStatusPatch(observed, Granted()).has_value());

  // A newer generation is acknowledged, keeping the transition time.
  observed.metadata.generation = 4;
  const std::optional<nlohmann::json> patch = ServiceStatusPatch(observed, Granted());
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ((*patch)["status"]["conditions"][0]["observedGeneration"], 4);
  EXPECT_EQ((*patch)["status"]["conditions"][0]["lastTransitionTime"], "2020-01-01T00:00:00Z");
}

TEST(ServiceStatusPatchTest, AddressesInAnotherOrderAreRewritten) {
  model::Service observed = Observed();
  observed.ingress_ips = {Ip("2001:db8::10"), Ip("192.0.2.10")};
  observed.conditions = {{.type = "ferry.dev/IPAllocated", .status = "True",
                          .reason = "Allocated", .message = "192.0.2.10, 2001:db8::10 from lan",
                          .observed_generation = 3}};
  EXPECT_TRUE(ServiceStatusPatch(observed, Granted()).has_value());
}

TEST(ServiceStatusPatchTest, OtherControllersConditionsAreKeptInTheirPlace) {
  model::Service observed = Observed();
  observed.conditions = {
      {.type = "example.com/Checked", .status = "True", .reason = "Fine", .message = "ok",
       .last_transition_time = "2021-02-03T04:05:06Z", .observed_generation = 2},
      {.type = "ferry.dev/IPAllocated", .status = "False", .reason = "NoPool", .message = "none",
       .last_transition_time = "2020-01-01T00:00:00Z"},
      {.type = "example.com/Other", .status = "Unknown"}};
  const std::optional<nlohmann::json> patch = ServiceStatusPatch(observed, Granted());
  ASSERT_TRUE(patch.has_value());
  const nlohmann::json& conditions = (*patch)["status"]["conditions"];
  ASSERT_EQ(conditions.size(), 3u);
  EXPECT_EQ(conditions[0],
            (nlohmann::json{{"type", "example.com/Checked"}, {"status", "True"},
                            {"reason", "Fine"}, {"message", "ok"},
                            {"lastTransitionTime", "2021-02-03T04:05:06Z"},
                            {"observedGeneration", 2}}));
  EXPECT_EQ(conditions[1]["type"], "ferry.dev/IPAllocated");
  // The status changed: the transition is now.
  EXPECT_EQ(conditions[1]["lastTransitionTime"], "1970-01-01T00:16:40+00:00");
  EXPECT_EQ(conditions[2]["type"], "example.com/Other");
}

TEST(ServiceStatusPatchTest, AServiceThatLostItsAddressesGetsAnEmptyIngress) {
  model::Service observed = Observed();
  observed.ingress_ips = {Ip("192.0.2.10")};
  ipam::Allocation waiting{.condition = {.type = std::string(ipam::kAllocatedCondition),
                                         .status = false,
                                         .reason = "PoolExhausted",
                                         .message = "no free address"}};
  const std::optional<nlohmann::json> patch = ServiceStatusPatch(observed, waiting);
  ASSERT_TRUE(patch.has_value());
  EXPECT_TRUE((*patch)["status"]["loadBalancer"]["ingress"].empty());
  EXPECT_EQ((*patch)["status"]["conditions"][0]["status"], "False");
}

TEST(PoolStatusPatchTest, ConditionsCarryThePoolsGenerationAndCountsAreStrings) {
  const model::LoadBalancerIPPool pool{.metadata = {.name = "lan", .generation = 7}};
  const ipam::PoolStatus status{
      .conditions = {{.type = "Ready", .status = true, .reason = "Valid", .message = "ok"}},
      .ipv4 = {.total = 16, .used = 1, .free = 15},
      .ipv6 = {.total = absl::MakeUint128(1, 0), .used = 1, .free = absl::MakeUint128(0, ~0ull)}};
  const nlohmann::json patch = PoolStatusPatch(pool, status);
  EXPECT_EQ(patch["status"]["conditions"][0]["observedGeneration"], 7);
  EXPECT_EQ(patch["status"]["ipv4"], (nlohmann::json{{"total", "16"}, {"used", "1"}, {"free", "15"}}));
  EXPECT_EQ(patch["status"]["ipv6"]["total"], "18446744073709551616");
  EXPECT_EQ(PoolStatusPath("lan"), "/apis/ferry.dev/v1alpha1/loadbalancerippools/lan/status");
}

}  // namespace
}  // namespace ferry::ferryd
