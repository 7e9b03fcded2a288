// The cluster the control-plane bench programs: S LoadBalancer Services
// with B backends each, as the objects ferryd reads: manifests (YAML) for
// --manifests, or JSON to create through the Kubernetes API. Each object is
// made once, as JSON; its manifest is that JSON written as YAML. Pure: the
// same options always give the same files, so a unit test can check them
// against ferryd's own model and controller.
//
// Addresses follow DESIGN.md §6. The bench node is node 0 (198.18.0.10);
// the backends run on nodes 1..N (198.18.0.(10+k)), in their pod CIDRs
// 198.18.(16+k).0/24, so within 198.18.16.0/20. S x B distinct pods do not
// fit there (100,000 at the default), so a backend is a distinct
// (pod address, port): the services of one "port group" use every pod
// address once, and each group listens on its own port.
#ifndef FERRY_TOOLS_FERRY_CP_BENCH_SCENARIO_H_
#define FERRY_TOOLS_FERRY_CP_BENCH_SCENARIO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace ferry::cpbench {

using Json = nlohmann::ordered_json;

inline constexpr int kMaxNodes = 15;  // pod CIDRs 198.18.17.0/24 .. 198.18.31.0/24

struct ScenarioOptions {
  int services = 10000;
  int backends_per_service = 10;
  int nodes = kMaxNodes;  // nodes running backends, besides the bench node
};

// InvalidArgument naming the option when a count is out of range or the
// services do not fit the address plan (VIPs, pod addresses, ports).
absl::Status ValidateScenario(const ScenarioOptions& options);

// "node<k>"; node 0 is the bench node, where ferryd runs.
std::string NodeName(int node);
// 198.18.0.(10 + k).
std::string NodeAddress(int node);
inline constexpr char kBenchNodeCidr[] = "198.18.0.10/24";

// "svc-00042": the Service, its EndpointSlice ("svc-00042-ipv4") and their
// files ("svc-00042.yaml", "eps-00042.yaml") are named after the index.
std::string ServiceName(int service);
std::string EndpointSliceFile(int service);
// 198.19.0.0/16, from 198.19.0.1 on; the frontend is VIP:80/TCP.
std::string VipOf(int service);
inline constexpr uint16_t kServicePort = 80;

struct Pod {
  std::string address;
  uint16_t port = 0;
  int node = 0;
  // "198.18.17.10:10000", as datapath::FormatEndpoint prints a backend.
  std::string Endpoint() const;
};

// The pods of one service, in EndpointSlice order.
std::vector<Pod> BackendsOf(const ScenarioOptions& options, int service);
// A pod no service uses, on the node of the service's first backend and
// listening on the service's port: what the one-backend change brings in
// instead of that first backend.
Pod ReplacementPod(const ScenarioOptions& options, int service);

struct ManifestFile {
  std::string name;
  std::string content;
};

// nodes.yaml, pools.yaml (one LoadBalancerIPPool, 198.19.0.0/16), then per
// service its Service file and EndpointSlice file.
std::vector<ManifestFile> Manifests(const ScenarioOptions& options);
std::string EndpointSliceManifest(int service, const std::vector<Pod>& pods);

// The Services' and EndpointSlices' namespace; the agent's (ferryd's
// --namespace default), which the API needs for its Leases and Secrets.
inline constexpr char kNamespace[] = "bench";
inline constexpr char kAgentNamespace[] = "ferry-system";
inline constexpr char kEndpointSlicesPath[] = "/apis/discovery.k8s.io/v1/endpointslices";

// The objects of one API collection, to create in order. `status`: the
// objects carry a status, which a create drops, so it is written to the
// status subresource after (as the kubelet writes a Node's addresses).
struct ApiCollection {
  std::string path;  // cluster-wide: "/api/v1/services"
  std::vector<Json> objects;
  bool status = false;
};

// The scenario through the API: the namespaces, the nodes, the pool, then
// the Services and their EndpointSlices. The same objects as Manifests().
std::vector<ApiCollection> ApiObjects(const ScenarioOptions& options);
Json EndpointSliceObject(int service, const std::vector<Pod>& pods);

// Block YAML, in the object's key order, that reads back as `object`.
std::string ToYaml(const Json& object);

}  // namespace ferry::cpbench

#endif  // FERRY_TOOLS_FERRY_CP_BENCH_SCENARIO_H_
