#include "l2announce/failover.h"

#include <algorithm>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::l2announce {
namespace {

// On the monotonic clock; the wall clock runs alongside from kWallStart.
const absl::Time kStart = absl::FromUnixSeconds(1000);
const absl::Time kWallStart = absl::FromUnixSeconds(1'700'000'000);

absl::Time At(int ms) { return kStart + absl::Milliseconds(ms); }

}  // namespace

// Failures print actions readably, times as milliseconds since kStart.
std::string Describe(const AnnouncementTarget& target) {
  return absl::StrCat(target.vip.ToString(), " on ", target.interface);
}
void PrintTo(const StartAnswering& action, std::ostream* out) {
  *out << "StartAnswering(" << Describe(action.target) << ")";
}
void PrintTo(const StopAnswering& action, std::ostream* out) {
  *out << "StopAnswering(" << Describe(action.target) << ")";
}
void PrintTo(const SendAdvertisement& action, std::ostream* out) {
  *out << "SendAdvertisement(" << action.advertisement.node << " #"
       << action.advertisement.sequence << ", hold "
       << absl::FormatDuration(action.advertisement.hold) << ")";
}
void PrintTo(const SendAnnouncementFrame& action, std::ostream* out) {
  *out << "SendAnnouncementFrame(" << Describe(action.target) << ")";
}
void PrintTo(const SetFence& action, std::ostream* out) {
  *out << "SetFence("
       << (action.deadline == absl::UnixEpoch()
               ? std::string("epoch")
               : absl::StrCat(absl::ToInt64Milliseconds(action.deadline - kStart)))
       << ")";
}
void PrintTo(const LogLine& action, std::ostream* out) { *out << "LogLine(" << action.text << ")"; }
void PrintTo(const Problem& action, std::ostream* out) { *out << "Problem(" << action.text << ")"; }

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

net::IpAddress Ip(const std::string& text) { return *net::IpAddress::Parse(text); }

const AnnouncementTarget kWeb = {Ip("198.18.0.200"), "eth0"};
const AnnouncementTarget kWeb6 = {Ip("2001:db8:0:1::ff01"), "eth0"};

class FakeClock : public Clock {
 public:
  absl::Time Monotonic() const override { return now_; }
  absl::Time Wall() const override { return kWallStart + (now_ - kStart); }
  void Set(absl::Time now) { now_ = now; }

 private:
  absl::Time now_ = kStart;
};

FailoverConfig Config(const std::string& node) {
  return {.node = node, .interfaces = {"eth0"}, .incarnation = 7};
}

// A regular advertisement of the node's, as Config() sets it up.
FailoverAction Sent(const std::string& node, uint64_t sequence) {
  return SendAdvertisement{{node, 7, sequence, absl::Milliseconds(100), absl::Milliseconds(350)}};
}

// What FailoverInputs points into.
struct OwnedInputs {
  std::vector<PolicyMatcher> policies;
  std::vector<ElectionService> services;
  std::vector<ElectionNode> nodes;
};

// One policy announcing every Service on every node and interface.
std::shared_ptr<const FailoverInputs> Inputs(std::vector<ElectionService> services,
                                             const std::vector<std::string>& nodes) {
  auto owned = std::make_shared<OwnedInputs>();
  absl::StatusOr<PolicyMatcher> policy = PolicyMatcher::Compile({.name = "lan"});
  EXPECT_TRUE(policy.ok()) << policy.status();
  owned->policies.push_back(*std::move(policy));
  owned->services = std::move(services);
  for (const std::string& node : nodes) owned->nodes.push_back({node, {}});
  return std::make_shared<const FailoverInputs>(
      FailoverInputs{owned->policies, owned->services, owned->nodes, owned});
}

ElectionService Web(const net::IpAddress& vip) {
  return {.name = "default/web", .addresses = {.load_balancer_ips = {vip}}};
}

// externalTrafficPolicy: Local with its only ready endpoint on `node`.
ElectionService LocalWeb(const net::IpAddress& vip, const std::string& node) {
  ElectionService service = Web(vip);
  service.external_traffic_local = true;
  service.nodes_with_ready_endpoints = {node};
  return service;
}

// Plays the driver of one node: carries out the actions on a fake answer
// table, fence and link, reports their results, and records every action in
// the order it was carried out, each result's actions right after it.
struct TestNode {
  TestNode(FakeClock& clock, FailoverConfig config)
      : clock(clock), failover(std::move(config), clock) {}

