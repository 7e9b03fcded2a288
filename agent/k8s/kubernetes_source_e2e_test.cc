// KubernetesSource over libcurl against the test API server
// (test/apiserver) on 127.0.0.1, with TLS, a bearer token or a client
// certificate, and HTTP/2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/k8s/config.h"
#include "agent/k8s/kubernetes_source.h"
#include "agent/k8s/testing/api_server.h"
#include "agent/k8s/testing/changes.h"

namespace ferry::k8s {
namespace {

using testing::ApiServer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::LoadBalancer;
using testing::SourceLoop;

constexpr char kServices[] = "/api/v1/services";

const ApiTrackerOptions kOptions{.timing = {.page_size = 500,
                                            .watch_timeout = absl::Seconds(300),
                                            // The server bookmarks every 250 ms: 4 intervals of 500
                                            // ms without a byte is a stall.
                                            .bookmark_interval = absl::Milliseconds(500),
                                            .stall_intervals = 4,
                                            .backoff_initial = absl::Milliseconds(100),
                                            .backoff_max = absl::Seconds(1)},
                                 .secrets_namespace = "ferry-system"};

class KubernetesSourceE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/ferry-k8s-XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    directory_ = name;
    absl::StatusOr<std::unique_ptr<ApiServer>> server = ApiServer::Start(directory_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  void TearDown() override {
    source_.reset();
    if (server_) server_->Stop().IgnoreError();
    std::filesystem::remove_all(directory_);
  }

  // Opens the source from a kubeconfig (the server's by default) and reads
  // its first list.
  void Sync(const std::filesystem::path& kubeconfig = {}, absl::string_view context = "") {
    absl::StatusOr<ClusterConfig> config =
        LoadKubeconfig(kubeconfig.empty() ? server_->kubeconfig() : kubeconfig, context);
    ASSERT_TRUE(config.ok()) << config.status();
    absl::StatusOr<std::unique_ptr<KubernetesSource>> source = KubernetesSource::Open(
        *config, kOptions, [this](absl::string_view line) { log_.emplace_back(line); },
        [] { return 0.5; });
    ASSERT_TRUE(source.ok()) << source.status();
    source_ = *std::move(source);
    loop_ = std::make_unique<SourceLoop>(*source_);
    ASSERT_TRUE(loop_->RunUntil([&] { return !loop_->reads().empty(); }));
    ASSERT_TRUE(loop_->reads().front().replace_all);
  }

  nlohmann::json Stats() {
    absl::StatusOr<nlohmann::json> stats = server_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : nlohmann::json::object();
  }

  // The server's count of `what` ("lists", "watchesStarted") on `path`.
  int Count(const nlohmann::json& stats, const char* what, const char* path) {
    return stats[what].value(path, 0);
  }

  // Runs the source until every resource is being watched.
  void UntilAllWatch() {
    ASSERT_TRUE(loop_->RunUntil([&] { return Stats()["watches"] == FerryResources().size(); }));
  }

  ::testing::AssertionResult Admin(const std::string& request) {
    absl::StatusOr<nlohmann::json> reply = server_->Admin(request);
    if (reply.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << reply.status();
  }

  // Reads from index `from` on, as one list of changes.
  std::vector<std::string> ChangesSince(size_t from) {
    std::vector<std::string> all;
    for (size_t i = from; i < loop_->reads().size(); ++i) {
      for (std::string& change : testing::Shown(loop_->reads()[i], /*versions=*/false))
        all.push_back(std::move(change));
    }
    return all;
  }

  std::filesystem::path directory_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<KubernetesSource> source_;
  std::unique_ptr<SourceLoop> loop_;
  std::vector<std::string> log_;
};

TEST_F(KubernetesSourceE2eTest, InitialListIsPagedAndEveryWatchSharesOneHttp2Connection) {
  std::vector<nlohmann::json> services;
  for (int i = 0; i < 1200; ++i) services.push_back(LoadBalancer(absl::StrCat("svc-", i)));
  ASSERT_TRUE(server_->Put(kServices, services).ok());
  Sync();
  EXPECT_EQ(loop_->model().services().size(), 1200u);
  ASSERT_TRUE(loop_->reads().front().problems.has_value());
  EXPECT_THAT(loop_->reads().front().problems->objects, IsEmpty());
  UntilAllWatch();
  const nlohmann::json stats = Stats();
  EXPECT_EQ(Count(stats, "lists", kServices), 3);  // pages of 500
  const std::vector<nlohmann::json> watching = testing::WatchingConnections(stats);
  ASSERT_EQ(watching.size(), 1u) << stats.dump();
  EXPECT_EQ(watching[0]["protocol"], "h2");
  EXPECT_EQ(watching[0]["openWatches"], stats["watches"]);
  // curl's own count agrees: every request (once its response began) over
  // HTTP/2, on the one connection made.
  const TransportStats& transport = source_->transport_stats();
  EXPECT_TRUE(loop_->RunUntil([&] { return transport.http2_requests == transport.requests; }))
      << transport.http2_requests << " of " << transport.requests << " requests over HTTP/2";
  EXPECT_EQ(transport.connections, 1);
}

TEST_F(KubernetesSourceE2eTest, WritesGoOnTheWatchesConnectionAndAnswerInFull) {
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("web")}).ok());
  Sync();
  UntilAllWatch();
  std::vector<ApiResponse> answers;
  auto call = [&](ApiRequest request) {
    const size_t before = answers.size();
    source_->calls().Send(request, [&](const ApiResponse& response) { answers.push_back(response); });
    EXPECT_TRUE(loop_->RunUntil([&] { return answers.size() > before; }));
    return answers.empty() ? ApiResponse{} : answers.back();
  };
  const std::string path = "/api/v1/namespaces/default/services/web/status";
  const ApiResponse read = call({.method = "GET", .path = "/api/v1/namespaces/default/services/web"});
  ASSERT_TRUE(read.ok()) << read.Describe();
  const std::string version = nlohmann::json::parse(read.body)["metadata"]["resourceVersion"];

