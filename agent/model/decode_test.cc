// Decoding manifests as `kubectl get -o yaml` writes them: every field Ferry
// reads lands in the model, the many it does not read are ignored.
#include "agent/model/decode.h"

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "agent/model/model_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::model {
namespace {

using testing::BillionLaughs;
using testing::Decode;
using testing::DecodeOnly;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::Problems;

net::IpAddress Ip(absl::string_view text) { return *net::IpAddress::Parse(text); }

constexpr absl::string_view kKubectlService = R"(apiVersion: v1
kind: Service
metadata:
  annotations:
    ferry.dev/ips: 198.19.0.10, 2001:db8:19::10
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"}}
  creationTimestamp: "2024-05-02T10:11:12Z"
  labels:
    app: web
  name: web
  namespace: shop
  resourceVersion: "123456"
  uid: 6f1c2a9e-0b7d-4d4e-9a51-2f1e1f0c9b11
spec:
  allocateLoadBalancerNodePorts: true
  clusterIP: 10.96.12.34
  clusterIPs:
  - 10.96.12.34
  - fd00:10:96::1234
  externalTrafficPolicy: Local
  healthCheckNodePort: 32100
  internalTrafficPolicy: Cluster
  ipFamilies:
  - IPv4
  - IPv6
  ipFamilyPolicy: RequireDualStack
  loadBalancerClass: ferry.dev/lb
  ports:
  - name: http
    nodePort: 31234
    port: 80
    protocol: TCP
    targetPort: http
  - name: dns
    nodePort: 31235
    port: 53
    protocol: UDP
    targetPort: 5353
  - name: admin
    port: 8443
  selector:
    app: web
  sessionAffinity: None
  type: LoadBalancer
status:
  loadBalancer:
    ingress:
    - ip: 198.19.0.10
      ipMode: VIP
    - ip: 2001:db8:19::10
    - hostname: lb.example.com
)";

TEST(DecodeTest, ServiceAsKubectlWritesIt) {
  const Service service = DecodeOnly<Service>(kKubectlService);
  EXPECT_EQ(service.Ref().ToString(), "Service shop/web");
  EXPECT_EQ(service.metadata.labels, (std::map<std::string, std::string>{{"app", "web"}}));
  EXPECT_EQ(service.metadata.annotations.size(), 2u);
  EXPECT_EQ(service.metadata.creation_timestamp,
            absl::FromCivil(absl::CivilSecond(2024, 5, 2, 10, 11, 12), absl::UTCTimeZone()));
  EXPECT_THAT(
      service.ports,
      ElementsAre(ServicePort{.name = "http", .port = 80, .target_port = {.name = "http"}},
                  ServicePort{.name = "dns",
                              .protocol = Protocol::kUDP,
                              .port = 53,
                              .target_port = {.number = 5353}},
                  ServicePort{.name = "admin", .port = 8443, .target_port = {.number = 8443}}));
  EXPECT_THAT(service.ip_families, ElementsAre(net::IpFamily::kIPv4, net::IpFamily::kIPv6));
  EXPECT_EQ(service.ip_family_policy, IpFamilyPolicy::kRequireDualStack);
  EXPECT_EQ(service.load_balancer_class, "ferry.dev/lb");
  EXPECT_EQ(service.load_balancer_ip, std::nullopt);
  EXPECT_EQ(service.external_traffic_policy, TrafficPolicy::kLocal);
  EXPECT_THAT(service.annotated_ips, ElementsAre(Ip("198.19.0.10"), Ip("2001:db8:19::10")));
  EXPECT_THAT(service.ingress_ips, ElementsAre(Ip("198.19.0.10"), Ip("2001:db8:19::10")));
}

