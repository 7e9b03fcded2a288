#include "agent/k8s/api_tracker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/k8s/testing/changes.h"

namespace ferry::k8s {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

nlohmann::json Meta(const std::string& name, const std::string& version,
                    const std::string& ns = "") {
  nlohmann::json meta = {{"name", name}, {"resourceVersion", version}};
  if (!ns.empty()) meta["namespace"] = ns;
  return meta;
}

nlohmann::json Service(const std::string& name, const std::string& version, int port = 80,
                       const std::string& type = "LoadBalancer") {
  return {{"metadata", Meta(name, version, "default")},
          {"spec", {{"type", type}, {"ports", {{{"port", port}, {"protocol", "TCP"}}}}}}};
}

nlohmann::json Peer(const std::string& name, const std::string& version,
                    const std::string& secret) {
  nlohmann::json spec = {{"peerAddress", "198.18.0.1"}, {"peerASN", 64512}, {"localASN", 64513}};
  if (!secret.empty()) spec["passwordSecretRef"] = {{"name", secret}, {"key", "password"}};
  return {{"metadata", Meta(name, version)}, {"spec", spec}};
}

nlohmann::json Secret(const std::string& name, const std::string& version,
                      const std::string& password) {
  return {{"metadata", Meta(name, version, "ferry-system")},
          {"data", {{"password", absl::Base64Escape(password)}}}};
}

std::string Event(const std::string& type, const nlohmann::json& object) {
  return nlohmann::json{{"type", type}, {"object", object}}.dump() + "\n";
}

std::vector<std::string> Shown(const model::ChangeSet& changes) {
  return testing::Shown(changes, /*versions=*/true);
}

TEST(DecodeApiObjectTest, JsonThroughTheModelsDecoder) {
  nlohmann::json peer = Peer("gw", "8", "gw-password");
  peer["kind"] = "BGPPeer";
  peer["apiVersion"] = "ferry.dev/v1alpha1";
  peer["metadata"]["managedFields"] = {{{"manager", "kubectl"}, {"fieldsV1", {{"f:spec", {}}}}}};
  const model::DecodedApiObject decoded = DecodeApiObject(peer);
  ASSERT_TRUE(decoded.object.has_value());
  for (const model::ValidationError& error : decoded.problems) ADD_FAILURE() << error;
  const auto& spec = std::get<model::BgpPeer>(*decoded.object).spec;
  ASSERT_TRUE(spec.password_secret_ref.has_value());
  EXPECT_EQ(spec.password_secret_ref->name, "gw-password");
  EXPECT_EQ(spec.peer_asn, 64512u);
}

TEST(DecodeApiObjectTest, AJsonStringIsNotANumber) {
  nlohmann::json service = Service("web", "1");
  service["kind"] = "Service";
  service["apiVersion"] = "v1";
  service["spec"]["ports"][0]["port"] = "80";
  const model::DecodedApiObject decoded = DecodeApiObject(service);
  EXPECT_FALSE(decoded.object.has_value());
  ASSERT_EQ(decoded.problems.size(), 1u);
  EXPECT_EQ(decoded.problems[0].ToString(),
            "Service default/web: spec.ports[0].port: must be a number, not the string \"80\"");
}

class ApiTrackerTest : public ::testing::Test {
 protected:
  ApiTrackerTest()
      : tracker_({.timing = {}, .secrets_namespace = "ferry-system"}, [] { return 0.5; }) {}

  Reflector& At(absl::string_view path) {
    for (Reflector* reflector : tracker_.reflectors()) {
      if (absl::StrCat(reflector->resource().path, "?", reflector->resource().field_selector) ==
          path) {
        return *reflector;
      }
      if (reflector->resource().field_selector.empty() && reflector->resource().path == path) {
        return *reflector;
      }
    }
    ADD_FAILURE() << "no reflector for " << path;
    return *tracker_.reflectors().front();
  }

  // Answers every list the reflectors ask for from `lists_` (by path, and
  // "path?selector" for a Secret), and leaves their watches open.
  void Serve() {
    for (Reflector* reflector : tracker_.reflectors()) {
      const std::optional<std::string> request = reflector->NextRequest(now_);
      if (!request || absl::StrContains(*request, "watch=1")) continue;
      const Resource& resource = reflector->resource();
      const std::string key = resource.field_selector.empty()
                                  ? resource.path
                                  : absl::StrCat(resource.path, "?", resource.field_selector);
      nlohmann::json page = {{"metadata", {{"resourceVersion", "100"}}},
                             {"items", nlohmann::json::array()}};
      for (const nlohmann::json& item : lists_[key]) page["items"].push_back(item);
      reflector->OnData(now_, 200, page.dump());
      reflector->OnDone(now_, 200, "");
      reflector->NextRequest(now_);  // the watch
    }
    tracker_.Collect(now_);
  }

