// Loading a manifest directory: merging files, surviving broken ones,
// duplicates, and the examples shipped in deploy/examples.
#include "agent/model/manifest_dir.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/model/ipam_input.h"
#include "agent/model/model_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::model {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;

using Files = std::map<std::string, absl::StatusOr<std::string>>;

std::string NodeYaml(absl::string_view name) {
  return absl::StrCat("apiVersion: v1\nkind: Node\nmetadata: {name: ", name, "}\n");
}

std::string ServiceYaml(absl::string_view name, int port) {
  return absl::StrCat("apiVersion: v1\nkind: Service\nmetadata: {name: ", name,
                      "}\nspec: {type: LoadBalancer, ports: [{port: ", port, "}]}\n");
}

const Service& WebIn(const LoadResult& result) {
  const Service* web = result.model.FindService("default", "web");
  if (web == nullptr) {
    ADD_FAILURE() << "no Service default/web";
    static const Service kNone;
    return kNone;
  }
  return *web;
}

std::vector<std::string> Printed(const std::vector<FileError>& errors) {
  std::vector<std::string> printed;
  for (const FileError& error : errors) printed.push_back(error.ToString());
  return printed;
}

std::vector<std::string> Printed(const std::vector<ObjectError>& errors) {
  std::vector<std::string> printed;
  for (const ObjectError& error : errors) printed.push_back(error.ToString());
  return printed;
}

// The changes of one Update, as "kind namespace/name type".
std::vector<std::string> Summary(const ChangeSet& changes) {
  std::vector<std::string> out;
  for (const ObjectChange& change : changes.changes) {
    const char* type = change.type == ChangeType::kAdded     ? "added"
                       : change.type == ChangeType::kUpdated ? "updated"
                                                             : "deleted";
    out.push_back(absl::StrCat(change.ref.ToString(), " ", type));
    EXPECT_EQ(change.object.has_value(), change.type != ChangeType::kDeleted) << out.back();
  }
  return out;
}

TEST(ManifestTrackerTest, AChangedFileChangesExactlyItsObjects) {
  ManifestTracker tracker;
  const ChangeSet first = tracker.Update(
      {{"m/a.yaml", NodeYaml("node1") + "---\n" + ServiceYaml("web", 80)},
       {"m/b.yaml", ServiceYaml("api", 80)}},
      {});
  EXPECT_THAT(Summary(first), ElementsAre("Node node1 added", "Service default/api added",
                                          "Service default/web added"));
  // The same content again is no change; an edit changes only what differs.
  EXPECT_THAT(Summary(tracker.Update({{"m/b.yaml", ServiceYaml("api", 80)}}, {})), IsEmpty());
  EXPECT_THAT(Summary(tracker.Update(
                  {{"m/a.yaml", NodeYaml("node1") + "---\n" + ServiceYaml("web", 81)}}, {})),
              ElementsAre("Service default/web updated"));
  EXPECT_THAT(Summary(tracker.Update({}, {"m/a.yaml"})),
              ElementsAre("Node node1 deleted", "Service default/web deleted"));
  EXPECT_EQ(tracker.BuildModel().size(), 1u);
}

TEST(ManifestTrackerTest, RemovingTheUsedDefinitionUsesTheNextOne) {
  ManifestTracker tracker;
  tracker.Update({{"m/a.yaml", ServiceYaml("web", 80)}, {"m/b.yaml", ServiceYaml("web", 81)}}, {});
  ASSERT_THAT(Printed(tracker.problems().objects), SizeIs(1));
  const ChangeSet changes = tracker.Update({}, {"m/a.yaml"});
  EXPECT_THAT(Summary(changes), ElementsAre("Service default/web updated"));
  ASSERT_TRUE(changes.problems.has_value());
  EXPECT_THAT(changes.problems->objects, IsEmpty());
  EXPECT_EQ(std::get<Service>(*changes.changes[0].object).ports[0].port, 81);
}

