// The bench's pure parts: its manifests, read by ferryd's own model and
// controller, describe exactly the cluster the bench then checks the maps
// against; its map sizes are flags ferryd accepts; its log parser reads
// ferryd's reconcile line.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/controllers/ipam/controller.h"
#include "agent/controllers/lb/plan.h"
#include "agent/ferryd/options.h"
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

// The scenario through ferryd's manifest loader, LB-IPAM and LB controller.
ferryd::ControllerOutput Controller(const ScenarioOptions& options) {
  std::map<std::string, absl::StatusOr<std::string>> files;
  for (const ManifestFile& file : Manifests(options)) files[file.name] = file.content;
  model::LoadResult loaded = model::LoadManifests(files, {});
  EXPECT_TRUE(loaded.file_errors.empty()) << loaded.file_errors.front();
  EXPECT_TRUE(loaded.object_errors.empty()) << loaded.object_errors.front();
  ferryd::IpamController ipam([] { return absl::UnixEpoch(); });
  ipam.Update(loaded.model, {});
  return ferryd::BuildLbInput(loaded.model, NodeName(0), 1021, Reachable,
                              [&](const model::ObjectRef& service) { return ipam.VipsOf(service); });
}

TEST(ScenarioTest, EveryServiceReachesFerrydWithItsOwnDistinctBackends) {
  const ScenarioOptions options{.services = 1500, .backends_per_service = 10, .nodes = 3};
  ASSERT_TRUE(ValidateScenario(options).ok());
  ferryd::ControllerOutput out = Controller(options);
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
