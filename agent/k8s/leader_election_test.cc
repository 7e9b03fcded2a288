#include "agent/k8s/leader_election.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::k8s {
namespace {

using ::testing::HasSubstr;
using Step = LeaderElection::Step;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

// One Lease on a pretend API server: conditional writes by resourceVersion,
// as the real one answers them.
class LeaseStore {
 public:
  std::optional<LeaseRecord> Get() const { return lease_; }

  absl::StatusOr<LeaseRecord> Create(LeaseRecord record) {
    if (lease_) return absl::AlreadyExistsError("leases \"ferry-ipam\" already exists");
    return Store(std::move(record));
  }
  absl::StatusOr<LeaseRecord> Update(LeaseRecord record) {
    if (!lease_) return absl::NotFoundError("not found");
    if (record.resource_version != lease_->resource_version) {
      return absl::AbortedError("the object has been modified");
    }
    return Store(std::move(record));
  }

 private:
  absl::StatusOr<LeaseRecord> Store(LeaseRecord record) {
    record.resource_version = std::to_string(++version_);
    lease_ = record;
    return record;
  }
  std::optional<LeaseRecord> lease_;
  int version_ = 100;
};

// Runs `election`'s steps against `store` at `now` until it waits.
void Drive(LeaderElection& election, LeaseStore& store, absl::Time now, bool reachable = true) {
  for (int i = 0; i < 10; ++i) {
    switch (election.Next(now)) {
      case Step::kWait:
        return;
      case Step::kRead:
        if (reachable) {
          election.OnRead(store.Get(), now);
        } else {
          election.OnReadFailed(now);
        }
        break;
      case Step::kCreate:
        election.OnWritten(reachable ? store.Create(election.Desired())
                                     : absl::UnavailableError("connection refused"),
                           now);
        break;
      case Step::kUpdate:
        election.OnWritten(reachable ? store.Update(election.Desired())
                                     : absl::UnavailableError("connection refused"),
                           now);
        break;
    }
  }
  ADD_FAILURE() << "the election never waits";
}

LeaderElectionConfig Config(const std::string& identity) {
  return {.identity = identity,
          .lease_duration = absl::Seconds(15),
          .renew_deadline = absl::Seconds(10),
          .retry_period = absl::Seconds(2)};
}

// node1 created the Lease and leads; node2 has read it and follows.
struct LeaderAndFollower : ::testing::Test {
  LeaderAndFollower() {
    Drive(node1, store, kT0);
    Drive(node2, store, kT0);
  }
  LeaseStore store;
  LeaderElection node1{Config("node1")};
  LeaderElection node2{Config("node2")};
};

TEST(LeaderElectionTest, TheFirstCandidateCreatesTheLeaseAndLeads) {
  LeaseStore store;
  LeaderElection node1(Config("node1"));
  Drive(node1, store, kT0);
  EXPECT_TRUE(node1.Leading(kT0));
  ASSERT_TRUE(store.Get().has_value());
  EXPECT_EQ(store.Get()->holder, "node1");
  EXPECT_EQ(store.Get()->lease_duration_seconds, 15);
  EXPECT_EQ(store.Get()->acquire_time, kT0);
}

TEST_F(LeaderAndFollower, AnotherCandidateFollowsWhileTheLeaderRenews) {
  // A minute of renewals every 2 s; node2 reads every 2 s too, and never
  // finds the lease expired.
  int reads = 0;
  for (absl::Duration t = absl::ZeroDuration(); t < absl::Minutes(1); t += absl::Seconds(1)) {
    Drive(node1, store, kT0 + t);
    if (node2.Next(kT0 + t) == Step::kRead) {
      ++reads;
      node2.OnRead(store.Get(), kT0 + t);
    }
    Drive(node2, store, kT0 + t);
    ASSERT_TRUE(node1.Leading(kT0 + t)) << t;
    ASSERT_FALSE(node2.Leading(kT0 + t)) << t;
  }
  EXPECT_EQ(store.Get()->holder, "node1");
  EXPECT_EQ(store.Get()->lease_transitions, 0);
  EXPECT_EQ(reads, 29);  // at 2 s, 4 s, ... 58 s
}

TEST_F(LeaderAndFollower, ALeaderThatStopsRenewingIsReplacedAfterTheLeaseExpires) {
  // node1 freezes. Up to 15 s after node2 saw the last renewal, it waits.
  Drive(node2, store, kT0 + absl::Seconds(14));
  EXPECT_EQ(store.Get()->holder, "node1");
  Drive(node2, store, kT0 + absl::Seconds(15));
  EXPECT_TRUE(node2.Leading(kT0 + absl::Seconds(15)));
  EXPECT_EQ(store.Get()->holder, "node2");
  EXPECT_EQ(store.Get()->lease_transitions, 1);
  // node1 had stopped leading 10 s after its last renewal, before node2 took
  // over: never two leaders.
  EXPECT_FALSE(node1.Leading(kT0 + absl::Seconds(10)));
}

TEST(LeaderElectionTest, TwoCandidatesTakingAnExpiredLeaseLeaveOneLeader) {
  LeaseStore store;
  LeaderElection old_leader(Config("node0"));
  Drive(old_leader, store, kT0);
  LeaderElection node1(Config("node1"));
  LeaderElection node2(Config("node2"));
  Drive(node1, store, kT0);
  Drive(node2, store, kT0);
  const absl::Time expired = kT0 + absl::Seconds(16);
  // Both read the expired lease before either writes.
  ASSERT_EQ(node1.Next(expired), Step::kRead);
  ASSERT_EQ(node2.Next(expired), Step::kRead);
  node1.OnRead(store.Get(), expired);
  node2.OnRead(store.Get(), expired);
  ASSERT_EQ(node1.Next(expired), Step::kUpdate);
  ASSERT_EQ(node2.Next(expired), Step::kUpdate);
  node1.OnWritten(store.Update(node1.Desired()), expired);
  node2.OnWritten(store.Update(node2.Desired()), expired);  // 409: follows
  Drive(node2, store, expired);
  EXPECT_TRUE(node1.Leading(expired));
  EXPECT_FALSE(node2.Leading(expired));
  EXPECT_EQ(store.Get()->holder, "node1");
}

TEST(LeaderElectionTest, ALeaderCutOffFromTheApiStepsDownAtItsRenewDeadline) {
  LeaseStore store;
  LeaderElection node1(Config("node1"));
  Drive(node1, store, kT0);
  for (absl::Duration t = absl::Seconds(1); t <= absl::Seconds(12); t += absl::Seconds(1)) {
    Drive(node1, store, kT0 + t, /*reachable=*/false);
  }
  EXPECT_TRUE(node1.Leading(kT0 + absl::Seconds(9)));
  EXPECT_FALSE(node1.Leading(kT0 + absl::Seconds(10)));
  // Back (at its next retry) before anybody else took the lease: it renews
  // and leads again.
  Drive(node1, store, kT0 + absl::Seconds(14));
  EXPECT_TRUE(node1.Leading(kT0 + absl::Seconds(14)));
  EXPECT_EQ(store.Get()->lease_transitions, 0);
}

TEST(LeaderElectionTest, ARestartedLeaderTakesItsOwnLeaseBackAtOnce) {
  LeaseStore store;
  {
    LeaderElection before(Config("node1"));
    Drive(before, store, kT0);
  }
  LeaderElection after(Config("node1"));
  Drive(after, store, kT0 + absl::Seconds(3));
  EXPECT_TRUE(after.Leading(kT0 + absl::Seconds(3)));
  EXPECT_EQ(store.Get()->lease_transitions, 0);
}

TEST_F(LeaderAndFollower, AReleasedLeaseIsTakenWithoutWaitingForItToExpire) {
  std::optional<LeaseRecord> released = node1.Release(kT0 + absl::Seconds(1));
  ASSERT_TRUE(released.has_value());
  ASSERT_TRUE(store.Update(*released).ok());
  // node2 read at kT0: it reads again one retry period later, and takes it.
  Drive(node2, store, kT0 + absl::Seconds(1));
  EXPECT_FALSE(node2.Leading(kT0 + absl::Seconds(1)));
  EXPECT_EQ(node2.NextAt(), kT0 + absl::Seconds(2));
  Drive(node2, store, kT0 + absl::Seconds(2));
  EXPECT_TRUE(node2.Leading(kT0 + absl::Seconds(2)));
  EXPECT_FALSE(LeaderElection(Config("node3")).Release(kT0).has_value());
}

TEST(LeaderElectionTest, TheLeaseObjectRoundTripsThroughItsJson) {
  const LeaseRecord record{.holder = "node1",
                           .lease_duration_seconds = 15,
                           .acquire_time = kT0 + absl::Microseconds(123456),
                           .renew_time = kT0 + absl::Seconds(4),
                           .lease_transitions = 3,
                           .resource_version = "42"};
  const nlohmann::json lease = LeaseToJson(record, "kube-system", "ferry-ipam");
  EXPECT_EQ(lease["metadata"]["namespace"], "kube-system");
  EXPECT_EQ(lease["spec"]["acquireTime"], "2027-01-15T08:00:00.123456Z");
  absl::StatusOr<LeaseRecord> back = LeaseRecordFromJson(lease);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, record);
}

TEST(LeaderElectionTest, ABadLeaseFieldIsNamed) {
  nlohmann::json lease = LeaseToJson({.holder = "node1"}, "ns", "l");
  lease["spec"]["renewTime"] = "yesterday";
  EXPECT_THAT(LeaseRecordFromJson(lease).status().message(), HasSubstr("spec.renewTime"));
  lease = LeaseToJson({.holder = "node1"}, "ns", "l");
  lease["spec"]["leaseDurationSeconds"] = -1;
  EXPECT_THAT(LeaseRecordFromJson(lease).status().message(),
              HasSubstr("spec.leaseDurationSeconds"));
  lease["spec"]["holderIdentity"] = 7;
  EXPECT_FALSE(LeaseRecordFromJson(lease).ok());
}

TEST(LeaderElectionTest, ConfigOrderIsChecked) {
  EXPECT_TRUE(Validate(Config("node1")).ok());
  LeaderElectionConfig bad = Config("node1");
  bad.renew_deadline = absl::Seconds(20);
  EXPECT_THAT(Validate(bad).message(), HasSubstr("renew deadline"));
  EXPECT_FALSE(Validate(Config("")).ok());
}

}  // namespace
}  // namespace ferry::k8s