  std::vector<FailoverAction> Carry(const std::vector<FailoverAction>& actions) {
    std::vector<FailoverAction> done;
    CarryInto(actions, done);
    return done;
  }
  std::vector<FailoverAction> Tick() { return Carry(failover.Tick()); }
  std::vector<FailoverAction> TickAt(int ms) {
    clock.Set(At(ms));
    return Tick();
  }

  // The datapath answers for the target now.
  bool Answers(const AnnouncementTarget& target) const {
    return table.contains(target) && clock.Monotonic() < fence;
  }
  // When the node carried out `action`, in milliseconds since kStart.
  std::vector<int64_t> Times(const FailoverAction& action) const {
    std::vector<int64_t> times;
    for (const auto& [at, done] : history) {
      if (done == action) times.push_back(absl::ToInt64Milliseconds(at - kStart));
    }
    return times;
  }
  std::vector<FailoverAction> DoneAt(int ms) const {
    std::vector<FailoverAction> done;
    for (const auto& [at, action] : history) {
      if (at == At(ms)) done.push_back(action);
    }
    return done;
  }

  FakeClock& clock;
  Failover failover;
  std::set<AnnouncementTarget> table;  // the answer table
  absl::Time fence = absl::UnixEpoch();
  std::set<AnnouncementTarget> failing_answers;
  std::set<AnnouncementTarget> failing_withdrawals;
  bool interface_up = true;  // sending fails while down
  // The link between this node and the others works (sending works either way).
  bool connected = true;
  bool frozen = false;  // not ticked; the datapath goes on
  bool woken = false;   // new inputs: ticked at once
  std::vector<Advertisement> outbox;
  std::vector<Advertisement> inbox;
  std::vector<std::pair<absl::Time, FailoverAction>> history;

 private:
  void CarryInto(const std::vector<FailoverAction>& actions, std::vector<FailoverAction>& done) {
    for (const FailoverAction& action : actions) {
      done.push_back(action);
      history.emplace_back(clock.Monotonic(), action);
      CarryInto(ResultOf(action), done);
    }
  }

  std::vector<FailoverAction> ResultOf(const FailoverAction& action) {
    if (const auto* answer = std::get_if<StartAnswering>(&action)) {
      if (failing_answers.contains(answer->target)) {
        return failover.OnAnswered(answer->target, absl::ResourceExhaustedError("map full"));
      }
      table.insert(answer->target);
      return failover.OnAnswered(answer->target, absl::OkStatus());
    }
    if (const auto* withdraw = std::get_if<StopAnswering>(&action)) {
      if (failing_withdrawals.contains(withdraw->target)) {
        return failover.OnWithdrawn(withdraw->target, absl::PermissionDeniedError("map frozen"));
      }
      return failover.OnWithdrawn(withdraw->target, table.erase(withdraw->target)
                                                        ? absl::OkStatus()
                                                        : absl::NotFoundError("no entry"));
    }
    if (const auto* send = std::get_if<SendAdvertisement>(&action)) {
      if (!interface_up) {
        return failover.OnAdvertisementSent(send->advertisement.sequence,
                                            absl::UnavailableError("network is down"));
      }
      if (connected) outbox.push_back(send->advertisement);
      return failover.OnAdvertisementSent(send->advertisement.sequence, absl::OkStatus());
    }
    if (const auto* set = std::get_if<SetFence>(&action)) fence = set->deadline;
    return {};
  }
};

// Nodes on one link, each ticked as its driver would: at NextTick(), and at
// once when an advertisement or new inputs reach it. Every advertisement
// reaches every other connected node at once.
class Lan {
 public:
  explicit Lan(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      nodes_.emplace(name, std::make_unique<TestNode>(clock_, Config(name)));
    }
  }

