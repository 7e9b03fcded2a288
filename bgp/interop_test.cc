// The speaker against real routers: FRR (bgpd + zebra) and BIRD 2 in the gw
// namespace, configured as homelab gateways are, and a Speaker in each node
// namespace. Checked from outside, in the gw's kernel FIB and the router's
// own view of its neighbors.
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "bgp/interop_fixture.h"
#include "gtest/gtest.h"
#include "test/e2e/netns.h"

namespace ferry::bgp::interop {
namespace {

constexpr absl::Duration kSessionTimeout = absl::Seconds(20);
constexpr absl::Duration kRouteTimeout = absl::Seconds(15);
constexpr char kPassword[] = "ferry-md5-secret";

#define ASSERT_OK(expr)                              \
  do {                                               \
    const absl::Status _status = (expr);             \
    ASSERT_TRUE(_status.ok()) << _status.message();  \
  } while (0)

class BgpInterop : public ::testing::TestWithParam<RouterKind> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Interop>> interop = Interop::Build(3);
    ASSERT_TRUE(interop.ok()) << interop.status();
    interop_ = std::move(*interop);
  }

  void TearDown() override {
    if (HasFailure() && interop_ && has_router_) std::fprintf(stderr, "%s\n", interop_->router().Log().c_str());
    speakers_.clear();
    interop_.reset();
    EXPECT_TRUE(netns::CleanUpRun(netns::RunPrefix()).ok());
  }

  absl::Status StartRouter(netns::BgpRouterOptions options) {
    absl::Status status = interop_->StartRouter(GetParam(), std::move(options));
    has_router_ = status.ok();
    return status;
  }

  // Node k's speaker, peering with the gw over a session of `family`,
  // advertising the VIPs of the session's families.
  absl::Status StartNode(int k, IpFamily family, const std::string& password = "",
                         bool restarting = false) {
    absl::StatusOr<std::unique_ptr<Speaker>> speaker = interop_->StartSpeaker(k, restarting);
    if (!speaker.ok()) return speaker.status();
    PeerConfig peer = interop_->GwPeer(k, family, password);
    std::vector<Advertisement> routes = interop_->Vips(k);
    if (family == IpFamily::kIPv6) {
      peer.session.families = {kIpv6Unicast};
      std::erase_if(routes, [](const Advertisement& a) { return a.prefix.address.family == IpFamily::kIPv4; });
    }
    if (absl::Status status = (*speaker)->SetPeers({peer}); !status.ok()) return status;
    if (absl::Status status = (*speaker)->SetRoutes("gw", routes); !status.ok()) return status;
    speakers_[k] = std::move(*speaker);
    return absl::OkStatus();
  }

  std::vector<std::string> Addresses(std::vector<int> nodes, IpFamily family) const {
    std::vector<std::string> out;
    for (int k : nodes) out.push_back(interop_->NodeAddress(k, family).ToString());
    return out;
  }

  // Empty when the router and the nodes' speakers all say Established.
  std::string NotEstablished(std::vector<int> nodes, IpFamily family) {
    absl::StatusOr<std::map<std::string, std::string>> states = interop_->router().NeighborStates();
    if (!states.ok()) return std::string(states.status().message());
    std::string missing;
    for (int k : nodes) {
      const std::string address = interop_->NodeAddress(k, family).ToString();
      const auto it = states->find(address);
      const std::string router_says = it == states->end() ? "unknown" : it->second;
      const std::vector<PeerStatus> peers = speakers_.at(k)->Peers();
      const SessionState speaker_says = peers.empty() ? SessionState::kIdle : peers[0].session.state;
      if (router_says != "Established" || speaker_says != SessionState::kEstablished) {
        absl::StrAppend(&missing, "n", k, ": router says ", router_says, ", speaker says ",
                        StateName(speaker_says), "; ");
      }
    }
    return missing;
  }

