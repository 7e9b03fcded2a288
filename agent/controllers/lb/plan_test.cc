#include "agent/controllers/lb/plan.h"

#include <netinet/in.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_replace.h"
#include "agent/controllers/examples_testing.h"
#include "agent/controllers/ipam/controller.h"
#include "agent/lb/desired.h"
#include "agent/model/manifest_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::ferryd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Edited(std::string text, const std::map<std::string, std::string>& edits) {
  for (const auto& [from, to] : edits) {
    EXPECT_THAT(text, HasSubstr(from));
    text = absl::StrReplaceAll(text, {{from, to}});
  }
  return text;
}

// deploy/examples, with the edits applied to service.yaml and endpoints.yaml.
model::Model ExampleModel(const std::map<std::string, std::string>& service_edits = {},
                          const std::map<std::string, std::string>& endpoint_edits = {},
                          bool with_pools = true) {
  std::map<std::string, absl::StatusOr<std::string>> files = {
      {"service.yaml", Edited(ReadExample("service.yaml"), service_edits)},
      {"endpoints.yaml", Edited(ReadExample("endpoints.yaml"), endpoint_edits)},
      {"nodes.yaml", ReadExample("nodes.yaml")}};
  if (with_pools) files["pools.yaml"] = ReadExample("pools.yaml");
  model::LoadResult loaded = model::LoadManifests(files, {});
  EXPECT_THAT(loaded.file_errors, IsEmpty());
  return loaded.model;
}

std::string Text(const net::IpAddress& address) { return address.ToString(); }

// A node reached on-link over the uplink (ifindex 2); pods of node1 over
// their veth (ifindex 10 + last byte), MACs derived from the address.
absl::StatusOr<ferry_node> FakeRoute(const net::IpAddress& to) {
  const ferry_addr_key key = datapath::ToMapKey(to);
  ferry_node node{};
  node.tunnel_dst = key.addr;
  node.family = key.family;
  const uint8_t last = to.bytes[to.family == net::IpFamily::kIPv4 ? 3 : 15];
  node.next_hop_mac[5] = last;
  node.source_mac[5] = 0xee;
  const bool pod = Text(to).starts_with("198.18.17.") || Text(to).starts_with("2001:db8:16:1::");
  node.egress_ifindex = pod ? 10u + last : 2u;
  return node;
}

// BuildLbInput with the Services' VIPs from LB-IPAM over the model's pools.
ControllerOutput Build(const model::Model& model, absl::string_view node, Resolver resolve) {
  IpamController ipam([] { return absl::UnixEpoch(); });
  ipam.Update(model, {});
  return BuildLbInput(model, node, 16381, resolve,
                      [&](const model::ObjectRef& service) { return ipam.VipsOf(service); });
}

TEST(ControllerTest, ExampleServiceIsOneLbServicePerFamilyWithEveryPod) {
  ControllerOutput out = Build(ExampleModel(), "node1", FakeRoute);
  EXPECT_THAT(out.problems, IsEmpty());
  EXPECT_EQ(out.input.this_node, "node1");
  EXPECT_EQ(out.input.maglev_size, 16381u);
  ASSERT_EQ(out.input.services.size(), 2u);

  const lb::LbService& v4 = out.input.services[0];
  EXPECT_EQ(v4.name, "default/web/http/IPv4");
  EXPECT_EQ(v4.policy, lb::TrafficPolicy::kCluster);
  ASSERT_EQ(v4.frontends.size(), 1u);
  EXPECT_EQ(Text(v4.frontends[0].vip), "198.19.0.10");
  EXPECT_EQ(v4.frontends[0].port, 80);
  EXPECT_EQ(v4.frontends[0].protocol, IPPROTO_TCP);
  std::vector<std::string> backends;
  for (const lb::Backend& b : v4.backends) {
    backends.push_back(Text(b.address) + ":" + std::to_string(b.port) + "@" + b.node);
    EXPECT_EQ(b.weight, 1u);
  }
  EXPECT_THAT(backends, ElementsAre("198.18.17.10:8080@node1", "198.18.18.10:8080@node2",
                                    "198.18.19.10:8080@node3"));

  const lb::LbService& v6 = out.input.services[1];
  EXPECT_EQ(v6.name, "default/web/http/IPv6");
  ASSERT_EQ(v6.frontends.size(), 1u);
  EXPECT_EQ(Text(v6.frontends[0].vip), "2001:db8:19::10");
  ASSERT_EQ(v6.backends.size(), 3u);
  EXPECT_EQ(Text(v6.backends[2].address), "2001:db8:16:3::10");
  EXPECT_EQ(v6.backends[2].port, 8080);
}

