// The BGP planner: which sessions this node runs and which routes each peer
// gets, on typed models built in the tests.
#include "agent/controllers/bgp/plan.h"

#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::bgp_control {
namespace {

using model::BgpAdvertised;
using net::IpAddress;
using net::IpFamily;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

IpAddress Ip(absl::string_view text) { return IpAddress::Parse(text).value(); }
net::IpPrefix Prefix(absl::string_view text) { return net::IpPrefix::Parse(text).value(); }

// node k: 198.18.0.(10+k), 2001:db8:0:1::(10+k), pod CIDRs 198.18.(16+k).0/24
// and 2001:db8:16:k::/64 (DESIGN.md §6).
model::Node NodeK(int k, net::Labels labels = {}) {
  return {.metadata = {.name = absl::StrCat("node", k), .labels = std::move(labels)},
          .internal_ips = {Ip(absl::StrCat("198.18.0.", 10 + k)),
                           Ip(absl::StrCat("2001:db8:0:1::", 10 + k))},
          .pod_cidrs = {Prefix(absl::StrCat("198.18.", 16 + k, ".0/24")),
                        Prefix(absl::StrCat("2001:db8:16:", k, "::/64"))}};
}

model::Service Svc(absl::string_view name, net::Labels labels = {},
                   model::TrafficPolicy policy = model::TrafficPolicy::kCluster,
                   absl::string_view namespace_ = "default") {
  return {.metadata = {.name = std::string(name),
                       .namespace_ = std::string(namespace_),
                       .labels = std::move(labels)},
          .ports = {{.name = "http", .port = 80, .target_port = {.number = 8080}}},
          .external_traffic_policy = policy};
}

// One slice of `family` for `service` with one endpoint per node name.
model::EndpointSlice Endpoints(const model::Service& service, IpFamily family,
                               std::vector<std::string> nodes,
                               model::EndpointConditions conditions = {}) {
  model::EndpointSlice slice{
      .metadata = {.name = absl::StrCat(service.metadata.name, "-", net::FamilyName(family)),
                   .namespace_ = service.metadata.namespace_},
      .address_type = family,
      .service_name = service.metadata.name,
      .ports = {{.name = "http", .port = 8080}}};
  for (size_t i = 0; i < nodes.size(); ++i) {
    const std::string address = family == IpFamily::kIPv4 ? absl::StrCat("198.18.20.", i + 1)
                                                          : absl::StrCat("2001:db8:20::", i + 1);
    slice.endpoints.push_back(
        {.addresses = {Ip(address)}, .conditions = conditions, .node_name = nodes[i]});
  }
  return slice;
}

model::BgpPeer Peer(absl::string_view name, model::BgpPeerSpec spec = {}) {
  if (spec.peer_address == IpAddress{}) spec.peer_address = Ip("198.18.0.1");
  if (spec.peer_asn == 0) spec.peer_asn = 64512;
  if (spec.local_asn == 0) spec.local_asn = 64513;
  return {.metadata = {.name = std::string(name)}, .spec = std::move(spec)};
}

model::BgpAdvertisement Advertise(absl::string_view name, model::BgpAdvertisementSpec spec = {}) {
  if (spec.advertise.empty()) spec.advertise = {BgpAdvertised::kLoadBalancerIPs};
  return {.metadata = {.name = std::string(name)}, .spec = std::move(spec)};
}

// A model, the VIPs LB-IPAM granted and the Secrets there are.
struct World {
  model::Model model;
  std::map<model::ObjectRef, std::vector<IpAddress>> vips;
  std::map<std::pair<std::string, std::string>, absl::StatusOr<std::string>> secrets;

  void Add(model::Object object) {
    const model::ObjectRef ref = model::RefOf(object);
    ASSERT_TRUE(model.Add(std::move(object)).ok()) << ref;
  }
  // A Service with ready endpoints of both families on `nodes`, and VIPs.
  void AddService(const model::Service& service, std::vector<IpAddress> granted,
                  std::vector<std::string> nodes = {"node2"}) {
    Add(service);
    Add(Endpoints(service, IpFamily::kIPv4, nodes));
    Add(Endpoints(service, IpFamily::kIPv6, nodes));
    vips[service.Ref()] = std::move(granted);
  }

