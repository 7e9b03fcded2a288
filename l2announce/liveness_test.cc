#include "l2announce/liveness.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::l2announce {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kStart = absl::FromUnixSeconds(1000);

Advertisement From(const std::string& node, uint64_t incarnation, uint64_t sequence,
                   absl::Duration hold = absl::Milliseconds(350)) {
  return {node, incarnation, sequence, absl::Milliseconds(100), hold};
}

TEST(LivenessTest, DefaultsFailOverWellUnderASecond) {
  const LivenessConfig config;
  EXPECT_TRUE(Validate(config).ok());
  EXPECT_EQ(config.Hold(), absl::Milliseconds(350));
}

TEST(LivenessTest, ConfigsThatCannotFenceAreRefused) {
  EXPECT_THAT(Validate({.interval = absl::ZeroDuration()}).message(), HasSubstr("interval"));
  EXPECT_THAT(Validate({.dead_after_intervals = 1}).message(), HasSubstr("dead_after_intervals"));
  EXPECT_THAT(Validate({.restart_hold = absl::Milliseconds(100)}).message(), HasSubstr("restart_hold"));
  EXPECT_THAT(Validate({.restart_hold = absl::Hours(1)}).message(), HasSubstr("over the most"));
}

TEST(LivenessTest, AdvertisementRoundTrips) {
  const Advertisement ad = From("node-1.example", 1700000000123456789u, 42);
  const std::vector<uint8_t> bytes = EncodeAdvertisement(ad);
  EXPECT_EQ(bytes.size(), 32u + ad.node.size());
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "FL2A");
  const absl::StatusOr<Advertisement> decoded = DecodeAdvertisement(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, ad);
}

TEST(LivenessTest, BrokenAdvertisementsAreRefusedWithAReason) {
  const std::vector<uint8_t> good = EncodeAdvertisement(From("node1", 1, 1));
  const auto error = [](std::vector<uint8_t> bytes) {
    return std::string(DecodeAdvertisement(bytes).status().message());
  };
  EXPECT_THAT(error({good.begin(), good.begin() + 20}), HasSubstr("shorter than its 32-byte header"));
  std::vector<uint8_t> bytes = good;
  bytes[0] = 'X';
  EXPECT_THAT(error(bytes), HasSubstr("magic"));
  bytes = good;
  bytes[4] = 2;
  EXPECT_THAT(error(bytes), HasSubstr("version 2"));
  bytes = good;
  bytes.push_back('x');
  EXPECT_THAT(error(bytes), HasSubstr("5-byte node in 6 bytes"));
  bytes = good;
  bytes.back() = '\n';
  EXPECT_THAT(error(bytes), HasSubstr("printable"));
  bytes = EncodeAdvertisement({"node1", 1, 1, absl::ZeroDuration(), absl::Milliseconds(350)});
  EXPECT_THAT(error(bytes), HasSubstr("zero interval"));
  bytes = EncodeAdvertisement({"node1", 1, 1, absl::Milliseconds(100), absl::Hours(1)});
  EXPECT_THAT(error(bytes), HasSubstr("over the most allowed"));
}

TEST(LivenessTest, PeerIsDeadAfterItsHold) {
  MembershipTracker tracker("self");
  EXPECT_TRUE(tracker.Observe(From("node2", 1, 1), kStart));
  EXPECT_TRUE(tracker.IsAlive("node2", kStart + absl::Milliseconds(349)));
  EXPECT_FALSE(tracker.IsAlive("node2", kStart + absl::Milliseconds(350)));
  EXPECT_EQ(tracker.NextExpiry(kStart), kStart + absl::Milliseconds(350));
  // Each advertisement pushes death back.
  EXPECT_TRUE(tracker.Observe(From("node2", 1, 2), kStart + absl::Milliseconds(100)));
  EXPECT_TRUE(tracker.IsAlive("node2", kStart + absl::Milliseconds(400)));
  EXPECT_EQ(tracker.NextExpiry(kStart + absl::Seconds(1)), absl::InfiniteFuture());
}

