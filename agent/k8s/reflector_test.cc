#include "agent/k8s/reflector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace ferry::k8s {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

nlohmann::json Service(const std::string& name, const std::string& version) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}, {"resourceVersion", version}}},
          {"spec", {{"type", "LoadBalancer"}}}};
}

std::string Page(std::vector<nlohmann::json> items, const std::string& version,
                 const std::string& next = "") {
  nlohmann::json page = {{"kind", "ServiceList"},
                         {"apiVersion", "v1"},
                         {"metadata", {{"resourceVersion", version}}},
                         {"items", std::move(items)}};
  if (!next.empty()) page["metadata"]["continue"] = next;
  return page.dump();
}

std::string Event(const std::string& type, nlohmann::json object) {
  return nlohmann::json{{"type", type}, {"object", std::move(object)}}.dump() + "\n";
}

std::string Bookmark(const std::string& version) {
  return Event("BOOKMARK", {{"kind", "Service"}, {"metadata", {{"resourceVersion", version}}}});
}

std::string Gone() {
  return Event("ERROR", {{"kind", "Status"},
                         {"code", 410},
                         {"reason", "Expired"},
                         {"message", "too old resource version: 3 (40)"}});
}

// "ADDED default/a 1"
std::vector<std::string> Shown(const std::vector<ObjectEvent>& events) {
  std::vector<std::string> shown;
  for (const ObjectEvent& event : events) {
    const char* type = event.type == EventType::kAdded      ? "ADDED"
                       : event.type == EventType::kModified ? "MODIFIED"
                                                            : "DELETED";
    std::string line = absl::StrCat(type, " ", event.key.namespace_, "/", event.key.name);
    if (event.type != EventType::kDeleted) {
      absl::StrAppend(&line, " ", event.resource_version);
      // List items get their kind back.
      EXPECT_EQ(event.object.value("kind", ""), "Service");
      EXPECT_EQ(event.object.value("apiVersion", ""), "v1");
    }
    shown.push_back(line);
  }
  return shown;
}

class ReflectorTest : public ::testing::Test {
 protected:
  ReflectorTest()
      : reflector_({"v1", "Service", "/api/v1/services", ""},
                   {.page_size = 2,
                    .watch_timeout = absl::Seconds(300),
                    .bookmark_interval = absl::Seconds(10),
                    .stall_intervals = 3,
                    .backoff_initial = absl::Seconds(1),
                    .backoff_max = absl::Seconds(16)},
                   [this] { return random_; }) {}

  // Answers the request in flight whole.
  void Answer(long status, const std::string& body) {
    reflector_.OnData(now_, status, body);
    reflector_.OnDone(now_, status, "");
  }

  // Lists a(1), b(2), c(3) at resourceVersion 3, and starts the watch.
  void ListThree() {
    ASSERT_TRUE(reflector_.NextRequest(now_));
    Answer(200, Page({Service("a", "1"), Service("b", "2")}, "3", "page2"));
    ASSERT_TRUE(reflector_.NextRequest(now_));
    Answer(200, Page({Service("c", "3")}, "3"));
    ASSERT_TRUE(reflector_.synced());
    reflector_.TakeEvents();
    ASSERT_THAT(reflector_.NextRequest(now_), Optional(HasSubstr("watch=1&resourceVersion=3")));
  }

  double random_ = 0.5;
  absl::Time now_ = kStart;
  Reflector reflector_;
};

TEST_F(ReflectorTest, ListsPageByPageThenWatchesFromTheListsVersion) {
  EXPECT_THAT(reflector_.NextRequest(now_), Optional(std::string("/api/v1/services?limit=2")));
  // One request at a time.
  EXPECT_EQ(reflector_.NextRequest(now_), std::nullopt);
  Answer(200, Page({Service("a", "1"), Service("b", "2")}, "3", "next=page"));
  EXPECT_THAT(Shown(reflector_.TakeEvents()),
              ElementsAre("ADDED default/a 1", "ADDED default/b 2"));
  EXPECT_FALSE(reflector_.synced());
  EXPECT_THAT(reflector_.NextRequest(now_),
              Optional(std::string("/api/v1/services?limit=2&continue=next%3Dpage")));
  Answer(200, Page({Service("c", "3")}, "3"));
  EXPECT_THAT(Shown(reflector_.TakeEvents()), ElementsAre("ADDED default/c 3"));
  EXPECT_TRUE(reflector_.synced());
  EXPECT_THAT(reflector_.NextRequest(now_),
              Optional(std::string("/api/v1/services?watch=1&resourceVersion=3&"
                                   "allowWatchBookmarks=true&timeoutSeconds=450")));
}

