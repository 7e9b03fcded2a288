// A tunnel XDP builds while its next hop is unresolved, end to end on two
// namespaces joined by a veth pair:
//
//   node  eth0 198.18.0.11/24 2001:db8:0:1::11/64: ferry_xdp and ferry_tc_uplink
//   peer  eth0 .12 and ::12, the client, which routes the VIPs via the node;
//              .13 and ::13, the backend's node, which the node has never
//              heard from, so its neighbour entry is absent.
//
// XDP tunnels the client's datagram to .13 / ::13, finds no neighbour and
// hands the tunnel to the stack; TC must send it on. Checked from outside: a
// capture on the peer's eth0 shows the tunnel arrive.
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ferry_tc_uplink.skel.h"
#include "ferry_xdp.skel.h"
#include "gtest/gtest.h"
#include "test/bpf/lb_fixture.h"
#include "test/e2e/netns.h"
#include "test/e2e/wait.h"

namespace ferry::bpftest {
namespace {

constexpr uint16_t kServicePort = 53;
constexpr uint16_t kPodPort = 5353;
constexpr uint32_t kTableSize = 7;

struct Family {
  const char* name;
  IpAddress node, client, backend_node, vip, pod;
  int prefix_len;
  const char* tunnel_filter;  // pcap filter for the tunnel at the peer
};

void PrintTo(const Family& f, std::ostream* os) { *os << f.name; }

const Family kV4 = {"ipv4", "198.18.0.11", "198.18.0.12", "198.18.0.13", "198.19.0.1", "198.18.17.10",
                    24, "ip proto 4 and src host 198.18.0.11 and dst host 198.18.0.13"};
const Family kV6 = {"ipv6", "2001:db8:0:1::11", "2001:db8:0:1::12", "2001:db8:0:1::13", "2001:db8:19::1",
                    "2001:db8:16:1::10", 64,
                    "ip6 proto 41 and src host 2001:db8:0:1::11 and dst host 2001:db8:0:1::13"};

std::string Cidr(const IpAddress& address, int prefix_len) {
  return absl::StrCat(address.ToString(), "/", prefix_len);
}

// The socket address of `address`:port; returns its length.
socklen_t SocketAddress(const IpAddress& address, uint16_t port, sockaddr_storage* storage) {
  *storage = {};
  if (address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, address.bytes.data(), 4);
    return sizeof(*sin);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(storage);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, address.bytes.data(), 16);
  return sizeof(*sin6);
}

// One UDP datagram from `from` to `to`:port, sent inside `ns`.
absl::Status SendDatagram(const netns::Namespace& ns, const IpAddress& from, const IpAddress& to, uint16_t port) {
  return netns::RunIn(ns, [&]() -> absl::Status {
    sockaddr_storage source, destination;
    const socklen_t source_length = SocketAddress(from, 0, &source);
    const socklen_t destination_length = SocketAddress(to, port, &destination);
    const int fd = socket(source.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
    // Bound to the client's address: the node must hear nothing from the
    // backend node's.
    const bool sent = bind(fd, reinterpret_cast<sockaddr*>(&source), source_length) == 0 &&
                      sendto(fd, "ping", 4, 0, reinterpret_cast<sockaddr*>(&destination), destination_length) == 4;
    const int error = errno;
    close(fd);
    if (!sent) {
      return absl::InternalError(
          absl::StrCat("sending from ", from.ToString(), " to ", to.ToString(), ": ", std::strerror(error)));
    }
    return absl::OkStatus();
  });
}

class OwnTunnelEndToEndTest : public LbFixture, public ::testing::WithParamInterface<Family> {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(LbFixture::SetUp());
    for (auto [ns, name] : {std::pair{&node_, "own-node"}, std::pair{&peer_, "own-peer"}}) {
      absl::StatusOr<std::unique_ptr<netns::Namespace>> created = netns::Namespace::Create(name);
      ASSERT_TRUE(created.ok()) << created.status();
      *ns = *std::move(created);
    }
    for (absl::Status status : {
             netns::AddVethPair(*node_, "eth0", *peer_, "eth0"),
             node_->AddAddress("eth0", Cidr(kV4.node, 24)), node_->AddAddress("eth0", Cidr(kV6.node, 64)),
             node_->EnableForwarding(), node_->SetUp("eth0"),
             // The client's addresses first: they are the ones it sends from.
             peer_->AddAddress("eth0", Cidr(kV4.client, 24)), peer_->AddAddress("eth0", Cidr(kV4.backend_node, 24)),
             peer_->AddAddress("eth0", Cidr(kV6.client, 64)), peer_->AddAddress("eth0", Cidr(kV6.backend_node, 64)),
             peer_->SetUp("eth0"), peer_->AddRoute({Cidr(kV4.vip, 32), "via", kV4.node.ToString()}),
             peer_->AddRoute({Cidr(kV6.vip, 128), "via", kV6.node.ToString()})}) {
      ASSERT_TRUE(status.ok()) << status;
    }
    ferry_config config = Config();
    config.node_v4 = kV4.node.ToFerry();
    config.node_v6 = kV6.node.ToFerry();
    SetConfig(config);
    uint32_t id = 1;
    for (const Family* f : {&kV4, &kV6}) {
      // No MAC in the node entry: XDP asks the FIB.
      SetNode(id, {.tunnel_src = f->node, .tunnel_dst = f->backend_node});
      SetBackend(id, {f->pod, kPodPort, id});
      SetFrontend(f->vip, kServicePort, kUdp, id, kTableSize);
      const std::vector<uint32_t> slots(kTableSize, id);
      SetMaglevTable(id, slots);
      ++id;
    }
    absl::StatusOr<netns::Interface> uplink = node_->Link("eth0");
    ASSERT_TRUE(uplink.ok()) << uplink.status();
    const absl::Status attached = netns::RunIn(*node_, [&] { return Attach(uplink->ifindex); });
    ASSERT_TRUE(attached.ok()) << attached;
  }

  // The namespaces take the attachments with their interfaces.
  void TearDown() override {
    node_.reset();
    peer_.reset();
    LbFixture::TearDown();
  }

  absl::Status Attach(int ifindex) {
    if (int rc = bpf_xdp_attach(ifindex, bpf_program__fd(xdp_->progs.ferry_xdp_lb), XDP_FLAGS_DRV_MODE, nullptr)) {
      return absl::InternalError(absl::StrCat("attaching XDP: ", std::strerror(-rc)));
    }
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
    if (int rc = bpf_tc_hook_create(&hook)) {
      return absl::InternalError(absl::StrCat("creating clsact: ", std::strerror(-rc)));
    }
    LIBBPF_OPTS(bpf_tc_opts, tc, .prog_fd = bpf_program__fd(tc_uplink_->progs.ferry_tc_uplink));
    if (int rc = bpf_tc_attach(&hook, &tc)) {
      return absl::InternalError(absl::StrCat("attaching TC: ", std::strerror(-rc)));
    }
    return absl::OkStatus();
  }

  // The node's neighbour entry for `address`, "" if it has none.
  std::string Neighbour(const IpAddress& address) {
    absl::StatusOr<std::string> shown = node_->Ip({"neigh", "show", "to", address.ToString(), "dev", "eth0"});
    EXPECT_TRUE(shown.ok()) << shown.status();
    return shown.ok() ? *shown : "";
  }

  std::unique_ptr<netns::Namespace> node_, peer_;
};

TEST_P(OwnTunnelEndToEndTest, TunnelReachesTheBackendNodeBeforeItsNeighbourIsResolved) {
  const Family& f = GetParam();
  ASSERT_EQ(Neighbour(f.backend_node), "");
  absl::StatusOr<std::unique_ptr<netns::Capture>> capture = netns::Capture::Start(*peer_, "eth0");
  ASSERT_TRUE(capture.ok()) << capture.status();

  ASSERT_TRUE(SendDatagram(*peer_, f.client, f.vip, kServicePort).ok());
  // The kernel resolves the neighbour for the queued tunnel; then it leaves.
  EXPECT_TRUE(netns::WaitFor([&] { return absl::StrContains(Neighbour(f.backend_node), "REACHABLE"); },
                             absl::Seconds(3)))
      << Neighbour(f.backend_node) << "; " << CounterSummary();
  absl::StatusOr<size_t> tunnels = (*capture)->Count(f.tunnel_filter);
  ASSERT_TRUE(tunnels.ok()) << tunnels.status();
  EXPECT_EQ(*tunnels, 1u) << CounterSummary();
  EXPECT_EQ((*capture)->dropped_by_kernel(), 0u);
  // XDP found no neighbour and TC sent the tunnel: not the stack.
  EXPECT_EQ(Events(FERRY_EVENT_ENCAP_PASS_NO_NEIGH), 1u) << CounterSummary();
  EXPECT_EQ(Events(FERRY_EVENT_ENCAP_REDIRECT_NEIGH), 1u) << CounterSummary();
}

INSTANTIATE_TEST_SUITE_P(BothFamilies, OwnTunnelEndToEndTest, ::testing::Values(kV4, kV6),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ferry::bpftest
