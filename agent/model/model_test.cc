// The model's queries: which VIPs a Service has, which endpoints serve it.
#include "agent/model/model.h"

#include "agent/model/change.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::model {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

net::IpAddress Ip(absl::string_view text) {
  absl::StatusOr<net::IpAddress> parsed = net::IpAddress::Parse(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.value_or(net::IpAddress{});
}

Service Web(std::vector<ServicePort> ports) {
  return {.metadata = {.name = "web", .namespace_ = "default"}, .ports = std::move(ports)};
}

const ServicePort kHttp{.name = "http", .port = 80, .target_port = {.name = "http"}};

EndpointSlice Slice(absl::string_view name, net::IpFamily family, std::vector<EndpointPort> ports,
                    std::vector<Endpoint> endpoints, absl::string_view service = "web") {
  return {.metadata = {.name = std::string(name), .namespace_ = "default"},
          .address_type = family,
          .service_name = std::string(service),
          .endpoints = std::move(endpoints),
          .ports = std::move(ports)};
}

Endpoint Pod(absl::string_view address, absl::string_view node,
             EndpointConditions conditions = {}) {
  return {.addresses = {Ip(address)}, .conditions = conditions, .node_name = std::string(node)};
}

Backend To(absl::string_view address, uint16_t port, absl::string_view node,
           bool terminating = false) {
  return {.address = Ip(address),
          .port = port,
          .node_name = std::string(node),
          .terminating = terminating};
}

Model With(const Service& service, std::vector<EndpointSlice> slices) {
  Model model;
  EXPECT_TRUE(model.Add(service).ok());
  for (EndpointSlice& slice : slices) EXPECT_TRUE(model.Add(std::move(slice)).ok());
  return model;
}

std::vector<PortBackends> BackendsOf(const Model& model,
                                     absl::string_view receiving_node = "node1") {
  return ServiceBackends(model, *model.FindService("default", "web"), receiving_node);
}

TEST(ObjectRefTest, Prints) {
  EXPECT_EQ(ObjectRef({"Service", "default", "web"}).ToString(), "Service default/web");
  EXPECT_EQ(ObjectRef({"Node", "", "node1"}).ToString(), "Node node1");
  EXPECT_EQ(ObjectRef({"", "", ""}).ToString(), "object (no name)");
}

TEST(ModelTest, KeepsObjectsByRefAndRefusesASecondCopy) {
  Model model;
  ASSERT_TRUE(model.Add(Web({kHttp})).ok());
  ASSERT_TRUE(model.Add(Node{.metadata = {.name = "node1"}}).ok());
  const absl::Status again = model.Add(Web({}));
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_EQ(again.message(), "Service default/web is already in the model");
  EXPECT_EQ(model.size(), 2u);
  EXPECT_THAT(model.FindService("default", "web")->ports, ElementsAre(kHttp));
  EXPECT_EQ(model.FindService("other", "web"), nullptr);
  EXPECT_NE(model.FindNode("node1"), nullptr);
  EXPECT_EQ(model.FindNode("node2"), nullptr);
}

TEST(ModelTest, SlicesOfAServiceAreFoundByLabelInItsNamespace) {
  Model model;
  ASSERT_TRUE(model.Add(Slice("web-b", net::IpFamily::kIPv4, {}, {})).ok());
  ASSERT_TRUE(model.Add(Slice("web-a", net::IpFamily::kIPv6, {}, {})).ok());
  ASSERT_TRUE(model.Add(Slice("api-a", net::IpFamily::kIPv4, {}, {}, "api")).ok());
  EndpointSlice elsewhere = Slice("web-c", net::IpFamily::kIPv4, {}, {});
  elsewhere.metadata.namespace_ = "shop";
  ASSERT_TRUE(model.Add(elsewhere).ok());
  std::vector<std::string> names;
  for (const EndpointSlice* slice : model.SlicesOf({"Service", "default", "web"})) {
    names.push_back(slice->metadata.name);
  }
  EXPECT_THAT(names, ElementsAre("web-a", "web-b"));
  EXPECT_THAT(model.SlicesOf({"Service", "default", "nothing"}), IsEmpty());
}

TEST(ModelTest, AppliesChangesAndSaysWhichServicesTheyConcern) {
  Model model;
  const ObjectRef web{"Service", "default", "web"};
  const ObjectRef api{"Service", "default", "api"};
  auto added = [](Object object) {
    const ObjectRef ref = RefOf(object);
    return ObjectChange{.type = ChangeType::kAdded, .ref = ref, .version = "1",
                        .object = std::move(object)};
  };
  ModelDelta delta = model.Apply(
      {.replace_all = true,
       .changes = {added(Web({kHttp})), added(Slice("web-a", net::IpFamily::kIPv4, {}, {}))},
       .problems = std::nullopt});
  EXPECT_EQ(delta.changed.size(), 2u);
  EXPECT_THAT(delta.services, ElementsAre(web));
  EXPECT_TRUE(delta.Changed(kEndpointSliceKind));

  // A slice that moves to another Service concerns both.
  delta = model.Apply(
      {.changes = {added(Slice("web-a", net::IpFamily::kIPv4, {}, {}, "api"))}});
  EXPECT_THAT(delta.services, ElementsAre(api, web));
  EXPECT_THAT(model.SlicesOf(web), IsEmpty());
  EXPECT_EQ(model.SlicesOf(api).size(), 1u);

  // The same object again changes nothing; a full list drops what it lacks.
  EXPECT_TRUE(model.Apply({.changes = {added(Web({kHttp}))}}).empty());
  delta = model.Apply({.replace_all = true, .changes = {added(Web({kHttp}))}});
  EXPECT_THAT(delta.changed, ElementsAre(ObjectRef{"EndpointSlice", "default", "web-a"}));
  EXPECT_THAT(delta.services, ElementsAre(api));
  EXPECT_EQ(model.size(), 1u);
  delta = model.Apply({.changes = {{.type = ChangeType::kDeleted, .ref = web}}});
  EXPECT_THAT(delta.services, ElementsAre(web));
  EXPECT_EQ(model.size(), 0u);
}

TEST(BackendsTest, NamedTargetPortFollowsTheSlicePortOfTheSameName) {
  const Model model =
      With(Web({kHttp}), {Slice("web-1", net::IpFamily::kIPv4, {{.name = "http", .port = 8080}},
                                {Pod("198.18.18.10", "node2"), Pod("198.18.17.10", "node1")})});
  EXPECT_THAT(BackendsOf(model),
              ElementsAre(PortBackends{.port = kHttp,
                                       .family = net::IpFamily::kIPv4,
                                       .backends = {To("198.18.17.10", 8080, "node1"),
                                                    To("198.18.18.10", 8080, "node2")}}));
}

TEST(BackendsTest, SlicePortsNamedAfterTheServicePortAsTheControllerWritesThem) {
  const ServicePort web{.name = "web", .port = 80, .target_port = {.name = "http"}};
  const ServicePort metrics{.name = "metrics", .port = 9090, .target_port = {.number = 9090}};
  const Model model =
      With(Web({web, metrics}),
           {Slice("web-1", net::IpFamily::kIPv4,
                  {{.name = "web", .port = 8080}, {.name = "metrics", .port = 9100}},
                  {Pod("198.18.17.10", "node1")})});
  EXPECT_THAT(
      BackendsOf(model),
      ElementsAre(PortBackends{.port = web, .backends = {To("198.18.17.10", 8080, "node1")}},
                  PortBackends{.port = metrics, .backends = {To("198.18.17.10", 9100, "node1")}}))
      << "the slice's port number wins over the Service's numeric targetPort";
}

TEST(BackendsTest, NumericTargetPortIsUsedDirectly) {
  const ServicePort dns{
      .name = "dns", .protocol = Protocol::kUDP, .port = 53, .target_port = {.number = 5353}};
  const Model model =
      With(Web({dns}), {Slice("web-1", net::IpFamily::kIPv4, {}, {Pod("198.18.17.10", "node1")})});
  EXPECT_THAT(
      BackendsOf(model),
      ElementsAre(PortBackends{.port = dns, .backends = {To("198.18.17.10", 5353, "node1")}}));
}

TEST(BackendsTest, ASlicePortMustHaveTheProtocolAndANumber) {
  const ServicePort dns{
      .name = "dns", .protocol = Protocol::kUDP, .port = 53, .target_port = {.name = "dns"}};
  const Model model = With(
      Web({dns}),
      {Slice("web-1", net::IpFamily::kIPv4, {{.name = "dns", .port = 5353, .protocol = Protocol::kTCP}},
             {Pod("198.18.17.10", "node1")}),
       Slice("web-2", net::IpFamily::kIPv4, {{.name = "dns", .protocol = Protocol::kUDP}},
             {Pod("198.18.18.10", "node2")})});
  EXPECT_THAT(BackendsOf(model), IsEmpty())
      << "a named targetPort with no matching slice port has no backend";
}

TEST(BackendsTest, MultipleSlicesAreMergedWithoutDuplicates) {
  const EndpointPort http{.name = "http", .port = 8080};
  const Model model =
      With(Web({kHttp}),
           {Slice("web-1", net::IpFamily::kIPv4, {http},
                  {Pod("198.18.17.10", "node1"), Pod("198.18.18.10", "node2")}),
            Slice("web-2", net::IpFamily::kIPv4, {http},
                  {Pod("198.18.18.10", "node2"), Pod("198.18.19.10", "node3")}),
            Slice("api-1", net::IpFamily::kIPv4, {http}, {Pod("198.18.19.99", "node3")}, "api")});
  ASSERT_EQ(BackendsOf(model).size(), 1u);
  EXPECT_THAT(BackendsOf(model)[0].backends,
              ElementsAre(To("198.18.17.10", 8080, "node1"), To("198.18.18.10", 8080, "node2"),
                          To("198.18.19.10", 8080, "node3")));
}

TEST(BackendsTest, DualStackSlicesGiveOneEntryPerFamily) {
  const EndpointPort http{.name = "http", .port = 8080};
  const Model model = With(
      Web({kHttp}), {Slice("web-v6", net::IpFamily::kIPv6, {http}, {Pod("2001:db8:16:1::10", "node1")}),
                     Slice("web-v4", net::IpFamily::kIPv4, {http}, {Pod("198.18.17.10", "node1")})});
  EXPECT_THAT(BackendsOf(model),
              ElementsAre(PortBackends{.port = kHttp,
                                       .family = net::IpFamily::kIPv4,
                                       .backends = {To("198.18.17.10", 8080, "node1")}},
                          PortBackends{.port = kHttp,
                                       .family = net::IpFamily::kIPv6,
                                       .backends = {To("2001:db8:16:1::10", 8080, "node1")}}));
}

TEST(BackendsTest, ReadyEndpointsTakeNewFlowsAndServingTerminatingOnesDrain) {
  const EndpointConditions not_ready{.ready = false, .serving = false, .terminating = false};
  const EndpointConditions draining{.ready = false, .serving = true, .terminating = true};
  const EndpointConditions gone{.ready = false, .serving = false, .terminating = true};
  const EndpointPort http{.name = "http", .port = 8080};
  const Model model =
      With(Web({kHttp}),
           {Slice("web-1", net::IpFamily::kIPv4, {http},
                  {Pod("198.18.17.10", "node1"),  // nil conditions: ready
                   Pod("198.18.18.10", "node2", not_ready), Pod("198.18.19.10", "node3", draining),
                   Pod("198.18.19.11", "node3", gone)})});
  EXPECT_THAT(
      BackendsOf(model),
      ElementsAre(PortBackends{.port = kHttp,
                               .backends = {To("198.18.17.10", 8080, "node1")},
                               .draining = {To("198.18.19.10", 8080, "node3", true)}}));
}

TEST(BackendsTest, ServingTerminatingEndpointsWhenNoneIsReady) {
  const EndpointConditions not_ready{.ready = false};
  const EndpointConditions draining{.ready = false, .serving = true, .terminating = true};
  const EndpointConditions gone{.ready = false, .serving = false, .terminating = true};
  const EndpointPort http{.name = "http", .port = 8080};
  const Model model =
      With(Web({kHttp}),
           {Slice("web-1", net::IpFamily::kIPv4, {http},
                  {Pod("198.18.17.10", "node1", not_ready), Pod("198.18.18.10", "node2", draining),
                   Pod("198.18.19.10", "node3", gone)})});
  EXPECT_THAT(BackendsOf(model),
              ElementsAre(PortBackends{.port = kHttp,
                                       .backends = {To("198.18.18.10", 8080, "node2", true)},
                                       .terminating_fallback = true}));
}

TEST(BackendsTest, NoQualifyingEndpointLeavesTheFamilyEmpty) {
  const Model model =
      With(Web({kHttp}), {Slice("web-1", net::IpFamily::kIPv4, {{.name = "http", .port = 8080}},
                                {Pod("198.18.17.10", "node1", {.ready = false})})});
  EXPECT_THAT(BackendsOf(model), ElementsAre(PortBackends{.port = kHttp}));
}

TEST(BackendsTest, LocalTrafficPolicyKeepsTheReceivingNodesEndpoints) {
  Service service = Web({kHttp});
  service.external_traffic_policy = TrafficPolicy::kLocal;
  const EndpointConditions draining{.ready = false, .serving = true, .terminating = true};
  const Model model =
      With(service, {Slice("web-1", net::IpFamily::kIPv4, {{.name = "http", .port = 8080}},
                           {Pod("198.18.17.10", "node1"), Pod("198.18.18.10", "node2"),
                            Pod("198.18.18.11", "node2", draining)})});
  EXPECT_THAT(BackendsOf(model, "node1")[0].backends,
              ElementsAre(To("198.18.17.10", 8080, "node1")));
  EXPECT_THAT(BackendsOf(model, "node2")[0].backends,
              ElementsAre(To("198.18.18.10", 8080, "node2")));
  EXPECT_THAT(BackendsOf(model, "node3")[0].backends, IsEmpty());
}

// externalTrafficPolicy Local, a ready pod on node1 and a terminating one
// that still serves on node2.
Model LocalWithDrainingOnNode2() {
  Service service = Web({kHttp});
  service.external_traffic_policy = TrafficPolicy::kLocal;
  const EndpointConditions draining{.ready = false, .serving = true, .terminating = true};
  return With(service,
              {Slice("web-1", net::IpFamily::kIPv4, {{.name = "http", .port = 8080}},
                     {Pod("198.18.17.10", "node1"), Pod("198.18.18.11", "node2", draining)})});
}

TEST(BackendsTest, LocalPolicyFallsBackToTerminatingPerNode) {
  const Model model = LocalWithDrainingOnNode2();
  const std::vector<PortBackends> on_node2 = BackendsOf(model, "node2");
  ASSERT_EQ(on_node2.size(), 1u);
  EXPECT_TRUE(on_node2[0].terminating_fallback);
  EXPECT_THAT(on_node2[0].backends, ElementsAre(To("198.18.18.11", 8080, "node2", true)));
}

TEST(BackendsTest, ClusterPolicyIgnoresTheReceivingNode) {
  const Model model =
      With(Web({kHttp}), {Slice("web-1", net::IpFamily::kIPv4, {{.name = "http", .port = 8080}},
                                {Pod("198.18.18.10", "node2")})});
  EXPECT_EQ(BackendsOf(model, "node1"), BackendsOf(model, "node9"));
  EXPECT_THAT(BackendsOf(model, "node1")[0].backends,
              ElementsAre(To("198.18.18.10", 8080, "node2")));
}

TEST(BackendsTest, OnlyTheFirstAddressOfAnEndpointIsUsed) {
  Endpoint two{.addresses = {Ip("198.18.17.10"), Ip("198.18.17.11")}, .node_name = "node1"};
  const Model model = With(
      Web({kHttp}), {Slice("web-1", net::IpFamily::kIPv4, {{.name = "http", .port = 8080}}, {two})});
  EXPECT_THAT(BackendsOf(model)[0].backends, ElementsAre(To("198.18.17.10", 8080, "node1")));
}

TEST(ReadyEndpointsTest, ReadyEndpointsOfTheFamilyWhereTheTrafficPolicySendsIt) {
  const Model model = LocalWithDrainingOnNode2();
  const Service& web = *model.FindService("default", "web");
  EXPECT_TRUE(HasReadyEndpoints(model, web, "node1"));
  EXPECT_TRUE(HasReadyEndpoints(model, web, "node1", net::IpFamily::kIPv4));
  EXPECT_FALSE(HasReadyEndpoints(model, web, "node1", net::IpFamily::kIPv6)) << "no IPv6 slice";
  EXPECT_FALSE(HasReadyEndpoints(model, web, "node2")) << "terminating only: no new traffic";
  EXPECT_FALSE(HasReadyEndpoints(model, web, "node3"));

  const Model cluster =
      With(Web({kHttp}), {Slice("web-1", net::IpFamily::kIPv4, {{.name = "http", .port = 8080}},
                                {Pod("198.18.18.10", "node2")})});
  EXPECT_TRUE(HasReadyEndpoints(cluster, *cluster.FindService("default", "web"), "node3"))
      << "Cluster: wherever the endpoint is";
  EXPECT_FALSE(HasReadyEndpoints(With(Web({kHttp}), {}), Web({kHttp}), "node1"));
}

}  // namespace
}  // namespace ferry::model
