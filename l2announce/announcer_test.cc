#include "l2announce/announcer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::l2announce {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kStart = absl::FromUnixSeconds(100);
const AnnouncementTarget kVip4OnEth0 = {*net::IpAddress::Parse("198.18.0.200"), "eth0"};
const AnnouncementTarget kVip6OnEth0 = {*net::IpAddress::Parse("2001:db8:0:1::ff01"), "eth0"};

absl::Time At(int ms) { return kStart + absl::Milliseconds(ms); }

TEST(AnnouncerTest, TakeoverSendsASpacedBurst) {
  AnnouncementScheduler scheduler({.takeover_count = 3, .takeover_spacing = absl::Milliseconds(200)});
  const AnnouncementChange change = scheduler.Update({kVip4OnEth0}, kStart);
  EXPECT_THAT(change.gained, ElementsAre(kVip4OnEth0));
  EXPECT_THAT(change.lost, IsEmpty());
  EXPECT_THAT(scheduler.Due(At(0)), ElementsAre(kVip4OnEth0));
  EXPECT_THAT(scheduler.Due(At(199)), IsEmpty());
  EXPECT_EQ(scheduler.NextDue(), At(200));
  EXPECT_THAT(scheduler.Due(At(200)), ElementsAre(kVip4OnEth0));
  EXPECT_THAT(scheduler.Due(At(400)), ElementsAre(kVip4OnEth0));
  EXPECT_THAT(scheduler.Due(At(10000)), IsEmpty()) << "no refresh configured";
  EXPECT_EQ(scheduler.NextDue(), absl::InfiniteFuture());
}

TEST(AnnouncerTest, LateCallsSendOnceAndReschedule) {
  AnnouncementScheduler scheduler({.takeover_count = 2, .takeover_spacing = absl::Milliseconds(100)});
  scheduler.Update({kVip4OnEth0}, kStart);
  EXPECT_THAT(scheduler.Due(At(50)), ElementsAre(kVip4OnEth0));
  EXPECT_THAT(scheduler.Due(At(500)), ElementsAre(kVip4OnEth0)) << "late, once";
  EXPECT_THAT(scheduler.Due(At(600)), IsEmpty());
}

TEST(AnnouncerTest, PeriodicRefreshAfterTheBurst) {
  AnnouncementScheduler scheduler({.takeover_count = 1, .refresh_interval = absl::Seconds(30)});
  scheduler.Update({kVip6OnEth0}, kStart);
  EXPECT_THAT(scheduler.Due(At(0)), ElementsAre(kVip6OnEth0));
  EXPECT_THAT(scheduler.Due(At(29999)), IsEmpty());
  EXPECT_THAT(scheduler.Due(At(30000)), ElementsAre(kVip6OnEth0));
  EXPECT_EQ(scheduler.NextDue(), At(60000));
}

TEST(AnnouncerTest, UpdateReportsChangesAndKeepsOngoingSchedules) {
  AnnouncementScheduler scheduler({.takeover_count = 3, .takeover_spacing = absl::Milliseconds(100)});
  scheduler.Update({kVip4OnEth0}, kStart);
  scheduler.Due(At(0));
  const AnnouncementChange change = scheduler.Update({kVip6OnEth0, kVip4OnEth0}, At(50));
  EXPECT_THAT(change.gained, ElementsAre(kVip6OnEth0));
  EXPECT_THAT(change.lost, IsEmpty());
  EXPECT_THAT(scheduler.Due(At(50)), ElementsAre(kVip6OnEth0)) << "the v4 burst is not restarted";
  EXPECT_EQ(scheduler.Update({kVip4OnEth0}, At(60)), (AnnouncementChange{{}, {kVip6OnEth0}}));
  EXPECT_THAT(scheduler.Due(At(150)), ElementsAre(kVip4OnEth0));
  // Losing and regaining a VIP is a new takeover: a new burst.
  scheduler.Update({}, At(160));
  EXPECT_EQ(scheduler.NextDue(), absl::InfiniteFuture());
  scheduler.Update({kVip4OnEth0}, At(170));
  EXPECT_THAT(scheduler.Due(At(170)), ElementsAre(kVip4OnEth0));
}

TEST(AnnouncerTest, ConfigValidation) {
  EXPECT_TRUE(Validate(AnnouncementConfig{}).ok());
  EXPECT_FALSE(Validate(AnnouncementConfig{.takeover_count = 0}).ok());
  EXPECT_FALSE(Validate(AnnouncementConfig{.refresh_interval = absl::Seconds(-1)}).ok());
}

}  // namespace
}  // namespace ferry::l2announce