TEST_F(ReflectorTest, FieldSelectorIsEncoded) {
  Reflector secrets({"v1", "Secret", "/api/v1/namespaces/ferry/secrets", "metadata.name=peer-a"},
                    {}, [] { return 0.0; });
  EXPECT_THAT(secrets.NextRequest(now_),
              Optional(std::string("/api/v1/namespaces/ferry/secrets?limit=500&"
                                   "fieldSelector=metadata.name%3Dpeer-a")));
}

TEST_F(ReflectorTest, WatchEventsSplitAcrossChunksAndBookmarksAdvanceTheVersion) {
  ListThree();
  const std::string stream = Event("ADDED", Service("d", "11")) +
                             Event("MODIFIED", Service("a", "12")) +
                             Event("DELETED", Service("b", "13")) + Bookmark("20");
  for (size_t at = 0; at < stream.size(); at += 7) {
    reflector_.OnData(now_, 200, stream.substr(at, 7));
  }
  EXPECT_THAT(Shown(reflector_.TakeEvents()),
              ElementsAre("ADDED default/d 11", "MODIFIED default/a 12", "DELETED default/b"));
  EXPECT_EQ(reflector_.resource_version(), "20");
  // The server ends the watch at timeoutSeconds: resumed at once, from the
  // bookmark.
  reflector_.OnDone(now_, 200, "");
  EXPECT_THAT(reflector_.NextRequest(now_), Optional(HasSubstr("resourceVersion=20&")));
  EXPECT_EQ(reflector_.relists(), 0);
}

TEST_F(ReflectorTest, GoneAsAnErrorEventRelistsAndGivesOnlyTheDifferences) {
  ListThree();
  reflector_.OnData(now_, 200, Gone());
  EXPECT_TRUE(reflector_.Drop(now_));
  EXPECT_THAT(reflector_.failure(), HasSubstr("410 Gone"));
  EXPECT_THAT(reflector_.NextRequest(now_), Optional(std::string("/api/v1/services?limit=2")));
  // a unchanged, b modified, c deleted, d new: over two pages.
  Answer(200, Page({Service("a", "1"), Service("b", "30")}, "40", "p2"));
  // Nothing is deleted before the last page.
  EXPECT_THAT(Shown(reflector_.TakeEvents()), ElementsAre("MODIFIED default/b 30"));
  ASSERT_TRUE(reflector_.NextRequest(now_));
  Answer(200, Page({Service("d", "35")}, "40"));
  EXPECT_THAT(Shown(reflector_.TakeEvents()),
              ElementsAre("ADDED default/d 35", "DELETED default/c"));
  EXPECT_EQ(reflector_.relists(), 1);
  EXPECT_EQ(reflector_.store().size(), 3u);
  EXPECT_THAT(reflector_.NextRequest(now_), Optional(HasSubstr("resourceVersion=40&")));
}

TEST_F(ReflectorTest, GoneAsTheStatusOfAContinuedPageStartsTheListAgain) {
  ASSERT_TRUE(reflector_.NextRequest(now_));
  Answer(200, Page({Service("a", "1"), Service("b", "2")}, "3", "p2"));
  ASSERT_THAT(reflector_.NextRequest(now_), Optional(HasSubstr("continue=p2")));
  Answer(410, R"({"kind":"Status","code":410,"message":"the continue token expired"})");
  EXPECT_THAT(reflector_.NextRequest(now_), Optional(std::string("/api/v1/services?limit=2")));
  Answer(200, Page({Service("b", "2")}, "9"));
  // a was given by the first attempt and is gone from the complete list.
  EXPECT_THAT(Shown(reflector_.TakeEvents()),
              ElementsAre("ADDED default/a 1", "ADDED default/b 2", "DELETED default/a"));
}

