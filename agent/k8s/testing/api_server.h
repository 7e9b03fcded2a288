// The stand-in API server (mini_apiserver.py) for the transport's tests, and
// a loop that drives a KubernetesSource as ferryd's would.
#ifndef FERRY_AGENT_K8S_TESTING_API_SERVER_H_
#define FERRY_AGENT_K8S_TESTING_API_SERVER_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/k8s/kubernetes_source.h"
#include "agent/model/model.h"
#include "test/e2e/netns.h"

namespace ferry::k8s::testing {

struct ApiServerOptions {
  int port = 0;  // 0: any
  absl::Duration bookmark_interval = absl::Milliseconds(250);
  // Where it runs and listens: the test's own loopback by default, or an
  // address of a namespace the test made.
  const netns::Namespace* ns = nullptr;
  std::string address = "127.0.0.1";
  // Manifests (YAML) whose objects it starts with.
  std::vector<std::string> load;
  // Clients prove who they are with a certificate instead of a token; the
  // kubeconfig carries one inline.
  bool client_certificates = false;
};

class ApiServer {
 public:
  // The state and credentials are kept in `directory`, so a server started
  // again on it carries on.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(const std::filesystem::path& directory,
                                                          const ApiServerOptions& options = {});
  int port() const { return port_; }
  std::filesystem::path kubeconfig() const { return directory_ / "kubeconfig"; }
  // POST /admin/<what> with `body`; the reply.
  absl::StatusOr<nlohmann::json> Admin(const std::string& what, const nlohmann::json& body = {});
  absl::Status Put(const std::string& path, const std::vector<nlohmann::json>& objects);
  absl::Status Delete(const std::string& path, const std::string& namespace_,
                      const std::string& name);
  absl::Status Stop();
  // The server's process, to stop with others; Admin still works.
  std::unique_ptr<netns::Process> TakeProcess() { return std::move(process_); }

 private:
  ApiServer(std::filesystem::path directory, std::unique_ptr<netns::Process> process,
            const netns::Namespace* ns, std::string address, int port)
      : directory_(std::move(directory)),
        process_(std::move(process)),
        ns_(ns),
        address_(std::move(address)),
        port_(port) {}
  // Admin's request, from the calling thread's namespace.
  absl::StatusOr<nlohmann::json> Post(const std::string& what, const nlohmann::json& body) const;

  std::filesystem::path directory_;
  std::unique_ptr<netns::Process> process_;
  const netns::Namespace* ns_;
  std::string address_;
  int port_;
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

nlohmann::json LoadBalancer(const std::string& name, int port = 80);
nlohmann::json Slice(const std::string& service, int index);

}  // namespace ferry::k8s::testing

#endif  // FERRY_AGENT_K8S_TESTING_API_SERVER_H_
