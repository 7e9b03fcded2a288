#include "bgp/session.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bgp/testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::bgp {
namespace {

using ::ferry::bgp::testing::Address;
using ::ferry::bgp::testing::Hex;
using ::ferry::bgp::testing::MustDecode;
using ::ferry::bgp::testing::Prefix;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr uint32_t kLocalAs = 64513;
constexpr uint32_t kPeerAs = 64512;
constexpr uint32_t kLocalId = 0xc612000b;  // 198.18.0.11
constexpr uint32_t kPeerId = 0xc6120001;   // 198.18.0.1
// How the peer reads what the session sends, and writes what it receives.
constexpr CodecContext kCodec{.four_octet_as = true, .external_peer = true, .peer_as = kLocalAs};

class FakeClock : public Clock {
 public:
  absl::Time Now() const override { return now_; }
  void Set(absl::Time now) { now_ = now; }
  void Advance(absl::Duration by) { now_ += by; }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
};

SessionConfig BaseConfig() {
  SessionConfig config;
  config.local_as = kLocalAs;
  config.peer_as = kPeerAs;
  config.router_id = kLocalId;
  return config;
}

OpenMessage PeerOpen(uint16_t hold_s = 9, uint32_t identifier = kPeerId, uint32_t as = kPeerAs) {
  OpenMessage open;
  open.my_as = static_cast<uint16_t>(as > 0xffff ? kAsTrans : as);
  open.hold_time_s = hold_s;
  open.bgp_identifier = identifier;
  open.capabilities.multiprotocol = {kIpv4Unicast, kIpv6Unicast};
  open.capabilities.route_refresh = true;
  open.capabilities.four_octet_as = as;
  return open;
}

std::vector<uint8_t> Bytes(const Message& message) { return Encode(message, kCodec); }

Advertisement Vip(absl::string_view prefix) {
  const IpPrefix parsed = Prefix(prefix);
  return Advertisement{
      .prefix = parsed,
      .next_hop = {parsed.address.family == IpFamily::kIPv4 ? Address("198.18.0.11")
                                                             : Address("2001:db8:0:1::11")},
      .communities = {0xfc000001},
  };
}

// Plays the driver: carries out actions and remembers what they did.
class SessionTest : public ::testing::Test {
 protected:
  void Make(const SessionConfig& config) {
    auto created = Session::Create(config, clock_, [this] { return jitter_; });
    ASSERT_TRUE(created.ok()) << created.status();
    session_.emplace(std::move(*created));
    peer_codec_.external_peer = config.local_as != config.peer_as;
  }
  Session& session() { return *session_; }

  void Apply(const std::vector<Action>& actions) {
    for (const Action& action : actions) {
      if (std::holds_alternative<Connect>(action)) ++connects_;
      if (const auto* send = std::get_if<Send>(&action)) {
        sent_[send->connection].push_back(MustDecode(send->bytes, peer_codec_).message);
      }
      if (const auto* close = std::get_if<Close>(&action)) closed_.push_back(close->connection);
      if (const auto* arm = std::get_if<ArmTimer>(&action)) armed_ = arm->at;
      if (const auto* change = std::get_if<StateChange>(&action)) states_.push_back(change->to);
      if (const auto* received = std::get_if<RouteReceived>(&action)) {
        routes_[received->route.prefix] = received->route;
      }
      if (const auto* warning = std::get_if<Warning>(&action)) warnings_.push_back(warning->message);
      if (const auto* withdrawn = std::get_if<RouteWithdrawn>(&action)) {
        EXPECT_EQ(routes_.erase(withdrawn->prefix), 1u) << withdrawn->prefix;
      }
    }
  }
  void Feed(ConnectionId id, const Message& message) { Apply(session().OnBytes(id, Bytes(message))); }
  // Moves the clock to the armed timer and fires it.
  void FireTimer() {
    ASSERT_NE(armed_, absl::InfiniteFuture());
    clock_.Set(armed_);
    Apply(session().OnTimer());
  }
  // Messages sent on a connection since the last call.
  std::vector<Message> TakeSent(ConnectionId id) { return std::exchange(sent_[id], {}); }
  template <typename T>
  std::vector<T> TakeSentOf(ConnectionId id) {
    std::vector<T> found;
    for (const Message& message : TakeSent(id)) {
      if (const auto* typed = std::get_if<T>(&message)) found.push_back(*typed);
    }
    return found;
  }