  const nlohmann::json patch = {
      {"metadata", {{"resourceVersion", version}}},
      {"status", {{"loadBalancer", {{"ingress", {{{"ip", "192.0.2.10"}, {"ipMode", "VIP"}}}}}}}}};
  const ApiResponse written =
      call({.method = "PATCH", .path = path, .body = patch.dump(), .content_type = kMergePatch});
  ASSERT_TRUE(written.ok()) << written.Describe();
  EXPECT_EQ(written.status, 200);
  const nlohmann::json stored = nlohmann::json::parse(written.body);
  EXPECT_EQ(stored["status"]["loadBalancer"]["ingress"][0]["ip"], "192.0.2.10");
  // The watch brings it into the model.
  EXPECT_TRUE(loop_->RunUntil([&] {
    auto it = loop_->model().services().find({std::string(model::kServiceKind), "default", "web"});
    return it != loop_->model().services().end() && it->second.ingress_ips.size() == 1 &&
           it->second.metadata.resource_version == stored["metadata"]["resourceVersion"];
  }));

  // The same precondition again is stale: 409, with the Status's message.
  const ApiResponse stale =
      call({.method = "PATCH", .path = path, .body = patch.dump(), .content_type = kMergePatch});
  EXPECT_EQ(stale.status, 409);
  EXPECT_FALSE(stale.ok());
  EXPECT_THAT(stale.Describe(), ::testing::HasSubstr("HTTP 409"));

  // POST and PUT with a JSON body.
  const nlohmann::json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                                {"kind", "Lease"},
                                {"metadata", {{"name", "ferry-ipam"}, {"namespace", "default"}}},
                                {"spec", {{"holderIdentity", "node1"}}}};
  const ApiResponse created = call({.method = "POST",
                                    .path = "/apis/coordination.k8s.io/v1/namespaces/default/leases",
                                    .body = lease.dump(),
                                    .content_type = kJson});
  ASSERT_EQ(created.status, 201) << created.Describe();
  nlohmann::json update = nlohmann::json::parse(created.body);
  update["spec"]["holderIdentity"] = "node2";
  const ApiResponse replaced =
      call({.method = "PUT",
            .path = "/apis/coordination.k8s.io/v1/namespaces/default/leases/ferry-ipam",
            .body = update.dump(),
            .content_type = kJson});
  ASSERT_TRUE(replaced.ok()) << replaced.Describe();
  EXPECT_EQ(nlohmann::json::parse(replaced.body)["spec"]["holderIdentity"], "node2");

  // Every one of them on the watches' HTTP/2 connection.
  const TransportStats& transport = source_->transport_stats();
  EXPECT_EQ(transport.connections, 1);
  EXPECT_EQ(transport.http2_requests, transport.requests);
}

