// The driver over real TCP: two speakers peer over loopback inside a network
// namespace this test creates (127.0.0.1 listening on one port, 127.0.0.2 on
// another), so sockets, timers, partial writes and shutdown modes are
// exercised without a router.
#include "bgp/speaker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bgp/interop_fixture.h"
#include "gtest/gtest.h"
#include "test/e2e/netns.h"

namespace ferry::bgp {
namespace {

using interop::Eventually;

constexpr uint16_t kPortA = 1179;
constexpr uint16_t kPortB = 2179;
constexpr char kAddressA[] = "127.0.0.1";
constexpr char kAddressB[] = "127.0.0.2";

IpAddress Address(const std::string& text) { return *IpAddress::Parse(text); }

// Speaker a (AS 65001 on 127.0.0.1:1179) and speaker b (AS 65002 on
// 127.0.0.2:2179), each with the other as its one peer.
PeerConfig PeerOf(bool of_a, const std::string& password = "") {
  return PeerConfig{
      .name = of_a ? "b" : "a",
      .peer_address = Address(of_a ? kAddressB : kAddressA),
      .peer_port = of_a ? kPortB : kPortA,
      .source_address = Address(of_a ? kAddressA : kAddressB),
      .md5_password = password,
      .session = {
          .local_as = of_a ? 65001u : 65002u,
          .peer_as = of_a ? 65002u : 65001u,
          .router_id = of_a ? 0x0a000001u : 0x0a000002u,
          .hold_time = absl::Seconds(3),
          .connect_retry_time = absl::Milliseconds(200),
          .connect_retry_max = absl::Seconds(1),
          .graceful_restart = {.enabled = true, .restart_time = absl::Seconds(30)},
      },
  };
}

std::vector<Advertisement> Routes(int count) {
  std::vector<Advertisement> routes;
  for (int i = 0; i < count; ++i) {
    routes.push_back({.prefix = *IpPrefix::Parse(absl::StrCat("198.19.", i / 256, ".", i % 256, "/32")),
                      .next_hop = {Address("198.18.0.11")}});
  }
  routes.push_back({.prefix = *IpPrefix::Parse("2001:db8:19::10/128"),
                    .next_hop = {Address("2001:db8:0:1::11")}});
  return routes;
}

class BgpSpeaker : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<netns::Namespace>> ns = netns::Namespace::Create("bgp");
    ASSERT_TRUE(ns.ok()) << ns.status();
    ns_ = std::move(*ns);
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    ns_.reset();
    EXPECT_TRUE(netns::CleanUpRun(netns::RunPrefix()).ok());
  }

  std::unique_ptr<Speaker> Start(uint16_t port, bool restarting = false) {
    std::unique_ptr<Speaker> speaker;
    const absl::Status status = netns::RunIn(*ns_, [&] {
      absl::StatusOr<std::unique_ptr<Speaker>> started = Speaker::Start(
          {.listen_port = port, .connect_timeout = absl::Seconds(1), .restarting = restarting});
      if (started.ok()) speaker = std::move(*started);
      return started.status();
    });
    EXPECT_TRUE(status.ok()) << status;
    return speaker;
  }

  void StartBoth(const std::string& password_a = "", const std::string& password_b = "") {
    a_ = Start(kPortA);
    b_ = Start(kPortB);
    ASSERT_TRUE(a_ && b_);
    ASSERT_TRUE(a_->SetPeers({PeerOf(true, password_a)}).ok());
    ASSERT_TRUE(b_->SetPeers({PeerOf(false, password_b)}).ok());
  }

  static PeerStatus StatusOf(Speaker& speaker) {
    std::vector<PeerStatus> peers = speaker.Peers();
    return peers.empty() ? PeerStatus{} : peers[0];
  }

  // Empty once `speaker`'s only session is established and has received
  // `received` prefixes.
  static std::string Unmet(Speaker& speaker, size_t received) {
    const PeerStatus status = StatusOf(speaker);
    if (status.session.state == SessionState::kEstablished && status.session.prefixes_received == received) {
      return "";
    }
    return absl::StrCat(StateName(status.session.state), ", ", status.session.prefixes_received,
                        " prefixes received, last error '", status.session.last_error, "', connect error '",
                        status.connect_error, "'");
  }

  std::unique_ptr<netns::Namespace> ns_;
  std::unique_ptr<Speaker> a_, b_;
};

