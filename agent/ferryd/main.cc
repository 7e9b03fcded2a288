// ferryd: the node agent. See agent.h and loop.h; flags in options.h.
#include <net/if.h>
#include <poll.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "agent/ferryd/agent.h"
#include "agent/ferryd/api_server.h"
#include "agent/ferryd/health_server.h"
#include "agent/ferryd/loop.h"
#include "agent/ferryd/options.h"
#include "agent/k8s/kubernetes_source.h"
#include "agent/controllers/bgp/secrets.h"
#include "agent/sources/manifest_dir_source.h"

namespace {
constexpr int kExitBadFlags = 2;

std::optional<std::string> Environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::nullopt : std::optional<std::string>(value);
}

// Where the objects come from, and the Secrets they name.
struct Inputs {
  std::unique_ptr<ferry::sources::Source> source;
  std::unique_ptr<ferry::sources::SecretStore> secret_directory;  // in manifest mode
  const ferry::sources::SecretStore* secrets = nullptr;
  // API mode: single requests on the source's connection, for LB-IPAM's
  // writer.
  ferry::k8s::ApiCalls* calls = nullptr;
};

absl::StatusOr<Inputs> OpenInputs(const ferry::ferryd::Options& options) {
  Inputs inputs;
  if (!options.from_api()) {
    absl::StatusOr<std::unique_ptr<ferry::sources::ManifestDirSource>> source =
        ferry::sources::ManifestDirSource::Open(options.manifests, {}, ferry::ferryd::Log);
    if (!source.ok()) return source.status();
    inputs.source = *std::move(source);
    inputs.secret_directory =
        std::make_unique<ferry::bgp_control::SecretDirectory>(options.secrets_dir);
    inputs.secrets = inputs.secret_directory.get();
    return inputs;
  }
  absl::StatusOr<ferry::k8s::ClusterConfig> config =
      options.kubeconfig.empty()
          ? ferry::k8s::InClusterConfig({.service_host = Environment("KUBERNETES_SERVICE_HOST"),
                                         .service_port = Environment("KUBERNETES_SERVICE_PORT"),
                                         .server_override = options.api_server})
          : ferry::k8s::LoadKubeconfig(options.kubeconfig, options.kube_context);
  if (!config.ok()) return config.status();
  // In cluster, InClusterConfig took it already.
  if (!options.kubeconfig.empty() && !options.api_server.empty()) {
    config->server = options.api_server;
  }
  absl::StatusOr<std::unique_ptr<ferry::k8s::KubernetesSource>> source =
      ferry::k8s::KubernetesSource::Open(
          *config, {.timing = {}, .secrets_namespace = options.kube_namespace},
          ferry::ferryd::Log);
  if (!source.ok()) return source.status();
  inputs.secrets = source->get();
  inputs.calls = &(*source)->calls();
  inputs.source = *std::move(source);
  return inputs;
}

// API mode: LB-IPAM's one writer, elected on the Lease ferry-ipam of the
// agent's namespace.
std::unique_ptr<ferry::ferryd::IpamWriter> IpamWriterOn(ferry::k8s::ApiCalls& calls,
                                                         const ferry::ferryd::Options& options) {
  return std::make_unique<ferry::ferryd::IpamWriter>(
      ferry::ferryd::IpamWriterSettings{.namespace_ = options.kube_namespace,
                                        .election = {.identity = options.node}},
      [&calls](const ferry::k8s::ApiRequest& request, ferry::k8s::ApiCalls::Done done) {
        calls.Send(request, std::move(done));
      },
      absl::Now, ferry::ferryd::Log);
}