TEST_F(ReflectorTest, GoneAsTheStatusOfAWatchRelists) {
  ListThree();
  Answer(410, R"({"kind":"Status","code":410})");
  EXPECT_THAT(reflector_.NextRequest(now_), Optional(std::string("/api/v1/services?limit=2")));
}

TEST_F(ReflectorTest, ADroppedWatchResumesAfterBackoffAndDeletesNothing) {
  ListThree();
  reflector_.OnData(now_, 200, Event("MODIFIED", Service("a", "11")));
  reflector_.OnDone(now_, 200, "HTTP/2 stream 5 was not closed cleanly: PROTOCOL_ERROR");
  EXPECT_THAT(reflector_.failure(), HasSubstr("watch: HTTP/2 stream 5"));
  EXPECT_EQ(reflector_.NextRequest(now_), std::nullopt);
  // backoff_initial 1 s, random 0.5: 0.75 s.
  EXPECT_EQ(reflector_.Deadline(), now_ + absl::Milliseconds(750));
  now_ += absl::Milliseconds(750);
  EXPECT_THAT(reflector_.NextRequest(now_), Optional(HasSubstr("resourceVersion=11&")));
  EXPECT_THAT(Shown(reflector_.TakeEvents()), ElementsAre("MODIFIED default/a 11"));
}

TEST_F(ReflectorTest, AnUnreachableServerGivesNothing) {
  ListThree();
  reflector_.OnDone(now_, 0, "Connection reset by peer");
  for (int attempt = 0; attempt < 5; ++attempt) {
    now_ = reflector_.Deadline();
    ASSERT_TRUE(reflector_.NextRequest(now_));
    reflector_.OnDone(now_, 0, "Couldn't connect to server");
  }
  EXPECT_THAT(reflector_.TakeEvents(), IsEmpty());
  EXPECT_EQ(reflector_.store().size(), 3u);
  EXPECT_THAT(reflector_.failure(), HasSubstr("Couldn't connect"));
}

TEST_F(ReflectorTest, BackoffGrowsWithinItsBoundsAndResetsOnSuccess) {
  auto delays = [&](double random) {
    random_ = random;
    std::vector<absl::Duration> seen;
    for (int attempt = 0; attempt < 7; ++attempt) {
      now_ = std::max(now_, reflector_.Deadline());
      EXPECT_TRUE(reflector_.NextRequest(now_));
      Answer(503, R"({"kind":"Status","code":503,"message":"etcd unavailable"})");
      seen.push_back(reflector_.Deadline() - now_);
    }
    return seen;
  };
  const auto s = absl::Seconds(1);
  // Between half the ceiling (random 0) and the ceiling (random 1), which
  // doubles from backoff_initial up to backoff_max.
  EXPECT_THAT(delays(0), ElementsAre(s / 2, s, 2 * s, 4 * s, 8 * s, 8 * s, 8 * s));
  EXPECT_THAT(reflector_.failure(), HasSubstr("HTTP 503: etcd unavailable"));
  EXPECT_THAT(delays(1), ElementsAre(16 * s, 16 * s, 16 * s, 16 * s, 16 * s, 16 * s, 16 * s));
  // A list that succeeds starts the count again.
  now_ = reflector_.Deadline();
  ASSERT_TRUE(reflector_.NextRequest(now_));
  Answer(200, Page({}, "5"));
  ASSERT_TRUE(reflector_.NextRequest(now_));
  reflector_.OnDone(now_, 0, "Connection reset by peer");
  EXPECT_EQ(reflector_.Deadline() - now_, s);
}

