#include "agent/ferryd/health.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::ferryd {
namespace {

using ::testing::HasSubstr;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST(LoopHealthTest, AnIdleLoopIsAliveHoweverLongItWaits) {
  LoopHealth health;
  EXPECT_EQ(health.Liveness(kStart + absl::Hours(24)).http_status, 200);
  health.PassStarted(kStart);
  health.PassEnded();
  EXPECT_EQ(health.Liveness(kStart + absl::Hours(24)).http_status, 200);
}

TEST(LoopHealthTest, APassLongerThanTheBoundIsStuck) {
  LoopHealth health;
  health.PassStarted(kStart);
  EXPECT_EQ(health.Liveness(kStart + kStuckPass - absl::Seconds(1)).http_status, 200);
  const ProbeAnswer stuck = health.Liveness(kStart + kStuckPass + absl::Seconds(1));
  EXPECT_EQ(stuck.http_status, 503);
  EXPECT_THAT(stuck.text, HasSubstr("one pass has run for 5m1s"));
}

TEST(LoopHealthTest, ReadyOnceTheFirstFullListIsProgrammedAndFromThenOn) {
  LoopHealth health;
  EXPECT_EQ(health.Readiness().http_status, 503);
  // Passes before the source's list (retries, route changes) are not it.
  health.PassStarted(kStart);
  health.PassEnded();
  EXPECT_EQ(health.Readiness().http_status, 503);
  health.PassStarted(kStart);
  health.PassEnded();
  health.Programmed();
  EXPECT_EQ(health.Readiness().http_status, 200);
  health.PassStarted(kStart + absl::Minutes(1));
  EXPECT_EQ(health.Readiness().http_status, 200);
}

}  // namespace
}  // namespace ferry::ferryd
