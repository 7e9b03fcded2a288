// The bench's pure parts: its manifests and the objects it creates through
// the API, read by ferryd's own model and controller, describe exactly the
// cluster the bench then checks the maps against, and the same one; its map
// sizes are flags ferryd accepts; its log parser reads ferryd's reconcile
// line.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/controllers/ipam/controller.h"
#include "agent/controllers/lb/plan.h"
#include "agent/ferryd/options.h"
#include "agent/k8s/api_tracker.h"
#include "agent/lb/services.h"
#include "agent/model/manifest_dir.h"
#include "gtest/gtest.h"
#include "tools/ferry-cp-bench/bench.h"
#include "tools/ferry-cp-bench/ferryd_log.h"
#include "tools/ferry-cp-bench/scenario.h"

namespace ferry::cpbench {
namespace {

absl::StatusOr<ferry_node> Reachable(const net::IpAddress& to) {
  const ferry_addr_key key = datapath::ToMapKey(to);
  ferry_node node{};
  node.tunnel_dst = key.addr;
  node.family = key.family;
  node.next_hop_mac[0] = 0x02;
  return node;
}

// The scenario's manifests through ferryd's manifest loader.
model::Model FromManifests(const ScenarioOptions& options) {
  std::map<std::string, absl::StatusOr<std::string>> files;
  for (const ManifestFile& file : Manifests(options)) files[file.name] = file.content;
  model::LoadResult loaded = model::LoadManifests(files, {});
  EXPECT_TRUE(loaded.file_errors.empty()) << loaded.file_errors.front();
  EXPECT_TRUE(loaded.object_errors.empty()) << loaded.object_errors.front();
  return loaded.model;
}

// The scenario's API objects, with their status, as the API serves them to
// ferryd's Kubernetes source (DecodeObject). The Namespaces are not Ferry's.
model::Model FromApiObjects(const ScenarioOptions& options) {
  model::Model model;
  for (const ApiCollection& collection : ApiObjects(options)) {
    for (const Json& object : collection.objects) {
      const model::DecodedApiObject decoded = k8s::DecodeApiObject(nlohmann::json(object));
      const std::string what = absl::StrCat(collection.path, " ", object["metadata"].dump());
      for (const model::ValidationError& problem : decoded.problems) {
        EXPECT_NE(problem.severity, model::Severity::kError) << what << ": " << problem.ToString();
      }
      if (object["kind"] == "Namespace") {
        EXPECT_FALSE(decoded.object.has_value()) << what;
        continue;
      }
      if (!decoded.object) {
        ADD_FAILURE() << what << ": not decoded";
        continue;
      }
      EXPECT_TRUE(model.Add(*decoded.object).ok()) << what;
    }
  }
  return model;
}

// The model through ferryd's LB-IPAM and LB controller.
ferryd::ControllerOutput Controller(const model::Model& model) {
  ferryd::IpamController ipam([] { return absl::UnixEpoch(); });
  ipam.Update(model, {});
  return ferryd::BuildLbInput(model, NodeName(0), 1021, Reachable,
                              [&](const model::ObjectRef& service) { return ipam.VipsOf(service); });
}

TEST(ScenarioTest, TheApiObjectsAreTheManifestsObjects) {
  const ScenarioOptions options{.services = 300, .backends_per_service = 10, .nodes = 3};
  const model::Model from_manifests = FromManifests(options);
  EXPECT_EQ(from_manifests.services().size(), 300u);
  EXPECT_EQ(from_manifests.endpoint_slices().size(), 300u);
  EXPECT_EQ(from_manifests.nodes().size(), 4u);
  EXPECT_EQ(from_manifests.pools().size(), 1u);
  EXPECT_TRUE(FromApiObjects(options) == from_manifests);
}

TEST(ScenarioTest, TheApiObjectsCreateNamespacesFirstAndCarryTheNodesStatus) {
  const std::vector<ApiCollection> collections = ApiObjects({.services = 2, .nodes = 1});
  ASSERT_EQ(collections.size(), 5u);
  EXPECT_EQ(collections[0].path, "/api/v1/namespaces");
  EXPECT_EQ(collections[1].path, "/api/v1/nodes");
  EXPECT_TRUE(collections[1].status);
  EXPECT_EQ(collections[1].objects[1]["status"]["addresses"][0]["address"], NodeAddress(1));
  EXPECT_EQ(collections[4].path, kEndpointSlicesPath);
  // The test API server, like kube's, allocates node ports unless told not
  // to; 10,000 Services would not fit its range.
  EXPECT_EQ(collections[3].objects[0]["spec"]["allocateLoadBalancerNodePorts"], false);
}

TEST(ToYamlTest, WritesBlockYamlWithEveryStringQuoted) {
  const Json object = {{"s", "80"},
                       {"t", "true"},
                       {"n", 80},
                       {"b", false},
                       {"empty", Json::object()},
                       {"none", Json::array()},
                       {"list", {{{"a", 1}, {"b", {"x", "y"}}}, {{"c", {{"d", "e"}}}}}},
                       {"nested", {{"k.io/name", "a: b"}}}};
  EXPECT_EQ(ToYaml(object),
            "s: \"80\"\nt: \"true\"\nn: 80\nb: false\nempty: {}\nnone: []\nlist:\n"
            "- a: 1\n  b:\n  - \"x\"\n  - \"y\"\n- c:\n    d: \"e\"\nnested:\n"
            "  k.io/name: \"a: b\"\n");
}

TEST(ScenarioTest, EveryServiceReachesFerrydWithItsOwnDistinctBackends) {
  const ScenarioOptions options{.services = 1500, .backends_per_service = 10, .nodes = 3};
  ASSERT_TRUE(ValidateScenario(options).ok());
  ferryd::ControllerOutput out = Controller(FromManifests(options));
  EXPECT_TRUE(out.problems.empty()) << out.problems.front();
  ASSERT_EQ(out.input.services.size(), 1500u);
  EXPECT_EQ(out.input.nodes.size(), 4u);

  std::set<std::string> identities;
  for (int service = 0; service < options.services; ++service) {
    const std::string name = absl::StrCat("bench/", ServiceName(service), "/http/IPv4");
    auto lb_service = std::find_if(out.input.services.begin(), out.input.services.end(),
                                   [&](const lb::LbService& s) { return s.name == name; });
    ASSERT_NE(lb_service, out.input.services.end()) << name;
    ASSERT_EQ(lb_service->frontends.size(), 1u);
    EXPECT_EQ(lb_service->frontends[0].vip.ToString(), VipOf(service));
    EXPECT_EQ(lb_service->frontends[0].port, kServicePort);

    std::set<std::string> got, want;
    for (const lb::Backend& backend : lb_service->backends) {
      got.insert(absl::StrCat(backend.address.ToString(), ":", backend.port));
      identities.insert(lb::BackendIdentity(
          absl::StrCat(backend.address.ToString(), ":", backend.port), backend.node));
    }
    for (const Pod& pod : BackendsOf(options, service)) want.insert(pod.Endpoint());
    EXPECT_EQ(got, want) << name;
  }
  // Shared backends would make the bench program fewer than S x B.
  EXPECT_EQ(identities.size(), 15000u);
  EXPECT_FALSE(identities.contains(lb::BackendIdentity(
      ReplacementPod(options, 750).Endpoint(), NodeName(ReplacementPod(options, 750).node))));
}

TEST(ScenarioTest, ReplacementDiffersOnlyInTheFirstBackend) {
  const ScenarioOptions options;
  const std::vector<Pod> pods = BackendsOf(options, 5000);
  const Pod replacement = ReplacementPod(options, 5000);
  EXPECT_EQ(replacement.port, pods.front().port);
  EXPECT_EQ(replacement.node, pods.front().node);
  for (const Pod& pod : pods) EXPECT_NE(replacement.address, pod.address);
}

TEST(ScenarioTest, RejectsWhatDoesNotFitTheAddressPlan) {
  EXPECT_TRUE(ValidateScenario({}).ok());
  EXPECT_FALSE(ValidateScenario({.nodes = 0}).ok());
  EXPECT_FALSE(ValidateScenario({.nodes = kMaxNodes + 1}).ok());
  EXPECT_FALSE(ValidateScenario({.services = 0}).ok());
  EXPECT_FALSE(ValidateScenario({.services = 65535}).ok());
  EXPECT_FALSE(ValidateScenario({.backends_per_service = 0}).ok());
  EXPECT_FALSE(ValidateScenario({.backends_per_service = 241, .nodes = 1}).ok());
  // One service per pod port: 60,000 ports are more than 10000..65535.
  EXPECT_FALSE(ValidateScenario({.services = 60000, .backends_per_service = 240, .nodes = 1}).ok());
  EXPECT_EQ(VipOf(0), "198.19.0.1");
  EXPECT_EQ(VipOf(65533), "198.19.255.254");
}

TEST(MapSizesTest, FerrydAcceptsThemAndTheyFitTheScenario) {
  const ScenarioOptions options;
  const std::string flag = MapSizesFlag(options);
  const std::vector<absl::string_view> args = {"--node", "node0", "--manifests", "/m",
                                               "--uplink", "eth0", "--map-sizes", flag};
  absl::StatusOr<ferryd::Options> parsed = ferryd::ParseOptions(args);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  // The change adds its backend before it removes the old one.
  EXPECT_GT(parsed->map_sizes.backends, 100000u);
  EXPECT_GE(parsed->map_sizes.services, 10000u);
  EXPECT_GE(parsed->map_sizes.frontends, 10000u);
  EXPECT_GE(parsed->map_sizes.vips, 10000u);
  EXPECT_GE(parsed->map_sizes.nodes, 16u);
}

TEST(FerrydLogTest, ReadsTheReconcileLine) {
  const std::string log =
      "2025-01-02T03:04:05.678 ferryd: node node0: datapath loaded (maps in /x)\n"
      "2025-01-02T03:04:09.000 ferryd: reconcile (manifests): 10000 service ports, 16 nodes, 0 "
      "local endpoints; 3 writes (backend_upserts=1 table_writes=1 backend_deletes=1) in "
      "212.5ms\n"
      "2025-01-02T03:04:11.000 ferryd: reconcile (manifests): 10000 service ports, 16 nodes, 0 "
      "local endpoints; 0 writes (none) in 1.5s\n";
  std::vector<ReconcilePass> passes = ReconcilePasses(log);
  ASSERT_EQ(passes.size(), 2u);
  EXPECT_EQ(passes[0].trigger, "manifests");
  EXPECT_EQ(passes[0].service_ports, 10000);
  EXPECT_EQ(passes[0].writes, 3);
  EXPECT_EQ(passes[0].writes_by_kind, ExpectedChangeWrites());
  EXPECT_EQ(passes[0].took, absl::Microseconds(212500));
  EXPECT_EQ(passes[1].writes, 0);
  EXPECT_TRUE(passes[1].writes_by_kind.empty());
  EXPECT_EQ(passes[1].took, absl::Milliseconds(1500));
  EXPECT_EQ(passes[1].logged - passes[0].logged, absl::Seconds(2));

  std::optional<absl::Time> loaded = FirstLoggedAt(log, "datapath loaded");
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(passes[0].logged - *loaded, absl::Milliseconds(3322));
  EXPECT_FALSE(FirstLoggedAt(log, "no such line").has_value());
}

}  // namespace
}  // namespace ferry::cpbench