  TestNode& node(const std::string& name) { return *nodes_.at(name); }
  FakeClock& clock() { return clock_; }

  void SetInputs(const std::shared_ptr<const FailoverInputs>& inputs) {
    for (auto& [name, node] : nodes_) {
      node->failover.SetInputs(inputs);
      node->woken = true;
    }
  }

  // Runs everything due up to and including `end`. Notes in
  // `double_speakers` each time two connected nodes' datapaths answer for one
  // VIP at once.
  void RunUntil(absl::Time end) {
    for (int step = 0; step < 100'000; ++step) {
      Deliver();
      // As a driver sleeps: until the time asked before sleeping.
      std::map<std::string, absl::Time> due;
      absl::Time next = absl::InfiniteFuture();
      for (auto& [name, node] : nodes_) {
        if (node->frozen) continue;
        const bool mail = node->woken || !node->inbox.empty();
        due[name] = mail ? clock_.Monotonic() : node->failover.NextTick();
        next = std::min(next, due[name]);
      }
      next = std::max(next, clock_.Monotonic());
      if (next > clock_.Monotonic()) CheckOneSpeaker();
      if (next > end) {
        clock_.Set(end);
        return;
      }
      clock_.Set(next);
      for (auto& [name, node] : nodes_) {
        if (!due.contains(name) || due[name] > next) continue;
        for (const Advertisement& advertisement : std::exchange(node->inbox, {})) {
          node->failover.OnAdvertisement(advertisement);
        }
        node->woken = false;
        node->Tick();
      }
    }
    ADD_FAILURE() << "still running at " << clock_.Monotonic();
  }
  void RunUntil(int ms) { RunUntil(At(ms)); }

  // The node whose answer table holds the target.
  std::string Holder(const AnnouncementTarget& target) {
    for (auto& [name, node] : nodes_) {
      if (node->table.contains(target)) return name;
    }
    return "";
  }

  std::vector<std::string> double_speakers;

 private:
  void Deliver() {
    for (auto& [from, sender] : nodes_) {
      for (const Advertisement& advertisement : std::exchange(sender->outbox, {})) {
        for (auto& [to, receiver] : nodes_) {
          if (to != from && receiver->connected) receiver->inbox.push_back(advertisement);
        }
      }
    }
  }

  void CheckOneSpeaker() {
    std::map<AnnouncementTarget, std::vector<std::string>> speakers;
    for (auto& [name, node] : nodes_) {
      for (const AnnouncementTarget& target : node->table) {
        if (node->connected && node->Answers(target)) speakers[target].push_back(name);
      }
    }
    for (const auto& [target, names] : speakers) {
      if (names.size() > 1) {
        double_speakers.push_back(absl::StrCat(target.vip.ToString(), " at ",
                                               absl::FormatTime(clock_.Monotonic()), ": ",
                                               absl::StrJoin(names, ", ")));
      }
    }
  }

  FakeClock clock_;
  std::map<std::string, std::unique_ptr<TestNode>> nodes_;
};