TEST_F(KubernetesSourceE2eTest, WatchEventsBecomeIncrementalChangeSets) {
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("web")}).ok());
  Sync();
  UntilAllWatch();
  const size_t first = loop_->reads().size();
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("api")}).ok());
  ASSERT_TRUE(loop_->RunUntil([&] { return loop_->model().FindService("default", "api"); }));
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("web", 8080)}).ok());
  ASSERT_TRUE(loop_->RunUntil(
      [&] { return loop_->model().FindService("default", "web")->ports[0].port == 8080; }));
  ASSERT_TRUE(server_->Delete(kServices, "default", "api").ok());
  ASSERT_TRUE(loop_->RunUntil([&] { return !loop_->model().FindService("default", "api"); }));
  EXPECT_THAT(ChangesSince(first),
              ElementsAre("added Service default/api", "updated Service default/web",
                          "deleted Service default/api"));
  for (size_t i = first; i < loop_->reads().size(); ++i)
    EXPECT_FALSE(loop_->reads()[i].replace_all);
}

TEST_F(KubernetesSourceE2eTest, GoneAfterCompactionGivesOnlyTheDifferences) {
  ASSERT_TRUE(
      server_->Put(kServices, {LoadBalancer("a"), LoadBalancer("b"), LoadBalancer("c")}).ok());
  Sync();
  UntilAllWatch();
  const size_t first = loop_->reads().size();
  // Changes the watches do not deliver, then a compaction past them: the
  // watches end, resuming them gets 410 and the source lists again.
  ASSERT_TRUE(Admin("stall"));
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("b", 81), LoadBalancer("d")}).ok());
  ASSERT_TRUE(server_->Delete(kServices, "default", "c").ok());
  ASSERT_TRUE(Admin("compact"));
  ASSERT_TRUE(Admin("close-watches"));
  ASSERT_TRUE(Admin("unstall"));
  ASSERT_TRUE(loop_->RunUntil([&] { return loop_->model().FindService("default", "d"); }));
  EXPECT_THAT(ChangesSince(first),
              ElementsAre("updated Service default/b", "deleted Service default/c",
                          "added Service default/d"));
  EXPECT_EQ(Count(Stats(), "lists", kServices), 2);
  EXPECT_EQ(loop_->model().services().size(), 3u);
}

TEST_F(KubernetesSourceE2eTest, AStalledWatchIsDroppedAndResumed) {
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("a")}).ok());
  Sync();
  UntilAllWatch();
  const int watches = Count(Stats(), "watchesStarted", kServices);
  // The watches go silent, bookmarks too, but stay open, until the source
  // gives up on them and watches again.
  ASSERT_TRUE(Admin("stall"));
  ASSERT_TRUE(
      loop_->RunUntil([&] { return Count(Stats(), "watchesStarted", kServices) > watches; }));
  ASSERT_TRUE(Admin("unstall"));
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("after-stall")}).ok());
  ASSERT_TRUE(
      loop_->RunUntil([&] { return loop_->model().FindService("default", "after-stall"); }));
  // Resumed from where it was, not listed again.
  EXPECT_EQ(Count(Stats(), "lists", kServices), 1);
  EXPECT_EQ(source_->transport_stats().connections, 1);
}