TEST(DecodeTest, ServiceDefaults) {
  const Service service = DecodeOnly<Service>(R"(
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  loadBalancerIP: 198.19.0.20
  ports: [{port: 80, targetPort: 0}]
)");
  EXPECT_EQ(service.metadata.namespace_, "default");
  EXPECT_THAT(service.ports, ElementsAre(ServicePort{.port = 80, .target_port = {.number = 80}}));
  EXPECT_THAT(service.ip_families, IsEmpty());
  EXPECT_EQ(service.ip_family_policy, std::nullopt);
  EXPECT_EQ(service.external_traffic_policy, TrafficPolicy::kCluster);
  EXPECT_EQ(service.load_balancer_ip, Ip("198.19.0.20"));
  EXPECT_THAT(service.annotated_ips, IsEmpty());
}

TEST(DecodeTest, CreationTimestampIsAnRfc3339Time) {
  const std::string service =
      "apiVersion: v1\nkind: Service\nmetadata: {name: web, creationTimestamp: WHEN}\n"
      "spec: {type: LoadBalancer, ports: [{port: 80}]}\n";
  EXPECT_EQ(
      DecodeOnly<Service>(absl::StrReplaceAll(service, {{"WHEN", "2024-05-02T12:11:12+02:00"}}))
          .metadata.creation_timestamp,
      absl::FromCivil(absl::CivilSecond(2024, 5, 2, 10, 11, 12), absl::UTCTimeZone()));
  EXPECT_EQ(DecodeOnly<Service>(absl::StrReplaceAll(service, {{"WHEN", "null"}}))
                .metadata.creation_timestamp,
            std::nullopt);
  EXPECT_THAT(Problems(absl::StrReplaceAll(service, {{"WHEN", "yesterday"}})),
              ElementsAre("Service default/web: metadata.creationTimestamp: \"yesterday\" is not "
                          "an RFC 3339 time (2024-05-02T10:11:12Z)"));
}

constexpr absl::string_view kKubectlEndpointSlice = R"(addressType: IPv6
apiVersion: discovery.k8s.io/v1
endpoints:
- addresses:
  - 2001:db8:16:1::10
  conditions:
    ready: true
    serving: true
    terminating: false
  nodeName: node1
  targetRef:
    kind: Pod
    name: web-7d4b9c6f8-abcde
    namespace: shop
    uid: 0d6e9a4c-1f1b-4f6c-8e0a-6d3f2b1c0a99
  zone: zone-a
- addresses:
  - 2001:db8:16:2::10
  conditions:
    ready: false
    serving: true
    terminating: true
  nodeName: node2
- addresses:
  - 2001:db8:16:3::10
  conditions: {}
kind: EndpointSlice
metadata:
  annotations:
    endpoints.kubernetes.io/last-change-trigger-time: "2024-05-02T10:11:15Z"
  creationTimestamp: "2024-05-02T10:11:13Z"
  generateName: web-
  generation: 3
  labels:
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
    kubernetes.io/service-name: web
  name: web-x7k2p
  namespace: shop
  ownerReferences:
  - apiVersion: v1
    blockOwnerDeletion: true
    controller: true
    kind: Service
    name: web
    uid: 6f1c2a9e-0b7d-4d4e-9a51-2f1e1f0c9b11
  resourceVersion: "123470"
  uid: 2b8f5b7e-2c53-4bd1-a0a4-3d7e5e9d2f10
ports:
- name: http
  port: 8080
  protocol: TCP
- name: dns
  port: 5353
  protocol: UDP
- name: all
  port: null
)";

TEST(DecodeTest, EndpointSliceAsKubectlWritesIt) {
  const EndpointSlice slice = DecodeOnly<EndpointSlice>(kKubectlEndpointSlice);
  EXPECT_EQ(slice.Ref().ToString(), "EndpointSlice shop/web-x7k2p");
  EXPECT_EQ(slice.ServiceRef().ToString(), "Service shop/web");
  EXPECT_EQ(slice.address_type, net::IpFamily::kIPv6);
  ASSERT_EQ(slice.endpoints.size(), 3u);
  EXPECT_EQ(slice.endpoints[0],
            (Endpoint{.addresses = {Ip("2001:db8:16:1::10")},
                      .conditions = {.ready = true, .serving = true, .terminating = false},
                      .node_name = "node1"}));
  EXPECT_EQ(slice.endpoints[1].conditions,
            (EndpointConditions{.ready = false, .serving = true, .terminating = true}));
  EXPECT_EQ(slice.endpoints[2], (Endpoint{.addresses = {Ip("2001:db8:16:3::10")}}));
  EXPECT_THAT(slice.ports,
              ElementsAre(EndpointPort{.name = "http", .port = 8080},
                          EndpointPort{.name = "dns", .port = 5353, .protocol = Protocol::kUDP},
                          EndpointPort{.name = "all"}));
}

