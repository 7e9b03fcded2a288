#include "agent/ferryd/ipam_writer.h"

#include <deque>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "agent/model/ipam_input.h"
#include "gtest/gtest.h"

namespace ferry::ferryd {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

// Requests the writer sent, answered by the test.
struct Sent {
  k8s::ApiRequest request;
  k8s::ApiCalls::Done done;
};

class IpamWriterTest : public ::testing::Test {
 protected:
  IpamWriterTest()
      : writer_({.namespace_ = "ferry-system", .election = {.identity = "node1"}},
                [this](const k8s::ApiRequest& request, k8s::ApiCalls::Done done) {
                  sent_.push_back({request, std::move(done)});
                },
                [this] { return now_; }, [](absl::string_view) {}),
        ipam_([this] { return now_; }) {}

  Sent Next() {
    EXPECT_FALSE(sent_.empty());
    Sent sent = std::move(sent_.front());
    sent_.pop_front();
    return sent;
  }

  // Takes the Lease: it does not exist, the writer creates it.
  void Lead() {
    writer_.Elect(now_);
    Sent read = Next();
    ASSERT_EQ(read.request.method, "GET");
    ASSERT_EQ(read.request.path, "/apis/coordination.k8s.io/v1/namespaces/ferry-system/leases/ferry-ipam");
    read.done({.status = 404, .body = "{}", .error = ""});
    writer_.Elect(now_);
    Sent create = Next();
    ASSERT_EQ(create.request.method, "POST");
    nlohmann::json lease = nlohmann::json::parse(create.request.body);
    lease["metadata"]["resourceVersion"] = "1";
    create.done({.status = 201, .body = lease.dump(), .error = ""});
    ASSERT_TRUE(writer_.Leading(now_));
  }

  // A pool of four IPv4 addresses and one Service, as read at `version`.
  void Cluster(const std::string& version, std::vector<net::IpAddress> status = {},
               std::vector<model::StatusCondition> conditions = {}) {
    model::Model model;
    model::LoadBalancerIPPool pool{.metadata = {.name = "lan", .generation = 2}};
    pool.spec.name = "lan";
    pool.spec.blocks.push_back({.cidr = "", .start = "192.0.2.10", .stop = "192.0.2.13"});
    ASSERT_TRUE(model.Add(pool).ok());
    model::Service service{.metadata = {.name = "web", .namespace_ = "default",
                                        .resource_version = version},
                           .ports = {{.name = "http", .port = 80}},
                           .ingress_ips = std::move(status),
                           .conditions = std::move(conditions)};
    ASSERT_TRUE(model.Add(service).ok());
    model_ = std::move(model);
    ipam_.Update(model_, {});
    writer_.MarkDirty();
  }