TEST_F(ReflectorTest, AStormOf410BacksOffUntilAWatchDelivers) {
  ListThree();
  std::vector<absl::Duration> waits;
  for (int round = 0; round < 5; ++round) {
    Answer(410, R"({"kind":"Status","code":410})");
    waits.push_back(reflector_.Deadline() - now_);
    now_ = reflector_.Deadline();
    ASSERT_THAT(reflector_.NextRequest(now_), Optional(HasSubstr("limit=2")));
    Answer(200, Page({Service("a", "1"), Service("b", "2"), Service("c", "3")}, "3"));
    ASSERT_THAT(reflector_.NextRequest(now_), Optional(HasSubstr("watch=1")));
  }
  const auto s = absl::Seconds(1);
  // The first relist at once, then growing: the lists work, the watches not.
  EXPECT_THAT(waits, ElementsAre(absl::ZeroDuration(), 0.75 * s, 1.5 * s, 3 * s, 6 * s));
  EXPECT_EQ(reflector_.relists(), 5);
  // A watch that delivers ends the storm.
  reflector_.OnData(now_, 200, Bookmark("4"));
  Answer(410, R"({"kind":"Status","code":410})");
  EXPECT_EQ(reflector_.Deadline(), now_);
}

TEST_F(ReflectorTest, AStalledWatchIsDroppedAndResumed) {
  ListThree();
  // Bytes (a bookmark) keep it alive.
  now_ += absl::Seconds(29);
  EXPECT_FALSE(reflector_.Drop(now_));
  reflector_.OnData(now_, 200, Bookmark("7"));
  EXPECT_EQ(reflector_.Deadline(), now_ + absl::Seconds(30));
  now_ += absl::Seconds(29);
  EXPECT_FALSE(reflector_.Drop(now_));
  now_ += absl::Seconds(1);
  EXPECT_TRUE(reflector_.Drop(now_));
  EXPECT_THAT(reflector_.failure(), HasSubstr("no byte for 30s: stalled"));
  EXPECT_FALSE(reflector_.Drop(now_));
  // Whatever the dropped request still brings is not its business any more.
  reflector_.OnData(now_, 200, Event("ADDED", Service("late", "8")));
  EXPECT_THAT(reflector_.TakeEvents(), IsEmpty());
  now_ = reflector_.Deadline();
  EXPECT_THAT(reflector_.NextRequest(now_), Optional(HasSubstr("resourceVersion=7&")));
}

TEST_F(ReflectorTest, ALineThatIsNotJsonDropsTheWatch) {
  ListThree();
  reflector_.OnData(now_, 200, "<html>proxy error</html>\n");
  EXPECT_TRUE(reflector_.Drop(now_));
  EXPECT_THAT(reflector_.failure(), HasSubstr("not a JSON object"));
  now_ = reflector_.Deadline();
  EXPECT_THAT(reflector_.NextRequest(now_), Optional(HasSubstr("resourceVersion=3&")));
}

TEST_F(ReflectorTest, AnotherErrorEventBacksOffAndResumes) {
  ListThree();
  reflector_.OnData(
      now_, 200,
      Event("MODIFIED", Service("a", "11")) +
          Event("ERROR", {{"kind", "Status"}, {"code", 500}, {"message", "internal error"}}));
  EXPECT_TRUE(reflector_.Drop(now_));
  EXPECT_THAT(reflector_.failure(), HasSubstr("ERROR event: internal error"));
  EXPECT_EQ(reflector_.NextRequest(now_), std::nullopt);
  now_ = reflector_.Deadline();
  EXPECT_THAT(reflector_.NextRequest(now_), Optional(HasSubstr("resourceVersion=11&")));
  EXPECT_EQ(reflector_.relists(), 0);
}

TEST_F(ReflectorTest, EventsOfTheWrongShapeAreSkipped) {
  ListThree();
  reflector_.OnData(now_, 200,
                    R"({"type": 7, "object": {}})"
                    "\n"
                    R"({"type": "ADDED", "object": "web"})"
                    "\n"
                    R"({"type": "ERROR", "object": {"code": "410"}})"
                    "\n");
  // The last one still ends the watch; its code is not 410 (a string).
  EXPECT_TRUE(reflector_.Drop(now_));
  EXPECT_THAT(reflector_.TakeEvents(), IsEmpty());
  EXPECT_EQ(reflector_.relists(), 0);
}

TEST_F(ReflectorTest, AWatchThatEndsAtOnceWithNothingBacksOff) {
  ListThree();
  reflector_.OnDone(now_, 200, "");
  EXPECT_EQ(reflector_.NextRequest(now_), std::nullopt);
  EXPECT_GT(reflector_.Deadline(), now_);
}

}  // namespace
}  // namespace ferry::k8s
