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

Json ServiceObject(int service) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata",
           {{"name", ServiceName(service)},
            {"namespace", kNamespace},
            {"annotations", {{"ferry.dev/ips", VipOf(service)}}}}},
          {"spec",
           {{"type", "LoadBalancer"},
            {"ipFamilyPolicy", "SingleStack"},
            {"ipFamilies", {"IPv4"}},
            {"externalTrafficPolicy", "Cluster"},
            // Ferry needs no node ports, and 10,000 Services would not fit
            // in an API server's node port range.
            {"allocateLoadBalancerNodePorts", false},
            {"ports",
             {{{"name", "http"}, {"protocol", "TCP"}, {"port", kServicePort},
               {"targetPort", "http"}}}}}}};
}

Json NodeObject(int node) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", NodeName(node)}}},
          {"spec", {{"podCIDRs", {absl::StrCat("198.18.", 16 + node, ".0/24")}}}},
          {"status", {{"addresses", {{{"type", "InternalIP"}, {"address", NodeAddress(node)}}}}}}};
}

// Every VIP is requested by its Service's ferry.dev/ips annotation; the
// allocator hands out only addresses of a pool that selects the Service.
Json PoolObject() {
  return {{"apiVersion", "ferry.dev/v1alpha1"},
          {"kind", "LoadBalancerIPPool"},
          {"metadata", {{"name", "bench"}}},
          {"spec", {{"blocks", {{{"cidr", "198.19.0.0/16"}}}}}}};
}

Json NamespaceObject(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
}

bool IsScalar(const Json& value) { return !value.is_object() && !value.is_array(); }

// Block YAML of `value`'s entries, each line indented by `indent`. Strings
// are written as JSON strings (YAML double-quoted scalars): never read back
// as a number, a boolean or null.
void AppendYaml(const Json& value, int indent, std::string& out) {
  const std::string pad(indent, ' ');
  auto append_value = [&](const Json& item, int nested_indent) {
    if (IsScalar(item) || item.empty()) {
      absl::StrAppend(&out, " ", item.dump(), "\n");
    } else {
      out += "\n";
      AppendYaml(item, nested_indent, out);
    }
  };
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      absl::StrAppend(&out, pad, key, ":");
      // Lists under a key at the key's indent, as kubectl writes them.
      append_value(item, item.is_array() ? indent : indent + 2);
    }
    return;
  }
  for (const Json& item : value) {
    if (IsScalar(item) || item.empty()) {
      absl::StrAppend(&out, pad, "- ", item.dump(), "\n");
      continue;
    }
    // The item's first line starts after its "- ".
    const size_t first = out.size();
    AppendYaml(item, indent + 2, out);
    out.replace(first + indent, 2, "- ");
  }
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

Json EndpointSliceObject(int service, const std::vector<Pod>& pods) {
  Json endpoints = Json::array();
  for (const Pod& pod : pods) {
    endpoints.push_back(
        {{"addresses", {pod.address}},
         {"conditions", {{"ready", true}, {"serving", true}, {"terminating", false}}},
         {"nodeName", NodeName(pod.node)}});
  }
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"name", absl::StrCat(ServiceName(service), "-ipv4")},
            {"namespace", kNamespace},
            {"labels", {{"kubernetes.io/service-name", ServiceName(service)}}}}},
          {"addressType", "IPv4"},
          {"ports", {{{"name", "http"}, {"protocol", "TCP"}, {"port", pods.front().port}}}},
          {"endpoints", endpoints}};
}

std::string EndpointSliceManifest(int service, const std::vector<Pod>& pods) {
  return ToYaml(EndpointSliceObject(service, pods));
}

std::string ToYaml(const Json& object) {
  std::string out;
  AppendYaml(object, 0, out);
  return out;
}

std::vector<ApiCollection> ApiObjects(const ScenarioOptions& options) {
  ApiCollection namespaces{.path = "/api/v1/namespaces",
                           .objects = {NamespaceObject(kNamespace),
                                       NamespaceObject(kAgentNamespace)}};
  ApiCollection nodes{.path = "/api/v1/nodes", .objects = {}, .status = true};
  for (int node = 0; node <= options.nodes; ++node) nodes.objects.push_back(NodeObject(node));
  ApiCollection pools{.path = "/apis/ferry.dev/v1alpha1/loadbalancerippools",
                      .objects = {PoolObject()}};
  ApiCollection services{.path = "/api/v1/services", .objects = {}};
  ApiCollection slices{.path = kEndpointSlicesPath, .objects = {}};
  services.objects.reserve(options.services);
  slices.objects.reserve(options.services);
  for (int service = 0; service < options.services; ++service) {
    services.objects.push_back(ServiceObject(service));
    slices.objects.push_back(EndpointSliceObject(service, BackendsOf(options, service)));
  }
  return {std::move(namespaces), std::move(nodes), std::move(pools), std::move(services),
          std::move(slices)};
}

std::vector<ManifestFile> Manifests(const ScenarioOptions& options) {
  std::vector<ManifestFile> files;
  files.reserve(2 + 2 * options.services);
  std::string nodes;
  for (int node = 0; node <= options.nodes; ++node) {
    absl::StrAppend(&nodes, "---\n", ToYaml(NodeObject(node)));
  }
  files.push_back({.name = "nodes.yaml", .content = std::move(nodes)});
  files.push_back({.name = "pools.yaml", .content = ToYaml(PoolObject())});
  for (int service = 0; service < options.services; ++service) {
    files.push_back({.name = absl::StrCat(ServiceName(service), ".yaml"),
                     .content = ToYaml(ServiceObject(service))});
    files.push_back({.name = EndpointSliceFile(service),
                     .content = EndpointSliceManifest(service, BackendsOf(options, service))});
  }
  return files;
}

}  // namespace ferry::cpbench