  std::string RouterState(int k, IpFamily family) {
    absl::StatusOr<std::map<std::string, std::string>> states = interop_->router().NeighborStates();
    if (!states.ok()) return std::string(states.status().message());
    const auto it = states->find(interop_->NodeAddress(k, family).ToString());
    return it == states->end() ? "unknown" : it->second;
  }

  const netns::Namespace& gw() { return interop_->topology().gw(); }

  absl::Status EcmpThrough(std::vector<int> nodes) {
    if (absl::Status s = Eventually("the IPv4 VIP's route", kRouteTimeout, [&] {
          return FibDiffers(gw(), kVipV4, Addresses(nodes, IpFamily::kIPv4));
        });
        !s.ok()) {
      return s;
    }
    return Eventually("the IPv6 VIP's route", kRouteTimeout, [&] {
      return FibDiffers(gw(), kVipV6, Addresses(nodes, IpFamily::kIPv6));
    });
  }

  std::unique_ptr<Interop> interop_;
  bool has_router_ = false;
  std::map<int, std::unique_ptr<Speaker>> speakers_;
};

netns::BgpRouterOptions WithNeighbors(const Interop& interop, IpFamily family,
                                      const std::string& password = "") {
  netns::BgpRouterOptions options;
  for (int k = 1; k <= 3; ++k) options.neighbors.push_back(interop.Neighbor(k, family, password));
  return options;
}

TEST_P(BgpInterop, VipsFromThreeNodesBecomeOneEcmpRouteAndWithdrawalsRemoveIt) {
  ASSERT_OK(StartRouter(WithNeighbors(*interop_, IpFamily::kIPv4)));
  for (int k = 1; k <= 3; ++k) ASSERT_OK(StartNode(k, IpFamily::kIPv4));
  ASSERT_OK(Eventually("IPv4 sessions", kSessionTimeout,
                       [&] { return NotEstablished({1, 2, 3}, IpFamily::kIPv4); }));
  // The IPv6 VIP went over the IPv4 sessions with each node's IPv6 address
  // as next hop.
  ASSERT_OK(EcmpThrough({1, 2, 3}));

  for (int k = 1; k <= 3; ++k) {
    const std::vector<PeerStatus> peers = speakers_[k]->Peers();
    ASSERT_EQ(peers.size(), 1u);
    EXPECT_EQ(peers[0].session.prefixes_sent, 2u);
    EXPECT_EQ(peers[0].session.families, (std::vector<AfiSafi>{kIpv4Unicast, kIpv6Unicast}));
    EXPECT_TRUE(peers[0].session.established_since.has_value());
    absl::StatusOr<std::vector<Route>> sent = speakers_[k]->SentRoutes("gw");
    ASSERT_TRUE(sent.ok()) << sent.status();
    ASSERT_EQ(sent->size(), 2u);
    EXPECT_EQ((*sent)[0].attributes.as_path,
              (std::vector<AsPathSegment>{{AsSegmentType::kSequence, {kGwAs + k}}}));
  }

  ASSERT_OK(speakers_[1]->SetRoutes("gw", {}));
  ASSERT_OK(EcmpThrough({2, 3}));
  const absl::Time withdrawn = absl::Now();
  for (int k : {2, 3}) ASSERT_OK(speakers_[k]->SetRoutes("gw", {}));
  ASSERT_OK(EcmpThrough({}));
  std::fprintf(stderr, "%s: withdrawal to empty FIB in %s\n", RouterName(GetParam()).c_str(),
               absl::FormatDuration(absl::Now() - withdrawn).c_str());
}

TEST_P(BgpInterop, SessionsOverIpv6CarryTheIpv6Vip) {
  ASSERT_OK(StartRouter(WithNeighbors(*interop_, IpFamily::kIPv6)));
  for (int k = 1; k <= 3; ++k) ASSERT_OK(StartNode(k, IpFamily::kIPv6));
  ASSERT_OK(Eventually("IPv6 sessions", kSessionTimeout,
                       [&] { return NotEstablished({1, 2, 3}, IpFamily::kIPv6); }));
  ASSERT_OK(Eventually("the IPv6 VIP's route", kRouteTimeout, [&] {
    return FibDiffers(gw(), kVipV6, Addresses({1, 2, 3}, IpFamily::kIPv6));
  }));
  EXPECT_EQ(FibDiffers(gw(), kVipV4, {}), "");
}