TEST(ControllerTest, NodesCarryTheirAddressesAndTheRouteOverIpv4) {
  ControllerOutput out = Build(ExampleModel(), "node1", FakeRoute);
  ASSERT_EQ(out.input.nodes.size(), 3u);
  const lb::NodeInfo& self = out.input.nodes[0];
  EXPECT_EQ(self.name, "node1");
  EXPECT_EQ(Text(*self.v4), "198.18.0.11");
  EXPECT_EQ(Text(*self.v6), "2001:db8:0:1::11");
  EXPECT_EQ(self.route.family, FERRY_FAMILY_NONE);  // never resolved: it is this node

  const lb::NodeInfo& node2 = out.input.nodes[1];
  EXPECT_EQ(node2.name, "node2");
  EXPECT_EQ(node2.route.family, FERRY_FAMILY_IPV4);
  EXPECT_EQ(datapath::FormatAddress(node2.route.tunnel_dst, FERRY_FAMILY_IPV4), "198.18.0.12");
  EXPECT_EQ(node2.route.next_hop_mac[5], 12);
}

TEST(ControllerTest, UnresolvedNeighbourFallsBackToTheFibAndIsReported) {
  auto resolve = [](const net::IpAddress& to) -> absl::StatusOr<ferry_node> {
    if (Text(to) == "198.18.0.13") return absl::UnavailableError("neighbour not resolved");
    return FakeRoute(to);
  };
  ControllerOutput out = Build(ExampleModel(), "node1", resolve);
  const ferry_node& route = out.input.nodes[2].route;
  EXPECT_EQ(route.family, FERRY_FAMILY_IPV4);
  EXPECT_EQ(datapath::FormatAddress(route.tunnel_dst, FERRY_FAMILY_IPV4), "198.18.0.13");
  EXPECT_EQ(datapath::FormatAddress(route.tunnel_src, FERRY_FAMILY_IPV4), "198.18.0.11");
  const uint8_t zero[6] = {};
  EXPECT_EQ(std::memcmp(route.next_hop_mac, zero, 6), 0);
  EXPECT_EQ(route.egress_ifindex, 0u);
  ASSERT_EQ(out.problems.size(), 1u);
  EXPECT_THAT(out.problems[0], HasSubstr("node node3: neighbour not resolved"));
}

TEST(ControllerTest, NodeWithoutRouteIsUnreachableAndItsBackendsLeftOut) {
  auto resolve = [](const net::IpAddress& to) -> absl::StatusOr<ferry_node> {
    if (Text(to) == "198.18.0.12") return absl::NotFoundError("no route to 198.18.0.12");
    return FakeRoute(to);
  };
  ControllerOutput out = Build(ExampleModel(), "node1", resolve);
  EXPECT_EQ(out.input.nodes[1].route.family, FERRY_FAMILY_NONE);
  EXPECT_THAT(out.problems, ElementsAre(HasSubstr("node node2: no route to 198.18.0.12")));
  lb::Ids ids(lb::IdCapacity{.services = 16, .backends = 64, .nodes = 16});
  absl::StatusOr<lb::DesiredState> desired = lb::ComputeDesired(out.input, ids);
  ASSERT_TRUE(desired.ok()) << desired.status();
  EXPECT_EQ(desired->frontends.size(), 2u);
  EXPECT_EQ(desired->backends.size(), 4u);  // node1's and node3's, both families
  EXPECT_EQ(desired->nodes.size(), 2u);
}

TEST(ControllerTest, LocalPolicyKeepsOnlyThisNodesBackends) {
  ControllerOutput out =
      Build(ExampleModel({{"externalTrafficPolicy: Cluster", "externalTrafficPolicy: Local"}}),
            "node2", FakeRoute);
  ASSERT_EQ(out.input.services.size(), 2u);
  for (const lb::LbService& service : out.input.services) {
    EXPECT_EQ(service.policy, lb::TrafficPolicy::kLocal);
    ASSERT_EQ(service.backends.size(), 1u) << service.name;
    EXPECT_EQ(service.backends[0].node, "node2");
  }
}

TEST(ControllerTest, TerminatingPodDrainsWithWeightZero) {
  ControllerOutput out = Build(
      ExampleModel({}, {{"  - 198.18.17.10\n  conditions:\n    ready: true\n    serving: true\n"
                         "    terminating: false",
                         "  - 198.18.17.10\n  conditions:\n    ready: false\n    serving: true\n"
                         "    terminating: true"}}),
      "node1", FakeRoute);
  ASSERT_EQ(out.input.services.size(), 2u);
  std::map<std::string, uint32_t> weights;
  for (const lb::Backend& b : out.input.services[0].backends) weights[Text(b.address)] = b.weight;
  EXPECT_EQ(weights, (std::map<std::string, uint32_t>{
                         {"198.18.17.10", 0}, {"198.18.18.10", 1}, {"198.18.19.10", 1}}));

  lb::Ids ids(lb::IdCapacity{.services = 16, .backends = 16, .nodes = 16});
  absl::StatusOr<lb::DesiredState> desired = lb::ComputeDesired(out.input, ids);
  ASSERT_TRUE(desired.ok()) << desired.status();
  EXPECT_EQ(desired->backends.size(), 6u) << "the draining pod keeps its backend entry";
  for (const auto& [id, spec] : desired->maglev_tables) {
    absl::StatusOr<std::vector<uint32_t>> slots = lb::BuildSlots(spec);
    ASSERT_TRUE(slots.ok());
    for (const lb::MaglevMember& member : spec.members) {
      if (member.key.starts_with("198.18.17.10:")) {
        EXPECT_EQ(std::count(slots->begin(), slots->end(), member.backend_id), 0)
            << "no new flow goes to the draining pod";
      }
    }
  }
}

