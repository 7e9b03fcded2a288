// The driver over real TCP: two speakers peer over loopback inside a network
// namespace this test creates (127.0.0.1 listening on one port, 127.0.0.2 on
// another), so sockets, timers, partial writes and shutdown modes are
// exercised without a router. Where the order of messages on the wire
// matters, or a peer misbehaves, the test plays that peer over a socket.
#include "bgp/speaker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <memory>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bgp/interop_fixture.h"
#include "bgp/message.h"
#include "gtest/gtest.h"
#include "test/e2e/netns.h"

namespace ferry::bgp {
namespace {

using interop::Eventually;

constexpr uint16_t kPortA = 1179;
constexpr uint16_t kPortB = 2179;
constexpr char kAddressA[] = "127.0.0.1";
constexpr char kAddressB[] = "127.0.0.2";

constexpr char kAddressUnknown[] = "127.0.0.3";

IpAddress Address(const std::string& text) { return *IpAddress::Parse(text); }

sockaddr_in Ipv4Endpoint(const char* address, uint16_t port) {
  sockaddr_in endpoint = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, address, &endpoint.sin_addr);
  return endpoint;
}

// A blocking TCP socket bound to `source` that gives up reading or writing
// after 5 s.
int BoundSocket(const char* source, uint16_t port = 0) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  const timeval timeout = {.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  const sockaddr_in endpoint = Ipv4Endpoint(source, port);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&endpoint), sizeof(endpoint)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A BGP peer played by the test over a blocking socket: it speaks AS
// `as` with both unicast families, 4-octet ASes and graceful restart.
class FakePeer {
 public:
  FakePeer(int fd, uint32_t as) : fd_(fd), as_(as) {}
  ~FakePeer() { close(fd_); }
  int fd() const { return fd_; }

  // Reads the speaker's OPEN, answers with its own and a KEEPALIVE.
  absl::StatusOr<OpenMessage> Handshake() {
    absl::StatusOr<Message> open = Receive();
    if (!open.ok()) return open.status();
    if (!std::holds_alternative<OpenMessage>(*open)) return absl::InternalError("the first message is no OPEN");
    OpenMessage own{.my_as = static_cast<uint16_t>(as_),
                    .hold_time_s = 30,
                    .bgp_identifier = as_,
                    .capabilities = {.multiprotocol = {kIpv4Unicast, kIpv6Unicast},
                                     .graceful_restart = GracefulRestartCapability{
                                         .restart_time_s = 30,
                                         .families = {{kIpv4Unicast}, {kIpv6Unicast}}},
                                     .four_octet_as = as_}};
    if (absl::Status status = SendAll(Encode(own, Codec())); !status.ok()) return status;
    if (absl::Status status = SendAll(Encode(KeepaliveMessage{}, Codec())); !status.ok()) return status;
    return std::get<OpenMessage>(*open);
  }

  absl::StatusOr<Message> Receive() {
    std::vector<uint8_t> bytes(kHeaderSize);
    if (absl::Status status = ReadExactly(bytes.data(), kHeaderSize); !status.ok()) return status;
    const std::optional<size_t> length = AnnouncedLength(bytes);
    if (!length || *length < kHeaderSize || *length > kMaxMessageSize) {
      return absl::InternalError("bad message length");
    }
    bytes.resize(*length);
    if (absl::Status status = ReadExactly(bytes.data() + kHeaderSize, *length - kHeaderSize); !status.ok()) {
      return status;
    }
    auto decoded = Decode(bytes, Codec());
    if (const auto* failure = std::get_if<DecodeError>(&decoded)) return absl::InternalError(failure->reason);
    return std::get<DecodedMessage>(std::move(decoded)).message;
  }