TEST_F(BgpSpeaker, EstablishesAndSendsOnlyTheDifference) {
  StartBoth();
  ASSERT_TRUE(a_->SetRoutes("b", Routes(3000)).ok());
  ASSERT_TRUE(Eventually("3001 routes at b", absl::Seconds(10), [&] { return Unmet(*b_, 3001); }).ok());
  EXPECT_EQ(StatusOf(*a_).session.prefixes_sent, 3001u);

  const absl::Time since = *StatusOf(*a_).session.established_since;
  ASSERT_TRUE(a_->SetRoutes("b", Routes(10)).ok());
  ASSERT_TRUE(Eventually("11 routes at b", absl::Seconds(10), [&] { return Unmet(*b_, 11); }).ok());
  absl::StatusOr<std::vector<Route>> sent = a_->SentRoutes("b");
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->size(), 11u);
  EXPECT_EQ(sent->front().attributes.as_path,
            (std::vector<AsPathSegment>{{AsSegmentType::kSequence, {65001}}}));
  // The same session all along.
  EXPECT_EQ(*StatusOf(*a_).session.established_since, since);
  EXPECT_EQ(a_->SentRoutes("nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(a_->SetRoutes("nobody", {}).code(), absl::StatusCode::kNotFound);
}

TEST_F(BgpSpeaker, SetPeersKeepsUnchangedSessionsRestartsChangedOnesAndStopsRemovedOnes) {
  StartBoth();
  ASSERT_TRUE(a_->SetRoutes("b", Routes(5)).ok());
  ASSERT_TRUE(Eventually("routes at b", absl::Seconds(10), [&] { return Unmet(*b_, 6); }).ok());
  const absl::Time since = *StatusOf(*a_).session.established_since;

  PeerConfig same = PeerOf(true);
  same.session.graceful_restart.restarting = true;  // not a change of session
  ASSERT_TRUE(a_->SetPeers({same}).ok());
  EXPECT_EQ(StatusOf(*a_).session.established_since, since);

  PeerConfig changed = PeerOf(true);
  changed.session.hold_time = absl::Seconds(6);
  ASSERT_TRUE(a_->SetPeers({changed}).ok());
  // The new session comes up with the routes the old one had.
  ASSERT_TRUE(Eventually("the restarted session", absl::Seconds(10), [&] {
                const PeerStatus status = StatusOf(*a_);
                if (status.session.established_since && *status.session.established_since > since &&
                    status.session.prefixes_sent == 6) {
                  return std::string();
                }
                return Unmet(*a_, 0);
              }).ok());
  ASSERT_TRUE(Eventually("routes at b again", absl::Seconds(10), [&] { return Unmet(*b_, 6); }).ok());

  ASSERT_TRUE(a_->SetPeers({}).ok());
  EXPECT_TRUE(a_->Peers().empty());
  ASSERT_TRUE(Eventually("b seeing the Cease", absl::Seconds(10), [&] {
                const PeerStatus status = StatusOf(*b_);
                return status.session.last_error.find("cease") != std::string::npos &&
                               status.session.prefixes_received == 0
                           ? ""
                           : status.session.last_error;
              }).ok());

  EXPECT_EQ(a_->SetPeers({PeerOf(true), PeerOf(true)}).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(BgpSpeaker, ShutdownKeepingRoutesLeavesThemStaleAtThePeerAndCeaseWithdrawsThem) {
  StartBoth();
  ASSERT_TRUE(a_->SetRoutes("b", Routes(5)).ok());
  ASSERT_TRUE(Eventually("routes at b", absl::Seconds(10), [&] { return Unmet(*b_, 6); }).ok());

  a_->Shutdown(ShutdownMode::kKeepRoutes);
  EXPECT_TRUE(a_->Peers().empty());
  EXPECT_EQ(a_->SetPeers({}).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Eventually("stale routes at b", absl::Seconds(10), [&] {
                const PeerStatus status = StatusOf(*b_);
                return status.session.stale_prefixes == 6 ? "" : Unmet(*b_, 6);
              }).ok());

  a_ = Start(kPortA, /*restarting=*/true);
  ASSERT_TRUE(a_->SetPeers({PeerOf(true)}).ok());
  ASSERT_TRUE(a_->SetRoutes("b", Routes(5)).ok());
  ASSERT_TRUE(Eventually("fresh routes at b", absl::Seconds(10), [&] {
                const PeerStatus status = StatusOf(*b_);
                return status.session.stale_prefixes == 0 ? Unmet(*b_, 6) : "still stale";
              }).ok());

  a_->Shutdown(ShutdownMode::kCease);
  ASSERT_TRUE(Eventually("routes withdrawn at b", absl::Seconds(10), [&] {
                const PeerStatus status = StatusOf(*b_);
                return status.session.prefixes_received == 0 ? "" : Unmet(*b_, 0);
              }).ok());
}

TEST_F(BgpSpeaker, Md5PasswordsMustMatch) {
  StartBoth("same-secret", "other-secret");
  ASSERT_TRUE(Eventually("a connect error", absl::Seconds(10), [&] {
                return StatusOf(*a_).connect_error.empty() ? "none yet" : "";
              }).ok());
  EXPECT_NE(StatusOf(*a_).connect_error.find("MD5"), std::string::npos) << StatusOf(*a_).connect_error;
  EXPECT_NE(StatusOf(*a_).session.state, SessionState::kEstablished);

  ASSERT_TRUE(b_->SetPeers({PeerOf(false, "same-secret")}).ok());
  ASSERT_TRUE(Eventually("the session", absl::Seconds(10), [&] { return Unmet(*a_, 0); }).ok());
  EXPECT_TRUE(StatusOf(*a_).connect_error.empty());
}

TEST_F(BgpSpeaker, ClosesConnectionsFromUnknownAddresses) {
  a_ = Start(kPortA);
  ASSERT_TRUE(a_);
  ASSERT_TRUE(a_->SetPeers({PeerOf(true)}).ok());
  const absl::Status status = netns::RunIn(*ns_, [&]() -> absl::Status {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in source = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.3", &source.sin_addr);
    sockaddr_in target = {.sin_family = AF_INET, .sin_port = htons(kPortA)};
    inet_pton(AF_INET, kAddressA, &target.sin_addr);
    const timeval timeout = {.tv_sec = 5, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    const bool connected = bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) == 0 &&
                           connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof(target)) == 0;
    char byte;
    const ssize_t got = connected ? read(fd, &byte, 1) : -1;
    close(fd);
    if (!connected) return absl::InternalError("could not connect");
    if (got != 0) return absl::InternalError(absl::StrCat("read returned ", got, ", not end of stream"));
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
}

}  // namespace
}  // namespace ferry::bgp