TEST(FailoverTest, TakeoverAnswersAndSendsThreeFramesThenRefreshes) {
  FakeClock clock;
  FailoverConfig config = Config("node1");
  config.announcements.refresh_interval = absl::Seconds(1);
  TestNode node(clock, config);
  node.failover.SetInputs(Inputs({Web(kWeb.vip)}, {"node1"}));

  // Listening for one hold (350 ms); the fence follows each advertisement
  // at 350 - 100 ms.
  EXPECT_THAT(node.TickAt(0), ElementsAre(Sent("node1", 1), SetFence{At(250)}));
  EXPECT_EQ(node.failover.Status().phase, FailoverPhase::kListening);
  EXPECT_THAT(node.TickAt(100), ElementsAre(Sent("node1", 2), SetFence{At(350)}));
  EXPECT_THAT(node.TickAt(200), ElementsAre(Sent("node1", 3), SetFence{At(450)}));
  EXPECT_THAT(node.TickAt(300), ElementsAre(Sent("node1", 4), SetFence{At(550)}));
  EXPECT_EQ(node.failover.NextTick(), At(350));

  EXPECT_THAT(node.TickAt(350),
              ElementsAre(StartAnswering{kWeb}, LogLine{"answering for 198.18.0.200 on eth0"},
                          SendAnnouncementFrame{kWeb}));
  EXPECT_EQ(node.failover.Status().phase, FailoverPhase::kElecting);
  EXPECT_THAT(node.table, ElementsAre(kWeb));
  EXPECT_THAT(node.TickAt(400), ElementsAre(Sent("node1", 5), SetFence{At(650)}));
  EXPECT_EQ(node.failover.NextTick(), At(450));
  EXPECT_THAT(node.TickAt(450), ElementsAre(SendAnnouncementFrame{kWeb}));
  EXPECT_THAT(node.TickAt(500), ElementsAre(Sent("node1", 6), SetFence{At(750)}));
  EXPECT_THAT(node.TickAt(550), ElementsAre(SendAnnouncementFrame{kWeb}));

  // Then one frame every refresh interval.
  for (int ms = 600; ms < 1550; ms += 100) {
    EXPECT_THAT(node.TickAt(ms), ElementsAre(Sent("node1", 6 + (ms - 500) / 100),
                                             SetFence{At(ms + 250)}));
  }
  EXPECT_EQ(node.failover.NextTick(), At(1550));
  EXPECT_THAT(node.TickAt(1550), ElementsAre(SendAnnouncementFrame{kWeb}));
  EXPECT_EQ(node.failover.Status().advertisements_sent, 16u);
}

TEST(FailoverTest, AVipTakenFromALiveNodeIsAnsweredOneIntervalLater) {
  Lan lan({"node1", "node2"});
  lan.SetInputs(Inputs({LocalWeb(kWeb.vip, "node1")}, {"node1", "node2"}));
  lan.RunUntil(1000);
  ASSERT_EQ(lan.Holder(kWeb), "node1");

  // The endpoint moves: node1 lets go at once, node2 answers an interval
  // later, when node1 has surely let go.
  lan.clock().Set(At(1010));
  lan.SetInputs(Inputs({LocalWeb(kWeb.vip, "node2")}, {"node1", "node2"}));
  lan.RunUntil(1010);
  EXPECT_THAT(lan.node("node1").Times(StopAnswering{kWeb}), ElementsAre(1010));
  EXPECT_THAT(lan.node("node2").failover.Status().pending, ElementsAre(kWeb.vip));
  EXPECT_EQ(lan.node("node2").failover.NextTick(), At(1100));
  lan.RunUntil(2000);
  EXPECT_THAT(lan.node("node2").Times(StartAnswering{kWeb}), ElementsAre(1110));
  EXPECT_THAT(lan.node("node2").Times(SendAnnouncementFrame{kWeb}),
              ElementsAre(1110, 1210, 1310));
  EXPECT_THAT(lan.node("node2").failover.Status().pending, IsEmpty());
  EXPECT_EQ(lan.Holder(kWeb), "node2");
  EXPECT_THAT(lan.double_speakers, IsEmpty());
}