TEST(DecodeTest, NilConditionsReadAsKubernetesDocumentsThem) {
  const EndpointConditions unknown;
  EXPECT_TRUE(unknown.IsReady());
  EXPECT_TRUE(unknown.IsServing());
  EXPECT_FALSE(unknown.IsTerminating());
  const EndpointConditions not_ready{.ready = false};
  EXPECT_FALSE(not_ready.IsServing()) << "serving unknown defers to ready";
  const EndpointConditions draining{.ready = false, .serving = true, .terminating = true};
  EXPECT_TRUE(draining.IsServing());
  EXPECT_TRUE(draining.IsTerminating());
}

constexpr absl::string_view kKubectlNode = R"(apiVersion: v1
kind: Node
metadata:
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    volumes.kubernetes.io/controller-managed-attach-detach: "true"
  creationTimestamp: "2024-05-01T08:00:00Z"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: node1
    kubernetes.io/os: linux
  name: node1
  resourceVersion: "99812"
  uid: 5b1f7c1d-2d8e-4a1b-9d0e-7c3f4a2b1e00
spec:
  podCIDR: 198.18.17.0/24
  podCIDRs:
  - 198.18.17.0/24
  - 2001:db8:16:1::/64
  providerID: kind://docker/kind/node1
status:
  addresses:
  - address: 198.18.0.11
    type: InternalIP
  - address: 2001:db8:0:1::11
    type: InternalIP
  - address: 203.0.113.11
    type: ExternalIP
  - address: node1
    type: Hostname
  - address: node1.cluster.internal
    type: InternalDNS
  allocatable:
    cpu: "2"
    memory: 4015712Ki
    pods: "110"
  conditions:
  - lastHeartbeatTime: "2024-05-02T10:00:00Z"
    message: kubelet is posting ready status
    reason: KubeletReady
    status: "True"
    type: Ready
  daemonEndpoints:
    kubeletEndpoint:
      Port: 10250
  nodeInfo:
    kubeletVersion: v1.30.0
)";

TEST(DecodeTest, NodeAsKubectlWritesIt) {
  const Node node = DecodeOnly<Node>(kKubectlNode);
  EXPECT_EQ(node.Ref().ToString(), "Node node1");
  EXPECT_EQ(node.metadata.namespace_, "");
  EXPECT_THAT(node.internal_ips, ElementsAre(Ip("198.18.0.11"), Ip("2001:db8:0:1::11")));
  EXPECT_THAT(node.external_ips, ElementsAre(Ip("203.0.113.11")));
  EXPECT_THAT(node.hostnames, ElementsAre("node1"));
  EXPECT_THAT(node.pod_cidrs, ElementsAre(*net::IpPrefix::Parse("198.18.17.0/24"),
                                          *net::IpPrefix::Parse("2001:db8:16:1::/64")));
}

TEST(DecodeTest, NodeWithOnlyTheSingularPodCidr) {
  const Node node = DecodeOnly<Node>(R"(
apiVersion: v1
kind: Node
metadata: {name: node2}
spec: {podCIDR: 198.18.18.0/24}
)");
  EXPECT_THAT(node.pod_cidrs, ElementsAre(*net::IpPrefix::Parse("198.18.18.0/24")));
}

