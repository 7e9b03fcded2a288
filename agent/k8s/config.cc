#include "agent/k8s/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ferry::k8s {
namespace {

// Reads the kubeconfig's fields, every error naming the file and field.
class KubeconfigReader {
 public:
  explicit KubeconfigReader(const std::filesystem::path& file) : file_(file) {}

  absl::Status Error(absl::string_view field, absl::string_view reason) const {
    return absl::InvalidArgumentError(absl::StrCat(file_.string(), ": ", field, ": ", reason));
  }

  // The `item` of the entry named `name` in the list `list` ("clusters").
  absl::StatusOr<YAML::Node> Named(const YAML::Node& root, const char* list, const char* item,
                                   const std::string& name) const {
    const YAML::Node entries = root[list];
    if (entries.IsDefined() && !entries.IsNull() && !entries.IsSequence()) {
      return Error(list, "must be a list");
    }
    if (entries.IsSequence()) {
      for (const YAML::Node& entry : entries) {
        if (!entry.IsMap() || !entry["name"].IsScalar() || entry["name"].Scalar() != name) continue;
        const YAML::Node found = entry[item];
        if (!found.IsMap()) {
          return Error(absl::StrCat(list, "[name=", name, "].", item), "must be a map of fields");
        }
        return found;
      }
    }
    return Error(list, absl::StrCat("has no entry named \"", name, "\""));
  }

  absl::StatusOr<std::string> String(const YAML::Node& node, const std::string& field) const {
    if (!node.IsDefined() || node.IsNull()) return std::string();
    if (!node.IsScalar()) return Error(field, "must be a string");
    return node.Scalar();
  }

  // `key` (a file, relative to the kubeconfig's directory) or `key`-data
  // (base64 PEM); both is an error, as for kubectl.
  absl::StatusOr<Pem> PemOf(const YAML::Node& map, const std::string& at,
                            const std::string& key) const {
    absl::StatusOr<std::string> file = String(map[key], at + "." + key);
    if (!file.ok()) return file.status();
    const std::string data_key = key + "-data";
    absl::StatusOr<std::string> data = String(map[data_key], at + "." + data_key);
    if (!data.ok()) return data.status();
    if (!file->empty() && !data->empty()) {
      return Error(at, absl::StrCat("both ", key, " and ", data_key, " are set; use one"));
    }
    Pem pem;
    if (!data->empty() && !absl::Base64Unescape(*data, &pem.data)) {
      return Error(at + "." + data_key, "is not base64");
    }
    if (!file->empty()) pem.file = Resolved(*file);
    return pem;
  }

  std::filesystem::path Resolved(const std::string& path) const {
    const std::filesystem::path given(path);
    return given.is_absolute() ? given : file_.parent_path() / given;
  }