TEST(FailoverTest, AFrozenAgentStopsAnsweringBeforeItsPeersTakeOver) {
  Lan lan({"node1", "node2", "node3"});
  lan.SetInputs(Inputs({Web(kWeb.vip)}, {"node1", "node2", "node3"}));
  lan.RunUntil(1000);
  const std::string frozen = lan.Holder(kWeb);
  ASSERT_FALSE(frozen.empty());
  TestNode& victim = lan.node(frozen);

  // Its last advertisement went out at 1000: its datapath answers until
  // 1250, the peers declare it dead at 1000 + 3.5 intervals.
  victim.frozen = true;
  lan.RunUntil(2000);
  EXPECT_EQ(victim.fence, At(1250));
  std::string taker;
  for (const char* name : {"node1", "node2", "node3"}) {
    if (name != frozen && !lan.node(name).Times(StartAnswering{kWeb}).empty()) taker = name;
  }
  ASSERT_FALSE(taker.empty());
  EXPECT_THAT(lan.node(taker).Times(StartAnswering{kWeb}), ElementsAre(1350));
  EXPECT_THAT(lan.double_speakers, IsEmpty());

  // Thawed: it withdraws everything and listens for a hold before electing;
  // the VIP comes back to it then, its interim holder having let go as soon
  // as it was heard again.
  victim.frozen = false;
  lan.RunUntil(2000);
  EXPECT_THAT(victim.DoneAt(2000),
              ElementsAre(LogLine{"no advertisement sent for 1s: peers took the VIPs over; "
                                  "withdrawing 1 and listening before electing again"},
                          StopAnswering{kWeb},
                          LogLine{"no longer answering for 198.18.0.200 on eth0"},
                          Sent(frozen, 12), SetFence{At(2250)},
                          // The advertisement schedule, behind, catches up
                          // once, as the peers' mail wakes the node again.
                          Sent(frozen, 13), SetFence{At(2250)}));
  EXPECT_EQ(victim.failover.Status().phase, FailoverPhase::kListening);
  EXPECT_THAT(lan.node(taker).Times(StopAnswering{kWeb}), ElementsAre(2000));
  lan.RunUntil(3000);
  EXPECT_THAT(victim.Times(StartAnswering{kWeb}), ElementsAre(350, 2350));
  EXPECT_EQ(lan.Holder(kWeb), frozen);
  EXPECT_THAT(lan.double_speakers, IsEmpty());
}

TEST(FailoverTest, AFailedWithdrawalFencesTheNodeUntilARetrySucceeds) {
  Lan lan({"node1"});
  TestNode& node = lan.node("node1");
  lan.SetInputs(Inputs({Web(kWeb.vip)}, {"node1"}));
  lan.RunUntil(1000);
  ASSERT_THAT(node.table, ElementsAre(kWeb));

  // The Service goes, and removing its entry fails.
  node.failing_withdrawals = {kWeb};
  node.failover.SetInputs(Inputs({}, {"node1"}));
  const Problem failed{"withdrawing 198.18.0.200: map frozen"};
  EXPECT_THAT(node.TickAt(1050), ElementsAre(StopAnswering{kWeb}, failed));
  // Retried before each advertisement, whose fence waits for it.
  const Problem fenced{"1 VIP could not be withdrawn from the answer table: the fence is left "
                       "to lapse, so this node answers none"};
  EXPECT_THAT(node.TickAt(1100), ElementsAre(StopAnswering{kWeb}, failed, Sent("node1", 12), fenced));
  EXPECT_THAT(node.TickAt(1150), IsEmpty()) << "once an interval";
  EXPECT_THAT(node.TickAt(1200), ElementsAre(StopAnswering{kWeb}, failed, Sent("node1", 13), fenced));
  EXPECT_EQ(node.fence, At(1250));
  lan.clock().Set(At(1250));
  EXPECT_FALSE(node.Answers(kWeb)) << "the entry is there, the fence lapsed";

  node.failing_withdrawals.clear();
  EXPECT_THAT(node.TickAt(1300),
              ElementsAre(StopAnswering{kWeb},
                          LogLine{"no longer answering for 198.18.0.200 on eth0"},
                          Sent("node1", 14), SetFence{At(1550)}));
  EXPECT_THAT(node.table, IsEmpty());
  EXPECT_THAT(node.TickAt(1400), ElementsAre(Sent("node1", 15), SetFence{At(1650)}));
}

