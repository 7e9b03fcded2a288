#include "agent/controllers/bgp/view.h"

#include "gtest/gtest.h"

namespace ferry::ferryd {
namespace {

TEST(BgpViewTest, APeerKeepsItsLastNotificationBesideTheLaterErrors) {
  bgp_control::BgpPlan plan;
  plan.peers.push_back({.config = {.name = "gw",
                                   .peer_address = *net::IpAddress::Parse("198.18.0.1"),
                                   .session = {.local_as = 64513, .peer_as = 64512}}});
  const absl::Time refused = absl::FromUnixSeconds(1'700'000'000);
  bgp::PeerStatus status{.name = "gw", .connect_error = "connection refused"};
  status.session.state = bgp::SessionState::kActive;
  status.session.last_error = "the peer closed the connection";
  status.session.last_notification = bgp::NotificationRecord{
      .received = true,
      .code = 2,
      .subcode = 2,
      .description = "NOTIFICATION 2/2 (OPEN Message Error / Bad Peer AS)",
      .at = refused};
  const agent::v1::BgpPeers peers = BgpPeersOf("node1", plan, {&status, 1});
  ASSERT_EQ(peers.peers_size(), 1);
  const agent::v1::BgpPeer& peer = peers.peers(0);
  EXPECT_EQ(peer.state(), "Active");
  EXPECT_EQ(peer.last_error(), "the peer closed the connection");
  EXPECT_EQ(peer.connect_error(), "connection refused");
  ASSERT_TRUE(peer.has_last_notification());
  EXPECT_TRUE(peer.last_notification().received());
  EXPECT_EQ(peer.last_notification().code(), 2u);
  EXPECT_EQ(peer.last_notification().subcode(), 2u);
  EXPECT_EQ(peer.last_notification().description(),
            "NOTIFICATION 2/2 (OPEN Message Error / Bad Peer AS)");
  EXPECT_EQ(peer.last_notification().at_unix_ns(), absl::ToUnixNanos(refused));

  status.session.last_notification.reset();
  EXPECT_FALSE(BgpPeersOf("node1", plan, {&status, 1}).peers(0).has_last_notification());
}

}  // namespace
}  // namespace ferry::ferryd
