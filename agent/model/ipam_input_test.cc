// The allocator's view of a model Service.
#include "agent/model/ipam_input.h"

#include "agent/model/model_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::model {
namespace {

using testing::DecodeOnly;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

net::IpAddress Ip(absl::string_view text) { return *net::IpAddress::Parse(text); }

TEST(IpamInputTest, EveryFieldTheAllocatorReads) {
  const ipam::Service service = IpamServiceOf(DecodeOnly<Service>(R"(
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  creationTimestamp: "2024-05-02T10:11:12Z"
  labels: {app: web, announce: l2}
  annotations:
    ferry.dev/ips: 2001:db8:19::10
    ferry.dev/sharing-key: front
    ferry.dev/pool: lan
spec:
  type: LoadBalancer
  loadBalancerClass: ferry.dev/lb
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv6, IPv4]
  loadBalancerIP: 198.19.0.10
  ports:
  - {name: http, port: 80}
  - {name: dns, port: 53, protocol: UDP}
status:
  loadBalancer:
    ingress: [{ip: 198.19.0.10}, {ip: 2001:db8:19::10}]
)"));
  EXPECT_EQ(service.ref, (ipam::ServiceRef{"shop", "web"}));
  EXPECT_EQ(service.labels, (net::Labels{{"app", "web"}, {"announce", "l2"}}));
  EXPECT_EQ(service.load_balancer_class, "ferry.dev/lb");
  EXPECT_TRUE(service.IsFerrys());
  EXPECT_EQ(service.ip_family_policy, ipam::IpFamilyPolicy::kPreferDualStack);
  EXPECT_THAT(service.ip_families, ElementsAre(net::IpFamily::kIPv6, net::IpFamily::kIPv4));
  EXPECT_THAT(service.requested_ips, ElementsAre(Ip("198.19.0.10"), Ip("2001:db8:19::10")))
      << "spec.loadBalancerIP first, then the annotation";
  EXPECT_EQ(service.sharing_key, "front");
  EXPECT_EQ(service.pool, "lan");
  EXPECT_THAT(service.ports, ElementsAre(ipam::ServicePort{80, ipam::Protocol::kTCP},
                                         ipam::ServicePort{53, ipam::Protocol::kUDP}));
  EXPECT_EQ(service.creation_timestamp,
            absl::FromCivil(absl::CivilSecond(2024, 5, 2, 10, 11, 12), absl::UTCTimeZone()));
  EXPECT_THAT(service.status_ips, ElementsAre(Ip("198.19.0.10"), Ip("2001:db8:19::10")));
}

TEST(IpamInputTest, WhatAManifestLeavesOutIsIpamsDefault) {
  const ipam::Service service =
      IpamServiceOf(DecodeOnly<Service>("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
                                        "spec: {type: LoadBalancer, ports: [{port: 80}]}\n"));
  EXPECT_EQ(service.ref, (ipam::ServiceRef{"default", "web"}));
  EXPECT_EQ(service.ip_family_policy, ipam::IpFamilyPolicy::kSingleStack);
  EXPECT_THAT(service.ip_families, IsEmpty());
  EXPECT_THAT(service.requested_ips, IsEmpty());
  EXPECT_EQ(service.sharing_key, "");
  EXPECT_EQ(service.pool, "");
  EXPECT_EQ(service.creation_timestamp, absl::InfinitePast());
  EXPECT_THAT(service.status_ips, IsEmpty());
  EXPECT_TRUE(service.IsFerrys());
}

TEST(IpamInputTest, TheAllocatorReadsTheWishesOfTheMappedService) {
  Service web;
  web.metadata.name = "web";
  web.metadata.namespace_ = "default";
  web.ports = {{.port = 80}};
  web.ip_family_policy = IpFamilyPolicy::kRequireDualStack;
  web.annotated_ips = {Ip("198.19.0.10")};
  const ipam::Wishes wishes = ipam::WishesOf(IpamServiceOf(web));
  EXPECT_EQ(wishes.error, "is RequireDualStack but requests only an IPv4 address");
}

}  // namespace
}  // namespace ferry::model
