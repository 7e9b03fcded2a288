#include "agent/ferryd/options.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "agent/datapath/datapath.h"
#include "agent/maglev/maglev.h"

namespace ferry::ferryd {
namespace {

using Setter = std::function<absl::Status(Options&, absl::string_view)>;

// An unsigned number within [1, max] (decimal, or hex with 0x).
absl::StatusOr<uint64_t> ParseNumber(absl::string_view flag, absl::string_view value,
                                     uint64_t max) {
  uint64_t number = 0;
  const bool parsed = absl::ConsumePrefix(&value, "0x") ? absl::SimpleHexAtoi(value, &number)
                                                        : absl::SimpleAtoi(value, &number);
  if (!parsed || number == 0 || number > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be a number from 1 to ", max, ", not \"", value, "\""));
  }
  return number;
}

// A flag whose value is text (a name or a path), which must not be empty.
template <typename T>
std::pair<const std::string, Setter> TextFlag(std::string flag, T Options::*member) {
  return {flag, [flag, member](Options& options, absl::string_view value) -> absl::Status {
            if (value.empty()) {
              return absl::InvalidArgumentError(absl::StrCat("--", flag, " is empty"));
            }
            options.*member = T(std::string(value));
            return absl::OkStatus();
          }};
}

// A numeric flag: parsed within [1, max], then checked by `check` (its
// error is prefixed with the flag), then stored.
std::pair<const std::string, Setter> NumberFlag(std::string flag, uint64_t max,
                                                absl::Status (*check)(uint64_t number),
                                                void (*store)(Options& options, uint64_t number)) {
  return {flag, [flag, max, check, store](Options& options, absl::string_view value) {
            absl::StatusOr<uint64_t> number = ParseNumber(flag, value, max);
            if (!number.ok()) return number.status();
            if (absl::Status checked = check(*number); !checked.ok()) {
              return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", checked.message()));
            }
            store(options, *number);
            return absl::OkStatus();
          }};
}

absl::Status AnyNumber(uint64_t) { return absl::OkStatus(); }

// A duration flag ("100ms", "5s"): not negative, then stored.
std::pair<const std::string, Setter> DurationFlag(std::string flag,
                                                  void (*store)(Options& options,
                                                                absl::Duration duration)) {
  return {flag, [flag, store](Options& options, absl::string_view value) -> absl::Status {
            absl::Duration duration;
            if (!absl::ParseDuration(value, &duration) || duration < absl::ZeroDuration()) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "--", flag, " must be a duration such as 100ms or 5s, not \"", value, "\""));
            }
            store(options, duration);
            return absl::OkStatus();
          }};
}

absl::Status SetBgpListenPort(Options& options, absl::string_view value) {
  uint32_t port = 0;
  if (!absl::SimpleAtoi(value, &port) || port > UINT16_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--bgp-listen-port must be a port from 0 (none) to 65535, not \"", value, "\""));
  }
  options.bgp_listen_port = static_cast<uint16_t>(port);
  return absl::OkStatus();
}

absl::Status SetDeadIntervals(Options& options, absl::string_view value) {
  double intervals = 0;
  if (!absl::SimpleAtod(value, &intervals) || !(intervals > 1) || intervals > 100) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--l2-dead-intervals must be a number above 1 and at most 100, not \"", value, "\""));
  }
  options.l2_liveness.dead_after_intervals = intervals;
  return absl::OkStatus();
}

absl::Status MaglevSize(uint64_t size) { return maglev::ValidateTableSize(size); }

absl::Status LinkMtu(uint64_t mtu) {
  if (mtu >= 1280) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(mtu, " is below IPv6's minimum link MTU, 1280"));
}

