#include "bgp/notification.h"

#include "gtest/gtest.h"

namespace ferry::bgp {
namespace {

TEST(NotificationTest, NamesFollowTheIanaRegistry) {
  EXPECT_EQ(NotificationName(error::kOpenMessage, error::kBadPeerAs), "OPEN Message Error / Bad Peer AS");
  EXPECT_EQ(NotificationName(error::kCease, error::kAdministrativeShutdown),
            "Cease / Administrative Shutdown");
  EXPECT_EQ(NotificationName(error::kCease, error::kConnectionCollision),
            "Cease / Connection Collision Resolution");
  EXPECT_EQ(NotificationName(error::kFsm, error::kUnexpectedInOpenConfirm),
            "Finite State Machine Error / Receive Unexpected Message in OpenConfirm State");
  EXPECT_EQ(NotificationName(error::kUpdateMessage, 11), "UPDATE Message Error / Malformed AS_PATH");
  EXPECT_EQ(NotificationName(error::kHoldTimerExpired, error::kUnspecific), "Hold Timer Expired");
  EXPECT_EQ(NotificationName(error::kMessageHeader, error::kUnspecific), "Message Header Error");
}

TEST(NotificationTest, UnnamedCodesAndSubcodesAreGivenByNumber) {
  EXPECT_EQ(NotificationName(error::kCease, 42), "Cease / subcode 42");
  EXPECT_EQ(NotificationName(error::kOpenMessage, 8), "OPEN Message Error / subcode 8");
  EXPECT_EQ(NotificationName(error::kHoldTimerExpired, 1), "Hold Timer Expired / subcode 1");
  EXPECT_EQ(NotificationName(0, 0), "error code 0 / subcode 0");
  EXPECT_EQ(NotificationName(200, 3), "error code 200 / subcode 3");
}

TEST(NotificationTest, AShutdownCommunicationIsQuotedOnlyWhenItFits) {
  EXPECT_EQ(DescribeNotification({error::kCease, error::kAdministrativeShutdown, {3, 'f', 'o', 'o'}}),
            "NOTIFICATION 6/2 (Cease / Administrative Shutdown): \"foo\"");
  EXPECT_EQ(DescribeNotification({error::kCease, error::kAdministrativeShutdown, {4, 'f', 'o', 'o'}}),
            "NOTIFICATION 6/2 (Cease / Administrative Shutdown)");
  EXPECT_EQ(DescribeNotification({error::kOpenMessage, error::kBadPeerAs, {3, 'f', 'o', 'o'}}),
            "NOTIFICATION 2/2 (OPEN Message Error / Bad Peer AS)");
}

}  // namespace
}  // namespace ferry::bgp