// Its entry is still in the table, so writing it again makes it answered:
// no retry may remove it afterwards.
TEST(FailoverTest, AVipWonBackWhileItsWithdrawalIsStuckStaysAnswered) {
  Lan lan({"node1"});
  TestNode& node = lan.node("node1");
  lan.SetInputs(Inputs({Web(kWeb.vip)}, {"node1"}));
  lan.RunUntil(1000);
  node.failing_withdrawals = {kWeb};
  node.failover.SetInputs(Inputs({}, {"node1"}));
  EXPECT_THAT(node.TickAt(1050),
              ElementsAre(StopAnswering{kWeb}, Problem{"withdrawing 198.18.0.200: map frozen"}));

  node.failover.SetInputs(Inputs({Web(kWeb.vip)}, {"node1"}));
  EXPECT_THAT(node.TickAt(1060),
              ElementsAre(StartAnswering{kWeb}, LogLine{"answering for 198.18.0.200 on eth0"},
                          SendAnnouncementFrame{kWeb}));
  EXPECT_THAT(node.TickAt(1100), ElementsAre(Sent("node1", 12), SetFence{At(1350)}));
  EXPECT_THAT(node.table, ElementsAre(kWeb));
  EXPECT_THAT(node.failover.Status().answering, ElementsAre(kWeb));
}

TEST(FailoverTest, AFailedAnswerIsElectedAgainOnTheNextTick) {
  FakeClock clock;
  TestNode node(clock, Config("node1"));
  node.failover.SetInputs(Inputs({Web(kWeb.vip)}, {"node1"}));
  node.failing_answers = {kWeb};
  for (int ms = 0; ms < 350; ms += 100) node.TickAt(ms);
  const Problem failed{"answering for 198.18.0.200: map full"};
  EXPECT_THAT(node.TickAt(350), ElementsAre(StartAnswering{kWeb}, failed));
  EXPECT_THAT(node.TickAt(400),
              ElementsAre(Sent("node1", 5), SetFence{At(650)}, StartAnswering{kWeb}, failed));
  node.failing_answers.clear();
  EXPECT_THAT(node.TickAt(500),
              ElementsAre(Sent("node1", 6), SetFence{At(750)}, StartAnswering{kWeb},
                          LogLine{"answering for 198.18.0.200 on eth0"},
                          SendAnnouncementFrame{kWeb}));
  EXPECT_THAT(node.TickAt(600), ElementsAre(Sent("node1", 7), SetFence{At(850)},
                                            SendAnnouncementFrame{kWeb}));
}

TEST(FailoverTest, AdoptedEntriesStayUntilTheFirstElection) {
  FakeClock clock;
  TestNode node(clock, Config("node1"));
  node.table = {kWeb, kWeb6};
  node.fence = At(200);  // a restarted agent's, with some of its restart hold left
  EXPECT_THAT(node.Carry(node.failover.Adopt(std::vector{kWeb, kWeb6}, At(200))),
              ElementsAre(LogLine{"adopted 2 answered VIPs from the answer table; they stay "
                                  "until the first election"}));
  node.failover.SetInputs(Inputs({Web(kWeb.vip)}, {"node1"}));
  for (int ms = 0; ms < 350; ms += 100) {
    EXPECT_THAT(node.TickAt(ms), ElementsAre(Sent("node1", ms / 100 + 1), SetFence{At(ms + 250)}));
  }
  // The election keeps one, without a StartAnswering but with a fresh burst.
  EXPECT_THAT(node.TickAt(350),
              ElementsAre(StopAnswering{kWeb6},
                          LogLine{"no longer answering for 2001:db8:0:1::ff01 on eth0"},
                          SendAnnouncementFrame{kWeb}));
  EXPECT_THAT(node.table, ElementsAre(kWeb));
}