  absl::Status SendAll(const std::vector<uint8_t>& bytes) {
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return absl::InternalError(absl::StrCat("send: ", std::strerror(errno)));
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

 private:
  CodecContext Codec() const { return {.four_octet_as = true, .external_peer = true, .peer_as = 65001}; }
  absl::Status ReadExactly(uint8_t* out, size_t size) {
    for (size_t done = 0; done < size;) {
      const ssize_t n = recv(fd_, out + done, size - done, 0);
      if (n <= 0) return absl::InternalError(n == 0 ? "closed by the speaker" : std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  int fd_;
  uint32_t as_;
};

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
      absl::StatusOr<std::unique_ptr<Speaker>> started =
          Speaker::Start({.listen_port = port,
                          .listen_retry_interval = absl::Milliseconds(200),
                          .connect_timeout = absl::Seconds(1),
                          .restarting = restarting});
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

  // Connects from an address no speaker knows to a's port: a must close
  // the connection.
  absl::Status ConnectFromUnknown() {
    return netns::RunIn(*ns_, [&]() -> absl::Status {
      const int fd = BoundSocket(kAddressUnknown);
      const sockaddr_in target = Ipv4Endpoint(kAddressA, kPortA);
      const bool connected = fd >= 0 && connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof(target)) == 0;
      char byte;
      const ssize_t got = connected ? read(fd, &byte, 1) : -1;
      if (fd >= 0) close(fd);
      if (!connected) return absl::InternalError("could not connect");
      if (got != 0) return absl::InternalError(absl::StrCat("read returned ", got, ", not end of stream"));
      return absl::OkStatus();
    });
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
  // Sessions run on the monotonic clock; their status tells wall time.
  EXPECT_LT(absl::AbsDuration(absl::Now() - since), absl::Minutes(1)) << since;
  const std::map<std::string, std::vector<Route>> all = a_->AllSentRoutes();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all.at("b"), *sent);
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

  // Graceful restart was negotiated: the session restarts as a graceful
  // restart, no Cease, and b keeps the routes (as stale) meanwhile.
  PeerConfig changed = PeerOf(true);
  changed.session.hold_time = absl::Seconds(6);
  ASSERT_TRUE(a_->SetPeers({changed}).ok());
  size_t fewest_at_b = 6;
  ASSERT_TRUE(Eventually("the restarted session, with fresh routes at b", absl::Seconds(10), [&] {
                const PeerStatus at_b = StatusOf(*b_);
                fewest_at_b = std::min(fewest_at_b, at_b.session.prefixes_received);
                const PeerStatus at_a = StatusOf(*a_);
                if (!at_a.session.established_since || *at_a.session.established_since <= since ||
                    at_a.session.prefixes_sent != 6) {
                  return Unmet(*a_, 0);
                }
                return at_b.session.stale_prefixes == 0 ? Unmet(*b_, 6) : "still stale";
              }).ok());
  EXPECT_EQ(fewest_at_b, 6u);
  EXPECT_EQ(StatusOf(*b_).session.last_error, "the peer closed the connection");

  // Without graceful restart in the new config: a Cease, and b withdraws
  // the routes until the new session sends them again.
  changed.session.graceful_restart.enabled = false;
  ASSERT_TRUE(a_->SetPeers({changed}).ok());
  ASSERT_TRUE(Eventually("b seeing the Cease", absl::Seconds(10), [&] {
                return StatusOf(*b_).session.last_error.find("Cease") != std::string::npos
                           ? ""
                           : StatusOf(*b_).session.last_error;
              }).ok());
  ASSERT_TRUE(Eventually("routes at b again", absl::Seconds(10), [&] { return Unmet(*b_, 6); }).ok());

  ASSERT_TRUE(a_->SetPeers({}).ok());
  EXPECT_TRUE(a_->Peers().empty());
  ASSERT_TRUE(Eventually("b seeing the Cease", absl::Seconds(10), [&] {
                const PeerStatus status = StatusOf(*b_);
                return status.session.last_error.find("Cease") != std::string::npos &&
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
  const absl::Status status = ConnectFromUnknown();
  EXPECT_TRUE(status.ok()) << status;
}

TEST_F(BgpSpeaker, PeersAndRoutesInOneCallSendTheRoutesBeforeEndOfRib) {
  int listener = -1;
  ASSERT_TRUE(netns::RunIn(*ns_, [&] {
                listener = BoundSocket(kAddressB, kPortB);
                return listener >= 0 && listen(listener, 1) == 0 ? absl::OkStatus()
                                                                 : absl::InternalError(std::strerror(errno));
              }).ok());
  a_ = Start(kPortA, /*restarting=*/true);
  ASSERT_TRUE(a_);
  ASSERT_TRUE(a_->SetPeersAndRoutes({{PeerOf(true), Routes(5)}}).ok());
  pollfd waiting = {.fd = listener, .events = POLLIN};
  ASSERT_EQ(poll(&waiting, 1, 5000), 1);
  FakePeer b(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC), 65002);
  close(listener);
  const timeval timeout = {.tv_sec = 5, .tv_usec = 0};
  setsockopt(b.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  absl::StatusOr<OpenMessage> open = b.Handshake();
  ASSERT_TRUE(open.ok()) << open.status();
  ASSERT_TRUE(open->capabilities.graceful_restart);
  EXPECT_TRUE(open->capabilities.graceful_restart->restarting);

  // Prefixes of each family received before its End-of-RIB.
  std::map<AfiSafi, size_t> before_end;
  std::set<AfiSafi> ended;
  while (ended.size() < 2) {
    absl::StatusOr<Message> message = b.Receive();
    ASSERT_TRUE(message.ok()) << message.status();
    const auto* update = std::get_if<UpdateMessage>(&*message);
    if (update == nullptr) continue;
    if (const std::optional<AfiSafi> family = EndOfRibFamily(*update)) {
      ended.insert(*family);
      continue;
    }
    if (!ended.contains(kIpv4Unicast)) before_end[kIpv4Unicast] += update->nlri.size();
    if (update->mp_reach && !ended.contains(update->mp_reach->family)) {
      before_end[update->mp_reach->family] += update->mp_reach->prefixes.size();
    }
  }
  EXPECT_EQ(before_end[kIpv4Unicast], 5u);
  EXPECT_EQ(before_end[kIpv6Unicast], 1u);
  EXPECT_EQ(a_->AllSentRoutes().at("b").size(), 6u);
}

TEST_F(BgpSpeaker, StartsWhileItsPortIsTakenAndListensOnceItIsFree) {
  int taken = -1;
  ASSERT_TRUE(netns::RunIn(*ns_, [&] {
                taken = BoundSocket("0.0.0.0", kPortA);
                return taken >= 0 && listen(taken, 1) == 0 ? absl::OkStatus()
                                                           : absl::InternalError(std::strerror(errno));
              }).ok());
  a_ = Start(kPortA);
  ASSERT_TRUE(a_);
  EXPECT_NE(a_->ListenError().find("Address already in use"), std::string::npos) << a_->ListenError();

  // Outgoing sessions run meanwhile.
  b_ = Start(kPortB);
  ASSERT_TRUE(b_);
  PeerConfig passive = PeerOf(false);
  passive.session.passive = true;
  ASSERT_TRUE(b_->SetPeers({passive}).ok());
  ASSERT_TRUE(a_->SetPeers({PeerOf(true)}).ok());
  ASSERT_TRUE(Eventually("the session", absl::Seconds(10), [&] { return Unmet(*a_, 0); }).ok());

  close(taken);
  ASSERT_TRUE(Eventually("a listening", absl::Seconds(5), [&] { return a_->ListenError(); }).ok());
  const absl::Status status = ConnectFromUnknown();
  EXPECT_TRUE(status.ok()) << status;
}

absl::Duration ProcessCpuTime() {
  timespec used;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
  return absl::DurationFromTimespec(used);
}

TEST_F(BgpSpeaker, OutOfDescriptorsTheListenerRestsInsteadOfSpinning) {
  a_ = Start(kPortA);
  ASSERT_TRUE(a_);
  int fd = -1;
  ASSERT_TRUE(netns::RunIn(*ns_, [&] {
                fd = BoundSocket(kAddressUnknown);
                return fd >= 0 ? absl::OkStatus() : absl::InternalError(std::strerror(errno));
              }).ok());
  // No descriptor left for accept: the lowest free one is over the limit.
  rlimit saved;
  getrlimit(RLIMIT_NOFILE, &saved);
  const int lowest_free = dup(fd);
  close(lowest_free);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  const sockaddr_in target = Ipv4Endpoint(kAddressA, kPortA);
  const bool connected = connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof(target)) == 0;
  const absl::Duration cpu_before = ProcessCpuTime();
  absl::SleepFor(absl::Milliseconds(1500));
  const absl::Duration cpu_used = ProcessCpuTime() - cpu_before;
  setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_TRUE(connected) << std::strerror(errno);
  EXPECT_LT(cpu_used, absl::Milliseconds(500));
  // Once descriptors are back, the waiting connection is accepted (and
  // closed: 127.0.0.3 is no peer).
  char byte;
  EXPECT_EQ(read(fd, &byte, 1), 0);
  close(fd);
}

TEST_F(BgpSpeaker, APeerFloodingUsDoesNotStarveTheOthersKeepalives) {
  StartBoth();
  PeerConfig flooder = {
      .name = "flooder",
      .peer_address = Address(kAddressUnknown),
      .session = {.local_as = 65001, .peer_as = 65003, .router_id = 0x0a000001u, .passive = true},
  };
  ASSERT_TRUE(a_->SetPeers({PeerOf(true), flooder}).ok());
  ASSERT_TRUE(Eventually("the session", absl::Seconds(10), [&] { return Unmet(*b_, 0); }).ok());
  const absl::Time since = *StatusOf(*b_).session.established_since;

  int fd = -1;
  ASSERT_TRUE(netns::RunIn(*ns_, [&] {
                fd = BoundSocket(kAddressUnknown);
                const sockaddr_in target = Ipv4Endpoint(kAddressA, kPortA);
                return fd >= 0 && connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof(target)) == 0
                           ? absl::OkStatus()
                           : absl::InternalError(std::strerror(errno));
              }).ok());
  FakePeer peer(fd, 65003);
  ASSERT_TRUE(peer.Handshake().ok());

  // KEEPALIVEs as fast as the socket takes them, for longer than b's hold
  // time of 3 s: a must still send b its own.
  std::vector<uint8_t> burst;
  const std::vector<uint8_t> keepalive = Encode(KeepaliveMessage{}, {});
  for (int i = 0; i < 4096; ++i) burst.insert(burst.end(), keepalive.begin(), keepalive.end());
  const absl::Time end = absl::Now() + absl::Seconds(5);
  absl::Status sent;
  while (sent.ok() && absl::Now() < end) sent = peer.SendAll(burst);
  EXPECT_TRUE(sent.ok()) << sent;
  const PeerStatus at_b = StatusOf(*b_);
  EXPECT_EQ(at_b.session.state, SessionState::kEstablished) << at_b.session.last_error;
  EXPECT_EQ(at_b.session.established_since, since) << at_b.session.last_error;
}

}  // namespace
}  // namespace ferry::bgp