TEST(LivenessTest, StaleAndOwnAdvertisementsAreIgnored) {
  MembershipTracker tracker("self");
  EXPECT_FALSE(tracker.Observe(From("self", 1, 1), kStart));
  EXPECT_THAT(tracker.AlivePeers(kStart), IsEmpty());
  ASSERT_TRUE(tracker.Observe(From("node2", 5, 10), kStart));
  EXPECT_FALSE(tracker.Observe(From("node2", 5, 10), kStart + absl::Milliseconds(300))) << "repeat";
  EXPECT_FALSE(tracker.Observe(From("node2", 5, 9), kStart + absl::Milliseconds(300))) << "reordered";
  EXPECT_FALSE(tracker.Observe(From("node2", 4, 99), kStart + absl::Milliseconds(300)))
      << "a previous run's packet";
  EXPECT_FALSE(tracker.IsAlive("node2", kStart + absl::Milliseconds(360)));
  // A restart begins a new incarnation with sequence 1.
  EXPECT_TRUE(tracker.Observe(From("node2", 6, 1), kStart + absl::Milliseconds(200)));
}

TEST(LivenessTest, OlderIncarnationIsAcceptedOnceThePeerIsDead) {
  MembershipTracker tracker("self");
  ASSERT_TRUE(tracker.Observe(From("node2", 100, 1), kStart));
  EXPECT_TRUE(tracker.Observe(From("node2", 50, 1), kStart + absl::Seconds(1)))
      << "its clock stepped back across a restart";
}

TEST(LivenessTest, LeavingPeerIsDeadAtOnceAndRestartingOneIsWaitedFor) {
  LivenessConfig config;
  Advertiser node2("node2", 1, config);
  MembershipTracker tracker("self");
  ASSERT_TRUE(tracker.Observe(node2.Restarting(), kStart));
  EXPECT_TRUE(tracker.IsAlive("node2", kStart + absl::Milliseconds(4900)));
  EXPECT_FALSE(tracker.IsAlive("node2", kStart + config.restart_hold));
  ASSERT_TRUE(tracker.Observe(node2.Next(), kStart + absl::Seconds(6)));
  ASSERT_TRUE(tracker.Observe(node2.Leaving(), kStart + absl::Seconds(7)));
  EXPECT_FALSE(tracker.IsAlive("node2", kStart + absl::Seconds(7)));
}

TEST(LivenessTest, AdvertiserNumbersItsAdvertisements) {
  Advertiser advertiser("node1", 9, {});
  EXPECT_EQ(advertiser.Next(), From("node1", 9, 1));
  EXPECT_EQ(advertiser.Next().sequence, 2u);
  EXPECT_EQ(advertiser.Leaving().hold, absl::ZeroDuration());
}

// The fence must close before any peer can declare this node dead, even a
// peer that received the last advertisement the instant it was sent.
TEST(LivenessTest, FenceClosesBeforePeersDeclareDeath) {
  for (const LivenessConfig config :
       {LivenessConfig{}, LivenessConfig{.interval = absl::Milliseconds(20), .dead_after_intervals = 3},
        LivenessConfig{.interval = absl::Seconds(1), .dead_after_intervals = 2}}) {
    Advertiser advertiser("node1", 1, config);
    MembershipTracker peer("node2");
    const Advertisement ad = advertiser.Next();
    ASSERT_TRUE(peer.Observe(ad, kStart));
    const absl::Time fence = advertiser.FenceDeadline(ad, kStart);
    EXPECT_TRUE(peer.IsAlive("node1", fence)) << config.interval;
    EXPECT_EQ(peer.NextExpiry(kStart) - fence, config.interval);
  }
}

TEST(LivenessTest, FenceOfALeavingNodeIsAlreadyClosed) {
  Advertiser advertiser("node1", 1, {});
  EXPECT_LT(advertiser.FenceDeadline(advertiser.Leaving(), kStart), kStart);
}

TEST(LivenessTest, AlivePeersAreSortedAndForgottenWhenLongDead) {
  MembershipTracker tracker("self");
  tracker.Observe(From("node3", 1, 1), kStart);
  tracker.Observe(From("node2", 1, 1), kStart);
  tracker.Observe(From("node4", 1, 1, absl::Seconds(10)), kStart);
  EXPECT_THAT(tracker.AlivePeers(kStart), ElementsAre("node2", "node3", "node4"));
  EXPECT_THAT(tracker.AlivePeers(kStart + absl::Seconds(1)), ElementsAre("node4"));
  tracker.ForgetDeadBefore(kStart + absl::Seconds(1));
  // Forgotten: an old incarnation is welcome again.
  EXPECT_TRUE(tracker.Observe(From("node2", 0, 1), kStart + absl::Seconds(1)));
}

TEST(LivenessTest, MonotonicNanosRoundTrips) {
  const absl::Time now = MonotonicNow();
  EXPECT_EQ(absl::FromUnixNanos(static_cast<int64_t>(MonotonicNanos(now))), now);
  EXPECT_GT(MonotonicNanos(now), 0u);
}

}  // namespace
}  // namespace ferry::l2announce
