#include "l2announce/node_lease.h"

#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::l2announce {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const absl::Time kNow = absl::FromUnixMicros(1'700'000'000'123'456);

class LeaseDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("ferry-l2-leases-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }

  std::filesystem::path dir_;
};

TEST_F(LeaseDirectoryTest, WrittenLeasesAreListedBack) {
  DirectoryLeaseStore store(dir_);
  const NodeLease node2 = {"node2", kNow, absl::Seconds(40)};
  const NodeLease node1 = {"node1", kNow - absl::Seconds(3), absl::Seconds(40)};
  ASSERT_TRUE(store.Write(node2).ok());
  ASSERT_TRUE(store.Write(node1).ok());
  ASSERT_TRUE(store.Write(node2).ok()) << "a renewal replaces the file";
  const absl::StatusOr<LeaseListing> listing = store.List();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_THAT(listing->leases, ElementsAre(node1, node2));
  EXPECT_THAT(listing->problems, IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "node2.json.tmp"));
}

TEST_F(LeaseDirectoryTest, FileIsAKubernetesLease) {
  ASSERT_TRUE(DirectoryLeaseStore(dir_).Write({"node1", kNow, absl::Seconds(40)}).ok());
  std::ifstream in(dir_ / "node1.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("\"kind\": \"Lease\""));
  EXPECT_THAT(text, HasSubstr("\"apiVersion\": \"coordination.k8s.io/v1\""));
  EXPECT_THAT(text, HasSubstr("\"holderIdentity\": \"node1\""));
  EXPECT_THAT(text, HasSubstr("\"leaseDurationSeconds\": 40"));
  EXPECT_THAT(text, HasSubstr("\"renewTime\": \"2023-11-14T22:13:20.123456Z\""));
}

TEST_F(LeaseDirectoryTest, BrokenFilesAreReportedAndSkipped) {
  ASSERT_TRUE(DirectoryLeaseStore(dir_).Write({"node1", kNow, absl::Seconds(40)}).ok());
  WriteFile("garbage.json", "{not json");
  WriteFile("node3.json", R"({"spec": {"holderIdentity": "node4", "leaseDurationSeconds": 40,
                              "renewTime": "2023-11-14T22:13:20.123456Z"}})");
  WriteFile("node5.json", R"({"spec": {"holderIdentity": "node5", "leaseDurationSeconds": 40,
                              "renewTime": "yesterday"}})");
  WriteFile("notes.txt", "not a lease file, not looked at");
  const absl::StatusOr<LeaseListing> listing = DirectoryLeaseStore(dir_).List();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_THAT(listing->leases, SizeIs(1));
  ASSERT_THAT(listing->problems, SizeIs(3));
  EXPECT_THAT(listing->problems[0] + listing->problems[1] + listing->problems[2],
              testing::AllOf(HasSubstr("garbage.json: not JSON"),
                             HasSubstr("node3.json: holds the lease of node4"),
                             HasSubstr("node5.json: spec.renewTime")));
}

TEST_F(LeaseDirectoryTest, MissingDirectoryAndBadNamesAreErrors) {
  EXPECT_EQ(DirectoryLeaseStore(dir_ / "absent").List().status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(DirectoryLeaseStore(dir_).Write({"../evil", kNow, absl::Seconds(40)}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LeaseTest, ConfigKeepsTheWriteBudget) {
  EXPECT_TRUE(Validate(LeaseConfig{}).ok());
  EXPECT_THAT(Validate(LeaseConfig{.renew_interval = absl::Seconds(5)}).message(), HasSubstr("below 10s"));
  EXPECT_THAT(Validate(LeaseConfig{.duration = absl::Seconds(10)}).message(), HasSubstr("must exceed"));
}

TEST(LeaseTest, RenewerWritesAtMostOncePerInterval) {
  LeaseRenewer renewer("node1", {});
  std::optional<NodeLease> due = renewer.Due(kNow);
  ASSERT_TRUE(due.has_value()) << "the first write is due at once";
  EXPECT_EQ(*due, (NodeLease{"node1", kNow, absl::Seconds(40)}));
  renewer.Written(*due);
  EXPECT_EQ(renewer.Due(kNow + absl::Seconds(9)), std::nullopt);
  EXPECT_EQ(renewer.NextDue(), kNow + absl::Seconds(10));
  EXPECT_TRUE(renewer.Due(kNow + absl::Seconds(10)).has_value());
  // A failed write is not recorded: it is retried on the next call.
  EXPECT_TRUE(renewer.Due(kNow + absl::Seconds(11)).has_value());
}

TEST(LeaseTest, LiveNodesNeedAdvertisementsAndNoExpiredLease) {
  const absl::Time mono = absl::FromUnixSeconds(50);
  MembershipTracker tracker("node1");
  tracker.Observe({"node2", 1, 1, absl::Milliseconds(100), absl::Milliseconds(350)}, mono);
  tracker.Observe({"node3", 1, 1, absl::Milliseconds(100), absl::Milliseconds(350)}, mono);
  tracker.Observe({"node4", 1, 1, absl::Milliseconds(100), absl::Milliseconds(350)}, mono);
  const std::vector<NodeLease> leases = {
      {"node3", kNow, absl::Seconds(40)},
      {"node2", kNow, absl::Seconds(40)},
      {"node4", kNow - absl::Seconds(41), absl::Seconds(40)},  // expired
      {"node5", kNow, absl::Seconds(40)},                      // silent on the link
  };
  EXPECT_THAT(LiveNodes(leases, tracker, "node1", kNow, mono), ElementsAre("node1", "node2", "node3"));
  EXPECT_THAT(LiveNodes(leases, tracker, "node1", kNow, mono + absl::Seconds(1)), ElementsAre("node1"));
  EXPECT_THAT(UnleasedPeers(leases, tracker, mono), IsEmpty());
}

TEST(LeaseTest, APeerHeardWithoutALeaseCountsAndIsReported) {
  const absl::Time mono = absl::FromUnixSeconds(50);
  MembershipTracker tracker("node1");
  tracker.Observe({"node2", 1, 1, absl::Milliseconds(100), absl::Milliseconds(350)}, mono);
  // node1's own store holds only its own lease: the directory is not shared.
  const std::vector<NodeLease> leases = {{"node1", kNow, absl::Seconds(40)}};
  EXPECT_THAT(LiveNodes(leases, tracker, "node1", kNow, mono), ElementsAre("node1", "node2"));
  EXPECT_THAT(UnleasedPeers(leases, tracker, mono), ElementsAre("node2"));
}

}  // namespace
}  // namespace ferry::l2announce
