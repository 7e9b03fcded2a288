#include "agent/k8s/event_recorder.h"

#include <nlohmann/json.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::k8s {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

EventNote Moved(const std::string& service = "web") {
  return {.regarding = {.api_version = "v1", .kind = "Service", .namespace_ = "default",
                        .name = service},
          .type = "Warning",
          .reason = "AddressMoved",
          .note = "192.0.2.10 -> 192.0.2.11"};
}

EventRecorder Recorder(int burst = 25) {
  return EventRecorder({.instance = "node1", .burst = burst});
}

TEST(EventRecorderTest, AFirstOccurrenceCreatesAnEventAboutTheObject) {
  EventRecorder recorder = Recorder();
  recorder.Record(Moved(), kStart);
  EXPECT_EQ(recorder.NextAt(), absl::InfinitePast());
  const std::vector<ApiRequest> requests = recorder.Take(kStart);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/apis/events.k8s.io/v1/namespaces/default/events");
  const nlohmann::json event = nlohmann::json::parse(requests[0].body);
  EXPECT_EQ(event["regarding"]["kind"], "Service");
  EXPECT_EQ(event["regarding"]["name"], "web");
  EXPECT_EQ(event["reason"], "AddressMoved");
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_EQ(event["reportingController"], "ferry.dev/ipam");
  EXPECT_EQ(event["reportingInstance"], "node1");
  EXPECT_EQ(event["eventTime"], "2023-11-14T22:13:20.000000Z");
  EXPECT_FALSE(event.contains("series"));
  EXPECT_TRUE(recorder.Take(kStart).empty()) << "written once";
}

TEST(EventRecorderTest, RepeatsBecomeOneSeriesWhoseCountIsWrittenAtMostEveryInterval) {
  EventRecorder recorder = Recorder();
  recorder.Record(Moved(), kStart);
  const std::string name =
      nlohmann::json::parse(recorder.Take(kStart)[0].body)["metadata"]["name"];
  for (int i = 1; i <= 100; ++i) recorder.Record(Moved(), kStart + absl::Milliseconds(i * 100));
  const absl::Time later = kStart + absl::Seconds(10);
  EXPECT_TRUE(recorder.Take(later).empty()) << "within the series interval";
  EXPECT_EQ(recorder.NextAt(), kStart + absl::Seconds(30));
  const std::vector<ApiRequest> update = recorder.Take(kStart + absl::Seconds(30));
  ASSERT_EQ(update.size(), 1u);
  EXPECT_EQ(update[0].method, "PATCH");
  EXPECT_EQ(update[0].path, "/apis/events.k8s.io/v1/namespaces/default/events/" + name);
  EXPECT_EQ(update[0].content_type, kMergePatch);
  const nlohmann::json patch = nlohmann::json::parse(update[0].body);
  EXPECT_EQ(patch["series"]["count"], 101);
  EXPECT_EQ(patch["series"]["lastObservedTime"], "2023-11-14T22:13:30.000000Z");
}

TEST(EventRecorderTest, AnOccurrenceAfterTheWindowStartsANewEvent) {
  EventRecorder recorder = Recorder();
  recorder.Record(Moved(), kStart);
  recorder.Take(kStart);
  const absl::Time later = kStart + absl::Minutes(7);
  recorder.Record(Moved(), later);
  const std::vector<ApiRequest> requests = recorder.Take(later);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
}

TEST(EventRecorderTest, OtherObjectsOrReasonsAreOtherEvents) {
  EventRecorder recorder = Recorder();
  recorder.Record(Moved("web"), kStart);
  recorder.Record(Moved("db"), kStart);
  EventNote lost = Moved("web");
  lost.reason = "AddressLost";
  recorder.Record(lost, kStart);
  EXPECT_EQ(recorder.Take(kStart).size(), 3u);
}

TEST(EventRecorderTest, TheBucketBoundsWritesAndWhatItRefusesWaits) {
  EventRecorder recorder = Recorder(/*burst=*/2);
  for (int i = 0; i < 5; ++i) recorder.Record(Moved("svc" + std::to_string(i)), kStart);
  EXPECT_EQ(recorder.Take(kStart).size(), 2u);
  EXPECT_EQ(recorder.NextAt(), kStart + absl::Seconds(10));
  EXPECT_TRUE(recorder.Take(kStart + absl::Seconds(5)).empty());
  EXPECT_EQ(recorder.Take(kStart + absl::Seconds(10)).size(), 1u);
  EXPECT_EQ(recorder.Take(kStart + absl::Seconds(30)).size(), 2u);
  EXPECT_EQ(recorder.NextAt(), kStart + absl::Minutes(6))
      << "only forgetting the written series is left";
}

TEST(EventRecorderTest, ClusterScopedObjectsEventsGoToTheDefaultNamespace) {
  EventRecorder recorder = Recorder();
  recorder.Record({.regarding = {.api_version = "ferry.dev/v1alpha1",
                                 .kind = "LoadBalancerIPPool", .name = "lan"},
                   .type = "Warning", .reason = "PoolExhausted", .note = "no free IPv4"},
                  kStart);
  const std::vector<ApiRequest> requests = recorder.Take(kStart);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/apis/events.k8s.io/v1/namespaces/default/events");
  EXPECT_FALSE(nlohmann::json::parse(requests[0].body)["regarding"].contains("namespace"));
}

}  // namespace
}  // namespace ferry::k8s