  absl::Time now_ = kStart;
  std::deque<Sent> sent_;
  IpamWriter writer_;
  IpamController ipam_;
  model::Model model_;
};

TEST_F(IpamWriterTest, NothingIsWrittenBeforeLeading) {
  ASSERT_NO_FATAL_FAILURE(Cluster("10"));
  writer_.Write(now_, model_, ipam_);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(IpamWriterTest, TheLeaderPatchesTheStatusUnderTheReadVersionAndWaitsForTheWatch) {
  ASSERT_NO_FATAL_FAILURE(Lead());
  ASSERT_NO_FATAL_FAILURE(Cluster("10"));
  writer_.Write(now_, model_, ipam_);
  Sent service = Next();
  EXPECT_EQ(service.request.method, "PATCH");
  EXPECT_EQ(service.request.path, "/api/v1/namespaces/default/services/web/status");
  EXPECT_EQ(service.request.content_type, k8s::kMergePatch);
  const nlohmann::json patch = nlohmann::json::parse(service.request.body);
  EXPECT_EQ(patch["metadata"]["resourceVersion"], "10");
  EXPECT_EQ(patch["status"]["loadBalancer"]["ingress"][0]["ip"], "192.0.2.10");
  Sent pool = Next();
  EXPECT_EQ(pool.request.path, "/apis/ferry.dev/v1alpha1/loadbalancerippools/lan/status");
  Sent event = Next();
  EXPECT_TRUE(absl::StrContains(event.request.body, "AddressAllocated")) << event.request.body;
  EXPECT_TRUE(sent_.empty());
  service.done({.status = 200, .body = "{}", .error = ""});
  pool.done({.status = 200, .body = "{}", .error = ""});

  // The model still holds version 10: not written again...
  writer_.Write(now_, model_, ipam_);
  EXPECT_TRUE(sent_.empty());
  // ...and once the watch brings the status written, nothing is left to write.
  ASSERT_NO_FATAL_FAILURE(Cluster("11", {*net::IpAddress::Parse("192.0.2.10")},
                                  {{.type = "ferry.dev/IPAllocated",
                                    .status = "True",
                                    .reason = "Allocated",
                                    .message = "IPv4 192.0.2.10 from pool lan"}}));
  writer_.Write(now_, model_, ipam_);
  EXPECT_TRUE(sent_.empty()) << sent_.front().request.path << " " << sent_.front().request.body;
}

TEST_F(IpamWriterTest, AConflictIsWrittenAgainFromTheNewerVersion) {
  ASSERT_NO_FATAL_FAILURE(Lead());
  ASSERT_NO_FATAL_FAILURE(Cluster("10"));
  writer_.Write(now_, model_, ipam_);
  Sent service = Next();
  sent_.clear();
  service.done({.status = 409, .body = R"({"kind":"Status","reason":"Conflict"})", .error = ""});
  writer_.Write(now_, model_, ipam_);
  EXPECT_TRUE(sent_.empty()) << "the same version would conflict again";
  ASSERT_NO_FATAL_FAILURE(Cluster("12"));
  writer_.Write(now_, model_, ipam_);
  Sent again = Next();
  EXPECT_EQ(nlohmann::json::parse(again.request.body)["metadata"]["resourceVersion"], "12");
  EXPECT_EQ(writer_.stats().conflicts, 1);
}

TEST_F(IpamWriterTest, AFailedWriteBacksOff) {
  ASSERT_NO_FATAL_FAILURE(Lead());
  ASSERT_NO_FATAL_FAILURE(Cluster("10"));
  writer_.Write(now_, model_, ipam_);
  Sent service = Next();
  sent_.clear();
  service.done({.status = 0, .body = "", .error = "Connection refused"});
  writer_.Write(now_, model_, ipam_);
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(writer_.NextAt(), kStart + absl::Seconds(1));
  now_ += absl::Seconds(1);
  writer_.Write(now_, model_, ipam_);
  Sent again = Next();
  EXPECT_EQ(again.request.path, "/api/v1/namespaces/default/services/web/status");
  again.done({.status = 500, .body = "{}", .error = ""});
  now_ += absl::Milliseconds(1999);
  writer_.Write(now_, model_, ipam_);
  EXPECT_TRUE(sent_.empty()) << "the backoff doubled";
  now_ += absl::Milliseconds(1);
  writer_.Write(now_, model_, ipam_);
  EXPECT_EQ(Next().request.path, "/api/v1/namespaces/default/services/web/status");
}

TEST_F(IpamWriterTest, ReleaseEmptiesTheHolder) {
  EXPECT_FALSE(writer_.Release(now_)) << "not holding it";
  ASSERT_NO_FATAL_FAILURE(Lead());
  ASSERT_TRUE(writer_.Release(now_));
  Sent release = Next();
  EXPECT_EQ(release.request.method, "PUT");
  const nlohmann::json lease = nlohmann::json::parse(release.request.body);
  EXPECT_EQ(lease["spec"]["holderIdentity"], "");
  EXPECT_EQ(lease["metadata"]["resourceVersion"], "1");
}

}  // namespace
}  // namespace ferry::ferryd
