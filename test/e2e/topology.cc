#include "test/e2e/topology.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <utility>

#include "absl/strings/str_cat.h"
#include "test/e2e/status_macros.h"

namespace ferry::netns {
namespace {

constexpr char kBridge[] = "br0";
constexpr char kUplink[] = "eth0";
constexpr size_t kMaxLinkName = 15;  // IFNAMSIZ - 1

std::string NodeV4(int k) { return absl::StrCat("198.18.0.", 10 + k); }
std::string NodeV6(int k) { return absl::StrCat("2001:db8:0:1::", 10 + k); }
std::string PodCidrV4(int k) { return absl::StrCat("198.18.", 16 + k, ".0/24"); }
std::string PodCidrV6(int k) { return absl::StrCat("2001:db8:16:", k, "::/64"); }
std::string PodGatewayV4(int k) { return absl::StrCat("198.18.", 16 + k, ".1"); }
std::string PodGatewayV6(int k) { return absl::StrCat("2001:db8:16:", k, "::1"); }
std::string PodV4(int k, int j) { return absl::StrCat("198.18.", 16 + k, ".", 10 + j); }
std::string PodV6(int k, int j) { return absl::StrCat("2001:db8:16:", k, "::", 10 + j); }

// Pings `target` from `ns` until one reply comes back (bounded).
absl::Status PingOnce(const Namespace& ns, const std::string& target) {
  return RunCommand(&ns, {"ping", "-c", "1", "-W", "1", "-w", "5", "-q", target}).status();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Topology>> Topology::Build(const TopologyOptions& options) {
  std::unique_ptr<Topology> t(new Topology());
  FERRY_ASSIGN_OR_RETURN(t->client_, Namespace::Create("client"));
  FERRY_ASSIGN_OR_RETURN(t->gw_, Namespace::Create("gw"));
  FERRY_ASSIGN_OR_RETURN(t->lan_, Namespace::Create("lan"));
  FERRY_ASSIGN_OR_RETURN(t->client_v4_, IpAddress::Parse("198.18.100.2"));
  FERRY_ASSIGN_OR_RETURN(t->client_v6_, IpAddress::Parse("2001:db8:100::2"));
  FERRY_ASSIGN_OR_RETURN(t->gw_lan_v4_, IpAddress::Parse("198.18.0.1"));
  FERRY_ASSIGN_OR_RETURN(t->gw_lan_v6_, IpAddress::Parse("2001:db8:0:1::1"));
  const Namespace& client = *t->client_;
  const Namespace& gw = *t->gw_;
  const Namespace& lan = *t->lan_;

  FERRY_RETURN_IF_ERROR(AddVethPair(client, kUplink, gw, "client"));
  FERRY_RETURN_IF_ERROR(client.AddAddress(kUplink, "198.18.100.2/24"));
  FERRY_RETURN_IF_ERROR(client.AddAddress(kUplink, "2001:db8:100::2/64"));
  FERRY_RETURN_IF_ERROR(gw.AddAddress("client", "198.18.100.1/24"));
  FERRY_RETURN_IF_ERROR(gw.AddAddress("client", "2001:db8:100::1/64"));
  FERRY_RETURN_IF_ERROR(client.SetUp(kUplink));
  FERRY_RETURN_IF_ERROR(gw.SetUp("client"));
  FERRY_RETURN_IF_ERROR(client.AddRoute({"default", "via", "198.18.100.1"}));
  FERRY_RETURN_IF_ERROR(client.AddRoute({"default", "via", "2001:db8:100::1"}));
  // The client stands for a host on a real wire, whose packets arrive with
  // complete checksums. With veth's default checksum offload they would
  // arrive CHECKSUM_PARTIAL, which XDP cannot see: a packet forwarded by
  // XDP_TX would then reach the pod with a half-computed TCP checksum.
  FERRY_RETURN_IF_ERROR(RunCommand(&client, {"ethtool", "-K", kUplink, "tx", "off"}).status());
  FERRY_ASSIGN_OR_RETURN(t->client_link_, client.Link(kUplink));

  FERRY_RETURN_IF_ERROR(lan.AddBridge(kBridge));
  FERRY_RETURN_IF_ERROR(lan.SetMtu(kBridge, options.lan_mtu));
  FERRY_RETURN_IF_ERROR(lan.SetUp(kBridge));
  FERRY_RETURN_IF_ERROR(AddVethPair(gw, "lan", lan, "gw"));
  FERRY_RETURN_IF_ERROR(lan.SetMaster("gw", kBridge));
  FERRY_RETURN_IF_ERROR(lan.SetMtu("gw", options.lan_mtu));
  FERRY_RETURN_IF_ERROR(gw.SetMtu("lan", options.lan_mtu));
  FERRY_RETURN_IF_ERROR(lan.SetUp("gw"));
  FERRY_RETURN_IF_ERROR(gw.AddAddress("lan", "198.18.0.1/24"));
  FERRY_RETURN_IF_ERROR(gw.AddAddress("lan", "2001:db8:0:1::1/64"));
  FERRY_RETURN_IF_ERROR(gw.SetUp("lan"));
  FERRY_RETURN_IF_ERROR(gw.EnableForwarding());

  t->nodes_.reserve(options.nodes.size());
  for (size_t i = 0; i < options.nodes.size(); ++i) {
    FERRY_RETURN_IF_ERROR(t->AddNode(options.nodes[i], static_cast<int>(i) + 1, options.lan_mtu));
  }
  // Native routing: every node reaches the other nodes' pods through them.
  for (const Node& node : t->nodes_) {
    FERRY_RETURN_IF_ERROR(gw.AddRoute({node.pod_cidr_v4, "via", node.v4.ToString()}));
    FERRY_RETURN_IF_ERROR(gw.AddRoute({node.pod_cidr_v6, "via", node.v6.ToString()}));
    for (const Node& peer : t->nodes_) {
      if (&peer == &node) continue;
      FERRY_RETURN_IF_ERROR(node.ns->AddRoute({peer.pod_cidr_v4, "via", peer.v4.ToString()}));
      FERRY_RETURN_IF_ERROR(node.ns->AddRoute({peer.pod_cidr_v6, "via", peer.v6.ToString()}));
    }
  }
  // Interfaces appeared after the namespaces turned rp_filter off.
  FERRY_RETURN_IF_ERROR(gw.DisableRpFilter());
  for (const Node& node : t->nodes_) FERRY_RETURN_IF_ERROR(node.ns->DisableRpFilter());
  return t;
}

absl::Status Topology::AddNode(const NodeOptions& options, int k, int lan_mtu) {
  if (options.name.empty() || options.name.size() > kMaxLinkName || options.name == "gw") {
    return absl::InvalidArgumentError(absl::StrCat(
        "node name '", options.name, "' must have 1 to 15 characters and not be 'gw'"));
  }
  Node& node = nodes_.emplace_back();
  node.name = options.name;
  node.index = k;
  FERRY_ASSIGN_OR_RETURN(node.ns, Namespace::Create(options.name));
  FERRY_ASSIGN_OR_RETURN(node.v4, IpAddress::Parse(NodeV4(k)));
  FERRY_ASSIGN_OR_RETURN(node.v6, IpAddress::Parse(NodeV6(k)));
  node.pod_cidr_v4 = PodCidrV4(k);
  node.pod_cidr_v6 = PodCidrV6(k);
  const Namespace& ns = *node.ns;

  FERRY_RETURN_IF_ERROR(AddVethPair(ns, kUplink, *lan_, options.name));
  FERRY_RETURN_IF_ERROR(lan_->SetMaster(options.name, kBridge));
  FERRY_RETURN_IF_ERROR(lan_->SetMtu(options.name, lan_mtu));
  FERRY_RETURN_IF_ERROR(ns.SetMtu(kUplink, lan_mtu));
  FERRY_RETURN_IF_ERROR(lan_->SetUp(options.name));
  FERRY_RETURN_IF_ERROR(ns.AddAddress(kUplink, node.v4.ToString() + "/24"));
  FERRY_RETURN_IF_ERROR(ns.AddAddress(kUplink, node.v6.ToString() + "/64"));
  FERRY_RETURN_IF_ERROR(ns.SetUp(kUplink));
  FERRY_RETURN_IF_ERROR(ns.AddRoute({"default", "via", gw_lan_v4_.ToString()}));
  FERRY_RETURN_IF_ERROR(ns.AddRoute({"default", "via", gw_lan_v6_.ToString()}));
  FERRY_RETURN_IF_ERROR(ns.EnableForwarding());
  FERRY_ASSIGN_OR_RETURN(node.uplink, ns.Link(kUplink));
  FERRY_ASSIGN_OR_RETURN(node.bridge_port, lan_->Link(options.name));
  node.pods.reserve(options.pods);
  for (int j = 0; j < options.pods; ++j) FERRY_RETURN_IF_ERROR(AddPod(node, j));
  return absl::OkStatus();
}

absl::Status Topology::AddPod(Node& node, int j) {
  const int k = node.index;
  Pod& pod = node.pods.emplace_back();
  pod.name = absl::StrCat(node.name, "-p", j);
  FERRY_ASSIGN_OR_RETURN(pod.ns, Namespace::Create(pod.name));
  FERRY_ASSIGN_OR_RETURN(pod.v4, IpAddress::Parse(PodV4(k, j)));
  FERRY_ASSIGN_OR_RETURN(pod.v6, IpAddress::Parse(PodV6(k, j)));
  FERRY_ASSIGN_OR_RETURN(pod.gateway_v4, IpAddress::Parse(PodGatewayV4(k)));
  FERRY_ASSIGN_OR_RETURN(pod.gateway_v6, IpAddress::Parse(PodGatewayV6(k)));
  const Namespace& ns = *pod.ns;
  const Namespace& host = *node.ns;
  const std::string host_link = absl::StrCat("pod", j);

  FERRY_RETURN_IF_ERROR(AddVethPair(host, host_link, ns, kUplink));
  // The gateway address sits on every pod veth of the node as a host route,
  // so several pods share one gateway without sharing a link.
  FERRY_RETURN_IF_ERROR(host.AddAddress(host_link, pod.gateway_v4.ToString() + "/32"));
  FERRY_RETURN_IF_ERROR(host.AddAddress(host_link, pod.gateway_v6.ToString() + "/128"));
  FERRY_RETURN_IF_ERROR(host.SetUp(host_link));
  FERRY_RETURN_IF_ERROR(host.AddRoute({pod.v4.ToString() + "/32", "dev", host_link}));
  FERRY_RETURN_IF_ERROR(host.AddRoute({pod.v6.ToString() + "/128", "dev", host_link}));
  FERRY_RETURN_IF_ERROR(ns.AddAddress(kUplink, pod.v4.ToString() + "/24"));
  FERRY_RETURN_IF_ERROR(ns.AddAddress(kUplink, pod.v6.ToString() + "/64"));
  FERRY_RETURN_IF_ERROR(ns.SetUp(kUplink));
  FERRY_RETURN_IF_ERROR(ns.AddRoute({"default", "via", pod.gateway_v4.ToString()}));
  FERRY_RETURN_IF_ERROR(ns.AddRoute({"default", "via", pod.gateway_v6.ToString()}));
  FERRY_ASSIGN_OR_RETURN(pod.link, ns.Link(kUplink));
  FERRY_ASSIGN_OR_RETURN(pod.host_link, host.Link(host_link));
  return absl::OkStatus();
}

Node* Topology::node(const std::string& name) {
  for (Node& n : nodes_) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

absl::Status Topology::WarmUp() {
  for (const Node& node : nodes_) {
    FERRY_RETURN_IF_ERROR(PingOnce(*node.ns, gw_lan_v4_.ToString()));
    FERRY_RETURN_IF_ERROR(PingOnce(*node.ns, gw_lan_v6_.ToString()));
    for (const Node& peer : nodes_) {
      if (&peer == &node) continue;
      FERRY_RETURN_IF_ERROR(PingOnce(*node.ns, peer.v4.ToString()));
      FERRY_RETURN_IF_ERROR(PingOnce(*node.ns, peer.v6.ToString()));
    }
    for (const Pod& pod : node.pods) {
      FERRY_RETURN_IF_ERROR(PingOnce(*pod.ns, pod.gateway_v4.ToString()));
      FERRY_RETURN_IF_ERROR(PingOnce(*pod.ns, pod.gateway_v6.ToString()));
    }
  }
  FERRY_RETURN_IF_ERROR(PingOnce(*client_, "198.18.100.1"));
  return PingOnce(*client_, "2001:db8:100::1");
}

absl::Status Topology::EnableXdpTx(const Node& node) {
  // XDP_PASS: r0 = 2; exit.
  const bpf_insn pass[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = XDP_PASS},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  const int prog = bpf_prog_load(BPF_PROG_TYPE_XDP, "ferry_e2e_pass", "GPL", pass, 2, nullptr);
  if (prog < 0) {
    return absl::InternalError(absl::StrCat("loading the XDP pass program: ", std::strerror(-prog)));
  }
  const int ifindex = node.bridge_port.ifindex;
  absl::Status attached = RunIn(*lan_, [&]() -> absl::Status {
    if (int err = bpf_xdp_attach(ifindex, prog, XDP_FLAGS_DRV_MODE, nullptr); err != 0) {
      return absl::InternalError(absl::StrCat("attaching the XDP pass program to ",
                                              node.bridge_port.name, ": ", std::strerror(-err)));
    }
    return absl::OkStatus();
  });
  // The attachment holds the program; it goes with the interface.
  close(prog);
  return attached;
}

std::string FerrydStateDir(const Node& node) {
  return absl::StrCat(ScratchDir(), "/", node.name, "-state");
}

std::string FerrydSocket(const Node& node) {
  return absl::StrCat(ScratchDir(), "/", node.name, ".sock");
}

absl::StatusOr<std::unique_ptr<Process>> StartFerryd(const Node& node, const std::string& ferryd,
                                                     const std::string& manifests,
                                                     const std::string& log_name,
                                                     const std::vector<std::string>& extra_args) {
  return StartFerrydFrom(node, ferryd, {"--manifests", manifests}, log_name, extra_args);
}

absl::StatusOr<std::unique_ptr<Process>> StartFerrydFrom(
    const Node& node, const std::string& ferryd, const std::vector<std::string>& source_args,
    const std::string& log_name, const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {ferryd, "--node", node.name};
  argv.insert(argv.end(), source_args.begin(), source_args.end());
  argv.insert(argv.end(), {"--uplink", node.uplink.name, "--pin-dir", PinDir(node.name),
                           "--state-dir", FerrydStateDir(node), "--api-socket", FerrydSocket(node),
                           "--lease-dir", absl::StrCat(ScratchDir(), "/leases")});
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return Process::Start(*node.ns, argv, absl::StrCat(ScratchDir(), "/", log_name, ".log"));
}

}  // namespace ferry::netns