 private:
  const std::filesystem::path& file_;
};

absl::StatusOr<ClusterConfig> Read(const YAML::Node& root, const KubeconfigReader& read,
                                   absl::string_view wanted_context) {
  if (!root.IsMap()) return read.Error("", "a kubeconfig must be a map of fields");
  absl::StatusOr<std::string> context_name =
      wanted_context.empty() ? read.String(root["current-context"], "current-context")
                             : std::string(wanted_context);
  if (!context_name.ok()) return context_name.status();
  if (context_name->empty()) {
    return read.Error("current-context", "not set, and no context was named (--kube-context)");
  }
  absl::StatusOr<YAML::Node> context = read.Named(root, "contexts", "context", *context_name);
  if (!context.ok()) return context.status();
  const std::string context_at = absl::StrCat("contexts[name=", *context_name, "].context");
  absl::StatusOr<std::string> cluster_name =
      read.String((*context)["cluster"], context_at + ".cluster");
  if (!cluster_name.ok()) return cluster_name.status();
  absl::StatusOr<std::string> user_name = read.String((*context)["user"], context_at + ".user");
  if (!user_name.ok()) return user_name.status();

  ClusterConfig config;
  absl::StatusOr<YAML::Node> cluster = read.Named(root, "clusters", "cluster", *cluster_name);
  if (!cluster.ok()) return cluster.status();
  const std::string cluster_at = absl::StrCat("clusters[name=", *cluster_name, "].cluster");
  absl::StatusOr<std::string> server = read.String((*cluster)["server"], cluster_at + ".server");
  if (!server.ok()) return server.status();
  if (!absl::StartsWith(*server, "https://") && !absl::StartsWith(*server, "http://")) {
    return read.Error(cluster_at + ".server",
                      absl::StrCat("\"", *server, "\" is not an http(s):// URL"));
  }
  config.server = *server;
  absl::StatusOr<Pem> ca = read.PemOf(*cluster, cluster_at, "certificate-authority");
  if (!ca.ok()) return ca.status();
  config.certificate_authority = *ca;
  if (const YAML::Node insecure = (*cluster)["insecure-skip-tls-verify"]; insecure.IsDefined()) {
    if (!insecure.IsScalar() ||
        !YAML::convert<bool>::decode(insecure, config.insecure_skip_tls_verify)) {
      return read.Error(cluster_at + ".insecure-skip-tls-verify", "must be true or false");
    }
  }

  // A context may name no user: the cluster is then open to anonymous requests.
  if (user_name->empty()) return config;
  absl::StatusOr<YAML::Node> user = read.Named(root, "users", "user", *user_name);
  if (!user.ok()) return user.status();
  const std::string user_at = absl::StrCat("users[name=", *user_name, "].user");
  absl::StatusOr<std::string> token = read.String((*user)["token"], user_at + ".token");
  if (!token.ok()) return token.status();
  config.token = *token;
  absl::StatusOr<std::string> token_file =
      read.String((*user)["tokenFile"], user_at + ".tokenFile");
  if (!token_file.ok()) return token_file.status();
  if (!token_file->empty()) config.token_file = read.Resolved(*token_file);
  absl::StatusOr<Pem> certificate = read.PemOf(*user, user_at, "client-certificate");
  if (!certificate.ok()) return certificate.status();
  absl::StatusOr<Pem> key = read.PemOf(*user, user_at, "client-key");
  if (!key.ok()) return key.status();
  if (certificate->empty() != key->empty()) {
    return read.Error(user_at, "a client certificate needs its key, and a key its certificate");
  }
  config.client_certificate = *certificate;
  config.client_key = *key;
  for (const char* unsupported : {"exec", "auth-provider", "username"}) {
    if ((*user)[unsupported].IsDefined() && config.token.empty() && config.token_file.empty() &&
        config.client_certificate.empty()) {
      return read.Error(absl::StrCat(user_at, ".", unsupported),
                        "is not supported; use a token, a tokenFile or a client certificate");
    }
  }
  return config;
}

}  // namespace

absl::StatusOr<ClusterConfig> ParseKubeconfig(absl::string_view text,
                                              const std::filesystem::path& file,
                                              absl::string_view context) {
  const KubeconfigReader read(file);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return read.Error(absl::StrCat("line ", e.mark.line + 1), e.msg);
  }
  try {
    return Read(root, read, context);
  } catch (const YAML::Exception& e) {
    // A scalar where a map was expected, and the like.
    return read.Error(absl::StrCat("line ", e.mark.line + 1), e.msg);
  }
}

absl::StatusOr<ClusterConfig> LoadKubeconfig(const std::filesystem::path& file,
                                             absl::string_view context) {
  std::ifstream in(file);
  if (!in) return absl::NotFoundError(absl::StrCat(file.string(), ": cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseKubeconfig(text.str(), file, context);
}

absl::StatusOr<ClusterConfig> InClusterConfig(const InClusterEnvironment& environment) {
  ClusterConfig config;
  if (!environment.server_override.empty()) {
    config.server = environment.server_override;
  } else if (environment.service_host && !environment.service_host->empty()) {
    const std::string& host = *environment.service_host;
    // An IPv6 Service address needs its brackets in a URL.
    const bool v6 = absl::StrContains(host, ':');
    config.server = absl::StrCat("https://", v6 ? "[" : "", host, v6 ? "]" : "", ":",
                                 environment.service_port.value_or("443"));
  } else {
    return absl::FailedPreconditionError(
        "in-cluster: KUBERNETES_SERVICE_HOST is not set and no --api-server was given (on Talos, "
        "KubePrism is --api-server=https://localhost:7445)");
  }
  config.token_file = environment.service_account_dir / "token";
  config.certificate_authority.file = environment.service_account_dir / "ca.crt";
  return config;
}

}  // namespace ferry::k8s