TEST_F(KubernetesSourceE2eTest, WhileTheServerIsAwayNothingIsDeletedAndItResumesAfter) {
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("a"), LoadBalancer("b")}).ok());
  Sync();
  UntilAllWatch();
  const size_t first = loop_->reads().size();
  const int lists = Count(Stats(), "lists", kServices);
  // It stops listening and drops every connection, keeping its state.
  ASSERT_TRUE(Admin("down"));
  // The source says it lost the server...
  ASSERT_TRUE(loop_->RunUntil([&] {
    return !loop_->reads().empty() && loop_->reads().back().problems &&
           loop_->reads().back().problems->files.size() == FerryResources().size();
  }));
  // ...once per resource in the log...
  EXPECT_EQ(std::count_if(log_.begin(), log_.end(),
                          [](const std::string& line) {
                            return line.find("kubernetes API /api/v1/services: ") == 0 &&
                                   line.find("retrying") != std::string::npos;
                          }),
            1)
      << absl::StrJoin(log_, "\n");
  // ...and keeps the model as it was, over a few retries.
  const absl::Time until = absl::Now() + absl::Seconds(2);
  loop_->RunUntil([&] { return absl::Now() > until; });
  EXPECT_THAT(ChangesSince(first), IsEmpty());
  EXPECT_EQ(loop_->model().services().size(), 2u);

  ASSERT_TRUE(Admin("up"));
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("c")}).ok());
  ASSERT_TRUE(loop_->RunUntil([&] { return loop_->model().FindService("default", "c"); }));
  EXPECT_THAT(ChangesSince(first), ElementsAre("added Service default/c"));
  // Resumed by watching from the last version: no list since it came back.
  EXPECT_EQ(Count(Stats(), "lists", kServices), lists);
  // Recovered: the problems are gone.
  ASSERT_TRUE(loop_->RunUntil([&] {
    return loop_->reads().back().problems && loop_->reads().back().problems->files.empty();
  }));
}

TEST_F(KubernetesSourceE2eTest, SecretsArePerNameWatchesOnTheSameConnection) {
  const char* peers = "/apis/ferry.dev/v1alpha1/bgppeers";
  const char* secrets = "/api/v1/namespaces/ferry-system/secrets";
  auto secret = [](const std::string& name, const std::string& password) {
    return nlohmann::json{{"apiVersion", "v1"},
                          {"kind", "Secret"},
                          {"metadata", {{"name", name}, {"namespace", "ferry-system"}}},
                          {"data", {{"password", absl::Base64Escape(password)}}}};
  };
  ASSERT_TRUE(
      server_
          ->Put(peers,
                {{{"apiVersion", "ferry.dev/v1alpha1"},
                  {"kind", "BGPPeer"},
                  {"metadata", {{"name", "gw"}}},
                  {"spec",
                   {{"peerAddress", "198.18.0.1"},
                    {"peerASN", 64512},
                    {"localASN", 64513},
                    {"passwordSecretRef", {{"name", "gw-password"}, {"key", "password"}}}}}}})
          .ok());
  ASSERT_TRUE(server_
                  ->Put("/api/v1/namespaces", {{{"apiVersion", "v1"},
                                                {"kind", "Namespace"},
                                                {"metadata", {{"name", "ferry-system"}}}}})
                  .ok());
  // Another Secret of the namespace, which the agent must not read.
  ASSERT_TRUE(server_->Put(secrets, {secret("gw-password", "s3cret"), secret("other", "x")}).ok());
  Sync();
  ASSERT_TRUE(
      loop_->RunUntil([&] { return source_->tracker().Secret("gw-password", "password").ok(); }));
  EXPECT_EQ(*source_->tracker().Secret("gw-password", "password"), "s3cret");
  ASSERT_TRUE(server_->Put(secrets, {secret("gw-password", "rotated")}).ok());
  ASSERT_TRUE(loop_->RunUntil(
      [&] { return *source_->tracker().Secret("gw-password", "password") == "rotated"; }));
  // Every resource's watch and the Secret's, on one connection.
  nlohmann::json stats;
  EXPECT_TRUE(loop_->RunUntil([&] {
    stats = Stats();
    return stats["watches"] == FerryResources().size() + 1;
  })) << stats.dump();
  EXPECT_EQ(testing::WatchingConnections(stats).size(), 1u) << stats.dump();
  EXPECT_FALSE(source_->tracker().Secret("other", "password").ok());
}