TEST(ControllerTest, ServiceWithoutAnAllocatedAddressIsReportedNotServed) {
  ControllerOutput out = Build(ExampleModel({}, {}, /*with_pools=*/false), "node1", FakeRoute);
  EXPECT_THAT(out.input.services, IsEmpty());
  EXPECT_THAT(out.problems,
              ElementsAre(HasSubstr("service default/web: no address allocated (its "
                                    "ferry.dev/IPAllocated condition says why)")));
}

TEST(ControllerTest, SingleFamilyServiceHasOneLbService) {
  ControllerOutput out = Build(
      ExampleModel({{"ferry.dev/ips: 198.19.0.10,2001:db8:19::10", "ferry.dev/ips: 198.19.0.10"},
                    {"name: http\n    protocol: TCP\n    port: 80",
                     "name: web\n    protocol: UDP\n    port: 53"},
                    {"targetPort: http", "targetPort: 8080"}}),
      "node1", FakeRoute);
  ASSERT_EQ(out.input.services.size(), 1u);
  EXPECT_EQ(out.input.services[0].name, "default/web/web/IPv4");
  EXPECT_EQ(out.input.services[0].frontends[0].protocol, IPPROTO_UDP);
  EXPECT_EQ(out.input.services[0].frontends[0].port, 53);
}

TEST(ControllerTest, ConfigHasThisNodesInternalIps) {
  absl::StatusOr<ferry_config> config = ConfigOf(ExampleModel(), "node3", 0x1234, 1450);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(datapath::FormatAddress(config->node_v4, FERRY_FAMILY_IPV4), "198.18.0.13");
  EXPECT_EQ(datapath::FormatAddress(config->node_v6, FERRY_FAMILY_IPV6), "2001:db8:0:1::13");
  EXPECT_EQ(config->flow_hash_seed, 0x1234u);
  EXPECT_EQ(config->tunnel_mtu, 1450);
  EXPECT_TRUE(absl::IsNotFound(ConfigOf(ExampleModel(), "node9", 1, 1500).status()));
}

TEST(ControllerTest, EndpointsAreThisNodesPodsOnTheirVeths) {
  ControllerOutput out = Build(ExampleModel(), "node1", FakeRoute);
  EndpointPlan plan = PlanEndpoints(out.input, 2, FakeRoute);
  EXPECT_THAT(plan.problems, IsEmpty());
  EXPECT_THAT(plan.unresolved, IsEmpty());
  ASSERT_EQ(plan.endpoints.size(), 2u);  // web-1's two addresses, each once
  EXPECT_EQ(Text(plan.endpoints[0].pod), "198.18.17.10");
  EXPECT_EQ(Text(plan.endpoints[1].pod), "2001:db8:16:1::10");
  EXPECT_EQ(plan.endpoints[0].endpoint.ifindex, 20u);
  EXPECT_EQ(plan.endpoints[0].endpoint.pod_mac[5], 10);
  EXPECT_EQ(plan.endpoints[0].endpoint.host_mac[5], 0xee);
}

TEST(ControllerTest, EndpointsRoutedOutOfTheUplinkOrUnresolvedAreKeptAsTheyAre) {
  ControllerOutput out = Build(ExampleModel(), "node1", FakeRoute);
  auto resolve = [](const net::IpAddress& to) -> absl::StatusOr<ferry_node> {
    if (to.family == net::IpFamily::kIPv6) return absl::UnavailableError("no neighbour entry");
    absl::StatusOr<ferry_node> route = FakeRoute(to);
    route->egress_ifindex = 2;  // the uplink
    return route;
  };
  EndpointPlan plan = PlanEndpoints(out.input, 2, resolve);
  EXPECT_THAT(plan.endpoints, IsEmpty());
  ASSERT_EQ(plan.unresolved.size(), 2u);
  EXPECT_THAT(plan.problems,
              ElementsAre(HasSubstr("198.18.17.10 is routed out of the uplink"),
                          HasSubstr("2001:db8:16:1::10: no neighbour entry")));
}

}  // namespace
}  // namespace ferry::ferryd