TEST(DecodeTest, MultipleDocumentsAndListsKeepTheirOrderAndLines) {
  const DecodedManifest decoded =
      Decode(absl::StrCat(R"(---
# nothing but a comment
---
apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- )",
                          absl::StrReplaceAll(kKubectlNode, {{"\n", "\n  "}}), R"(
- apiVersion: v1
  kind: Node
  metadata: {name: node2}
---
---
apiVersion: v1
kind: Node
metadata: {name: node3}
)"));
  EXPECT_THAT(decoded.problems, IsEmpty());
  ASSERT_EQ(decoded.objects.size(), 3u);
  EXPECT_EQ(RefOf(decoded.objects[0].object).ToString(), "Node node1");
  EXPECT_EQ(decoded.objects[0].line, 8);
  EXPECT_EQ(RefOf(decoded.objects[1].object).ToString(), "Node node2");
  EXPECT_EQ(RefOf(decoded.objects[2].object).ToString(), "Node node3");
  EXPECT_EQ(decoded.objects[2].line, 61);
}

TEST(DecodeTest, SyntaxErrorsGiveLineAndColumn) {
  absl::StatusOr<DecodedManifest> decoded = DecodeManifest(R"(apiVersion: v1
kind: Node
metadata:
  name: [node1
spec: {}
)");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().message(), "line 5, column 5: end of sequence flow not found");
}

TEST(DecodeTest, DocumentMarkersDirectivesAndLinesOfLaterDocuments) {
  const DecodedManifest decoded = Decode(R"(%YAML 1.2
--- {apiVersion: v1, kind: Node, metadata: {name: node1}}
...
---
apiVersion: v1
kind: Node
metadata:
  name: node2
  annotations:
    note: |
      ---not a marker, and indented anyway
---  # a comment after the marker
apiVersion: v1
kind: Node
metadata: {name: node3}
)");
  EXPECT_THAT(decoded.problems, IsEmpty());
  ASSERT_EQ(decoded.objects.size(), 3u);
  EXPECT_EQ(decoded.objects[0].line, 2);
  EXPECT_EQ(decoded.objects[1].line, 5);
  EXPECT_EQ(std::get<Node>(decoded.objects[1].object).metadata.annotations.at("note"),
            "---not a marker, and indented anyway\n");
  EXPECT_EQ(decoded.objects[2].line, 13);

  absl::StatusOr<DecodedManifest> broken =
      DecodeManifest("apiVersion: v1\nkind: Node\n---\na: 1\n---\na: 1\nb: [\n");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message(), "line 8, column 1: end of sequence flow not found");
}

