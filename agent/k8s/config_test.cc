#include "agent/k8s/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ferry::k8s {
namespace {

using ::testing::HasSubstr;

const std::filesystem::path kFile = "/home/ops/.kube/config";

std::string Kubeconfig(absl::string_view user, absl::string_view cluster_extra = "") {
  return absl::StrCat(R"(apiVersion: v1
kind: Config
current-context: prod
contexts:
- name: prod
  context: {cluster: prod, user: admin}
- name: lab
  context: {cluster: lab, user: robot}
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: )",
                      absl::Base64Escape("CA PEM"), "\n", cluster_extra, R"(
- name: lab
  cluster:
    server: https://localhost:7445
    certificate-authority: certs/lab-ca.crt
users:
- name: robot
  user:
    tokenFile: /run/robot-token
)",
                      user);
}

TEST(KubeconfigTest, CurrentContextWithClientCertificateFromData) {
  const std::string text = Kubeconfig(absl::StrCat(R"(- name: admin
  user:
    client-certificate-data: )",
                                                   absl::Base64Escape("CERT PEM"), R"(
    client-key-data: )",
                                                   absl::Base64Escape("KEY PEM"), "\n"));
  absl::StatusOr<ClusterConfig> config = ParseKubeconfig(text, kFile, "");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://10.0.0.1:6443");
  EXPECT_EQ(config->certificate_authority, (Pem{.data = "CA PEM", .file = ""}));
  EXPECT_EQ(config->client_certificate, (Pem{.data = "CERT PEM", .file = ""}));
  EXPECT_EQ(config->client_key, (Pem{.data = "KEY PEM", .file = ""}));
  EXPECT_TRUE(config->token.empty());
  EXPECT_FALSE(config->insecure_skip_tls_verify);
}

TEST(KubeconfigTest, NamedContextWithTokenFileAndRelativeCaPath) {
  absl::StatusOr<ClusterConfig> config =
      ParseKubeconfig(Kubeconfig("- name: admin\n  user: {token: abc}\n"), kFile, "lab");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://localhost:7445");
  EXPECT_EQ(config->certificate_authority.file, "/home/ops/.kube/certs/lab-ca.crt");
  EXPECT_EQ(config->token_file, "/run/robot-token");
}

TEST(KubeconfigTest, StaticTokenAndInsecure) {
  absl::StatusOr<ClusterConfig> config = ParseKubeconfig(
      Kubeconfig("- name: admin\n  user: {token: abc}\n", "    insecure-skip-tls-verify: true"),
      kFile, "");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->token, "abc");
  EXPECT_TRUE(config->insecure_skip_tls_verify);
}

TEST(KubeconfigTest, ErrorsNameTheFileAndField) {
  const std::string admin_token = "- name: admin\n  user: {token: abc}\n";
  struct Case {
    std::string text;
    std::string context;
    std::string error;
  } cases[] = {
      {Kubeconfig(admin_token), "staging",
       "/home/ops/.kube/config: contexts: has no entry named \"staging\""},
      {Kubeconfig(
           "- name: admin\n  user:\n    client-key-data: \"!!!\"\n    client-certificate: c.pem\n"),
       "", "users[name=admin].user.client-key-data: is not base64"},
      {Kubeconfig("- name: admin\n  user:\n    client-certificate: c.pem\n"), "",
       "users[name=admin].user: a client certificate needs its key"},
      {Kubeconfig(admin_token, "    insecure-skip-tls-verify: maybe"), "",
       "clusters[name=prod].cluster.insecure-skip-tls-verify: must be true or false"},
      {Kubeconfig("- name: other\n  user: {token: abc}\n"), "",
       "users: has no entry named \"admin\""},
      {Kubeconfig("- name: admin\n  user:\n    exec: {command: aws}\n"), "",
       "users[name=admin].user.exec: is not supported"},
      {"clusters: [", "", "/home/ops/.kube/config: line"},
      {"kind: Config\n", "", "current-context: not set"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ClusterConfig> config = ParseKubeconfig(c.text, kFile, c.context);
    ASSERT_FALSE(config.ok()) << c.error;
    EXPECT_THAT(config.status().message(), HasSubstr(c.error));
  }
}

TEST(KubeconfigTest, CertificateAuthorityGivenTwiceIsAnError) {
  absl::StatusOr<ClusterConfig> config = ParseKubeconfig(
      Kubeconfig("- name: admin\n  user: {token: abc}\n", "    certificate-authority: ca.crt"),
      kFile, "");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("clusters[name=prod].cluster: both certificate-authority and "
                        "certificate-authority-data are set"));
}

TEST(InClusterTest, ServiceEnvironment) {
  absl::StatusOr<ClusterConfig> config =
      InClusterConfig({.service_host = "10.96.0.1", .service_port = "443"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  EXPECT_EQ(config->certificate_authority.file,
            "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
}

TEST(InClusterTest, Ipv6ServiceHostIsBracketed) {
  absl::StatusOr<ClusterConfig> config =
      InClusterConfig({.service_host = "fd00::1", .service_port = "6443"});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->server, "https://[fd00::1]:6443");
}

TEST(InClusterTest, ExplicitServerWinsOverTheService) {
  absl::StatusOr<ClusterConfig> config =
      InClusterConfig({.service_host = "10.96.0.1",
                       .service_port = "443",
                       .server_override = std::string(kKubePrismServer),
                       .service_account_dir = "/sa"});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->server, "https://localhost:7445");
  EXPECT_EQ(config->token_file, "/sa/token");
}

TEST(InClusterTest, NoServerIsAnError) {
  absl::StatusOr<ClusterConfig> config = InClusterConfig({});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("KUBERNETES_SERVICE_HOST is not set"));
}

}  // namespace
}  // namespace ferry::k8s
