#include "tools/ferry-cp-bench/scenario.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ferry::cpbench {
namespace {

// Pods of node k are 198.18.(16+k).10 .. .249; .250 is kept free for the
// replacement pod of the one-backend change.
constexpr int kFirstPodHost = 10;
constexpr int kPodsPerNode = 240;
constexpr int kReplacementHost = kFirstPodHost + kPodsPerNode;
constexpr int kFirstPodPort = 10000;
constexpr int kMaxServices = 65534;  // 198.19.0.1 .. 198.19.255.254

int PodAddresses(const ScenarioOptions& options) { return kPodsPerNode * options.nodes; }

// Services that share one pod port; together they use every pod address once.
int ServicesPerPort(const ScenarioOptions& options) {
  return PodAddresses(options) / options.backends_per_service;
}

int PortOf(const ScenarioOptions& options, int service) {
  return kFirstPodPort + service / ServicesPerPort(options);
}

std::string PodAddress(int node, int host) { return absl::StrCat("198.18.", 16 + node, ".", host); }

std::string ServiceManifest(int service) {
  return absl::StrFormat(R"(apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: bench
  annotations:
    ferry.dev/ips: %s
spec:
  type: LoadBalancer
  ipFamilyPolicy: SingleStack
  ipFamilies:
  - IPv4
  externalTrafficPolicy: Cluster
  ports:
  - name: http
    protocol: TCP
    port: %d
    targetPort: http
)",
                         ServiceName(service), VipOf(service), kServicePort);
}

std::string NodesManifest(const ScenarioOptions& options) {
  std::string out;
  for (int node = 0; node <= options.nodes; ++node) {
    absl::StrAppendFormat(&out, R"(---
apiVersion: v1
kind: Node
metadata:
  name: %s
spec:
  podCIDRs:
  - 198.18.%d.0/24
status:
  addresses:
  - type: InternalIP
    address: %s
)",
                          NodeName(node), 16 + node, NodeAddress(node));
  }
  return out;
}

// Every VIP is requested by its Service's ferry.dev/ips annotation; the
// allocator hands out only addresses of a pool that selects the Service.
std::string PoolManifest() {
  return R"(apiVersion: ferry.dev/v1alpha1
kind: LoadBalancerIPPool
metadata:
  name: bench
spec:
  blocks:
  - cidr: 198.19.0.0/16
)";
}

}  // namespace

absl::Status ValidateScenario(const ScenarioOptions& options) {
  if (options.nodes < 1 || options.nodes > kMaxNodes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--nodes must be from 1 to ", kMaxNodes, ", not ", options.nodes));
  }
  if (options.backends_per_service < 1 ||
      options.backends_per_service > PodAddresses(options)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--backends must be from 1 to ", PodAddresses(options), " (", kPodsPerNode,
        " pods on each of ", options.nodes, " nodes), not ", options.backends_per_service));
  }
  if (options.services < 1 || options.services > kMaxServices) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--services must be from 1 to ", kMaxServices, " (VIPs in 198.19.0.0/16), not ",
        options.services));
  }
  if (PortOf(options, options.services - 1) > UINT16_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--services ", options.services, " x --backends ", options.backends_per_service,
        " needs more pod ports than 10000..65535 on ", options.nodes, " nodes: add nodes"));
  }
  return absl::OkStatus();
}

std::string NodeName(int node) { return absl::StrCat("node", node); }

std::string NodeAddress(int node) { return absl::StrCat("198.18.0.", 10 + node); }

std::string ServiceName(int service) { return absl::StrFormat("svc-%05d", service); }

std::string EndpointSliceFile(int service) { return absl::StrFormat("eps-%05d.yaml", service); }

std::string VipOf(int service) {
  const int host = service + 1;
  return absl::StrCat("198.19.", host / 256, ".", host % 256);
}

std::string Pod::Endpoint() const { return absl::StrCat(address, ":", port); }

std::vector<Pod> BackendsOf(const ScenarioOptions& options, int service) {
  const int b = options.backends_per_service;
  const int first = (service % ServicesPerPort(options)) * b;
  std::vector<Pod> pods;
  pods.reserve(b);
  for (int i = first; i < first + b; ++i) {
    // Consecutive pods on consecutive nodes: every service spans the nodes.
    const int node = 1 + i % options.nodes;
    pods.push_back({.address = PodAddress(node, kFirstPodHost + i / options.nodes),
                    .port = static_cast<uint16_t>(PortOf(options, service)),
                    .node = node});
  }
  return pods;
}

Pod ReplacementPod(const ScenarioOptions& options, int service) {
  const Pod first = BackendsOf(options, service).front();
  return {.address = PodAddress(first.node, kReplacementHost), .port = first.port, .node = first.node};
}

std::string EndpointSliceManifest(int service, const std::vector<Pod>& pods) {
  std::string out = absl::StrFormat(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %s-ipv4
  namespace: bench
  labels:
    kubernetes.io/service-name: %s
addressType: IPv4
ports:
- name: http
  protocol: TCP
  port: %d
endpoints:
)",
                                    ServiceName(service), ServiceName(service), pods.front().port);
  for (const Pod& pod : pods) {
    absl::StrAppendFormat(&out, R"(- addresses:
  - %s
  conditions:
    ready: true
    serving: true
    terminating: false
  nodeName: %s
)",
                          pod.address, NodeName(pod.node));
  }
  return out;
}

std::vector<ManifestFile> Manifests(const ScenarioOptions& options) {
  std::vector<ManifestFile> files;
  files.reserve(2 + 2 * options.services);
  files.push_back({.name = "nodes.yaml", .content = NodesManifest(options)});
  files.push_back({.name = "pools.yaml", .content = PoolManifest()});
  for (int service = 0; service < options.services; ++service) {
    files.push_back({.name = absl::StrCat(ServiceName(service), ".yaml"),
                     .content = ServiceManifest(service)});
    files.push_back({.name = EndpointSliceFile(service),
                     .content = EndpointSliceManifest(service, BackendsOf(options, service))});
  }
  return files;
}

}  // namespace ferry::cpbench