TEST_F(KubernetesSourceE2eTest, TheTokenFileIsReadAgainWhenItChanges) {
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("a")}).ok());
  // The server's kubeconfig holds its token inline: this one names a file,
  // as a service account's token is read.
  const std::filesystem::path token = directory_ / "agent-token";
  std::filesystem::copy_file(directory_ / "token", token);
  const std::filesystem::path kubeconfig = directory_ / "agent-kubeconfig";
  std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
                            << "contexts:\n- name: test\n  context: {cluster: test, user: test}\n"
                            << "clusters:\n- name: test\n  cluster:\n    server: https://127.0.0.1:"
                            << server_->port()
                            << "\n    certificate-authority: " << (directory_ / "ca.crt").string()
                            << "\n"
                            << "users:\n- name: test\n  user:\n    tokenFile: " << token.string()
                            << "\n";
  Sync(kubeconfig);
  UntilAllWatch();
  // Replaced as the kubelet does (a new file renamed over the old one).
  auto rotate = [&](const std::string& value) {
    std::ofstream(directory_ / "agent-token.new") << value << "\n";
    std::filesystem::rename(directory_ / "agent-token.new", token);
  };
  auto services_problem = [&]() -> std::string {
    for (auto it = loop_->reads().rbegin(); it != loop_->reads().rend(); ++it) {
      if (!it->problems) continue;
      for (const model::FileError& error : it->problems->files) {
        if (error.file == "kubernetes API /api/v1/services") return error.reason;
      }
      return "";
    }
    return "";
  };
  // The server takes only a new token from now on. The watches end and
  // cannot resume (410): the lists that follow carry the old token.
  ASSERT_TRUE(Admin("token?value=rotated-token&replace=true"));
  ASSERT_TRUE(Admin("compact"));
  ASSERT_TRUE(Admin("close-watches"));
  ASSERT_TRUE(loop_->RunUntil([&] {
    return services_problem().find("HTTP 401") != std::string::npos;
  })) << services_problem();
  EXPECT_EQ(loop_->model().services().size(), 1u);
  rotate("rotated-token");
  ASSERT_TRUE(loop_->RunUntil([&] { return services_problem().empty(); })) << services_problem();
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("b")}).ok());
  ASSERT_TRUE(loop_->RunUntil([&] { return loop_->model().FindService("default", "b"); }));
}

TEST_F(KubernetesSourceE2eTest, AClientCertificateFromTheKubeconfigsData) {
  ASSERT_TRUE(server_->Put(kServices, {LoadBalancer("web")}).ok());
  // The server takes a certificate its CA signed or its token: context
  // `cert` has only the certificate.
  absl::StatusOr<ClusterConfig> config = LoadKubeconfig(server_->kubeconfig(), "cert");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_FALSE(config->client_certificate.data.empty());
  ASSERT_TRUE(config->token.empty() && config->token_file.empty());
  Sync(server_->kubeconfig(), "cert");
  EXPECT_EQ(loop_->model().services().size(), 1u);

  // Without it the server refuses: the certificate is what let the source
  // in. Before any list there are no changes to give: the log says why.
  config->client_certificate = {};
  config->client_key = {};
  std::vector<std::string> refusals;
  absl::StatusOr<std::unique_ptr<KubernetesSource>> refused = KubernetesSource::Open(
      *config, kOptions, [&](absl::string_view line) { refusals.emplace_back(line); },
      [] { return 0.5; });
  ASSERT_TRUE(refused.ok());
  SourceLoop refused_loop(**refused);
  EXPECT_TRUE(refused_loop.RunUntil([&] { return refusals.size() >= FerryResources().size(); }));
  EXPECT_THAT(refused_loop.reads(), IsEmpty());
  ASSERT_FALSE(refusals.empty());
  EXPECT_THAT(refusals[0], ::testing::HasSubstr("HTTP 401"));
  EXPECT_THAT(refusals[0], ::testing::HasSubstr("; retrying, the last objects stay in use"));
  std::printf("without the certificate: %s\n", refusals[0].c_str());
}

}  // namespace
}  // namespace ferry::k8s