TEST_P(BgpInterop, WrongMd5PasswordKeepsTheSessionDownAndThePeerStatusSaysWhy) {
  netns::BgpRouterOptions options;
  options.neighbors = {interop_->Neighbor(1, IpFamily::kIPv4, kPassword),
                       interop_->Neighbor(2, IpFamily::kIPv4, kPassword)};
  ASSERT_OK(StartRouter(options));
  ASSERT_OK(StartNode(1, IpFamily::kIPv4, kPassword));
  ASSERT_OK(StartNode(2, IpFamily::kIPv4, "not-the-password"));

  ASSERT_OK(Eventually("the session with the right password", kSessionTimeout,
                       [&] { return NotEstablished({1}, IpFamily::kIPv4); }));
  ASSERT_OK(Eventually("a connect error on the node with the wrong password", kSessionTimeout, [&] {
    const std::vector<PeerStatus> peers = speakers_[2]->Peers();
    return peers[0].connect_error.empty() ? "no connect error yet" : "";
  }));
  const PeerStatus status = speakers_[2]->Peers()[0];
  EXPECT_NE(status.session.state, SessionState::kEstablished);
  EXPECT_NE(status.connect_error.find("MD5"), std::string::npos) << status.connect_error;
  EXPECT_NE(status.connect_error.find("198.18.0.1:179"), std::string::npos) << status.connect_error;
  EXPECT_NE(RouterState(2, IpFamily::kIPv4), "Established");
  EXPECT_EQ(FibDiffers(gw(), kVipV4, Addresses({1}, IpFamily::kIPv4)), "");
}

TEST_P(BgpInterop, ARouterExpectingAnotherAsRefusesTheSessionAndThePeerStatusKeepsItsNotification) {
  netns::BgpRouterOptions options;
  options.neighbors = {interop_->Neighbor(1, IpFamily::kIPv4)};
  options.neighbors[0].asn = 64999;
  ASSERT_OK(StartRouter(options));
  ASSERT_OK(StartNode(1, IpFamily::kIPv4));

  constexpr absl::string_view kBadPeerAs = "NOTIFICATION 2/2 (OPEN Message Error / Bad Peer AS)";
  const auto refusal = [&]() -> std::optional<NotificationRecord> {
    return speakers_[1]->Peers()[0].session.last_notification;
  };
  // A router that has only just started may first reset the connection for
  // reasons of its own (FRR's bgpd sends an FSM Error while zebra has not
  // told it about its interfaces yet); the refusal under test follows.
  ASSERT_OK(Eventually("the router's Bad Peer AS", kSessionTimeout, [&]() -> std::string {
    if (refusal() && refusal()->description == kBadPeerAs) return "";
    return refusal() ? "last NOTIFICATION " + refusal()->description
                     : "none yet: " + speakers_[1]->Peers()[0].session.last_error;
  }));
  const absl::Time first = refusal()->at;
  // The reconnect attempts that follow fail again, each in its own way;
  // the NOTIFICATION still says why.
  ASSERT_OK(Eventually("a reconnect attempt", kSessionTimeout, [&]() -> std::string {
    const PeerStatus status = speakers_[1]->Peers()[0];
    return !status.connect_error.empty() || refusal()->at > first ||
                   !absl::StartsWith(status.session.last_error, "the peer sent")
               ? ""
               : "none yet";
  }));
  const PeerStatus status = speakers_[1]->Peers()[0];
  ASSERT_TRUE(status.session.last_notification.has_value());
  std::fprintf(stderr, "%s: last error '%s', connect error '%s', last NOTIFICATION %s %s\n",
               RouterName(GetParam()).c_str(), status.session.last_error.c_str(),
               status.connect_error.c_str(),
               status.session.last_notification->received ? "received" : "sent",
               status.session.last_notification->description.c_str());
  EXPECT_NE(status.session.state, SessionState::kEstablished);
  EXPECT_TRUE(status.session.last_notification->received);
  EXPECT_EQ(status.session.last_notification->description, kBadPeerAs);
  EXPECT_LE(absl::Now() - status.session.last_notification->at, kSessionTimeout + absl::Seconds(1))
      << "a wall-clock time";
}

