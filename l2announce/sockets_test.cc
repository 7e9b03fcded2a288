// The real sockets on a veth pair between two namespaces of this test:
// advertisements cross the link over IPv4 and IPv6 multicast, and the
// takeover frames leave the interface they are sent on.
#include "l2announce/sockets.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "l2announce/frames.h"
#include "l2announce/liveness.h"
#include "test/e2e/netns.h"
#include "test/e2e/status_macros.h"

namespace ferry::l2announce {
namespace {

constexpr int kReceiveAttempts = 200;  // 10 ms apart: at most 2 s
const MacAddress kMac = {0x02, 0, 0, 0, 0, 0x61};

net::IpAddress Ip(const char* text) { return *net::IpAddress::Parse(text); }

class SocketsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<netns::Namespace>> a = netns::Namespace::Create("l2a");
    ASSERT_TRUE(a.ok()) << a.status();
    a_ = *std::move(a);
    absl::StatusOr<std::unique_ptr<netns::Namespace>> b = netns::Namespace::Create("l2b");
    ASSERT_TRUE(b.ok()) << b.status();
    b_ = *std::move(b);
    ASSERT_TRUE(netns::AddVethPair(*a_, "lan", *b_, "lan").ok());
    for (const auto& [ns, address] : {std::pair{a_.get(), "198.18.0.1/24"}, {b_.get(), "198.18.0.2/24"}}) {
      ASSERT_TRUE(ns->AddAddress("lan", address).ok());
      ASSERT_TRUE(ns->SetUp("lan").ok());
    }
  }

  // Sends one advertisement from a to b over `group`; returns what b got.
  absl::StatusOr<Advertisement> Exchange(const MulticastOptions& options, const Advertisement& sent) {
    std::unique_ptr<UdpMulticastChannel> receiver;
    FERRY_RETURN_IF_ERROR(netns::RunIn(*b_, [&]() -> absl::Status {
      FERRY_ASSIGN_OR_RETURN(receiver, UdpMulticastChannel::Open(options));
      return absl::OkStatus();
    }));
    std::unique_ptr<UdpMulticastChannel> sender;
    FERRY_RETURN_IF_ERROR(netns::RunIn(*a_, [&]() -> absl::Status {
      FERRY_ASSIGN_OR_RETURN(sender, UdpMulticastChannel::Open(options));
      return absl::OkStatus();
    }));
    // Sent again every 100 ms, as the agents do: the first may go out
    // before the link's IPv6 link-local address exists.
    for (int attempt = 0; attempt < kReceiveAttempts; ++attempt) {
      if (attempt % 10 == 0) FERRY_RETURN_IF_ERROR(sender->Send(EncodeAdvertisement(sent)));
      FERRY_ASSIGN_OR_RETURN(std::optional<std::vector<uint8_t>> message, receiver->Receive());
      if (message) return DecodeAdvertisement(*message);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return absl::DeadlineExceededError("no advertisement arrived within 2 s");
  }

  std::unique_ptr<netns::Namespace> a_, b_;
};

TEST_F(SocketsTest, AdvertisementCrossesTheLinkOverIpv4Multicast) {
  const Advertisement sent = {"node-a", 7, 1, absl::Milliseconds(100), absl::Milliseconds(350)};
  const absl::StatusOr<Advertisement> received = Exchange({.interface = "lan"}, sent);
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_EQ(*received, sent);
}

TEST_F(SocketsTest, AdvertisementCrossesTheLinkOverIpv6Multicast) {
  const Advertisement sent = {"node-a", 7, 2, absl::Milliseconds(100), absl::Milliseconds(350)};
  const absl::StatusOr<Advertisement> received =
      Exchange({.interface = "lan", .group = Ip("ff02::4652:4c32")}, sent);
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_EQ(*received, sent);
}

TEST_F(SocketsTest, ChannelRefusesUnicastGroupsAndUnknownInterfaces) {
  ASSERT_TRUE(netns::RunIn(*a_, [&]() -> absl::Status {
                EXPECT_EQ(UdpMulticastChannel::Open({.interface = "lan", .group = Ip("198.18.0.2")})
                              .status()
                              .code(),
                          absl::StatusCode::kInvalidArgument);
                EXPECT_EQ(UdpMulticastChannel::Open({.interface = "nope"}).status().code(),
                          absl::StatusCode::kNotFound);
                return absl::OkStatus();
              }).ok());
}

TEST_F(SocketsTest, TakeoverFramesLeaveTheInterface) {
  absl::StatusOr<std::unique_ptr<netns::Capture>> capture = netns::Capture::Start(*b_, "lan");
  ASSERT_TRUE(capture.ok()) << capture.status();
  const absl::Status sent = netns::RunIn(*a_, [&]() -> absl::Status {
    FERRY_ASSIGN_OR_RETURN(auto sender, PacketSocketSender::Open());
    FERRY_RETURN_IF_ERROR(sender->Send("lan", AnnouncementFrame(kMac, Ip("198.18.0.200"))));
    FERRY_RETURN_IF_ERROR(sender->Send("lan", AnnouncementFrame(kMac, Ip("2001:db8:0:1::ff01"))));
    EXPECT_EQ(sender->Send("nope", AnnouncementFrame(kMac, Ip("198.18.0.200"))).code(),
              absl::StatusCode::kNotFound);
    return absl::OkStatus();
  });
  ASSERT_TRUE(sent.ok()) << sent;
  absl::StatusOr<size_t> arp = (*capture)->Count("arp and ether src 02:00:00:00:00:61 and arp[24:4] = 0xc61200c8");
  ASSERT_TRUE(arp.ok()) << arp.status();
  EXPECT_EQ(*arp, 1u);
  absl::StatusOr<size_t> na =
      (*capture)->Count("icmp6 and ip6[40] == 136 and ip6 src 2001:db8:0:1::ff01 and ip6 dst ff02::1");
  ASSERT_TRUE(na.ok()) << na.status();
  EXPECT_EQ(*na, 1u);
}

}  // namespace
}  // namespace ferry::l2announce
