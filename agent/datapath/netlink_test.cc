// Next-hop resolution against a real routing table, neighbour table and
// link, inside a namespace the test creates (label e2e).
#include "agent/datapath/netlink.h"

#include <net/if.h>

#include "absl/time/clock.h"
#include "agent/datapath/testing/fixtures.h"
#include "gtest/gtest.h"

namespace ferry::datapath {
namespace {

using testing::RunInNamespace;

constexpr uint8_t kLocalMac[6] = {0x02, 0xfe, 0x77, 0, 0, 0x01};
constexpr uint8_t kNodeMac[6] = {0x02, 0xfe, 0x77, 0, 0, 0x02};

class NetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<netns::Namespace>> ns = netns::Namespace::Create("dp-nl");
    ASSERT_TRUE(ns.ok()) << ns.status();
    netns_ = *std::move(ns);
    // eth0 is this node's uplink; its peer only needs to exist for carrier.
    const absl::Status setup = netns::RunCommand(netns_.get(), {"sh", "-c",
        "ip link add eth0 address 02:fe:77:00:00:01 type veth peer name peer0 && "
        "ip link set eth0 up && ip link set peer0 up && "
        "ip addr add 198.18.0.1/24 dev eth0 && "
        "ip -6 addr add 2001:db8:0:1::1/64 dev eth0 nodad && "
        "ip neigh add 198.18.0.2 lladdr 02:fe:77:00:00:02 dev eth0 nud permanent && "
        "ip -6 neigh add 2001:db8:0:1::2 lladdr 02:fe:77:00:00:02 dev eth0 nud permanent && "
        "ip route add 198.18.17.0/24 via 198.18.0.2 && "
        "ip -6 route add 2001:db8:16:1::/64 via 2001:db8:0:1::2"}).status();
    ASSERT_TRUE(setup.ok()) << setup;
  }

  // Resolves inside the namespace.
  absl::StatusOr<ferry_node> Resolve(const char* destination, int* eth0_index) {
    absl::StatusOr<ferry_node> result = absl::InternalError("not run");
    const absl::Status entered = RunInNamespace(*netns_, [&] {
      *eth0_index = if_nametoindex("eth0");
      result = ResolveNode(net::IpAddress::Parse(destination).value());
    });
    if (!entered.ok()) return entered;
    return result;
  }

  void ExpectNode(const char* destination, const char* source) {
    int eth0 = 0;
    absl::StatusOr<ferry_node> node = Resolve(destination, &eth0);
    ASSERT_TRUE(node.ok()) << destination << ": " << node.status();
    EXPECT_EQ(FormatAddress(node->tunnel_dst, node->family), destination);
    EXPECT_EQ(FormatAddress(node->tunnel_src, node->family), source);
    EXPECT_EQ(node->egress_ifindex, static_cast<uint32_t>(eth0));
    EXPECT_EQ(0, memcmp(node->next_hop_mac, kNodeMac, 6));
    EXPECT_EQ(0, memcmp(node->source_mac, kLocalMac, 6));
    EXPECT_EQ(node->flags, 0);
  }

  std::unique_ptr<netns::Namespace> netns_;
};

TEST_F(NetlinkTest, ResolvesAnOnLinkIpv4Node) { ExpectNode("198.18.0.2", "198.18.0.1"); }

TEST_F(NetlinkTest, ResolvesAnIpv4DestinationThroughItsGateway) {
  ExpectNode("198.18.17.9", "198.18.0.1");
}

TEST_F(NetlinkTest, ResolvesAnOnLinkIpv6Node) {
  ExpectNode("2001:db8:0:1::2", "2001:db8:0:1::1");
}

TEST_F(NetlinkTest, ResolvesAnIpv6DestinationThroughItsGateway) {
  ExpectNode("2001:db8:16:1::9", "2001:db8:0:1::1");
}

TEST_F(NetlinkTest, UnresolvedNeighbourIsUnavailable) {
  int eth0 = 0;
  for (const char* destination : {"198.18.0.3", "2001:db8:0:1::3"}) {
    const absl::Status status = Resolve(destination, &eth0).status();
    EXPECT_TRUE(absl::IsUnavailable(status)) << destination << ": " << status;
    EXPECT_NE(status.message().find(destination), absl::string_view::npos) << status;
  }
}

// After a link flap the kernel has flushed the node's neighbours, and the
// datapath's own packets never re-create them: ResolveNode must get the
// next hop resolved by itself, with no other traffic to it.
TEST_F(NetlinkTest, AnUnresolvedNeighbourIsResolvedWithoutTraffic) {
  absl::StatusOr<std::unique_ptr<netns::Namespace>> peer = netns::Namespace::Create("dp-nl-peer");
  ASSERT_TRUE(peer.ok()) << peer.status();
  const absl::Status moved = netns_->Ip({"link", "set", "peer0", "netns", (*peer)->name()}).status();
  ASSERT_TRUE(moved.ok()) << moved;
  ASSERT_TRUE((*peer)->AddAddress("peer0", "198.18.0.4/24").ok());
  ASSERT_TRUE((*peer)->AddAddress("peer0", "2001:db8:0:1::4/64").ok());
  ASSERT_TRUE((*peer)->SetUp("peer0").ok());
  const absl::Status up = netns_->SetUp("eth0");
  ASSERT_TRUE(up.ok()) << up;
  absl::StatusOr<netns::Interface> peer_link = (*peer)->Link("peer0");
  ASSERT_TRUE(peer_link.ok()) << peer_link.status();

  for (const char* destination : {"198.18.0.4", "2001:db8:0:1::4"}) {
    int eth0 = 0;
    const absl::Status first = Resolve(destination, &eth0).status();
    EXPECT_TRUE(absl::IsUnavailable(first)) << destination << ": " << first;
    absl::StatusOr<ferry_node> node = first;
    // The agent retries on its tick; a LAN answers in milliseconds.
    for (int attempt = 0; attempt < 100 && !node.ok(); ++attempt) {
      absl::SleepFor(absl::Milliseconds(20));
      node = Resolve(destination, &eth0);
    }
    ASSERT_TRUE(node.ok()) << destination << " still unresolved after 2 s: " << node.status();
    EXPECT_EQ(0, memcmp(node->next_hop_mac, peer_link->mac.data(), 6)) << destination;
  }
}

TEST_F(NetlinkTest, NoRouteIsNotFound) {
  int eth0 = 0;
  for (const char* destination : {"198.18.200.1", "2001:db8:200::1"}) {
    const absl::Status status = Resolve(destination, &eth0).status();
    EXPECT_TRUE(absl::IsNotFound(status)) << destination << ": " << status;
  }
}

}  // namespace
}  // namespace ferry::datapath