TEST_P(BgpInterop, GracefulRestartKeepsTheRoutesUntilTheRestartedSpeakerIsBack) {
  ASSERT_OK(StartRouter(WithNeighbors(*interop_, IpFamily::kIPv4)));
  for (int k = 1; k <= 3; ++k) ASSERT_OK(StartNode(k, IpFamily::kIPv4));
  ASSERT_OK(Eventually("IPv4 sessions", kSessionTimeout,
                       [&] { return NotEstablished({1, 2, 3}, IpFamily::kIPv4); }));
  ASSERT_OK(EcmpThrough({1, 2, 3}));

  // Node 1's agent dies: its sockets close without a Cease.
  speakers_[1]->Shutdown(ShutdownMode::kKeepRoutes);
  speakers_.erase(1);
  ASSERT_OK(Eventually("the router noticing", kSessionTimeout, [&] {
    const std::string state = RouterState(1, IpFamily::kIPv4);
    return state == "Established" ? "still Established" : "";
  }));
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(FibDiffers(gw(), kVipV4, Addresses({1, 2, 3}, IpFamily::kIPv4)), "");
  EXPECT_EQ(FibDiffers(gw(), kVipV6, Addresses({1, 2, 3}, IpFamily::kIPv6)), "");

  ASSERT_OK(StartNode(1, IpFamily::kIPv4, "", /*restarting=*/true));
  ASSERT_OK(Eventually("the restarted session", kSessionTimeout,
                       [&] { return NotEstablished({1}, IpFamily::kIPv4); }));
  // The End-of-RIB replaces the stale routes with the same ones.
  ASSERT_OK(Eventually("the router taking the End-of-RIB", kSessionTimeout, [&]() -> std::string {
    absl::StatusOr<bool> received =
        interop_->router().EndOfRibReceived(interop_->NodeAddress(1, IpFamily::kIPv4).ToString());
    if (!received.ok()) return std::string(received.status().message());
    return *received ? "" : "not yet";
  }));
  EXPECT_EQ(FibDiffers(gw(), kVipV4, Addresses({1, 2, 3}, IpFamily::kIPv4)), "");
  EXPECT_EQ(FibDiffers(gw(), kVipV6, Addresses({1, 2, 3}, IpFamily::kIPv6)), "");

  // A clean stop, by contrast, withdraws at once.
  speakers_[2]->Shutdown(ShutdownMode::kCease);
  ASSERT_OK(EcmpThrough({1, 3}));
}

TEST_P(BgpInterop, DynamicNeighborsFromAListenRange) {
  netns::BgpRouterOptions options;
  options.listen_ranges = {"198.18.0.0/24"};
  ASSERT_OK(StartRouter(options));
  for (int k = 1; k <= 3; ++k) ASSERT_OK(StartNode(k, IpFamily::kIPv4));
  ASSERT_OK(Eventually("sessions with dynamic neighbors", kSessionTimeout,
                       [&] { return NotEstablished({1, 2, 3}, IpFamily::kIPv4); }));
  ASSERT_OK(EcmpThrough({1, 2, 3}));
}

INSTANTIATE_TEST_SUITE_P(Routers, BgpInterop, ::testing::Values(RouterKind::kFrr, RouterKind::kBird),
                         [](const auto& info) { return RouterName(info.param); });

}  // namespace
}  // namespace ferry::bgp::interop