TEST(ManifestTrackerTest, ABrokenFileChangesNothingAndSaysWhy) {
  ManifestTracker tracker;
  tracker.Update({{"m/web.yaml", ServiceYaml("web", 80)}}, {});
  const ChangeSet broken = tracker.Update({{"m/web.yaml", "spec: [\n"}}, {});
  EXPECT_THAT(broken.changes, IsEmpty());
  ASSERT_TRUE(broken.problems.has_value());
  EXPECT_THAT(Printed(broken.problems->files), SizeIs(1));
  const ChangeSet list = tracker.List();
  EXPECT_TRUE(list.replace_all);
  EXPECT_THAT(Summary(list), ElementsAre("Service default/web added"));
}

TEST(ManifestDirTest, MergesEveryFile) {
  const LoadResult result =
      LoadManifests({{"m/nodes.yaml", NodeYaml("node1") + "---\n" + NodeYaml("node2")},
                     {"m/web.yaml", ServiceYaml("web", 80)}},
                    {});
  EXPECT_THAT(result.file_errors, IsEmpty());
  EXPECT_THAT(result.object_errors, IsEmpty());
  EXPECT_EQ(result.model.size(), 3u);
  EXPECT_THAT(result.state, SizeIs(2));
}

TEST(ManifestDirTest, BrokenYamlKeepsTheFilesLastGoodObjectsAndTouchesNoOther) {
  const LoadResult first = LoadManifests(
      {{"m/nodes.yaml", NodeYaml("node1")}, {"m/web.yaml", ServiceYaml("web", 80)}}, {});
  ASSERT_EQ(first.model.size(), 2u);

  const LoadResult broken =
      LoadManifests({{"m/nodes.yaml", NodeYaml("node1") + "---\n" + NodeYaml("node2")},
                     {"m/web.yaml", "spec: {ports: [\n"}},
                    first.state);
  EXPECT_THAT(
      Printed(broken.file_errors),
      ElementsAre("m/web.yaml: line 2, column 1: end of sequence flow not found; its last good "
                  "version stays in use (1 objects)"));
  EXPECT_EQ(WebIn(broken), WebIn(first));
  EXPECT_NE(broken.model.FindNode("node2"), nullptr) << "the other file's change is applied";

  const LoadResult fixed =
      LoadManifests({{"m/nodes.yaml", NodeYaml("node1")}, {"m/web.yaml", ServiceYaml("web", 8080)}},
                    broken.state);
  EXPECT_THAT(fixed.file_errors, IsEmpty());
  EXPECT_EQ(WebIn(fixed).ports[0].port, 8080);
}

TEST(ManifestDirTest, AFileThatNeverParsedContributesNothing) {
  const LoadResult result =
      LoadManifests({{"m/a.yaml", "a: [\n"}, {"m/b.yaml", NodeYaml("node1")}}, {});
  EXPECT_THAT(
      Printed(result.file_errors),
      ElementsAre("m/a.yaml: line 2, column 1: end of sequence flow not found; the file has never "
                  "loaded, so none of its objects are used"));
  EXPECT_EQ(result.model.size(), 1u);
  EXPECT_THAT(result.state, SizeIs(1));
}

TEST(ManifestDirTest, ABillionLaughsFileFailsFastNamingTheFileAndTheAlias) {
  const absl::Time start = absl::Now();
  const LoadResult result = LoadManifests(
      {{"m/laughs.yaml", testing::BillionLaughs()}, {"m/b.yaml", NodeYaml("node1")}}, {});
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  ASSERT_THAT(result.file_errors, SizeIs(1));
  EXPECT_THAT(result.file_errors[0].ToString(),
              ::testing::StartsWith("m/laughs.yaml: line 9, column 12: YAML alias *a: anchors and "
                                    "aliases are not accepted"));
  EXPECT_EQ(result.model.size(), 1u) << "the other file is used";
}