  BgpPlan Plan(absl::string_view node = "node1",
               std::span<const model::ObjectError> rejected = {}) const {
    auto vips_of = [&](const model::ObjectRef& ref) {
      auto it = vips.find(ref);
      return it == vips.end() ? std::vector<IpAddress>{} : it->second;
    };
    auto read_secret = [&](absl::string_view name,
                           absl::string_view key) -> absl::StatusOr<std::string> {
      auto it = secrets.find({std::string(name), std::string(key)});
      if (it == secrets.end()) return absl::NotFoundError(absl::StrCat("no Secret ", name));
      return it->second;
    };
    return PlanBgp(model, node, vips_of, read_secret, rejected);
  }
};

// node1 and node2, the gw peer and these advertisements.
World GwWith(std::vector<model::BgpAdvertisement> advertisements) {
  World world;
  world.Add(NodeK(1));
  world.Add(NodeK(2));
  world.Add(Peer("gw"));
  for (model::BgpAdvertisement& advertisement : advertisements) world.Add(std::move(advertisement));
  return world;
}

// The usual start: an advertisement of every Service's VIPs.
World Basic() { return GwWith({Advertise("vips")}); }

std::string Show(const bgp::Advertisement& route) {
  std::string text =
      absl::StrCat(route.prefix.ToString(), " via ", route.next_hop.address.ToString());
  if (!route.communities.empty()) {
    absl::StrAppend(&text,
                    " c=", absl::StrJoin(route.communities, ",", [](std::string* out, uint32_t c) {
                      absl::StrAppend(out, model::CommunityName(c));
                    }));
  }
  if (!route.large_communities.empty()) {
    absl::StrAppend(&text, " lc=",
                    absl::StrJoin(route.large_communities, ",",
                                  [](std::string* out, const bgp::LargeCommunity& c) {
                                    absl::StrAppend(out, model::LargeCommunityName(c));
                                  }));
  }
  if (route.local_pref) absl::StrAppend(&text, " lp=", *route.local_pref);
  if (route.med) absl::StrAppend(&text, " med=", *route.med);
  return text;
}

// Each peer's routes, "peer: route", in plan order.
std::vector<std::string> Routes(const BgpPlan& plan) {
  std::vector<std::string> shown;
  for (const PeerPlan& peer : plan.peers) {
    for (const bgp::Advertisement& route : peer.routes) {
      shown.push_back(absl::StrCat(peer.config.name, ": ", Show(route)));
    }
  }
  return shown;
}

std::vector<std::string> PeerNames(const BgpPlan& plan) {
  std::vector<std::string> names;
  for (const PeerPlan& peer : plan.peers) names.push_back(peer.config.name);
  return names;
}

// "Type=Status/Reason: message" for each condition of `ref`.
std::vector<std::string> ConditionsOf(const BgpPlan& plan, const model::ObjectRef& ref) {
  std::vector<std::string> shown;
  for (const ObjectStatus& status : plan.statuses) {
    if (status.object != ref) continue;
    for (const Condition& c : status.conditions) {
      shown.push_back(absl::StrCat(c.type, "=", l2announce::StatusName(c.status), "/", c.reason,
                                   ": ", c.message));
    }
  }
  return shown;
}

const model::ObjectRef kGwRef{"BGPPeer", "", "gw"};

TEST(BgpPlanTest, EachVipIsAHostRouteWithTheNodesAddressOfItsFamilyAsNextHop) {
  World world = Basic();
  world.AddService(Svc("web"), {Ip("198.19.0.10"), Ip("2001:db8:19::10")});
  const BgpPlan plan = world.Plan();
  EXPECT_THAT(Routes(plan), ElementsAre("gw: 198.19.0.10/32 via 198.18.0.11",
                                        "gw: 2001:db8:19::10/128 via 2001:db8:0:1::11"))
      << "the IPv6 route over the IPv4 session carries the Node's IPv6 address";
  EXPECT_THAT(plan.problems, IsEmpty());
  EXPECT_THAT(plan.down, IsEmpty());
  ASSERT_EQ(plan.peers.size(), 1u);
  const bgp::PeerConfig& config = plan.peers[0].config;
  bgp::PeerConfig expected{.name = "gw", .peer_address = Ip("198.18.0.1"), .ttl = 1};
  expected.session.local_as = 64513;
  expected.session.peer_as = 64512;
  expected.session.router_id = 0xC612000B;  // 198.18.0.11, the node's first IPv4 InternalIP
  EXPECT_EQ(config, expected);
  EXPECT_EQ(config.session.hold_time, absl::Seconds(90));
  EXPECT_THAT(config.session.families, ElementsAre(bgp::kIpv4Unicast, bgp::kIpv6Unicast));
  EXPECT_THAT(ConditionsOf(plan, kGwRef),
              ElementsAre("Accepted=True/Valid: the peer is valid",
                          "SessionConfigured=True/Configured: node node1 runs a session to "
                          "198.18.0.1"));
  EXPECT_THAT(ConditionsOf(plan, {"BGPAdvertisement", "", "vips"}),
              ElementsAre("Accepted=True/Valid: the advertisement is valid"));
}

TEST(BgpPlanTest, EverySpecFieldReachesThePeerConfig) {
  World world;
  world.Add(NodeK(1));
  world.Add(Peer("gw", {.peer_address = Ip("2001:db8:0:1::1"),
                        .peer_asn = 4200000000,
                        .local_asn = 64513,
                        .router_id = Ip("10.0.0.1"),
                        .source_address = Ip("2001:db8:0:1::11"),
                        .port = 1179,
                        .hold_time = absl::Seconds(9),
                        .keepalive_time = absl::Seconds(3),
                        .connect_retry_time = absl::Seconds(300),
                        .password_secret_ref = model::SecretKeyRef{"bgp", "gw"},
                        .families = {bgp::kIpv6Unicast, bgp::kIpv4Unicast},
                        .graceful_restart = {.enabled = false, .restart_time = absl::Seconds(30)},
                        .ebgp_multihop = 2,
                        .passive = true}));
  world.secrets[{"bgp", "gw"}] = "s3cret\n";
  const BgpPlan plan = world.Plan();
  ASSERT_THAT(PeerNames(plan), ElementsAre("gw")) << absl::StrJoin(plan.problems, "\n");
  bgp::PeerConfig expected{.name = "gw",
                           .peer_address = Ip("2001:db8:0:1::1"),
                           .peer_port = 1179,
                           .source_address = Ip("2001:db8:0:1::11"),
                           .md5_password = "s3cret",
                           .ttl = 2};
  expected.session = {.local_as = 64513,
                      .peer_as = 4200000000,
                      .router_id = 0x0A000001,
                      .hold_time = absl::Seconds(9),
                      .keepalive_time = absl::Seconds(3),
                      .connect_retry_time = absl::Seconds(300),
                      .connect_retry_max = absl::Seconds(300),
                      .passive = true,
                      .families = {bgp::kIpv4Unicast, bgp::kIpv6Unicast},
                      .graceful_restart = {.enabled = false, .restart_time = absl::Seconds(30)}};
  EXPECT_EQ(plan.peers[0].config, expected) << "the password without its file's line break";
}

TEST(BgpPlanTest, TtlIsOneForExternalPeersAnd255ForInternalOnes) {
  World world;
  world.Add(NodeK(1));
  world.Add(Peer("external"));
  world.Add(Peer("internal", {.peer_address = Ip("198.18.0.2"), .peer_asn = 64513}));
  world.Add(
      Peer("multihop", {.peer_address = Ip("198.18.0.3"), .peer_asn = 64513, .ebgp_multihop = 5}));
  const BgpPlan plan = world.Plan();
  ASSERT_THAT(PeerNames(plan), ElementsAre("external", "internal", "multihop"));
  EXPECT_EQ(plan.peers[0].config.ttl, 1);
  EXPECT_EQ(plan.peers[1].config.ttl, 255);
  EXPECT_EQ(plan.peers[2].config.ttl, 5);
}

TEST(BgpPlanTest, LocalTrafficPolicyIsAdvertisedOnlyFromNodesWithALocalReadyEndpoint) {
  World world = Basic();
  world.AddService(Svc("local", {}, model::TrafficPolicy::kLocal), {Ip("198.19.0.1")}, {"node2"});
  world.AddService(Svc("cluster"), {Ip("198.19.0.2")}, {"node2"});
  EXPECT_THAT(Routes(world.Plan("node1")), ElementsAre("gw: 198.19.0.2/32 via 198.18.0.11"));
  EXPECT_THAT(Routes(world.Plan("node2")), ElementsAre("gw: 198.19.0.1/32 via 198.18.0.12",
                                                       "gw: 198.19.0.2/32 via 198.18.0.12"));
}

TEST(BgpPlanTest, AServiceWithoutReadyEndpointsOfAVipsFamilyIsNotAdvertised) {
  World world = Basic();
  const model::Service none = Svc("none");
  world.Add(none);
  world.vips[none.Ref()] = {Ip("198.19.0.1")};
  const model::Service draining = Svc("draining");
  world.Add(draining);
  world.Add(Endpoints(draining, IpFamily::kIPv4, {"node1"},
                      {.ready = false, .serving = true, .terminating = true}));
  world.vips[draining.Ref()] = {Ip("198.19.0.2")};
  const model::Service v4_only = Svc("v4-only");
  world.Add(v4_only);
  world.Add(Endpoints(v4_only, IpFamily::kIPv4, {"node2"}));
  world.vips[v4_only.Ref()] = {Ip("198.19.0.3"), Ip("2001:db8:19::3")};
  EXPECT_THAT(Routes(world.Plan()), ElementsAre("gw: 198.19.0.3/32 via 198.18.0.11"))
      << "no endpoints, only terminating ones, or none of the VIP's family: no route";
}

TEST(BgpPlanTest, AServiceWithoutVipsIsNotAdvertised) {
  World world = Basic();
  world.AddService(Svc("web"), {});
  EXPECT_THAT(Routes(world.Plan()), IsEmpty());
}

TEST(BgpPlanTest, TheServiceSelectorSeesLabelsAndTheNamespace) {
  World world = GwWith(
      {Advertise("not-l2", {.service_selector = {.match_expressions = {{.key = "announce",
                                                                        .operator_ = "NotIn",
                                                                        .values = {"l2"}}}}}),
       Advertise("shop", {.service_selector = {.match_labels = {{"io.kubernetes.service.namespace",
                                                                 "shop"}}},
                          .communities = {1}})});
  world.AddService(Svc("web"), {Ip("198.19.0.1")});
  world.AddService(Svc("lan", {{"announce", "l2"}}), {Ip("198.18.0.200")});
  world.AddService(Svc("cart", {{"announce", "l2"}}, model::TrafficPolicy::kCluster, "shop"),
                   {Ip("198.19.0.3")});
  EXPECT_THAT(Routes(world.Plan()), ElementsAre("gw: 198.19.0.1/32 via 198.18.0.11",
                                                "gw: 198.19.0.3/32 via 198.18.0.11 c=0:1"));
}

TEST(BgpPlanTest, AnAdvertisementAppliesToThePeersItNamesOrToAll) {
  World world;
  world.Add(NodeK(1));
  world.Add(Peer("gw"));
  world.Add(Peer("gw2", {.peer_address = Ip("198.18.0.2")}));
  world.Add(Advertise("all", {.communities = {1}}));
  world.Add(Advertise("only-gw2", {.peers = {"gw2", "gone"}, .communities = {2}}));
  world.AddService(Svc("web"), {Ip("198.19.0.1")});
  const BgpPlan plan = world.Plan();
  EXPECT_THAT(Routes(plan), ElementsAre("gw: 198.19.0.1/32 via 198.18.0.11 c=0:1",
                                        "gw2: 198.19.0.1/32 via 198.18.0.11 c=0:1,0:2"));
  EXPECT_THAT(plan.problems, ElementsAre("BGPAdvertisement only-gw2: spec.peers[1]: there is no "
                                         "BGPPeer \"gone\""));
}

TEST(BgpPlanTest, APeerRunsOnlyOnTheNodesItsSelectorSelects) {
  World world;
  world.Add(NodeK(1, {{"rack", "a"}}));
  world.Add(NodeK(2, {{"rack", "b"}}));
  world.Add(Peer("rack-a", {.node_selector = {.match_labels = {{"rack", "a"}}}}));
  world.Add(Peer("rack-c", {.peer_address = Ip("198.18.0.3"),
                            .node_selector = {.match_labels = {{"rack", "c"}}}}));
  world.Add(Peer("all", {.peer_address = Ip("198.18.0.4")}));
  const BgpPlan on_1 = world.Plan("node1");
  EXPECT_THAT(PeerNames(on_1), ElementsAre("all", "rack-a"));
  EXPECT_THAT(PeerNames(world.Plan("node2")), ElementsAre("all"));
  EXPECT_THAT(ConditionsOf(world.Plan("node2"), {"BGPPeer", "", "rack-a"}),
              ElementsAre("Accepted=True/Valid: the peer is valid"))
      << "node1's session is node1's to report";
  EXPECT_THAT(ConditionsOf(on_1, {"BGPPeer", "", "rack-c"}),
              ElementsAre("Accepted=True/Valid: the peer is valid",
                          "SessionConfigured=False/NoSelectedNode: spec.nodeSelector selects no "
                          "node"));
}

TEST(BgpPlanTest, APeerGetsOnlyPrefixesOfItsFamilies) {
  World world;
  world.Add(NodeK(1));
  world.Add(Peer("v4", {.families = {bgp::kIpv4Unicast}}));
  world.Add(Peer("v6", {.peer_address = Ip("2001:db8:0:1::1"), .families = {bgp::kIpv6Unicast}}));
  world.Add(Advertise("vips"));
  world.AddService(Svc("web"), {Ip("198.19.0.10"), Ip("2001:db8:19::10")});
  EXPECT_THAT(Routes(world.Plan()), ElementsAre("v4: 198.19.0.10/32 via 198.18.0.11",
                                                "v6: 2001:db8:19::10/128 via 2001:db8:0:1::11"));
}

TEST(BgpPlanTest, TheSourceAddressIsTheNextHopOfItsFamily) {
  World world;
  model::Node node = NodeK(1);
  node.internal_ips = {Ip("198.18.0.11")};  // no IPv6 InternalIP
  world.Add(node);
  world.Add(Peer("gw", {.source_address = Ip("198.18.0.111")}));
  world.Add(Advertise("vips"));
  world.AddService(Svc("web"), {Ip("198.19.0.10"), Ip("2001:db8:19::10"), Ip("2001:db8:19::11")});
  const BgpPlan plan = world.Plan();
  EXPECT_THAT(Routes(plan), ElementsAre("gw: 198.19.0.10/32 via 198.18.0.111"));
  EXPECT_THAT(plan.problems,
              ElementsAre("BGPPeer gw: 2 IPv6 prefix(es) not advertised: no next hop (neither "
                          "spec.sourceAddress nor an InternalIP of node node1 is IPv6)"));
}

TEST(BgpPlanTest, PodCidrsAreTheNodesOwn) {
  World world = GwWith({Advertise("pods", {.advertise = {BgpAdvertised::kPodCIDR}})});
  world.AddService(Svc("web"), {Ip("198.19.0.10")});
  EXPECT_THAT(Routes(world.Plan("node2")), ElementsAre("gw: 198.18.18.0/24 via 198.18.0.12",
                                                       "gw: 2001:db8:16:2::/64 via "
                                                       "2001:db8:0:1::12"))
      << "the VIPs are not advertised by this advertisement";
}

TEST(BgpPlanTest, AggregationAdvertisesThePrefixHoldingTheVips) {
  World world =
      GwWith({Advertise("wide", {.aggregation_length = 24, .aggregation_length_v6 = 64})});
  world.AddService(Svc("a"), {Ip("198.19.0.10"), Ip("2001:db8:19::10")});
  world.AddService(Svc("b"), {Ip("198.19.0.20"), Ip("198.19.1.7")});
  world.AddService(Svc("c", {}, model::TrafficPolicy::kLocal), {Ip("198.19.2.1")}, {"node2"});
  EXPECT_THAT(Routes(world.Plan()),
              ElementsAre("gw: 198.19.0.0/24 via 198.18.0.11", "gw: 198.19.1.0/24 via 198.18.0.11",
                          "gw: 2001:db8:19::/64 via 2001:db8:0:1::11"))
      << "198.19.2.0/24 holds only a VIP this node must not draw";
}

TEST(BgpPlanTest, AdvertisementsOfTheSamePrefixMergeTheirAttributes) {
  World world = GwWith({Advertise("a", {.communities = {(65000u << 16) | 1, 0xFFFFFF01},
                                        .large_communities = {{64512, 1, 1}},
                                        .local_preference = 100,
                                        .med = 10}),
                        Advertise("b", {.communities = {(65000u << 16) | 1, (65000u << 16) | 2},
                                        .large_communities = {{64512, 0, 9}},
                                        .local_preference = 200,
                                        .med = 20}),
                        Advertise("c", {.local_preference = 200}),
                        Advertise("d", {.med = 7, .aggregation_length = 24})});
  world.AddService(Svc("web"), {Ip("198.19.0.10")});
  const BgpPlan plan = world.Plan();
  EXPECT_THAT(Routes(plan),
              ElementsAre("gw: 198.19.0.0/24 via 198.18.0.11 med=7",
                          "gw: 198.19.0.10/32 via 198.18.0.11 c=65000:1,65000:2,no-export "
                          "lc=64512:0:9,64512:1:1 lp=200 med=10"));
  EXPECT_THAT(plan.problems,
              ElementsAre("BGPPeer gw: BGPAdvertisements a and b give the same prefix "
                          "localPreference 100 and 200; the highest is used",
                          "BGPPeer gw: BGPAdvertisements a and b give the same prefix med 10 and "
                          "20; the lowest is used"));
}

TEST(BgpPlanTest, APasswordThatCannotBeReadKeepsThePeerDown) {
  World world = Basic();
  world.Add(Peer("secured", {.peer_address = Ip("198.18.0.2"),
                             .password_secret_ref = model::SecretKeyRef{"bgp", "secured"}}));
  world.Add(Peer("empty", {.peer_address = Ip("198.18.0.3"),
                           .password_secret_ref = model::SecretKeyRef{"bgp", "empty"}}));
  world.Add(Peer("long", {.peer_address = Ip("198.18.0.4"),
                          .password_secret_ref = model::SecretKeyRef{"bgp", "long"}}));
  world.secrets[{"bgp", "empty"}] = "\n";
  world.secrets[{"bgp", "long"}] = std::string(81, 'x');
  world.AddService(Svc("web"), {Ip("198.19.0.10")});
  const BgpPlan plan = world.Plan();
  EXPECT_THAT(PeerNames(plan), ElementsAre("gw")) << "the others' sessions do not run";
  ASSERT_EQ(plan.down.size(), 3u);
  EXPECT_EQ(plan.down[0].name, "empty");
  EXPECT_EQ(plan.down[0].reason,
            "the password (Secret bgp, key empty) cannot be used: the password is empty; the "
            "session stays down rather than run without it");
  EXPECT_EQ(plan.down[1].name, "long");
  EXPECT_THAT(plan.down[1].reason,
              HasSubstr("the password has 81 octets; TCP MD5 takes at most 80"));
  EXPECT_EQ(plan.down[2].name, "secured");
  EXPECT_EQ(plan.down[2].address, Ip("198.18.0.2"));
  EXPECT_THAT(plan.down[2].reason, HasSubstr("cannot be used: no Secret bgp"));
  EXPECT_THAT(ConditionsOf(plan, {"BGPPeer", "", "secured"}),
              ElementsAre("Accepted=True/Valid: the peer is valid",
                          absl::StrCat("SessionConfigured=False/PasswordUnavailable: ",
                                       plan.down[2].reason)));
  EXPECT_THAT(plan.problems,
              ElementsAre(absl::StrCat("BGPPeer empty: kept down: ", plan.down[0].reason),
                          absl::StrCat("BGPPeer long: kept down: ", plan.down[1].reason),
                          absl::StrCat("BGPPeer secured: kept down: ", plan.down[2].reason)));
}

TEST(BgpPlanTest, WithoutARouterIdThePeerStaysDown) {
  World world;
  model::Node v6_only = NodeK(1);
  v6_only.internal_ips = {Ip("2001:db8:0:1::11")};
  world.Add(v6_only);
  world.Add(Peer("gw", {.peer_address = Ip("2001:db8:0:1::1")}));
  world.Add(Peer("given", {.peer_address = Ip("2001:db8:0:1::2"), .router_id = Ip("10.0.0.1")}));
  const BgpPlan plan = world.Plan();
  EXPECT_THAT(PeerNames(plan), ElementsAre("given"));
  EXPECT_THAT(ConditionsOf(plan, kGwRef),
              ElementsAre("Accepted=True/Valid: the peer is valid",
                          "SessionConfigured=False/NoRouterID: no router ID: spec.routerID is "
                          "unset and node node1 has no IPv4 InternalIP"));
}

TEST(BgpPlanTest, TwoPeersOfOneAddressOnANodeRunTheFirstByName) {
  World world = Basic();
  world.Add(Peer("gw-again"));
  const BgpPlan plan = world.Plan();
  EXPECT_THAT(PeerNames(plan), ElementsAre("gw"));
  EXPECT_THAT(ConditionsOf(plan, {"BGPPeer", "", "gw-again"}),
              ElementsAre("Accepted=True/Valid: the peer is valid",
                          "SessionConfigured=False/AddressConflict: BGPPeer gw already peers with "
                          "198.18.0.1 on node node1"));
}

TEST(BgpPlanTest, RejectedObjectsAreNotAccepted) {
  World world = Basic();
  const std::vector<model::ObjectError> rejected = {
      {.file = "m/bgp.yaml",
       .line = 1,
       .error = {.object = kGwRef,
                 .field = "spec.localASN",
                 .reason = "required: an AS number from 1 to 4294967295; its last valid version "
                           "stays in use"}},
      {.file = "m/bgp.yaml",
       .line = 9,
       .error = {.object = {"BGPAdvertisement", "", "new"},
                 .field = "spec.advertise",
                 .reason = "required"}},
      {.file = "m/bgp.yaml",
       .line = 9,
       .error = {.object = {"BGPAdvertisement", "", "new"},
                 .field = "spec.peers[0]",
                 .reason = "\"A\" is not a BGPPeer name"}},
      {.file = "m/other.yaml",
       .line = 1,
       .error = {.object = {"Secret", "default", "x"},
                 .field = "kind",
                 .reason = "v1 Secret is not ours; ignored",
                 .severity = model::Severity::kInfo}}};
  const BgpPlan plan = world.Plan("node1", rejected);
  EXPECT_THAT(PeerNames(plan), ElementsAre("gw")) << "the last valid version runs";
  EXPECT_THAT(ConditionsOf(plan, kGwRef),
              ElementsAre("Accepted=False/Invalid: spec.localASN: required: an AS number from 1 "
                          "to 4294967295; its last valid version stays in use",
                          "SessionConfigured=True/Configured: node node1 runs a session to "
                          "198.18.0.1"));
  EXPECT_THAT(ConditionsOf(plan, {"BGPAdvertisement", "", "new"}),
              ElementsAre("Accepted=False/Invalid: spec.advertise: required; spec.peers[0]: "
                          "\"A\" is not a BGPPeer name (not in effect)"));
  std::vector<model::ObjectRef> order;
  for (const ObjectStatus& status : plan.statuses) order.push_back(status.object);
  EXPECT_THAT(order, ElementsAre(model::ObjectRef{"BGPAdvertisement", "", "new"},
                                 model::ObjectRef{"BGPAdvertisement", "", "vips"}, kGwRef));
}

TEST(BgpPlanTest, ANodeWithoutItsNodeObjectRunsNoSession) {
  World world = Basic();
  world.AddService(Svc("web"), {Ip("198.19.0.10")});
  const BgpPlan plan = world.Plan("node9");
  EXPECT_THAT(plan.peers, IsEmpty());
  EXPECT_THAT(plan.problems,
              ElementsAre("node node9 has no Node object: no BGP session runs here"));
}

TEST(BgpPlanTest, NoPeersNoPlan) {
  World world;
  world.Add(NodeK(1));
  world.Add(Advertise("vips"));
  world.AddService(Svc("web"), {Ip("198.19.0.10")});
  const BgpPlan plan = world.Plan();
  EXPECT_THAT(plan.peers, IsEmpty());
  EXPECT_THAT(plan.problems, IsEmpty());
}

}  // namespace
}  // namespace ferry::bgp_control