// "services=16384,backends=131072": the sizes named change, the others keep
// their defaults.
absl::Status SetMapSizes(Options& options, absl::string_view value) {
  const std::pair<absl::string_view, uint32_t datapath::MapSizes::*> kSizes[] = {
      {"services", &datapath::MapSizes::services},   {"vips", &datapath::MapSizes::vips},
      {"backends", &datapath::MapSizes::backends},   {"nodes", &datapath::MapSizes::nodes},
      {"flows", &datapath::MapSizes::flows},         {"fragments", &datapath::MapSizes::fragments},
      {"rev_nat", &datapath::MapSizes::rev_nat},     {"endpoints", &datapath::MapSizes::endpoints},
      {"frontends", &datapath::MapSizes::frontends},
  };
  datapath::MapSizes sizes = options.map_sizes;
  for (absl::string_view item : absl::StrSplit(value, ',')) {
    std::pair<absl::string_view, absl::string_view> name_value = absl::StrSplit(item, '=');
    auto known = std::find_if(std::begin(kSizes), std::end(kSizes),
                              [&](const auto& size) { return size.first == name_value.first; });
    if (known == std::end(kSizes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--map-sizes: unknown map \"", name_value.first,
          "\" (services, vips, backends, nodes, flows, fragments, rev_nat, endpoints, frontends)"));
    }
    absl::StatusOr<uint64_t> number =
        ParseNumber(absl::StrCat("map-sizes ", name_value.first), name_value.second, UINT32_MAX);
    if (!number.ok()) return number.status();
    sizes.*(known->second) = static_cast<uint32_t>(*number);
  }
  if (absl::Status valid = datapath::ValidateMapSizes(sizes); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--map-sizes: ", valid.message()));
  }
  options.map_sizes = sizes;
  return absl::OkStatus();
}

// "127.0.0.1:9878" or "[::1]:9878".
absl::Status SetHealthListen(Options& options, absl::string_view value) {
  const size_t colon = value.rfind(':');
  absl::string_view host = value.substr(0, colon);
  const bool bracketed = absl::ConsumePrefix(&host, "[") && absl::ConsumeSuffix(&host, "]");
  absl::StatusOr<net::IpAddress> address = net::IpAddress::Parse(host);
  uint32_t port = 0;
  if (colon == absl::string_view::npos || !address.ok() ||
      bracketed != (address->family == net::IpFamily::kIPv6) ||
      !absl::SimpleAtoi(value.substr(colon + 1), &port) || port > UINT16_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--health-listen must be ADDRESS:PORT such as 127.0.0.1:9878 or [::1]:9878, not \"",
        value, "\""));
  }
  options.health_listen = Options::Listen{.address = *address, .port = static_cast<uint16_t>(port)};
  return absl::OkStatus();
}

const std::map<std::string, Setter, std::less<>>& Setters() {
  static const auto* setters = new std::map<std::string, Setter, std::less<>>{
      TextFlag("node", &Options::node),
      TextFlag("manifests", &Options::manifests),
      TextFlag("kubeconfig", &Options::kubeconfig),
      TextFlag("kube-context", &Options::kube_context),
      TextFlag("api-server", &Options::api_server),
      TextFlag("namespace", &Options::kube_namespace),
      TextFlag("uplink", &Options::uplink),
      TextFlag("pin-dir", &Options::pin_dir),
      TextFlag("state-dir", &Options::state_dir),
      TextFlag("api-socket", &Options::api_socket),
      TextFlag("bpf-object", &Options::bpf_object),
      {"map-sizes", SetMapSizes},
      {"health-listen", SetHealthListen},
      TextFlag("lease-dir", &Options::lease_dir),
      TextFlag("secrets-dir", &Options::secrets_dir),
      {"bgp-listen-port", SetBgpListenPort},
      DurationFlag("l2-interval",
                   [](Options& o, absl::Duration d) { o.l2_liveness.interval = d; }),
      {"l2-dead-intervals", SetDeadIntervals},
      DurationFlag("l2-restart-hold",
                   [](Options& o, absl::Duration d) { o.l2_liveness.restart_hold = d; }),
      NumberFlag("l2-takeover-count", 100, AnyNumber,
                 [](Options& o, uint64_t n) { o.l2_announcements.takeover_count = static_cast<int>(n); }),
      DurationFlag("l2-takeover-spacing",
                   [](Options& o, absl::Duration d) { o.l2_announcements.takeover_spacing = d; }),
      DurationFlag("l2-refresh",
                   [](Options& o, absl::Duration d) { o.l2_announcements.refresh_interval = d; }),
      DurationFlag("lease-renew",
                   [](Options& o, absl::Duration d) { o.node_leases.renew_interval = d; }),
      DurationFlag("lease-duration",
                   [](Options& o, absl::Duration d) { o.node_leases.duration = d; }),
      NumberFlag("maglev-size", maglev::kMaxTableSize, MaglevSize,
                 [](Options& o, uint64_t n) { o.maglev_size = static_cast<uint32_t>(n); }),
      NumberFlag("flow-hash-seed", UINT32_MAX, AnyNumber,
                 [](Options& o, uint64_t n) { o.flow_hash_seed = static_cast<uint32_t>(n); }),
      // IPv6 needs 1280 on every link; 65535 is the most an IP header says.
      NumberFlag("tunnel-mtu", UINT16_MAX, LinkMtu,
                 [](Options& o, uint64_t n) { o.tunnel_mtu = static_cast<uint16_t>(n); }),
  };
  return *setters;
}

}  // namespace