  // Start, connect as connection 1 and complete the handshake.
  void Establish(const OpenMessage& peer_open = PeerOpen()) {
    Apply(session().Start());
    Apply(session().OnConnected(1));
    Feed(1, peer_open);
    Feed(1, KeepaliveMessage{});
    ASSERT_EQ(session().state(), SessionState::kEstablished);
  }

  FakeClock clock_;
  CodecContext peer_codec_ = kCodec;
  double jitter_ = 1.0;
  std::optional<Session> session_;
  int connects_ = 0;
  std::map<ConnectionId, std::vector<Message>> sent_;
  std::vector<ConnectionId> closed_;
  std::vector<SessionState> states_;
  absl::Time armed_ = absl::InfiniteFuture();
  std::map<IpPrefix, Route> routes_;
  std::vector<std::string> warnings_;
};

TEST_F(SessionTest, ActiveSessionEstablishes) {
  Make(BaseConfig());
  Apply(session().Start());
  EXPECT_EQ(connects_, 1);
  Apply(session().OnConnected(1));
  const auto opens = TakeSentOf<OpenMessage>(1);
  ASSERT_THAT(opens, SizeIs(1));
  EXPECT_EQ(opens[0].my_as, kLocalAs);
  EXPECT_EQ(opens[0].hold_time_s, 90);
  EXPECT_EQ(opens[0].bgp_identifier, kLocalId);
  EXPECT_EQ(opens[0].capabilities.four_octet_as, kLocalAs);
  EXPECT_THAT(opens[0].capabilities.multiprotocol, ElementsAre(kIpv4Unicast, kIpv6Unicast));
  EXPECT_TRUE(opens[0].capabilities.route_refresh);
  EXPECT_EQ(armed_, clock_.Now() + absl::Minutes(4)) << "the OpenSent hold timer";

  Feed(1, PeerOpen());
  EXPECT_THAT(TakeSent(1), ElementsAre(Message{KeepaliveMessage{}}));
  Feed(1, KeepaliveMessage{});
  EXPECT_THAT(states_, ElementsAre(SessionState::kConnect, SessionState::kOpenSent,
                                   SessionState::kOpenConfirm, SessionState::kEstablished));
  // No routes yet: the initial table is just the End-of-RIB markers.
  EXPECT_THAT(TakeSent(1), ElementsAre(Message{EndOfRib(kIpv4Unicast)}, Message{EndOfRib(kIpv6Unicast)}));
  const SessionStatus status = session().Status();
  EXPECT_EQ(status.established_since, clock_.Now());
  EXPECT_EQ(status.hold_time, absl::Seconds(9));
  EXPECT_THAT(status.families, ElementsAre(kIpv4Unicast, kIpv6Unicast));
}

TEST_F(SessionTest, MessagesSplitAcrossReadsAreReassembled) {
  Make(BaseConfig());
  Apply(session().Start());
  Apply(session().OnConnected(1));
  std::vector<uint8_t> stream = Bytes(PeerOpen());
  const auto keepalive = Bytes(KeepaliveMessage{});
  stream.insert(stream.end(), keepalive.begin(), keepalive.end());
  for (uint8_t byte : stream) Apply(session().OnBytes(1, std::span(&byte, 1)));
  EXPECT_EQ(session().state(), SessionState::kEstablished);
}

TEST_F(SessionTest, KeepalivesEveryThirdOfTheNegotiatedHoldTime) {
  Make(BaseConfig());
  Establish(PeerOpen(/*hold_s=*/9));
  TakeSent(1);
  EXPECT_EQ(armed_, clock_.Now() + absl::Seconds(3));
  FireTimer();
  EXPECT_THAT(TakeSent(1), ElementsAre(Message{KeepaliveMessage{}}));
  Feed(1, KeepaliveMessage{});
  FireTimer();
  EXPECT_THAT(TakeSent(1), ElementsAre(Message{KeepaliveMessage{}}));
  EXPECT_EQ(session().state(), SessionState::kEstablished);
}

TEST_F(SessionTest, ConfiguredKeepaliveIsUsedWhenShorter) {
  SessionConfig config = BaseConfig();
  config.keepalive_time = absl::Seconds(1);
  Make(config);
  Establish(PeerOpen(/*hold_s=*/9));
  EXPECT_EQ(armed_, clock_.Now() + absl::Seconds(1));
}

TEST_F(SessionTest, HoldTimerExpirySendsNotificationAndRetries) {
  Make(BaseConfig());
  Establish(PeerOpen(/*hold_s=*/9));
  TakeSent(1);
  const absl::Time last_heard = clock_.Now();
  for (int i = 0; i < 3; ++i) FireTimer();  // keepalives at 3 s and 6 s, then the hold timer
  EXPECT_EQ(clock_.Now(), last_heard + absl::Seconds(9));
  const auto notifications = TakeSentOf<NotificationMessage>(1);
  ASSERT_THAT(notifications, SizeIs(1));
  EXPECT_EQ(notifications[0].code, error::kHoldTimerExpired);
  EXPECT_THAT(closed_, ElementsAre(1));
  EXPECT_EQ(session().state(), SessionState::kIdle);
  EXPECT_EQ(session().Status().last_error, "hold timer expired");
  EXPECT_EQ(armed_, clock_.Now() + absl::Seconds(5)) << "connect retry";
  FireTimer();
  EXPECT_EQ(connects_, 2);
  EXPECT_EQ(session().state(), SessionState::kConnect);
}

TEST_F(SessionTest, HoldTimeZeroMeansNoTimers) {
  Make(BaseConfig());
  Establish(PeerOpen(/*hold_s=*/0));
  EXPECT_EQ(armed_, absl::InfiniteFuture());
  EXPECT_EQ(session().Status().hold_time, absl::ZeroDuration());
}

TEST_F(SessionTest, OurShorterHoldTimeWins) {
  SessionConfig config = BaseConfig();
  config.hold_time = absl::Seconds(6);
  Make(config);
  Establish(PeerOpen(/*hold_s=*/90));
  EXPECT_EQ(session().Status().hold_time, absl::Seconds(6));
  EXPECT_EQ(armed_, clock_.Now() + absl::Seconds(2));
}

struct OpenRefusal {
  std::string name;
  OpenMessage open;
  uint8_t subcode;
};

TEST_F(SessionTest, OpenValidation) {
  OpenMessage wrong_four_octet = PeerOpen();
  wrong_four_octet.capabilities.four_octet_as = 4200000000;
  const std::vector<OpenRefusal> refusals = {
      {"hold time 1", PeerOpen(1), error::kUnacceptableHoldTime},
      {"hold time 2", PeerOpen(2), error::kUnacceptableHoldTime},
      {"other AS", PeerOpen(9, kPeerId, 64999), error::kBadPeerAs},
      {"other 4-octet AS", wrong_four_octet, error::kBadPeerAs},
      {"identifier 0", PeerOpen(9, 0), error::kBadBgpIdentifier},
  };
  for (const OpenRefusal& refusal : refusals) {
    SCOPED_TRACE(refusal.name);
    Make(BaseConfig());
    Apply(session().Start());
    Apply(session().OnConnected(1));
    TakeSent(1);
    Feed(1, refusal.open);
    const auto notifications = TakeSentOf<NotificationMessage>(1);
    ASSERT_THAT(notifications, SizeIs(1));
    EXPECT_EQ(notifications[0].code, error::kOpenMessage);
    EXPECT_EQ(notifications[0].subcode, refusal.subcode);
    EXPECT_EQ(session().state(), SessionState::kIdle);
    EXPECT_THAT(session().Status().last_error, HasSubstr("OPEN was refused"));
  }
}

TEST_F(SessionTest, UnsupportedVersionIsRefused) {
  Make(BaseConfig());
  Apply(session().Start());
  Apply(session().OnConnected(1));
  TakeSent(1);
  Apply(session().OnBytes(1, testing::Frame(MessageType::kOpen, Hex("03 fc00 0009 c6120001 00"))));
  EXPECT_THAT(TakeSentOf<NotificationMessage>(1),
              ElementsAre(NotificationMessage{error::kOpenMessage, error::kUnsupportedVersion, {0, 4}}));
}

TEST_F(SessionTest, FourOctetPeerAs) {
  SessionConfig config = BaseConfig();
  config.peer_as = 4200000000;
  Make(config);
  Establish(PeerOpen(9, kPeerId, 4200000000));
}

TEST_F(SessionTest, InternalPeerWithOurIdentifierIsRefused) {
  SessionConfig config = BaseConfig();
  config.peer_as = kLocalAs;
  Make(config);
  Apply(session().Start());
  Apply(session().OnConnected(1));
  TakeSent(1);
  Feed(1, PeerOpen(9, kLocalId, kLocalAs));
  EXPECT_THAT(TakeSentOf<NotificationMessage>(1),
              ElementsAre(NotificationMessage{error::kOpenMessage, error::kBadBgpIdentifier, {}}));
}

TEST_F(SessionTest, UnexpectedMessageIsAnFsmError) {
  Make(BaseConfig());
  Apply(session().Start());
  Apply(session().OnConnected(1));
  TakeSent(1);
  Feed(1, KeepaliveMessage{});
  EXPECT_THAT(TakeSentOf<NotificationMessage>(1),
              ElementsAre(NotificationMessage{error::kFsm, error::kUnexpectedInOpenSent, {}}));
}

TEST_F(SessionTest, MalformedHeaderResetsTheSession) {
  Make(BaseConfig());
  Establish();
  TakeSent(1);
  auto bytes = Bytes(KeepaliveMessage{});
  bytes[0] = 0;
  Apply(session().OnBytes(1, bytes));
  EXPECT_THAT(TakeSentOf<NotificationMessage>(1),
              ElementsAre(NotificationMessage{error::kMessageHeader, error::kConnectionNotSynchronized, {}}));
  EXPECT_EQ(session().state(), SessionState::kIdle);
}

TEST_F(SessionTest, ConnectRetryBacksOffExponentiallyUpToTheCap) {
  Make(BaseConfig());
  Apply(session().Start());
  std::vector<int64_t> delays;
  for (int i = 0; i < 7; ++i) {
    Apply(session().OnConnectFailed());
    EXPECT_EQ(session().state(), SessionState::kActive);
    delays.push_back(absl::ToInt64Seconds(armed_ - clock_.Now()));
    FireTimer();
    EXPECT_EQ(connects_, i + 2);
  }
  EXPECT_THAT(delays, ElementsAre(5, 10, 20, 40, 80, 120, 120));
}

TEST_F(SessionTest, JitterShortensTheRetryByUpToAQuarter) {
  jitter_ = 0.0;
  Make(BaseConfig());
  Apply(session().Start());
  Apply(session().OnConnectFailed());
  EXPECT_EQ(armed_ - clock_.Now(), absl::Milliseconds(3750));
}

TEST_F(SessionTest, BackoffResetsOnceEstablished) {
  Make(BaseConfig());
  Apply(session().Start());
  for (int i = 0; i < 3; ++i) {
    Apply(session().OnConnectFailed());
    FireTimer();
  }
  Apply(session().OnConnected(1));
  Feed(1, PeerOpen());
  Feed(1, KeepaliveMessage{});
  Apply(session().OnClosed(1));
  EXPECT_EQ(armed_ - clock_.Now(), absl::Seconds(5));
}

TEST_F(SessionTest, PassiveSessionWaitsForThePeer) {
  SessionConfig config = BaseConfig();
  config.passive = true;
  Make(config);
  Apply(session().Start());
  EXPECT_EQ(connects_, 0);
  EXPECT_EQ(session().state(), SessionState::kActive);
  Apply(session().OnIncoming(7));
  EXPECT_THAT(TakeSentOf<OpenMessage>(7), SizeIs(1));
  Feed(7, PeerOpen());
  Feed(7, KeepaliveMessage{});
  EXPECT_EQ(session().state(), SessionState::kEstablished);
  Apply(session().OnClosed(7));
  EXPECT_EQ(session().state(), SessionState::kActive) << "waits again, nothing to retry";
  EXPECT_EQ(connects_, 0);
}

TEST_F(SessionTest, IdleSessionRefusesConnections) {
  Make(BaseConfig());
  Apply(session().OnIncoming(7));
  EXPECT_THAT(closed_, ElementsAre(7));
  EXPECT_THAT(TakeSent(7), IsEmpty());
}

// Both sides connect at once: the higher BGP identifier keeps the
// connection it initiated (RFC 4271 §6.8).
TEST_F(SessionTest, CollisionWithHigherLocalIdentifierKeepsOurConnection) {
  Make(BaseConfig());  // 198.18.0.11 > 198.18.0.1
  Apply(session().Start());
  Apply(session().OnConnected(1));
  Apply(session().OnIncoming(2));
  Feed(1, PeerOpen());
  Feed(2, PeerOpen());
  EXPECT_THAT(closed_, ElementsAre(2));
  EXPECT_THAT(TakeSentOf<NotificationMessage>(2),
              ElementsAre(NotificationMessage{error::kCease, error::kConnectionCollision, {}}));
  Feed(1, KeepaliveMessage{});
  EXPECT_EQ(session().state(), SessionState::kEstablished);
}

TEST_F(SessionTest, CollisionWithLowerLocalIdentifierKeepsThePeersConnection) {
  Make(BaseConfig());
  Apply(session().Start());
  Apply(session().OnConnected(1));
  Apply(session().OnIncoming(2));
  Feed(2, PeerOpen(9, 0xc6120063));  // 198.18.0.99
  Feed(1, PeerOpen(9, 0xc6120063));
  EXPECT_THAT(closed_, ElementsAre(1));
  Feed(2, KeepaliveMessage{});
  EXPECT_EQ(session().state(), SessionState::kEstablished);
}

TEST_F(SessionTest, ConnectionAfterEstablishedIsRefused) {
  Make(BaseConfig());
  Establish();
  Apply(session().OnIncoming(2));
  EXPECT_THAT(closed_, ElementsAre(2));
  EXPECT_EQ(session().state(), SessionState::kEstablished);
}

TEST_F(SessionTest, InitialTableThenEndOfRib) {
  Make(BaseConfig());
  ASSERT_TRUE(session().SetRoutes({Vip("198.19.0.1/32"), Vip("2001:db8:19::1/128")}).ok());
  Establish();
  const std::vector<Message> sent = TakeSent(1);
  ASSERT_THAT(sent, SizeIs(6));  // OPEN, KEEPALIVE, two UPDATEs, two End-of-RIBs
  const auto& ipv4 = std::get<UpdateMessage>(sent[2]);
  EXPECT_THAT(ipv4.nlri, ElementsAre(Prefix("198.19.0.1/32")));
  EXPECT_EQ(ipv4.next_hop, Address("198.18.0.11"));
  EXPECT_THAT(ipv4.attributes.as_path, ElementsAre(AsPathSegment{AsSegmentType::kSequence, {kLocalAs}}));
  EXPECT_EQ(ipv4.attributes.local_pref, std::nullopt);
  EXPECT_THAT(ipv4.attributes.communities, ElementsAre(0xfc000001));
  const auto& ipv6 = std::get<UpdateMessage>(sent[3]);
  EXPECT_THAT(ipv6.mp_reach->prefixes, ElementsAre(Prefix("2001:db8:19::1/128")));
  EXPECT_EQ(EndOfRibFamily(std::get<UpdateMessage>(sent[4])), kIpv4Unicast);
}

TEST_F(SessionTest, InternalPeerGetsLocalPreference) {
  SessionConfig config = BaseConfig();
  config.peer_as = kLocalAs;
  Make(config);
  Advertisement preferred = Vip("198.19.0.2/32");
  preferred.local_pref = 200;
  ASSERT_TRUE(session().SetRoutes({Vip("198.19.0.1/32"), preferred}).ok());
  Establish(PeerOpen(9, kPeerId, kLocalAs));
  std::map<IpPrefix, UpdateMessage> by_prefix;
  for (const auto& update : TakeSentOf<UpdateMessage>(1)) {
    for (const IpPrefix& prefix : update.nlri) by_prefix[prefix] = update;
  }
  EXPECT_EQ(by_prefix[Prefix("198.19.0.1/32")].attributes.local_pref, 100u);
  EXPECT_EQ(by_prefix[Prefix("198.19.0.2/32")].attributes.local_pref, 200u);
  EXPECT_THAT(by_prefix[Prefix("198.19.0.1/32")].attributes.as_path, IsEmpty());
}

TEST_F(SessionTest, RouteChangesAreSentIncrementally) {
  Make(BaseConfig());
  ASSERT_TRUE(session().SetRoutes({Vip("198.19.0.1/32"), Vip("198.19.0.2/32")}).ok());
  Establish();
  TakeSent(1);
  auto applied = session().SetRoutes({Vip("198.19.0.2/32"), Vip("198.19.0.3/32")});
  ASSERT_TRUE(applied.ok());
  Apply(*applied);
  const auto updates = TakeSentOf<UpdateMessage>(1);
  ASSERT_THAT(updates, SizeIs(2));
  EXPECT_THAT(updates[0].withdrawn, ElementsAre(Prefix("198.19.0.1/32")));
  EXPECT_THAT(updates[1].nlri, ElementsAre(Prefix("198.19.0.3/32")));
  EXPECT_EQ(session().Status().prefixes_sent, 2u);
}

// ferryd hands its routes over on every pass, every 2 s, changed or not: a
// call that sends nothing must not postpone the KEEPALIVE due every 3 s.
TEST_F(SessionTest, UnchangedRoutesDoNotPostponeTheKeepalive) {
  Make(BaseConfig());
  ASSERT_TRUE(session().SetRoutes({Vip("198.19.0.1/32")}).ok());
  Establish(PeerOpen(/*hold_s=*/9));
  TakeSent(1);
  const absl::Time keepalive_due = clock_.Now() + absl::Seconds(3);
  clock_.Advance(absl::Seconds(2));
  auto unchanged = session().SetRoutes({Vip("198.19.0.1/32")});
  ASSERT_TRUE(unchanged.ok());
  Apply(*unchanged);
  EXPECT_THAT(TakeSent(1), IsEmpty());
  EXPECT_EQ(armed_, keepalive_due);
  FireTimer();
  EXPECT_THAT(TakeSent(1), ElementsAre(Message{KeepaliveMessage{}}));
}

TEST_F(SessionTest, SetRoutesRejectsBadRoutes) {
  Make(BaseConfig());
  Advertisement wrong_next_hop = Vip("198.19.0.1/32");
  wrong_next_hop.next_hop.address = Address("2001:db8::1");
  EXPECT_EQ(session().SetRoutes({wrong_next_hop}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(session().SetRoutes({Vip("198.19.0.1/32"), Vip("198.19.0.1/32")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  SessionConfig ipv4_only = BaseConfig();
  ipv4_only.families = {kIpv4Unicast};
  Make(ipv4_only);
  EXPECT_THAT(session().SetRoutes({Vip("2001:db8:19::1/128")}).status().message(),
              HasSubstr("IPv6 unicast is not among"));
}

TEST_F(SessionTest, RouteRefreshResendsTheFamily) {
  Make(BaseConfig());
  ASSERT_TRUE(session().SetRoutes({Vip("198.19.0.1/32"), Vip("2001:db8:19::1/128")}).ok());
  Establish();
  TakeSent(1);
  Feed(1, RouteRefreshMessage{kIpv4Unicast, 0});
  const auto updates = TakeSentOf<UpdateMessage>(1);
  ASSERT_THAT(updates, SizeIs(1));
  EXPECT_THAT(updates[0].nlri, ElementsAre(Prefix("198.19.0.1/32")));
}

UpdateMessage PeerRoute(absl::string_view prefix) {
  UpdateMessage update;
  update.attributes.as_path = {{AsSegmentType::kSequence, {kPeerAs}}};
  update.next_hop = Address("198.18.0.1");
  update.nlri = {Prefix(prefix)};
  return update;
}

TEST_F(SessionTest, ReceivesAndWithdrawsRoutes) {
  Make(BaseConfig());
  Establish();
  Feed(1, PeerRoute("198.18.100.0/24"));
  ASSERT_THAT(routes_, SizeIs(1));
  EXPECT_EQ(routes_.begin()->second.next_hop.address, Address("198.18.0.1"));
  EXPECT_EQ(session().Status().prefixes_received, 1u);
  UpdateMessage withdrawal;
  withdrawal.withdrawn = {Prefix("198.18.100.0/24")};
  Feed(1, withdrawal);
  EXPECT_THAT(routes_, IsEmpty());
}

TEST_F(SessionTest, TreatAsWithdrawRemovesTheRoute) {
  Make(BaseConfig());
  Establish();
  Feed(1, PeerRoute("198.18.100.0/24"));
  UpdateMessage wrong_first_as = PeerRoute("198.18.100.0/24");
  wrong_first_as.attributes.as_path = {{AsSegmentType::kSequence, {65999}}};
  Feed(1, wrong_first_as);
  EXPECT_THAT(routes_, IsEmpty());
  EXPECT_THAT(warnings_, ElementsAre(HasSubstr("AS_PATH: does not start with the external peer's AS")));
  EXPECT_EQ(session().state(), SessionState::kEstablished);
}

TEST_F(SessionTest, PeerNotificationEndsTheSessionAndItsRoutes) {
  Make(BaseConfig());
  Establish();
  Feed(1, PeerRoute("198.18.100.0/24"));
  Feed(1, NotificationMessage{error::kCease, error::kAdministrativeShutdown, {4, 'b', 'y', 'e', '!'}});
  EXPECT_THAT(routes_, IsEmpty());
  EXPECT_EQ(session().state(), SessionState::kIdle);
  EXPECT_THAT(session().Status().last_error,
              HasSubstr("NOTIFICATION 6/2 (Cease / Administrative Shutdown): \"bye!\""));
}

// The NOTIFICATION that ended a session still explains it once the
// reconnect attempts after it have failed for reasons of their own.
TEST_F(SessionTest, TheLastNotificationOutlivesTheReconnectAttemptsAfterIt) {
  Make(BaseConfig());
  Apply(session().Start());
  Apply(session().OnConnected(1));
  const absl::Time refused_at = clock_.Now();
  Feed(1, NotificationMessage{error::kOpenMessage, error::kBadPeerAs, {}});
  EXPECT_EQ(session().Status().last_notification,
            (NotificationRecord{.received = true,
                                .code = error::kOpenMessage,
                                .subcode = error::kBadPeerAs,
                                .description = "NOTIFICATION 2/2 (OPEN Message Error / Bad Peer AS)",
                                .at = refused_at}));

  FireTimer();  // connect retry
  Apply(session().OnConnectFailed());
  FireTimer();
  Apply(session().OnConnected(2));
  Apply(session().OnClosed(2));
  const SessionStatus status = session().Status();
  EXPECT_EQ(status.last_error, "the peer closed the connection");
  ASSERT_TRUE(status.last_notification.has_value());
  EXPECT_TRUE(status.last_notification->received);
  EXPECT_EQ(status.last_notification->subcode, error::kBadPeerAs);
  EXPECT_EQ(status.last_notification->at, refused_at);

  // One this side sends is kept as well, and replaces it.
  FireTimer();
  Apply(session().OnConnected(3));
  Feed(3, PeerOpen(9, kPeerId, /*as=*/64999));
  ASSERT_TRUE(session().Status().last_notification.has_value());
  EXPECT_FALSE(session().Status().last_notification->received);
  EXPECT_EQ(session().Status().last_notification->description,
            "NOTIFICATION 2/2 (OPEN Message Error / Bad Peer AS)");
  EXPECT_EQ(session().Status().last_notification->at, clock_.Now());
}

TEST_F(SessionTest, StopSendsCeaseAndStaysDown) {
  Make(BaseConfig());
  Establish();
  Feed(1, PeerRoute("198.18.100.0/24"));
  TakeSent(1);
  Apply(session().Stop());
  EXPECT_THAT(TakeSentOf<NotificationMessage>(1),
              ElementsAre(NotificationMessage{error::kCease, error::kAdministrativeShutdown, {}}));
  EXPECT_THAT(closed_, ElementsAre(1));
  EXPECT_THAT(routes_, IsEmpty());
  EXPECT_EQ(session().state(), SessionState::kIdle);
  EXPECT_EQ(armed_, absl::InfiniteFuture());
}

// ---- Graceful restart (RFC 4724) ----

OpenMessage RestartingPeerOpen(bool restarting, bool forwarding, uint16_t restart_time_s = 120) {
  OpenMessage open = PeerOpen();
  open.capabilities.graceful_restart = GracefulRestartCapability{
      restarting, restart_time_s, {{kIpv4Unicast, forwarding}, {kIpv6Unicast, forwarding}}};
  return open;
}

TEST_F(SessionTest, RestartingSpeakerSetsTheRAndFBitsOnce) {
  SessionConfig config = BaseConfig();
  config.graceful_restart.restarting = true;
  config.graceful_restart.restart_time = absl::Seconds(90);
  Make(config);
  Apply(session().Start());
  Apply(session().OnConnected(1));
  auto opens = TakeSentOf<OpenMessage>(1);
  ASSERT_THAT(opens, SizeIs(1));
  EXPECT_EQ(opens[0].capabilities.graceful_restart,
            (GracefulRestartCapability{true, 90, {{kIpv4Unicast, true}, {kIpv6Unicast, true}}}));
  Feed(1, PeerOpen());
  Feed(1, KeepaliveMessage{});
  Apply(session().OnClosed(1));
  FireTimer();
  Apply(session().OnConnected(2));
  opens = TakeSentOf<OpenMessage>(2);
  ASSERT_THAT(opens, SizeIs(1));
  EXPECT_EQ(opens[0].capabilities.graceful_restart,
            (GracefulRestartCapability{false, 90, {{kIpv4Unicast, false}, {kIpv6Unicast, false}}}));
}

TEST_F(SessionTest, RestartedPeersRoutesStayStaleUntilItsEndOfRib) {
  Make(BaseConfig());
  Establish(RestartingPeerOpen(false, false));
  Feed(1, PeerRoute("198.18.100.0/24"));
  Feed(1, PeerRoute("198.18.101.0/24"));
  Apply(session().OnClosed(1));
  EXPECT_THAT(routes_, SizeIs(2)) << "kept while the peer restarts";
  EXPECT_EQ(session().Status().stale_prefixes, 2u);

  FireTimer();  // connect retry
  Apply(session().OnConnected(2));
  Feed(2, RestartingPeerOpen(true, true));
  Feed(2, KeepaliveMessage{});
  Feed(2, PeerRoute("198.18.100.0/24"));
  EXPECT_THAT(routes_, SizeIs(2));
  EXPECT_EQ(session().Status().stale_prefixes, 1u);
  Feed(2, EndOfRib(kIpv4Unicast));
  EXPECT_THAT(routes_, ElementsAre(::testing::Key(Prefix("198.18.100.0/24"))));
  EXPECT_EQ(session().Status().stale_prefixes, 0u);
}

TEST_F(SessionTest, StaleRoutesGoWhenTheRestartTimeRunsOut) {
  SessionConfig config = BaseConfig();
  config.passive = true;  // no connect retry to fire first
  Make(config);
  Apply(session().Start());
  Apply(session().OnIncoming(1));
  Feed(1, RestartingPeerOpen(false, false, /*restart_time_s=*/30));
  Feed(1, KeepaliveMessage{});
  Feed(1, PeerRoute("198.18.100.0/24"));
  Apply(session().OnClosed(1));
  EXPECT_THAT(routes_, SizeIs(1));
  EXPECT_EQ(armed_, clock_.Now() + absl::Seconds(30));
  FireTimer();
  EXPECT_THAT(routes_, IsEmpty());
}

TEST_F(SessionTest, StaleRoutesGoAtOnceWithoutTheForwardingBit) {
  Make(BaseConfig());
  Establish(RestartingPeerOpen(false, false));
  Feed(1, PeerRoute("198.18.100.0/24"));
  Apply(session().OnClosed(1));
  FireTimer();
  Apply(session().OnConnected(2));
  Feed(2, RestartingPeerOpen(true, /*forwarding=*/false));
  Feed(2, KeepaliveMessage{});
  EXPECT_THAT(routes_, IsEmpty());
}

TEST_F(SessionTest, NoGracefulRestartWithoutThePeersCapability) {
  Make(BaseConfig());
  Establish();
  Feed(1, PeerRoute("198.18.100.0/24"));
  Apply(session().OnClosed(1));
  EXPECT_THAT(routes_, IsEmpty());
}

TEST_F(SessionTest, GracefulRestartIsNegotiatedOnlyWhenBothSidesAdvertiseIt) {
  Make(BaseConfig());
  EXPECT_FALSE(session().GracefulRestartNegotiated());  // not established
  Establish(RestartingPeerOpen(/*restarting=*/false, /*forwarding=*/false));
  EXPECT_TRUE(session().GracefulRestartNegotiated());

  Make(BaseConfig());
  Establish();
  EXPECT_FALSE(session().GracefulRestartNegotiated());

  SessionConfig off = BaseConfig();
  off.graceful_restart.enabled = false;
  Make(off);
  Establish(RestartingPeerOpen(/*restarting=*/false, /*forwarding=*/false));
  EXPECT_FALSE(session().GracefulRestartNegotiated());
}

TEST(SessionConfigTest, RejectsUnusableValues) {
  const auto with = [](auto change) {
    SessionConfig config = BaseConfig();
    change(config);
    return ValidateSessionConfig(config);
  };
  EXPECT_TRUE(with([](SessionConfig&) {}).ok());
  EXPECT_TRUE(with([](SessionConfig& c) { c.hold_time = absl::ZeroDuration(); }).ok());
  EXPECT_FALSE(with([](SessionConfig& c) { c.hold_time = absl::Seconds(2); }).ok());
  EXPECT_FALSE(with([](SessionConfig& c) { c.hold_time = absl::Milliseconds(3500); }).ok());
  EXPECT_FALSE(with([](SessionConfig& c) { c.router_id = 0; }).ok());
  EXPECT_FALSE(with([](SessionConfig& c) { c.local_as = 0; }).ok());
  EXPECT_FALSE(with([](SessionConfig& c) { c.families = {}; }).ok());
  EXPECT_FALSE(with([](SessionConfig& c) { c.families = {AfiSafi{1, 128}}; }).ok());
  EXPECT_FALSE(with([](SessionConfig& c) { c.connect_retry_max = absl::Seconds(1); }).ok());
  EXPECT_FALSE(with([](SessionConfig& c) { c.graceful_restart.restart_time = absl::Seconds(4096); }).ok());
}

}  // namespace
}  // namespace ferry::bgp
