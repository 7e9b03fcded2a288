// ferryd's command line. Parsing is pure (no file system, no interfaces), so
// every rule is unit-tested; defaults that need the system (the uplink's MTU)
// are left for the agent to fill.
#ifndef FERRY_AGENT_FERRYD_OPTIONS_H_
#define FERRY_AGENT_FERRYD_OPTIONS_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/datapath/datapath.h"
#include "net/address.h"
#include "l2announce/announcer.h"
#include "l2announce/liveness.h"
#include "l2announce/node_lease.h"

namespace ferry::ferryd {

// The same on every node by default: every node must hash a flow to the same
// Maglev slot, or a flow's packets would pick different backends depending on
// which node received them.
inline constexpr uint32_t kDefaultFlowHashSeed = 0x5eedf00d;

struct Options {
  std::string node;
  // The source of the objects: a directory of manifests, or the Kubernetes
  // API (agent/k8s) when --kubeconfig, --in-cluster or --api-server is
  // given; one of the two.
  std::filesystem::path manifests;
  std::filesystem::path kubeconfig;
  std::string kube_context;  // empty: the kubeconfig's current-context
  bool in_cluster = false;
  // The API server's URL: with --in-cluster instead of the kubernetes
  // Service (KubePrism on Talos: https://localhost:7445), with
  // --kubeconfig instead of its server.
  std::string api_server;
  // The agent's namespace: where the Secrets that BGPPeers name are.
  std::string kube_namespace;
  std::string uplink;
  std::filesystem::path pin_dir;    // default /sys/fs/bpf/ferry/<node>
  std::filesystem::path state_dir;  // default /run/ferry/<node>/state
  std::filesystem::path api_socket; // default /run/ferry/<node>/ferryd.sock
  // Entries of each map. Maps already pinned keep the size they were made
  // with: changing it means removing the pins (and the flows) first.
  datapath::MapSizes map_sizes;
  uint32_t maglev_size = 0;         // default maglev::kDefaultTableSize
  uint32_t flow_hash_seed = kDefaultFlowHashSeed;
  std::optional<uint16_t> tunnel_mtu;  // unset: the uplink's MTU
  // A directory with another build of the datapath's objects to load
  // (datapath::Datapath's object_dir); empty: the ones built into ferryd.
  std::filesystem::path bpf_object;
  // Where the kubelet's probes ask (agent/ferryd/health.h); unset: nowhere.
  struct Listen {
    net::IpAddress address;
    uint16_t port = 0;  // 0: one the kernel picks (tests)
  };
  std::optional<Listen> health_listen;

  // L2 announcements (agent/controllers/l2): liveness between the agents on the
  // uplink, the takeover frames, and the node leases in a directory every
  // node of the cluster shares (default /run/ferry/leases).
  l2announce::LivenessConfig l2_liveness;
  l2announce::AnnouncementConfig l2_announcements;
  l2announce::LeaseConfig node_leases;
  std::filesystem::path lease_dir;

  // BGP (agent/controllers/bgp): BGPPeer passwords are read from
  // <secrets_dir>/<secret name>/<key>, the layout of a mounted Secret volume
  // (default /etc/ferry/secrets); the speaker accepts connections on this
  // port (179; 0: only connects out).
  std::filesystem::path secrets_dir;
  uint16_t bgp_listen_port = 179;

  bool from_api() const { return !kubeconfig.empty() || in_cluster || !api_server.empty(); }
};

// `args` excludes the program name. Accepts "--flag value" and
// "--flag=value". InvalidArgument names the flag and what was wrong.
absl::StatusOr<Options> ParseOptions(std::span<const absl::string_view> args);

// True when args ask for the usage text (-h, --help).
bool WantsHelp(std::span<const absl::string_view> args);
std::string Usage();

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_OPTIONS_H_