bool WantsHelp(std::span<const absl::string_view> args) {
  for (absl::string_view arg : args) {
    if (arg == "-h" || arg == "--help") return true;
  }
  return false;
}

std::string Usage() {
  return "usage: ferryd --node NAME (--manifests DIR | --kubeconfig FILE | --in-cluster)\n"
         "              --uplink IFNAME [options]\n"
         "  --node NAME             this node's name, as in its Node manifest (required)\n"
         "  --manifests DIR         directory of Kubernetes YAML manifests, watched\n"
         "  --kubeconfig FILE       list and watch the Kubernetes API as FILE says\n"
         "  --kube-context NAME     the kubeconfig's context to use (default: current-context)\n"
         "  --in-cluster            the Kubernetes API with the pod's service account\n"
         "  --api-server URL        the API server (instead of the kubernetes Service in-cluster,\n"
         "                          e.g. Talos' KubePrism https://localhost:7445)\n"
         "  --namespace NAME        the agent's namespace, of the Secrets BGPPeers name\n"
         "                          (default ferry-system)\n"
         "  --uplink IFNAME         the node's uplink: XDP and TC attach here (required)\n"
         "  --pin-dir DIR           BPF pin directory (default /sys/fs/bpf/ferry/<node>)\n"
         "  --state-dir DIR         where errors.json is written (default /run/ferry/<node>/state)\n"
         "  --api-socket PATH       the agent API's unix socket (default /run/ferry/<node>/ferryd.sock)\n"
         "  --map-sizes NAME=N,...  map entries: services, vips, backends, nodes, flows, fragments,\n"
         "                          rev_nat, endpoints, frontends (defaults: see ferryctl status)\n"
         "  --maglev-size M         prime Maglev table size (default 16381)\n"
         "  --flow-hash-seed N      flow hash seed, the same on every node (default 0x5eedf00d)\n"
         "  --tunnel-mtu N          largest tunnelled packet (default: the uplink's MTU, followed\n"
         "                          when it changes)\n"
         "  --bpf-object DIR        load this build of ferry_xdp.bpf.o, ferry_tc_uplink.bpf.o and\n"
         "                          ferry_tc_pod.bpf.o instead of the built-in ones (maps and flows\n"
         "                          are kept, programs replaced)\n"
         "  --health-listen A:P     serve GET /healthz and /readyz for probes on A:P, e.g.\n"
         "                          127.0.0.1:9878 (default: not served)\n"
         "L2 announcements (ARP/NDP for VIPs an L2AnnouncementPolicy selects):\n"
         "  --l2-interval D         liveness advertisement interval (default 100ms)\n"
         "  --l2-dead-intervals X   a peer silent this many intervals is dead (default 3.5)\n"
         "  --l2-restart-hold D     how long peers wait for an agent restarting on SIGTERM\n"
         "                          (default 5s); SIGINT hands the VIPs over at once\n"
         "  --l2-takeover-count N   gratuitous ARP / unsolicited NA frames on takeover (default 3)\n"
         "  --l2-takeover-spacing D between those frames (default 100ms)\n"
         "  --l2-refresh D          repeat them this often afterwards (default 0: never)\n"
         "  --lease-dir DIR         node leases, shared by every node (default /run/ferry/leases)\n"
         "  --lease-renew D         lease writes at most this often (default 10s, at least 10s)\n"
         "  --lease-duration D      a lease not renewed for this long expires (default 40s)\n"
         "BGP (BGPPeer, BGPAdvertisement):\n"
         "  --secrets-dir DIR       BGPPeer passwords: DIR/<secret>/<key> (default /etc/ferry/secrets)\n"
         "  --bgp-listen-port N     accept BGP connections on N (default 179; 0: connect out only)\n"
         "  SIGTERM keeps the routes on the peers (graceful restart); SIGINT withdraws them\n";
}