TEST(DecodeTest, AnchorsAndAliasesAreRefusedWithoutExpandingThem) {
  const absl::Time start = absl::Now();
  absl::StatusOr<DecodedManifest> laughs = DecodeManifest(BillionLaughs());
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  ASSERT_FALSE(laughs.ok());
  EXPECT_EQ(laughs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(laughs.status().message(),
            "line 9, column 12: YAML alias *a: anchors and aliases are not accepted (Kubernetes "
            "objects never need them, and aliases of aliases make a small file expand without "
            "bound); write the values out");

  // An anchor alone does no harm, but is refused all the same: nothing
  // reads it, and its author may expect an alias elsewhere to work.
  absl::StatusOr<DecodedManifest> anchored = DecodeManifest(
      "apiVersion: v1\nkind: Node\n---\napiVersion: v1\nkind: Node\nmetadata: &meta {name: n}\n");
  ASSERT_FALSE(anchored.ok());
  EXPECT_THAT(std::string(anchored.status().message()),
              ::testing::StartsWith("line 6, column 11: YAML anchor &meta: "));
  absl::StatusOr<DecodedManifest> undefined =
      DecodeManifest("apiVersion: v1\nkind: Node\nmetadata: *meta\n");
  ASSERT_FALSE(undefined.ok());
  EXPECT_THAT(std::string(undefined.status().message()), ::testing::StartsWith("line 3, column 11: "));

  // Stars and ampersands in scalars are text.
  const DecodedManifest text = Decode(
      "apiVersion: v1\nkind: Node\nmetadata: {name: node1, annotations: {a: \"*x\", b: R&D *}}\n");
  EXPECT_THAT(text.problems, IsEmpty());
  ASSERT_EQ(text.objects.size(), 1u);
  EXPECT_EQ(std::get<Node>(text.objects[0].object).metadata.annotations.at("b"), "R&D *");
}

TEST(DecodeTest, AMapKeyThatIsNotAStringIsAnErrorNamingTheMap) {
  EXPECT_THAT(Problems("apiVersion: v1\nkind: Node\nmetadata: {name: node1, labels: {[a, b]: x}}\n"),
              ElementsAre("Node node1: metadata.labels: a key must be a string, not a list or map"));
  EXPECT_THAT(Problems("apiVersion: v1\nkind: Node\nmetadata:\n  name: node1\n  annotations:\n"
                       "    ? {a: 1}\n    : x\n"),
              ElementsAre("Node node1: metadata.annotations: a key must be a string, not a list or map"));
  EXPECT_THAT(Problems("apiVersion: v1\nkind: Node\nmetadata: {name: node1}\n"
                       "status: {addresses: [{~: InternalIP}]}\n"),
              ElementsAre("Node node1: status.addresses[0]: a key must be a string, not null"));
  EXPECT_THAT(Problems("apiVersion: v1\nkind: Node\nmetadata: {name: node1, labels: {80: x}}\n"),
              IsEmpty())
      << "a number is a scalar: the key \"80\"";
}

TEST(DecodeTest, OtherKindsAndOtherLoadBalancersAreNotOurs) {
  EXPECT_THAT(
      Problems(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec: {type: NodePort, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-other}
spec: {type: LoadBalancer, loadBalancerClass: example.com/lb, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-fqdn, labels: {kubernetes.io/service-name: web}}
addressType: FQDN
endpoints: [{addresses: [web.example.com]}]
)"),
      ElementsAre("Deployment shop/web: kind: apps/v1 Deployment is not ours; ignored",
                  "Service default/web: spec.type: a ClusterIP Service is not ours (only "
                  "LoadBalancer); ignored",
                  "Service default/web-np: spec.type: a NodePort Service is not ours (only "
                  "LoadBalancer); ignored",
                  "Service default/web-other: spec.loadBalancerClass: \"example.com/lb\" is "
                  "another load balancer's class (Ferry's is \"ferry.dev/lb\"); ignored",
                  "EndpointSlice default/web-fqdn: addressType: FQDN slices are not ours; "
                  "ignored"));
  for (const DecodeProblem& problem :
       Decode("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n").problems) {
    EXPECT_EQ(problem.error.severity, Severity::kInfo);
  }
}

}  // namespace
}  // namespace ferry::model

namespace ferry::model {
namespace {

TEST(DecodeObjectTest, OneObjectThroughTheKindTable) {
  const DecodedApiObject decoded = DecodeObject(YAML::Load(
      R"({"apiVersion": "v1", "kind": "Service",
          "metadata": {"name": "web", "namespace": "shop"},
          "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})"));
  ASSERT_TRUE(decoded.object.has_value());
  EXPECT_EQ(RefOf(*decoded.object), (ObjectRef{"Service", "shop", "web"}));
  EXPECT_TRUE(decoded.problems.empty());
}

TEST(DecodeObjectTest, ErrorsNameTheObjectAndField) {
  const DecodedApiObject decoded = DecodeObject(YAML::Load(
      R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
          "spec": {"type": "LoadBalancer", "ports": [{"port": 70000}]}})"));
  EXPECT_FALSE(decoded.object.has_value());
  ASSERT_EQ(decoded.problems.size(), 1u);
  EXPECT_EQ(decoded.problems[0].ToString(),
            "Service default/web: spec.ports[0].port: 70000 is not a port (1-65535)");
}

TEST(DecodeObjectTest, AListIsNotAnObject) {
  const DecodedApiObject decoded =
      DecodeObject(YAML::Load(R"({"apiVersion": "v1", "kind": "List", "items": []})"));
  EXPECT_FALSE(decoded.object.has_value());
  ASSERT_EQ(decoded.problems.size(), 1u);
  EXPECT_EQ(decoded.problems[0].severity, Severity::kInfo);
}

}  // namespace
}  // namespace ferry::model