  void Watch(absl::string_view path, const std::string& events) {
    At(path).OnData(now_, 200, events);
    tracker_.Collect(now_);
  }

  // The changes once they are due.
  model::ChangeSet Settled() {
    now_ = std::max(now_, tracker_.ReadyAt());
    return tracker_.Take(now_);
  }

  absl::Time now_ = kStart;
  std::map<std::string, std::vector<nlohmann::json>> lists_;
  ApiTracker tracker_;
};

TEST_F(ApiTrackerTest, FirstChangesAreTheFullListOnceEveryKindIsListed) {
  lists_["/api/v1/services"] = {Service("web", "5"), Service("bad", "6", 70000),
                                Service("internal", "7", 80, "ClusterIP")};
  lists_["/apis/ferry.dev/v1alpha1/bgppeers"] = {Peer("gw", "8", "")};
  EXPECT_EQ(tracker_.ReadyAt(), absl::InfiniteFuture());
  EXPECT_TRUE(tracker_.Take(now_).empty());
  Serve();
  ASSERT_TRUE(tracker_.synced());
  const model::ChangeSet changes = Settled();
  EXPECT_TRUE(changes.replace_all);
  EXPECT_THAT(Shown(changes), ElementsAre("added BGPPeer gw 8", "added Service default/web 5"));
  ASSERT_TRUE(changes.problems.has_value());
  EXPECT_THAT(changes.problems->files, IsEmpty());
  std::vector<std::string> problems;
  for (const model::ObjectError& error : changes.problems->objects) {
    problems.push_back(error.ToString());
  }
  // The ClusterIP Service is not Ferry's, which is no problem.
  EXPECT_THAT(problems,
              ElementsAre("/api/v1/services: Service default/bad: spec.ports[0].port: 70000 is "
                          "not a port (1-65535)"));
}

TEST_F(ApiTrackerTest, WatchEventsAreIncrementalAndDebounced) {
  lists_["/api/v1/services"] = {Service("web", "5")};
  Serve();
  Settled();
  Watch("/api/v1/services", Event("MODIFIED", Service("web", "9", 8080)));
  EXPECT_EQ(tracker_.ReadyAt(), now_ + absl::Milliseconds(10));
  EXPECT_TRUE(tracker_.Take(now_).empty());
  now_ += absl::Milliseconds(5);
  Watch("/api/v1/services", Event("ADDED", Service("api", "10")));
  const model::ChangeSet changes = Settled();
  EXPECT_EQ(now_, kStart + absl::Milliseconds(15));
  EXPECT_FALSE(changes.replace_all);
  EXPECT_THAT(Shown(changes),
              ElementsAre("added Service default/api 10", "updated Service default/web 9"));
  EXPECT_FALSE(changes.problems.has_value());
}

TEST_F(ApiTrackerTest, AnObjectTurnedInvalidKeepsItsLastValidVersion) {
  lists_["/api/v1/services"] = {Service("web", "5")};
  Serve();
  Settled();
  Watch("/api/v1/services", Event("MODIFIED", Service("web", "6", 0)));
  model::ChangeSet changes = Settled();
  EXPECT_THAT(changes.changes, IsEmpty());
  ASSERT_TRUE(changes.problems.has_value());
  ASSERT_EQ(changes.problems->objects.size(), 2u);
  EXPECT_THAT(changes.problems->objects[0].ToString(), HasSubstr("spec.ports[0].port"));
  EXPECT_THAT(changes.problems->objects[1].ToString(),
              HasSubstr("its last valid version stays in use"));
  // Fixed: in use again, and the problems are gone.
  Watch("/api/v1/services", Event("MODIFIED", Service("web", "7", 443)));
  changes = Settled();
  EXPECT_THAT(Shown(changes), ElementsAre("updated Service default/web 7"));
  ASSERT_TRUE(changes.problems.has_value());
  EXPECT_THAT(changes.problems->objects, IsEmpty());
}

TEST_F(ApiTrackerTest, AnObjectThatIsNoLongerOursLeavesTheModel) {
  lists_["/api/v1/services"] = {Service("web", "5")};
  Serve();
  Settled();
  Watch("/api/v1/services", Event("MODIFIED", Service("web", "6", 80, "ClusterIP")));
  EXPECT_THAT(Shown(Settled()), ElementsAre("deleted Service default/web 6"));
  // Deleting it then changes nothing more.
  Watch("/api/v1/services", Event("DELETED", Service("web", "7", 80, "ClusterIP")));
  EXPECT_THAT(Settled().changes, IsEmpty());
}

TEST_F(ApiTrackerTest, AddedThenDeletedBeforeTheReadIsNothing) {
  Serve();
  Settled();
  Watch("/api/v1/services",
        Event("ADDED", Service("web", "6")) + Event("DELETED", Service("web", "7")));
  EXPECT_THAT(Settled().changes, IsEmpty());
}

TEST_F(ApiTrackerTest, RelistAfterGoneGivesOnlyTheDifferences) {
  lists_["/api/v1/services"] = {Service("a", "1"), Service("b", "2"), Service("c", "3")};
  Serve();
  Settled();
  Watch("/api/v1/services",
        Event("ERROR", {{"kind", "Status"}, {"code", 410}, {"message", "too old"}}));
  ASSERT_TRUE(At("/api/v1/services").Drop(now_));
  lists_["/api/v1/services"] = {Service("a", "1"), Service("b", "20", 81), Service("d", "21")};
  Serve();
  const model::ChangeSet changes = Settled();
  EXPECT_FALSE(changes.replace_all);
  EXPECT_THAT(Shown(changes),
              ElementsAre("updated Service default/b 20", "deleted Service default/c ",
                          "added Service default/d 21"));
}

TEST_F(ApiTrackerTest, FailuresAreProblemsUntilTheResourceWorksAgain) {
  Serve();
  Settled();
  At("/api/v1/nodes").OnDone(now_, 0, "Connection refused");
  tracker_.Collect(now_);
  model::ChangeSet changes = Settled();
  EXPECT_THAT(changes.changes, IsEmpty());
  ASSERT_TRUE(changes.problems.has_value());
  ASSERT_EQ(changes.problems->files.size(), 1u);
  EXPECT_EQ(changes.problems->files[0].ToString(),
            "kubernetes API /api/v1/nodes: watch: Connection refused");
  now_ = At("/api/v1/nodes").Deadline();
  ASSERT_TRUE(At("/api/v1/nodes").NextRequest(now_));
  Watch("/api/v1/nodes", Event("BOOKMARK", {{"metadata", {{"resourceVersion", "200"}}}}));
  changes = Settled();
  ASSERT_TRUE(changes.problems.has_value());
  EXPECT_THAT(changes.problems->files, IsEmpty());
}

TEST_F(ApiTrackerTest, SecretsAreWatchedByNameAsPeersNameThem) {
  lists_["/apis/ferry.dev/v1alpha1/bgppeers"] = {Peer("gw", "8", "gw-password")};
  lists_["/api/v1/namespaces/ferry-system/secrets?metadata.name=gw-password"] = {
      Secret("gw-password", "9", "s3cret")};
  Serve();
  // The first changes do not wait for the peer's Secret.
  ASSERT_TRUE(tracker_.synced());
  EXPECT_TRUE(Settled().replace_all);
  EXPECT_THAT(tracker_.Secret("gw-password", "password").status().message(),
              HasSubstr("Secret ferry-system/gw-password is not read yet"));
  const uint64_t unread = tracker_.secrets_generation();
  Serve();
  EXPECT_EQ(*tracker_.Secret("gw-password", "password"), "s3cret");
  EXPECT_GT(tracker_.secrets_generation(), unread);
  EXPECT_THAT(tracker_.Secret("gw-password", "md5").status().message(),
              HasSubstr("has no key \"md5\""));
  const uint64_t generation = tracker_.secrets_generation();
  Watch("/api/v1/namespaces/ferry-system/secrets?metadata.name=gw-password",
        Event("MODIFIED", Secret("gw-password", "10", "rotated")));
  EXPECT_EQ(*tracker_.Secret("gw-password", "password"), "rotated");
  EXPECT_GT(tracker_.secrets_generation(), generation);
  // No peer names it any more: its watch goes.
  Watch("/apis/ferry.dev/v1alpha1/bgppeers", Event("MODIFIED", Peer("gw", "11", "")));
  EXPECT_EQ(tracker_.TakeRetired().size(), 1u);
  EXPECT_EQ(tracker_.reflectors().size(), FerryResources().size());
}

}  // namespace
}  // namespace ferry::k8s

namespace ferry::k8s {
namespace {

TEST(FerryResourcesTest, EveryKindOfTheModelAtItsApiPath) {
  std::vector<std::string> paths;
  for (const Resource& resource : FerryResources()) paths.push_back(resource.path);
  EXPECT_THAT(paths, ::testing::ElementsAre("/api/v1/services",
                                            "/apis/discovery.k8s.io/v1/endpointslices",
                                            "/api/v1/nodes",
                                            "/apis/ferry.dev/v1alpha1/loadbalancerippools",
                                            "/apis/ferry.dev/v1alpha1/l2announcementpolicies",
                                            "/apis/ferry.dev/v1alpha1/bgppeers",
                                            "/apis/ferry.dev/v1alpha1/bgpadvertisements"));
}

}  // namespace
}  // namespace ferry::k8s