absl::StatusOr<Options> ParseOptions(std::span<const absl::string_view> args) {
  Options options;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    absl::string_view name = arg;
    absl::string_view value;
    // The one flag with no value.
    if (arg == "in-cluster") {
      options.in_cluster = true;
      continue;
    }
    if (const size_t equals = arg.find('='); equals != absl::string_view::npos) {
      name = arg.substr(0, equals);
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
    auto setter = Setters().find(name);
    if (setter == Setters().end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (absl::Status set = setter->second(options, value); !set.ok()) return set;
  }
  for (auto [flag, missing] : {std::pair{"node", options.node.empty()},
                               std::pair{"uplink", options.uplink.empty()}}) {
    if (missing) return absl::InvalidArgumentError(absl::StrCat("--", flag, " is required"));
  }
  if (options.manifests.empty() && !options.from_api()) {
    return absl::InvalidArgumentError(
        "a source is required: --manifests, or the Kubernetes API (--kubeconfig, --in-cluster, "
        "--api-server)");
  }
  if (!options.manifests.empty() && options.from_api()) {
    return absl::InvalidArgumentError(
        "--manifests and the Kubernetes API (--kubeconfig, --in-cluster, --api-server): use one");
  }
  if (!options.kubeconfig.empty() && options.in_cluster) {
    return absl::InvalidArgumentError("--kubeconfig and --in-cluster: use one");
  }
  if (!options.kube_context.empty() && options.kubeconfig.empty()) {
    return absl::InvalidArgumentError("--kube-context needs --kubeconfig");
  }
  if (options.kube_namespace.empty()) options.kube_namespace = "ferry-system";
  // The node name also names the default state directory: it must be one
  // path component whatever --pin-dir says.
  absl::StatusOr<std::filesystem::path> default_pin_dir = datapath::DefaultPinDir(options.node);
  if (!default_pin_dir.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--node: ", default_pin_dir.status().message()));
  }
  if (options.pin_dir.empty()) options.pin_dir = *default_pin_dir;
  if (options.state_dir.empty()) {
    options.state_dir = std::filesystem::path("/run/ferry") / options.node / "state";
  }
  if (options.api_socket.empty()) {
    options.api_socket = std::filesystem::path("/run/ferry") / options.node / "ferryd.sock";
  }
  if (options.maglev_size == 0) options.maglev_size = maglev::kDefaultTableSize;
  if (options.lease_dir.empty()) options.lease_dir = "/run/ferry/leases";
  if (options.secrets_dir.empty()) options.secrets_dir = "/etc/ferry/secrets";
  for (auto [flags, valid] :
       {std::pair{"--l2-interval, --l2-dead-intervals, --l2-restart-hold",
                  l2announce::Validate(options.l2_liveness)},
        std::pair{"--l2-takeover-count, --l2-takeover-spacing, --l2-refresh",
                  l2announce::Validate(options.l2_announcements)},
        std::pair{"--lease-renew, --lease-duration", l2announce::Validate(options.node_leases)}}) {
    if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat(flags, ": ", valid.message()));
  }
  return options;
}

}  // namespace ferry::ferryd
