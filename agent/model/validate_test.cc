// Every validation rule, with the exact text a person reads.
#include "agent/model/validate.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "agent/model/model_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::model {
namespace {

using testing::Decode;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::Problems;

// A LoadBalancer Service default/web with `spec` (flow-style fields) and
// `metadata` (more flow-style fields) added.
std::string ServiceYaml(absl::string_view spec, absl::string_view metadata = "") {
  return absl::StrCat("apiVersion: v1\nkind: Service\nmetadata: {name: web",
                      metadata.empty() ? "" : ", ", metadata, "}\nspec: {type: LoadBalancer, ",
                      spec, "}\n");
}

constexpr absl::string_view kPort = "ports: [{port: 80}]";

std::string SliceYaml(absl::string_view body, absl::string_view address_type = "IPv4") {
  return absl::StrCat(
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
      "metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}\naddressType: ",
      address_type, "\n", body);
}

std::string NodeYaml(absl::string_view body) {
  return absl::StrCat("apiVersion: v1\nkind: Node\nmetadata: {name: node1}\n", body);
}

TEST(ValidateTest, TheExampleFromTheIssuePrintsAsSpecified) {
  EXPECT_THAT(
      Problems(ServiceYaml("ports: [{name: a, port: 80}, {name: b, port: 70000}]")),
      ElementsAre("Service default/web: spec.ports[1].port: 70000 is not a port (1-65535)"));
}

TEST(ValidateTest, ValidObjectsHaveNoProblems) {
  EXPECT_THAT(Problems(ServiceYaml(kPort)), IsEmpty());
  EXPECT_THAT(Problems(SliceYaml("endpoints: [{addresses: [198.18.17.10]}]")), IsEmpty());
  EXPECT_THAT(Problems(NodeYaml("spec: {podCIDRs: [198.18.17.0/24, 2001:db8:16:1::/64]}")),
              IsEmpty());
}

TEST(ValidateTest, DocumentShape) {
  EXPECT_THAT(
      Problems("- a\n- b\n"),
      ElementsAre("object (no name): a manifest document must be a map of fields, not a list "
                  "or a string"));
  EXPECT_THAT(Problems("metadata: {name: web}\n"),
              ElementsAre("object web: apiVersion: required", "object web: kind: required"));
  EXPECT_THAT(Problems("apiVersion: v1\nkind: Service\n"),
              ElementsAre("Service default/(no name): metadata.name: required",
                          "Service default/(no name): spec: required"));
  EXPECT_THAT(
      Problems("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: LoadBalancer}\n"
               "metadata: {name: web2}\n"),
      ElementsAre("Service default/web: metadata: the key appears twice in the same map"));
  EXPECT_THAT(
      Problems("apiVersion: v1\nkind: Node\nmetadata: {name: node1}\n"
               "status: {addresses: [{type: InternalIP, address: 198.18.0.11, type: Hostname}]}\n"),
      ElementsAre("Node node1: status.addresses[0].type: the key appears twice in the same map"));
  EXPECT_THAT(Problems("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"),
              ElementsAre("Service default/web: spec: required"));
  EXPECT_THAT(Problems("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: [a]\n"),
              ElementsAre("Service default/web: spec: must be a map of fields"));
  EXPECT_THAT(Problems("apiVersion: v1\nkind: Service\nmetadata: web\nspec: {}\n"),
              ElementsAre("Service default/(no name): metadata: must be a map of fields",
                          "Service default/(no name): spec.type: a ClusterIP Service is not ours "
                          "(only LoadBalancer); ignored"));
}

TEST(ValidateTest, KnownKindsInAnotherVersionAreErrors) {
  EXPECT_THAT(
      Problems(absl::StrReplaceAll(SliceYaml("endpoints: []"),
                                   {{"discovery.k8s.io/v1", "discovery.k8s.io/v1beta1"}})),
      ElementsAre("EndpointSlice default/web-1: apiVersion: \"discovery.k8s.io/v1beta1\" is not "
                  "supported for EndpointSlice; use discovery.k8s.io/v1"));
}

TEST(ValidateTest, Names) {
  EXPECT_THAT(
      Problems(
          absl::StrReplaceAll(ServiceYaml(kPort), {{"name: web", "name: 1web, namespace: Shop"}})),
      ElementsAre(
          "Service Shop/1web: metadata.name: \"1web\" is not a DNS-1035 label (at most 63 "
          "lowercase letters, digits and '-', starting with a letter and ending with a "
          "letter or digit)",
          "Service Shop/1web: metadata.namespace: \"Shop\" is not a DNS-1123 label (at most "
          "63 lowercase letters, digits and '-', starting and ending with a letter or digit)"));
  EXPECT_THAT(Problems(absl::StrReplaceAll(ServiceYaml(kPort), {{"web", std::string(64, 'a')}})),
              ElementsAre(absl::StrCat("Service default/", std::string(64, 'a'),
                                       ": metadata.name: \"", std::string(64, 'a'),
                                       "\" is not a DNS-1035 label (at most 63 lowercase letters, "
                                       "digits and '-', starting with a letter and ending with a "
                                       "letter or digit)")));
  EXPECT_THAT(Problems(NodeYaml("").replace(NodeYaml("").find("node1"), 5, "node_1")),
              ElementsAre("Node node_1: metadata.name: \"node_1\" is not a DNS-1123 subdomain (at "
                          "most 253 characters: DNS-1123 labels joined by '.')"));
  EXPECT_THAT(Problems(NodeYaml("").replace(NodeYaml("").find("node1"), 5, "node1.rack-2.example")),
              IsEmpty());
}

TEST(ValidateTest, ServicePorts) {
  EXPECT_THAT(
      Problems(ServiceYaml("ports: []")),
      ElementsAre("Service default/web: spec.ports: required: a LoadBalancer Service needs at "
                  "least one port"));
  EXPECT_THAT(Problems(ServiceYaml("ports: [{name: a}]")),
              ElementsAre("Service default/web: spec.ports[0].port: required"));
  EXPECT_THAT(Problems(ServiceYaml("ports: [{port: 0}]")),
              ElementsAre("Service default/web: spec.ports[0].port: 0 is not a port (1-65535)"));
  EXPECT_THAT(
      Problems(ServiceYaml("ports: [{port: \"80\"}]")),
      ElementsAre("Service default/web: spec.ports[0].port: must be a number, not the string "
                  "\"80\""));
  EXPECT_THAT(Problems(ServiceYaml("ports: [{port: http}]")),
              ElementsAre("Service default/web: spec.ports[0].port: \"http\" is not an integer"));
  EXPECT_THAT(
      Problems(ServiceYaml("ports: [{port: 80, protocol: SCTP}]")),
      ElementsAre("Service default/web: spec.ports[0].protocol: SCTP is not supported (TCP, UDP)"));
  EXPECT_THAT(
      Problems(ServiceYaml("ports: [{port: 80, protocol: tcp}]")),
      ElementsAre("Service default/web: spec.ports[0].protocol: \"tcp\" is not a protocol (TCP, "
                  "UDP)"));
  EXPECT_THAT(
      Problems(ServiceYaml("ports: [{port: 80, targetPort: 65536}]")),
      ElementsAre("Service default/web: spec.ports[0].targetPort: 65536 is not a port (1-65535)"));
  constexpr absl::string_view kPortNameRule =
      "is not a port name (at most 15 lowercase letters, digits and '-', with a letter, no '-' at "
      "either end or next to another)";
  EXPECT_THAT(Problems(ServiceYaml("ports: [{port: 80, targetPort: http_alt}]")),
              ElementsAre(absl::StrCat(
                  "Service default/web: spec.ports[0].targetPort: \"http_alt\" ", kPortNameRule)));
  EXPECT_THAT(Problems(ServiceYaml("ports: [{port: 80, targetPort: \"8080\"}]")),
              ElementsAre(absl::StrCat("Service default/web: spec.ports[0].targetPort: \"8080\" ",
                                       kPortNameRule)));
  EXPECT_THAT(
      Problems(ServiceYaml("ports: [{port: 80, targetPort: -1}]")),
      ElementsAre("Service default/web: spec.ports[0].targetPort: -1 is not a port (1-65535)"));
  EXPECT_THAT(
      Problems(ServiceYaml("ports: [{port: 80, targetPort: [8080]}]")),
      ElementsAre(
          "Service default/web: spec.ports[0].targetPort: a list or map is not an integer"));
  EXPECT_THAT(Problems(ServiceYaml("ports: [{port: 80, targetPort: my--port}]")),
              ElementsAre(absl::StrCat(
                  "Service default/web: spec.ports[0].targetPort: \"my--port\" ", kPortNameRule)));
  EXPECT_THAT(
      Problems(ServiceYaml("ports: [{name: a, port: 80}, {port: 81}]")),
      ElementsAre("Service default/web: spec.ports[1].name: required when a Service has more "
                  "than one port"));
  EXPECT_THAT(
      Problems(ServiceYaml("ports: [{name: HTTP, port: 80}]")),
      ElementsAre("Service default/web: spec.ports[0].name: \"HTTP\" is not a DNS-1123 label (at "
                  "most 63 lowercase letters, digits and '-', starting and ending with a letter "
                  "or digit)"));
  EXPECT_THAT(
      Problems(ServiceYaml("ports: [{name: a, port: 80}, {name: a, port: 81}, {name: c, port: 80}, "
                           "{name: d, port: 80, protocol: UDP}]")),
      ElementsAre(
          "Service default/web: spec.ports[1].name: duplicate port name \"a\" (also "
          "spec.ports[0])",
          "Service default/web: spec.ports[2]: duplicate port 80/TCP (also spec.ports[0])"));
}

TEST(ValidateTest, ServiceFamiliesAndPolicies) {
  EXPECT_THAT(
      Problems(ServiceYaml(absl::StrCat(kPort, ", ipFamilies: [IPv4, IPv5, IPv4]"))),
      ElementsAre("Service default/web: spec.ipFamilies[1]: \"IPv5\" is not an IP family (IPv4, "
                  "IPv6)"));
  EXPECT_THAT(Problems(ServiceYaml(absl::StrCat(kPort, ", ipFamilies: [IPv6, IPv6]"))),
              ElementsAre("Service default/web: spec.ipFamilies[1]: duplicate IPv6 (also "
                          "spec.ipFamilies[0])"));
  EXPECT_THAT(
      Problems(ServiceYaml(absl::StrCat(kPort, ", ipFamilyPolicy: DualStack"))),
      ElementsAre("Service default/web: spec.ipFamilyPolicy: \"DualStack\" is not an IP family "
                  "policy (SingleStack, PreferDualStack, RequireDualStack)"));
  EXPECT_THAT(
      Problems(ServiceYaml(
          absl::StrCat(kPort, ", ipFamilyPolicy: SingleStack, ipFamilies: [IPv4, IPv6]"))),
      ElementsAre(
          "Service default/web: spec.ipFamilies: SingleStack allows one family, not [IPv4, IPv6]"));
  EXPECT_THAT(
      Problems(ServiceYaml(absl::StrCat(kPort, ", externalTrafficPolicy: Global"))),
      ElementsAre("Service default/web: spec.externalTrafficPolicy: \"Global\" is not a traffic "
                  "policy (Cluster, Local)"));
}

TEST(ValidateTest, ServiceAddresses) {
  EXPECT_THAT(Problems(ServiceYaml(absl::StrCat(kPort, ", loadBalancerIP: 198.19.0.256"))),
              ElementsAre("Service default/web: spec.loadBalancerIP: \"198.19.0.256\" is not an IP "
                          "address"));
  EXPECT_THAT(
      Problems(
          ServiceYaml(absl::StrCat(kPort, ", ipFamilies: [IPv6], loadBalancerIP: 198.19.0.20"))),
      ElementsAre(
          "Service default/web: spec.loadBalancerIP: 198.19.0.20 is IPv4 but spec.ipFamilies "
          "is [IPv6]"));
  EXPECT_THAT(
      Problems(ServiceYaml(kPort, "annotations: {ferry.dev/ips: \"198.19.0.10,nope\"}")),
      ElementsAre("Service default/web: metadata.annotations[ferry.dev/ips]: \"nope\" is not an "
                  "IP address"));
  EXPECT_THAT(
      Problems(ServiceYaml(kPort, "annotations: {ferry.dev/ips: \"198.19.0.10, 198.19.0.10\"}")),
      ElementsAre("Service default/web: metadata.annotations[ferry.dev/ips]: duplicate "
                  "198.19.0.10"));
  EXPECT_THAT(
      Problems(ServiceYaml(absl::StrCat(kPort, ", ipFamilyPolicy: SingleStack"),
                           "annotations: {ferry.dev/ips: \"198.19.0.10,2001:db8:19::10\"}")),
      ElementsAre("Service default/web: metadata.annotations[ferry.dev/ips]: has IPv4 and IPv6 "
                  "addresses but spec.ipFamilyPolicy is SingleStack"));
  EXPECT_THAT(
      Problems(ServiceYaml(absl::StrCat(kPort, ", ipFamilies: [IPv4]"),
                           "annotations: {ferry.dev/ips: \"198.19.0.10,2001:db8:19::10\"}")),
      ElementsAre("Service default/web: metadata.annotations[ferry.dev/ips]: 2001:db8:19::10 is "
                  "IPv6 but spec.ipFamilies is [IPv4]"));
  EXPECT_THAT(Problems(ServiceYaml(absl::StrCat(kPort, ", ipFamilyPolicy: RequireDualStack"),
                                   "annotations: {ferry.dev/ips: \"2001:db8:19::10\"}")),
              ElementsAre("Service default/web: metadata.annotations[ferry.dev/ips]: "
                          "spec.ipFamilyPolicy is RequireDualStack but there is no IPv4 address"));
  EXPECT_THAT(
      Problems(
          absl::StrCat(ServiceYaml(absl::StrCat(kPort, ", ipFamilies: [IPv4]")),
                       "status: {loadBalancer: {ingress: [{ip: 2001:db8:19::10}, {ip: x}]}}\n")),
      ElementsAre("Service default/web: status.loadBalancer.ingress[1].ip: \"x\" is not an IP "
                  "address"));
  EXPECT_THAT(
      Problems(absl::StrCat(ServiceYaml(absl::StrCat(kPort, ", ipFamilies: [IPv4]")),
                            "status: {loadBalancer: {ingress: [{ip: 2001:db8:19::10}]}}\n")),
      ElementsAre("Service default/web: status.loadBalancer.ingress: 2001:db8:19::10 is IPv6 but "
                  "spec.ipFamilies is [IPv4]"));
}

TEST(ValidateTest, MetadataMaps) {
  EXPECT_THAT(Problems(ServiceYaml(kPort, "labels: {app: [web]}")),
              ElementsAre("Service default/web: metadata.labels[app]: must be a string"));
  EXPECT_THAT(Problems(ServiceYaml(kPort, "annotations: [a]")),
              ElementsAre("Service default/web: metadata.annotations: must be a map of fields"));
}

TEST(ValidateTest, LabelsFollowKubernetesSyntax) {
  EXPECT_THAT(
      Problems(absl::StrReplaceAll(NodeYaml(""),
                                   {{"name: node1",
                                     "name: node1, labels: {\"ferry.dev/\": x, zone: \"a b\", "
                                     "kubernetes.io/hostname: node1, empty: \"\"}"}})),
      ElementsAre("Node node1: metadata.labels[ferry.dev/]: label key \"ferry.dev/\": the name "
                  "must be 1-63 letters, digits, '-', '_' and '.', starting and ending with a "
                  "letter or digit",
                  "Node node1: metadata.labels[zone]: label value \"a b\" must be empty or 1-63 "
                  "letters, digits, '-', '_' and '.', starting and ending with a letter or "
                  "digit"));
  EXPECT_THAT(Problems(ServiceYaml(kPort, "labels: {Tier_1: Gold.2}")), IsEmpty());
}

TEST(ValidateTest, ThePoolAnnotationNamesAPool) {
  EXPECT_THAT(Problems(ServiceYaml(kPort, "annotations: {ferry.dev/pool: Lan_1}")),
              ElementsAre("Service default/web: metadata.annotations[ferry.dev/pool]: \"Lan_1\" "
                          "is not a DNS-1123 subdomain (at most 253 characters: DNS-1123 labels "
                          "joined by '.')"));
  EXPECT_THAT(Problems(ServiceYaml(kPort, "annotations: {ferry.dev/pool: lan}")), IsEmpty());
  EXPECT_THAT(Problems(ServiceYaml(kPort, "annotations: {ferry.dev/pool: \"\"}")), IsEmpty())
      << "empty is unset";
}

TEST(ValidateTest, EndpointSlices) {
  EXPECT_THAT(
      Problems(absl::StrReplaceAll(SliceYaml("endpoints: []"), {{"name: web-1", "name: Web_1"}})),
      ElementsAre("EndpointSlice default/Web_1: metadata.name: \"Web_1\" is not a DNS-1123 "
                  "subdomain (at most 253 characters: DNS-1123 labels joined by '.')"));
  EXPECT_THAT(
      Problems(absl::StrReplaceAll(SliceYaml("endpoints: []"),
                                   {{"labels: {kubernetes.io/service-name: web}", "labels: {}"}})),
      ElementsAre("EndpointSlice default/web-1: metadata.labels[kubernetes.io/service-name]: "
                  "required: it names the Service the slice belongs to"));
  EXPECT_THAT(
      Problems(absl::StrReplaceAll(SliceYaml("endpoints: []"),
                                   {{"service-name: web", "service-name: 9web"}})),
      ElementsAre("EndpointSlice default/web-1: metadata.labels[kubernetes.io/service-name]: "
                  "\"9web\" is not a DNS-1035 label (at most 63 lowercase letters, digits and "
                  "'-', starting with a letter and ending with a letter or digit)"));
  EXPECT_THAT(
      Problems(absl::StrReplaceAll(SliceYaml("endpoints: []"), {{"addressType: IPv4\n", ""}})),
      ElementsAre("EndpointSlice default/web-1: addressType: required"));
  EXPECT_THAT(
      Problems(SliceYaml("endpoints: []", "ipv4")),
      ElementsAre("EndpointSlice default/web-1: addressType: \"ipv4\" is not an address type "
                  "(IPv4, IPv6)"));
  EXPECT_THAT(
      Problems(SliceYaml("endpoints: [{addresses: []}, {nodeName: node1}]")),
      ElementsAre("EndpointSlice default/web-1: endpoints[0].addresses: required: at least one "
                  "address",
                  "EndpointSlice default/web-1: endpoints[1].addresses: required: at least one "
                  "address"));
  EXPECT_THAT(
      Problems(SliceYaml("endpoints: [{addresses: [198.18.17.10, 2001:db8:16:1::10, 198.18.17]}]")),
      ElementsAre("EndpointSlice default/web-1: endpoints[0].addresses[2]: \"198.18.17\" is not "
                  "an IP address"));
  EXPECT_THAT(
      Problems(SliceYaml("endpoints: [{addresses: [198.18.17.10, 2001:db8:16:1::10]}]")),
      ElementsAre("EndpointSlice default/web-1: endpoints[0].addresses[1]: 2001:db8:16:1::10 is "
                  "IPv6 but addressType is IPv4"));
  EXPECT_THAT(
      Problems(SliceYaml("endpoints: [{addresses: [198.18.17.10]}]", "IPv6")),
      ElementsAre("EndpointSlice default/web-1: endpoints[0].addresses[0]: 198.18.17.10 is IPv4 "
                  "but addressType is IPv6"));
  EXPECT_THAT(
      Problems(SliceYaml("endpoints: [{addresses: [198.18.17.10], conditions: {ready: maybe, "
                         "serving: \"true\"}}]")),
      ElementsAre("EndpointSlice default/web-1: endpoints[0].conditions.ready: \"maybe\" is not a "
                  "boolean (true or false)",
                  "EndpointSlice default/web-1: endpoints[0].conditions.serving: \"true\" is not a "
                  "boolean (true or false)"));
  EXPECT_THAT(
      Problems(SliceYaml("endpoints: [{addresses: [198.18.17.10], nodeName: Node-1}]")),
      ElementsAre("EndpointSlice default/web-1: endpoints[0].nodeName: \"Node-1\" is not a "
                  "DNS-1123 subdomain (at most 253 characters: DNS-1123 labels joined by '.')"));
}

TEST(ValidateTest, EndpointSlicePorts) {
  EXPECT_THAT(
      Problems(SliceYaml("ports: [{name: a, port: 0}, {name: b, port: 81, protocol: SCTP}]")),
      ElementsAre(
          "EndpointSlice default/web-1: ports[0].port: 0 is not a port (1-65535)",
          "EndpointSlice default/web-1: ports[1].protocol: SCTP is not supported (TCP, UDP)"));
  EXPECT_THAT(
      Problems(
          SliceYaml("ports: [{name: a, port: 80}, {name: a, port: 81}, {name: Http, port: 82}]")),
      ElementsAre("EndpointSlice default/web-1: ports[1].name: duplicate port name \"a\" (also "
                  "ports[0])",
                  "EndpointSlice default/web-1: ports[2].name: \"Http\" is not a DNS-1123 label "
                  "(at most 63 lowercase letters, digits and '-', starting and ending with a "
                  "letter or digit)"));
}

TEST(ValidateTest, Nodes) {
  EXPECT_THAT(
      Problems(NodeYaml("status: {addresses: [{type: InternalIP, address: 198.18.0}, "
                        "{type: LegacyHostIP, address: 198.18.0.11}]}")),
      ElementsAre("Node node1: status.addresses[0].address: \"198.18.0\" is not an IP address",
                  "Node node1: status.addresses[1].type: \"LegacyHostIP\" is not a node address "
                  "type (InternalIP, ExternalIP, Hostname, InternalDNS, ExternalDNS)"));
  EXPECT_THAT(
      Problems(NodeYaml("spec: {podCIDRs: [198.18.17.0/24, 198.18.18.0/24, 2001:db8:16:1::/64]}")),
      ElementsAre("Node node1: spec.podCIDRs[1]: duplicate IPv4 prefix (a node has at most one "
                  "per family) (also spec.podCIDRs[0])"));
  EXPECT_THAT(
      Problems(NodeYaml("spec: {podCIDR: 198.18.17.1/24}")),
      ElementsAre("Node node1: spec.podCIDR: \"198.18.17.1/24\" has host bits set; did you mean "
                  "198.18.17.0/24?"));
}

TEST(ValidateTest, AnInvalidObjectIsLeftOutAndTheOthersKept) {
  const DecodedManifest decoded =
      Decode(absl::StrCat(ServiceYaml("ports: [{port: 70000}]"), "---\n", NodeYaml(""), "---\n",
                          SliceYaml("endpoints: []")));
  ASSERT_EQ(decoded.objects.size(), 2u);
  EXPECT_EQ(RefOf(decoded.objects[0].object).ToString(), "Node node1");
  EXPECT_EQ(decoded.objects[0].line, 6);
  EXPECT_EQ(RefOf(decoded.objects[1].object).ToString(), "EndpointSlice default/web-1");
  ASSERT_EQ(decoded.problems.size(), 1u);
  EXPECT_EQ(decoded.problems[0].line, 1);
  EXPECT_EQ(decoded.problems[0].error.severity, Severity::kError);
}

TEST(ValidateTest, ValidationOfTypedObjectsNeedsNoYaml) {
  model::Service service{.metadata = {.name = "web", .namespace_ = "default"}};
  EXPECT_THAT(
      Validate(Object(service)),
      ElementsAre(ValidationError{.object = {"Service", "default", "web"},
                                  .field = "spec.ports",
                                  .reason = "required: a LoadBalancer Service needs at least one "
                                            "port"}));
}

}  // namespace
}  // namespace ferry::model
