// Where the API server is and how to prove who we are: from a kubeconfig
// file (--kubeconfig) or from the pod's service account (--in-cluster).
// Pure: text and values in, a ClusterConfig out; reading files is the
// caller's (LoadKubeconfig) or the transport's (the token, re-read as the
// kubelet rotates it).
#ifndef FERRY_AGENT_K8S_CONFIG_H_
#define FERRY_AGENT_K8S_CONFIG_H_

#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::k8s {

// PEM text given inline (…-data, base64-decoded) or as a file to read.
struct Pem {
  std::string data;
  std::filesystem::path file;
  bool empty() const { return data.empty() && file.empty(); }
  bool operator==(const Pem&) const = default;
};

struct ClusterConfig {
  std::string server;         // "https://10.96.0.1:443"
  Pem certificate_authority;  // empty: the system's CAs
  bool insecure_skip_tls_verify = false;
  std::string token;                 // a static bearer token, or
  std::filesystem::path token_file;  // one read again whenever it changes
  Pem client_certificate;
  Pem client_key;
  bool operator==(const ClusterConfig&) const = default;
};

// `text` of the kubeconfig at `file` (named in errors, and the directory
// relative paths are resolved against, as kubectl does). `context`: the one
// to use, empty for current-context. Errors name the file and the field:
// "/root/.kube/config: users[name=admin].user.client-key-data: not base64".
absl::StatusOr<ClusterConfig> ParseKubeconfig(absl::string_view text,
                                              const std::filesystem::path& file,
                                              absl::string_view context);
absl::StatusOr<ClusterConfig> LoadKubeconfig(const std::filesystem::path& file,
                                             absl::string_view context);

// Where the kubelet mounts the service account.
inline constexpr absl::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";
// Talos' KubePrism: a load balancer of the API servers on every node, which
// needs no Service (and so no kube-proxy, nor Ferry) to work.
inline constexpr absl::string_view kKubePrismServer = "https://localhost:7445";

struct InClusterEnvironment {
  // KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, if set.
  std::optional<std::string> service_host;
  std::optional<std::string> service_port;
  // --api-server: used instead of the kubernetes Service, which needs a
  // working Service datapath (kube-proxy's or Ferry's) that may not be
  // there yet when Ferry replaces kube-proxy.
  std::string server_override;
  std::filesystem::path service_account_dir = std::string(kServiceAccountDir);
};

// The service account's token file and CA, and the server from the
// override or the environment. FailedPrecondition when neither names one.
absl::StatusOr<ClusterConfig> InClusterConfig(const InClusterEnvironment& environment);

}  // namespace ferry::k8s

#endif  // FERRY_AGENT_K8S_CONFIG_H_