// Sends the Lease's release on leaving, and waits (briefly) for its answer
// so that another agent takes over at once.
void ReleaseLease(ferry::ferryd::Agent& agent, ferry::sources::Source& source) {
  if (!agent.ReleaseLease(absl::Now())) return;
  const absl::Time give_up = absl::Now() + absl::Seconds(2);
  while (agent.WritesInFlight() > 0 && absl::Now() < give_up) {
    pollfd ready{.fd = source.fd(), .events = POLLIN, .revents = 0};
    poll(&ready, 1, 100);
    (void)source.Read(absl::Now());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<absl::string_view> args(argv + 1, argv + argc);
  if (ferry::ferryd::WantsHelp(args)) {
    std::fputs(ferry::ferryd::Usage().c_str(), stdout);
    return 0;
  }
  absl::StatusOr<ferry::ferryd::Options> options = ferry::ferryd::ParseOptions(args);
  if (!options.ok()) {
    std::fprintf(stderr, "ferryd: %s\n%s", std::string(options.status().message()).c_str(),
                 ferry::ferryd::Usage().c_str());
    return kExitBadFlags;
  }
  // Flags that name things which do not exist are bad flags too.
  if (!options->from_api() && !std::filesystem::is_directory(options->manifests)) {
    std::fprintf(stderr, "ferryd: --manifests %s is not a directory\n",
                 options->manifests.c_str());
    return kExitBadFlags;
  }
  if (if_nametoindex(options->uplink.c_str()) == 0) {
    std::fprintf(stderr, "ferryd: --uplink %s: no such interface in this network namespace\n",
                 options->uplink.c_str());
    return kExitBadFlags;
  }
  absl::StatusOr<ferry::datapath::Fd> signals = ferry::ferryd::BlockTerminationSignals();
  if (!signals.ok()) {
    std::fprintf(stderr, "ferryd: %s\n", signals.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<Inputs> inputs = OpenInputs(*options);
  if (!inputs.ok()) {
    std::fprintf(stderr, "ferryd: %s\n", inputs.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<ferry::ferryd::Agent>> agent =
      ferry::ferryd::Agent::Start(*options, *inputs->secrets);
  if (!agent.ok()) {
    std::fprintf(stderr, "ferryd: starting: %s\n", agent.status().ToString().c_str());
    return 1;
  }
  if (inputs->calls != nullptr) (*agent)->AttachWriter(IpamWriterOn(*inputs->calls, *options));
  absl::StatusOr<std::unique_ptr<ferry::ferryd::ApiServer>> api =
      ferry::ferryd::ApiServer::Start(options->api_socket, **agent);
  if (!api.ok()) {
    std::fprintf(stderr, "ferryd: %s\n", api.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<ferry::ferryd::HealthServer> health;
  if (options->health_listen) {
    absl::StatusOr<std::unique_ptr<ferry::ferryd::HealthServer>> started =
        ferry::ferryd::HealthServer::Start(options->health_listen->address,
                                           options->health_listen->port, (*agent)->health());
    if (!started.ok()) {
      std::fprintf(stderr, "ferryd: %s\n", started.status().ToString().c_str());
      (*agent)->Stop(ferry::ferryd::Agent::Departure::kRestart);
      return 1;
    }
    health = *std::move(started);
    ferry::ferryd::Log(absl::StrCat("health probes: GET /healthz and /readyz on ",
                                    options->health_listen->address.family ==
                                            ferry::net::IpFamily::kIPv6
                                        ? absl::StrCat("[", options->health_listen->address.ToString(), "]")
                                        : options->health_listen->address.ToString(),
                                    ":", health->port()));
  }
  absl::StatusOr<int> signal = ferry::ferryd::RunLoop(**agent, *inputs->source, signals->get());
  if (!signal.ok()) {
    std::fprintf(stderr, "ferryd: %s\n", signal.status().ToString().c_str());
    // Like any restart: the datapath stays, so the peers keep this node.
    (*agent)->Stop(ferry::ferryd::Agent::Departure::kRestart);
    return 1;
  }
  if (*signal == SIGINT) ReleaseLease(**agent, *inputs->source);
  (*agent)->Stop(*signal == SIGINT ? ferry::ferryd::Agent::Departure::kLeave
                                   : ferry::ferryd::Agent::Departure::kRestart);
  return 0;
}
