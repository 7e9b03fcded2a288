#include "agent/datapath/names.h"

#include <set>

#include "gtest/gtest.h"
#include "layout.h"

namespace ferry::datapath {
namespace {

TEST(NamesTest, OneNamePerDropReasonInEnumOrder) {
  ASSERT_EQ(DropReasonNames().size(), static_cast<size_t>(FERRY_DROP_MAX));
  EXPECT_EQ(DropReasonNames()[FERRY_DROP_MALFORMED], "malformed");
  EXPECT_EQ(DropReasonNames()[FERRY_DROP_NO_SERVICE_PORT], "vip-port-not-served");
  EXPECT_EQ(DropReasonNames()[FERRY_DROP_NAT_FAILED], "nat-failed");
}

TEST(NamesTest, OneNamePerEventInEnumOrder) {
  ASSERT_EQ(EventNames().size(), static_cast<size_t>(FERRY_EVENT_MAX));
  EXPECT_EQ(EventNames()[FERRY_EVENT_PASS_NOT_IP], "pass-not-ip");
  EXPECT_EQ(EventNames()[FERRY_EVENT_FLOW_NEW], "flow-new");
  EXPECT_EQ(EventNames()[FERRY_EVENT_REV_NAT], "rev-nat");
}

TEST(NamesTest, NamesAreDistinctAndPrintable) {
  for (auto names : {DropReasonNames(), EventNames()}) {
    std::set<absl::string_view> seen;
    for (absl::string_view name : names) {
      EXPECT_FALSE(name.empty());
      EXPECT_EQ(name.find(' '), absl::string_view::npos) << name;
      EXPECT_TRUE(seen.insert(name).second) << "duplicate " << name;
    }
  }
}

}  // namespace
}  // namespace ferry::datapath