TEST(ManifestDirTest, AnUnreadableFileKeepsItsObjectsLikeABrokenOne) {
  const LoadResult first = LoadManifests({{"m/web.yaml", ServiceYaml("web", 80)}}, {});
  const LoadResult unreadable = LoadManifests(
      {{"m/web.yaml", absl::PermissionDeniedError("cannot read: Permission denied")}}, first.state);
  EXPECT_THAT(
      Printed(unreadable.file_errors),
      ElementsAre("m/web.yaml: cannot read: Permission denied; its last good version stays in use "
                  "(1 objects)"));
  EXPECT_EQ(WebIn(unreadable), WebIn(first));
}

TEST(ManifestDirTest, ARemovedFileTakesItsObjectsAway) {
  const LoadResult first = LoadManifests(
      {{"m/nodes.yaml", NodeYaml("node1")}, {"m/web.yaml", ServiceYaml("web", 80)}}, {});
  const LoadResult removed = LoadManifests({{"m/nodes.yaml", NodeYaml("node1")}}, first.state);
  EXPECT_EQ(removed.model.FindService("default", "web"), nullptr);
  EXPECT_EQ(removed.model.size(), 1u);
  EXPECT_THAT(removed.state, SizeIs(1));
}

TEST(ManifestDirTest, InvalidObjectsAreReportedWithTheirPlaceEvenWhileTheFileIsBroken) {
  const std::string content = NodeYaml("node1") + "---\n" + ServiceYaml("web", 70000);
  const LoadResult first = LoadManifests({{"m/all.yaml", content}}, {});
  const std::vector<std::string> expected = {
      "m/all.yaml:5: Service default/web: spec.ports[0].port: 70000 is not a port (1-65535)"};
  EXPECT_EQ(Printed(first.object_errors), expected);
  EXPECT_EQ(first.model.size(), 1u);

  const LoadResult broken = LoadManifests({{"m/all.yaml", content + "x: [\n"}}, first.state);
  EXPECT_EQ(Printed(broken.object_errors), expected);
  EXPECT_EQ(broken.model, first.model);
}

TEST(ManifestDirTest, AnObjectThatTurnsInvalidKeepsItsLastValidVersion) {
  const LoadResult valid = LoadManifests({{"m/web.yaml", ServiceYaml("web", 80)}}, {});
  ASSERT_EQ(WebIn(valid).ports[0].port, 80);

  const LoadResult invalid = LoadManifests({{"m/web.yaml", ServiceYaml("web", 70000)}}, valid.state);
  EXPECT_THAT(Printed(invalid.object_errors),
              ElementsAre("m/web.yaml:1: Service default/web: spec.ports[0].port: 70000 is not a "
                          "port (1-65535); its last valid version stays in use"));
  EXPECT_EQ(WebIn(invalid).ports[0].port, 80);
  // Still invalid on the next load (another edit): still the old version.
  const LoadResult again =
      LoadManifests({{"m/web.yaml", "# edited\n" + ServiceYaml("web", 70001)}}, invalid.state);
  EXPECT_EQ(WebIn(again).ports[0].port, 80);
  // Fixed: the new version.
  const LoadResult fixed = LoadManifests({{"m/web.yaml", ServiceYaml("web", 81)}}, again.state);
  EXPECT_THAT(fixed.object_errors, IsEmpty());
  EXPECT_EQ(WebIn(fixed).ports[0].port, 81);
  // Removed from the manifests: gone, old version and all.
  const LoadResult removed = LoadManifests({{"m/web.yaml", NodeYaml("node1")}}, fixed.state);
  EXPECT_EQ(removed.model.FindService("default", "web"), nullptr);
}