TEST(FailoverTest, AdoptedEntriesWhoseFenceLapsedAreWithdrawnBeforeAnyFence) {
  FakeClock clock;
  TestNode node(clock, Config("node1"));
  node.table = {kWeb};
  node.failing_withdrawals = {kWeb};
  const Problem failed{"withdrawing 198.18.0.200: map frozen"};
  EXPECT_THAT(node.Carry(node.failover.Adopt(std::vector{kWeb}, At(0))),
              ElementsAre(StopAnswering{kWeb}, failed));
  EXPECT_THAT(node.TickAt(0),
              ElementsAre(StopAnswering{kWeb}, failed, Sent("node1", 1),
                          Problem{"1 VIP could not be withdrawn from the answer table: the fence "
                                  "is left to lapse, so this node answers none"}));
  EXPECT_EQ(node.fence, absl::UnixEpoch());
  node.failing_withdrawals.clear();
  EXPECT_THAT(node.TickAt(100),
              ElementsAre(StopAnswering{kWeb},
                          LogLine{"no longer answering for 198.18.0.200 on eth0"},
                          Sent("node1", 2), SetFence{At(350)}));
}

// The node's own interface goes down: its advertisements fail, so the fence
// stops moving, and once a hold passed without one it withdraws everything;
// back up, it listens for a hold and takes the VIP over again.
TEST(FailoverTest, AnInterfaceDownStopsTheFenceAndTheNodeListensWhenItIsBack) {
  Lan lan({"node1"});
  TestNode& node = lan.node("node1");
  lan.SetInputs(Inputs({Web(kWeb.vip)}, {"node1"}));
  lan.RunUntil(1000);
  ASSERT_THAT(node.table, ElementsAre(kWeb));

  node.interface_up = false;
  const Problem down{"sending the liveness advertisement: network is down"};
  EXPECT_THAT(node.TickAt(1100), ElementsAre(Sent("node1", 12), down));
  EXPECT_THAT(node.TickAt(1200), ElementsAre(Sent("node1", 13), down));
  EXPECT_THAT(node.TickAt(1300), ElementsAre(Sent("node1", 14), down));
  EXPECT_EQ(node.fence, At(1250));
  EXPECT_THAT(node.TickAt(1400),
              ElementsAre(LogLine{"no advertisement sent for 400ms: peers took the VIPs over; "
                                  "withdrawing 1 and listening before electing again"},
                          StopAnswering{kWeb},
                          LogLine{"no longer answering for 198.18.0.200 on eth0"},
                          Sent("node1", 15), down));
  EXPECT_EQ(node.failover.Status().phase, FailoverPhase::kListening);

  node.interface_up = true;
  EXPECT_THAT(node.TickAt(1500), ElementsAre(Sent("node1", 16), SetFence{At(1750)}));
  lan.RunUntil(2100);
  EXPECT_THAT(node.Times(StartAnswering{kWeb}), ElementsAre(350, 1850));
  EXPECT_THAT(node.Times(SendAnnouncementFrame{kWeb}),
              ElementsAre(350, 450, 550, 1850, 1950, 2050));
}

// The link between the VIP's announcer and its peer is cut: each side
// believes the other dead after a hold, and the peer takes the VIP too (the
// README's partition limit); once the link is back, the peer lets go at the
// first advertisement it hears.
TEST(FailoverTest, ACutLinkIsTakenOverAfterAHoldAndHandedBackWhenItHeals) {
  Lan lan({"node1", "node2"});
  lan.SetInputs(Inputs({Web(kWeb.vip)}, {"node1", "node2"}));
  lan.RunUntil(1000);
  const std::string owner = lan.Holder(kWeb);
  TestNode& cut = lan.node(owner);
  TestNode& peer = lan.node(owner == "node1" ? "node2" : "node1");

  cut.connected = false;
  lan.RunUntil(2000);
  EXPECT_THAT(peer.Times(StartAnswering{kWeb}), ElementsAre(1350));
  EXPECT_THAT(cut.Times(StopAnswering{kWeb}), IsEmpty()) << "alone on its side, it answers";
  EXPECT_THAT(lan.double_speakers, IsEmpty()) << "not on the same link";

  cut.connected = true;
  lan.RunUntil(2200);
  EXPECT_THAT(peer.Times(StopAnswering{kWeb}), ElementsAre(2100));
  EXPECT_THAT(cut.Times(StopAnswering{kWeb}), IsEmpty());
  EXPECT_THAT(cut.table, ElementsAre(kWeb));
}

