// The test API server (test/apiserver/ferry_test_apiserver.py) for the
// Kubernetes client's tests, and a loop that drives a KubernetesSource as
// ferryd's would.
#ifndef FERRY_AGENT_K8S_TESTING_API_SERVER_H_
#define FERRY_AGENT_K8S_TESTING_API_SERVER_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/k8s/kubernetes_source.h"
#include "agent/model/model.h"
#include "test/e2e/netns.h"

typedef void CURL;
struct curl_slist;

namespace ferry::k8s::testing {

struct ApiServerOptions {
  absl::Duration bookmark_interval = absl::Milliseconds(250);
  // Where it runs and listens: the test's own loopback by default, or an
  // address of a namespace the test made (its admin endpoint then listens
  // on that namespace's loopback).
  const netns::Namespace* ns = nullptr;
  std::string address = "127.0.0.1";
  // Manifests (YAML) applied with kubectl once it is up.
  std::vector<std::string> load;
};

class ApiServer {
 public:
  // `directory` receives the server's credentials and kubeconfig; it serves
  // Ferry's CRDs (deploy/crds) from the start.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(const std::filesystem::path& directory,
                                                          const ApiServerOptions& options = {});
  ~ApiServer();
  int port() const { return port_; }
  // Contexts `token` (the default) and `cert` (a client certificate only).
  std::filesystem::path kubeconfig() const { return directory_ / "kubeconfig"; }
  // POST /<request> to the admin endpoint, as "compact" or
  // "token?value=T&replace=true"; its JSON reply.
  absl::StatusOr<nlohmann::json> Admin(const std::string& request);
  // GET /stats of the admin endpoint.
  absl::StatusOr<nlohmann::json> Stats();
  // Creates each object through the API in the collection `path` (the
  // object's namespace is added to a cluster-wide path), or replaces it when
  // it exists; in order.
  absl::Status Put(const std::string& path, const std::vector<nlohmann::json>& objects);
  // One PUT of the object as it is: with no metadata.resourceVersion, an
  // update without precondition (as kube allows for most resources). For a
  // test that times the write itself.
  absl::Status Update(const std::string& path, const nlohmann::json& object);
  // Writes each object's status through its status subresource (a create
  // drops status, as kube's does); the objects exist.
  absl::Status PutStatus(const std::string& path, const std::vector<nlohmann::json>& objects);
  absl::Status Delete(const std::string& path, const std::string& namespace_,
                      const std::string& name);
  absl::Status Stop();
  // The server's process, to stop with others; Admin and the API calls
  // still work while it runs.
  std::unique_ptr<netns::Process> TakeProcess() { return std::move(process_); }

 private:
  struct Reply {
    long status = 0;
    std::string body;
  };

  ApiServer(std::filesystem::path directory, std::unique_ptr<netns::Process> process,
            const netns::Namespace* ns, std::string api_url, std::string admin_url, int port);
  // kubectl apply of the manifests, then their objects' status.
  absl::Status Load(const std::vector<std::string>& manifests);
  // Runs fn in the server's namespace when it has one.
  absl::Status InServersNamespace(const std::function<absl::Status()>& fn) const;
  // One request on `easy`, which keeps its connection for the next.
  absl::StatusOr<Reply> Request(CURL* easy, const std::string& method, const std::string& url,
                                const std::string& body) const;
  absl::StatusOr<nlohmann::json> AdminRequest(const std::string& method,
                                              const std::string& request);
  absl::Status PutOne(const std::string& path, const nlohmann::json& object);
  // PUT of `object` to `url` + `subresource`, at the resourceVersion a GET
  // of `url` reads.
  absl::Status Replace(const std::string& url, const std::string& subresource,
                       const nlohmann::json& object);
  absl::Status PutAt(const std::string& url, const nlohmann::json& object);
  std::string ObjectUrl(const std::string& path, const nlohmann::json& object) const;

  std::filesystem::path directory_;
  std::unique_ptr<netns::Process> process_;
  const netns::Namespace* ns_;
  std::string api_url_;
  std::string admin_url_;
  int port_;
  CURL* api_;
  CURL* admin_;
  curl_slist* json_;
};

// Polls the source's fd and deadline and applies what it reads to a model.
class SourceLoop {
 public:
  explicit SourceLoop(KubernetesSource& source) : source_(source) {}
  // Runs until `done` is true (checked after each read) or `timeout`.
  bool RunUntil(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(60));
  const model::Model& model() const { return model_; }
  // Every non-empty ChangeSet read, in order.
  const std::vector<model::ChangeSet>& reads() const { return reads_; }

 private:
  KubernetesSource& source_;
  model::Model model_;
  std::vector<model::ChangeSet> reads_;
};

// The connections of a Stats() reply that carry watches: the harness's own
// (Put, Delete) carries none.
std::vector<nlohmann::json> WatchingConnections(const nlohmann::json& stats);

nlohmann::json LoadBalancer(const std::string& name, int port = 80);
nlohmann::json Slice(const std::string& service, int index);

}  // namespace ferry::k8s::testing

#endif  // FERRY_AGENT_K8S_TESTING_API_SERVER_H_