TEST(ManifestDirTest, AnObjectDefinedTwiceIsTakenFromTheFirstFileByPath) {
  const LoadResult result =
      LoadManifests({{"m/b.yaml", ServiceYaml("web", 8080)},
                     {"m/a.yaml", NodeYaml("node1") + "---\n" + ServiceYaml("web", 80)},
                     {"m/c.yaml", ServiceYaml("web", 9090)}},
                    {});
  EXPECT_THAT(
      Printed(result.object_errors),
      ElementsAre("m/b.yaml:1: Service default/web: metadata.name: also defined at m/a.yaml:5, "
                  "which is used; this one is not",
                  "m/c.yaml:1: Service default/web: metadata.name: also defined at m/a.yaml:5, "
                  "which is used; this one is not"));
  EXPECT_EQ(WebIn(result).ports[0].port, 80);

  // Removing the winner lets the next file in path order take over.
  const LoadResult without_a = LoadManifests(
      {{"m/b.yaml", ServiceYaml("web", 8080)}, {"m/c.yaml", ServiceYaml("web", 9090)}},
      result.state);
  EXPECT_EQ(WebIn(without_a).ports[0].port, 8080);
  EXPECT_THAT(without_a.object_errors, SizeIs(1));
}

TEST(ManifestDirTest, AnObjectDefinedTwiceInOneFile) {
  const LoadResult result =
      LoadManifests({{"m/a.yaml", ServiceYaml("web", 80) + "---\n" + ServiceYaml("web", 81)}}, {});
  EXPECT_THAT(
      Printed(result.object_errors),
      ElementsAre("m/a.yaml:6: Service default/web: metadata.name: also defined at m/a.yaml:1, "
                  "which is used; this one is not"));
}

// A scratch directory removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ferry-model-XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  void Write(const std::string& name, absl::string_view content) const {
    std::ofstream(path_ / name) << content;
  }

 private:
  std::filesystem::path path_;
};