// SIGTERM: the last advertisement asks the peers to wait the restart hold,
// and the fence follows it, so a restart moves nothing.
TEST(FailoverTest, ARestartingNodesPeersWaitTheRestartHold) {
  Lan lan({"node1", "node2"});
  lan.SetInputs(Inputs({Web(kWeb.vip)}, {"node1", "node2"}));
  lan.RunUntil(1000);
  const std::string owner = lan.Holder(kWeb);
  TestNode& restarting = lan.node(owner);
  TestNode& peer = lan.node(owner == "node1" ? "node2" : "node1");

  EXPECT_THAT(restarting.Carry(restarting.failover.Restart()),
              ElementsAre(SendAdvertisement{{owner, 7, 12, absl::Milliseconds(100),
                                             absl::Seconds(5)}},
                          SetFence{At(5900)}, LogLine{"restarting: peers wait 5s for this node"}));
  EXPECT_THAT(restarting.table, ElementsAre(kWeb));
  restarting.frozen = true;  // the agent is gone, its datapath goes on
  lan.RunUntil(5999);
  EXPECT_THAT(peer.Times(StartAnswering{kWeb}), IsEmpty());
  lan.RunUntil(6000);
  EXPECT_THAT(peer.Times(StartAnswering{kWeb}), ElementsAre(6000));
  EXPECT_THAT(lan.double_speakers, IsEmpty());
}

// SIGINT: everything is withdrawn, the fence drops and the peers take over
// at once.
TEST(FailoverTest, ALeavingNodesPeersTakeOverAtOnce) {
  Lan lan({"node1", "node2"});
  lan.SetInputs(Inputs({Web(kWeb.vip)}, {"node1", "node2"}));
  lan.RunUntil(1000);
  const std::string owner = lan.Holder(kWeb);
  TestNode& leaving = lan.node(owner);
  TestNode& peer = lan.node(owner == "node1" ? "node2" : "node1");

  EXPECT_THAT(leaving.Carry(leaving.failover.Leave()),
              ElementsAre(StopAnswering{kWeb},
                          LogLine{"no longer answering for 198.18.0.200 on eth0"},
                          SendAdvertisement{{owner, 7, 12, absl::Milliseconds(100),
                                             absl::ZeroDuration()}},
                          SetFence{absl::UnixEpoch()},
                          LogLine{"leaving: VIPs withdrawn, peers take over now"}));
  leaving.frozen = true;
  lan.RunUntil(1000);
  EXPECT_THAT(peer.Times(StartAnswering{kWeb}), ElementsAre(1000));
  EXPECT_THAT(lan.double_speakers, IsEmpty());
}

TEST(FailoverTest, NoPolicyIsReportedAsDisabled) {
  FakeClock clock;
  TestNode node(clock, Config("node1"));
  node.failover.SetInputs(std::make_shared<const FailoverInputs>());
  node.TickAt(0);
  EXPECT_EQ(node.failover.Status().phase, FailoverPhase::kListening);
  node.TickAt(350);
  EXPECT_EQ(node.failover.Status().phase, FailoverPhase::kDisabled);
  EXPECT_THAT(node.table, IsEmpty());
}

}  // namespace
}  // namespace ferry::l2announce