TEST(ManifestDirTest, ReadsYamlAndYmlFilesOnly) {
  ScratchDir dir;
  dir.Write("nodes.yml", NodeYaml("node1"));
  dir.Write("web.yaml", ServiceYaml("web", 80));
  dir.Write(".web.yaml.swp", "not yaml: [");
  dir.Write("README.md", "not yaml: [");
  std::filesystem::create_directory(dir.path() / "sub.yaml");
  dir.Write("sub.yaml/node2.yaml", NodeYaml("node2"));

  absl::StatusOr<LoadResult> result = LoadManifestDir(dir.path(), {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->file_errors, IsEmpty());
  EXPECT_EQ(result->model.size(), 2u);
  EXPECT_THAT(result->state, SizeIs(2));
  EXPECT_TRUE(result->state.contains((dir.path() / "web.yaml").string()));

  dir.Write("web.yaml", "spec: [\n");
  absl::StatusOr<LoadResult> broken = LoadManifestDir(dir.path(), std::move(result->state));
  ASSERT_TRUE(broken.ok()) << broken.status();
  ASSERT_THAT(broken->file_errors, SizeIs(1));
  EXPECT_EQ(broken->file_errors[0].file, (dir.path() / "web.yaml").string());
  EXPECT_NE(broken->model.FindService("default", "web"), nullptr);
}

TEST(ManifestDirTest, AMissingDirectoryIsAnError) {
  absl::StatusOr<LoadResult> result = LoadManifestDir("/nonexistent/ferry-manifests", {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(
      result.status().message(),
      "cannot list the manifest directory /nonexistent/ferry-manifests: No such file or directory");

  // The caller's state is left as it was, to be used on the next load.
  ManifestState state = LoadManifests({{"m/web.yaml", ServiceYaml("web", 80)}}, {}).state;
  ASSERT_FALSE(LoadManifestDir("/nonexistent/ferry-manifests", std::move(state)).ok());
  EXPECT_THAT(state, SizeIs(1));
}

TEST(ManifestDirTest, TheShippedExamplesDescribeTheDemoCluster) {
  absl::StatusOr<LoadResult> result =
      LoadManifestDir(std::filesystem::path(FERRY_SOURCE_DIR) / "deploy/examples", {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->file_errors, IsEmpty());
  EXPECT_THAT(Printed(result->object_errors), IsEmpty());
  const Model& model = result->model;
  // default/web (BGP-advertised) and default/web-lan (L2-announced).
  EXPECT_EQ(model.services().size(), 2u);
  EXPECT_EQ(model.endpoint_slices().size(), 4u);
  EXPECT_EQ(model.nodes().size(), 3u);
  EXPECT_EQ(model.l2_policies().size(), 1u);

  const Service& web = WebIn(*result);
  EXPECT_EQ(web.ip_family_policy, IpFamilyPolicy::kPreferDualStack);
  EXPECT_THAT(web.annotated_ips,
              ElementsAre(*net::IpAddress::Parse("198.19.0.10"), *net::IpAddress::Parse("2001:db8:19::10")));

  const std::vector<PortBackends> backends = ServiceBackends(model, web, "node1");
  ASSERT_EQ(backends.size(), 2u);
  for (size_t f = 0; f < 2; ++f) {
    EXPECT_EQ(backends[f].family, f == 0 ? net::IpFamily::kIPv4 : net::IpFamily::kIPv6);
    EXPECT_EQ(backends[f].port.port, 80);
    ASSERT_THAT(backends[f].backends, SizeIs(3));
    for (int k = 1; k <= 3; ++k) {
      const Backend& backend = backends[f].backends[k - 1];
      const std::string pod =
          f == 0 ? absl::StrCat("198.18.", 16 + k, ".10") : absl::StrCat("2001:db8:16:", k, "::10");
      EXPECT_EQ(backend.address.ToString(), pod);
      EXPECT_EQ(backend.port, 8080);
      EXPECT_EQ(backend.node_name, absl::StrCat("node", k));
    }
  }

  // Every Service but those labelled announce: l2 takes the BGP pool.
  ASSERT_EQ(model.pools().size(), 2u);
  const ipam::Service web_for_ipam = IpamServiceOf(web);
  net::Labels selectable = web_for_ipam.labels;
  selectable[std::string(ipam::kNamespaceLabel)] = web_for_ipam.ref.namespace_;
  net::Labels l2_service = selectable;
  l2_service["announce"] = "l2";
  std::map<std::string, std::pair<bool, bool>> selects;  // pool -> (web, an l2 Service)
  for (const auto& [ref, pool] : model.pools()) {
    absl::StatusOr<ipam::Pool> parsed = ipam::ParsePool(pool.spec);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    selects[ref.name] = {parsed->service_selector.Matches(selectable),
                         parsed->service_selector.Matches(l2_service)};
  }
  EXPECT_THAT(selects, ElementsAre(Pair("bgp", Pair(true, false)), Pair("l2", Pair(false, true))));
  for (const auto& [address, pool] :
       {std::pair("198.19.0.10", "bgp"), std::pair("2001:db8:19::10", "bgp")}) {
    const net::IpAddress vip = *net::IpAddress::Parse(address);
    const absl::StatusOr<ipam::Pool> parsed =
        ipam::ParsePool(model.pools().at({"LoadBalancerIPPool", "", pool}).spec);
    bool inside = false;
    for (const ipam::Block& block : parsed->blocks) {
      inside = inside || (block.family() == vip.family && block.first <= vip && vip <= block.last);
    }
    EXPECT_TRUE(inside) << address << " is in the " << pool << " pool";
  }

  for (int k = 1; k <= 3; ++k) {
    const Node* node = model.FindNode(absl::StrCat("node", k));
    ASSERT_NE(node, nullptr);
    EXPECT_THAT(node->internal_ips,
                ElementsAre(*net::IpAddress::Parse(absl::StrCat("198.18.0.", 10 + k)),
                            *net::IpAddress::Parse(absl::StrCat("2001:db8:0:1::", 10 + k))));
    EXPECT_EQ(node->metadata.labels, (net::Labels{{"kubernetes.io/hostname", absl::StrCat("node", k)}}));
    EXPECT_THAT(node->pod_cidrs,
                ElementsAre(*net::IpPrefix::Parse(absl::StrCat("198.18.", 16 + k, ".0/24")),
                            *net::IpPrefix::Parse(absl::StrCat("2001:db8:16:", k, "::/64"))));
  }
}

}  // namespace
}  // namespace ferry::model
