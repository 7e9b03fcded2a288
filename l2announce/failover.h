// One node's side of L2 failover: which VIPs its datapath answers on the
// link, from when, and until when it may go on answering. It runs the
// election (election.h) over the live nodes (liveness.h, node_lease.h),
// compares the result with what the answer table holds, delays a VIP taken
// from a node that is still alive by one interval (that node lets go first),
// keeps the fence (the datapath's answering deadline) moving only after an
// advertisement went out and only while every entry it meant to remove is
// gone, and retries the removals that failed.
//
// Like bgp::Session it does no I/O and reads no clock of its own. A driver
// feeds it events (Tick, the On* and Set* calls) and carries out the actions
// each call returns, in order, reporting the result of each StartAnswering,
// StopAnswering and SendAdvertisement (OnAnswered, OnWithdrawn,
// OnAdvertisementSent) before it carries out the next action: the fence
// depends on those results. It calls Tick at NextTick(), and whenever
// advertisements or inputs arrive.
#ifndef FERRY_L2ANNOUNCE_FAILOVER_H_
#define FERRY_L2ANNOUNCE_FAILOVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "l2announce/announcer.h"
#include "l2announce/election.h"
#include "l2announce/liveness.h"
#include "l2announce/node_lease.h"
#include "l2announce/policy.h"
#include "net/address.h"

namespace ferry::l2announce {

class Clock {
 public:
  virtual ~Clock() = default;
  // CLOCK_MONOTONIC, as MonotonicNow() reads it: liveness, the fence, frames.
  virtual absl::Time Monotonic() const = 0;
  // Node leases (shared between machines), and since when a VIP's owner holds it.
  virtual absl::Time Wall() const = 0;
};

class SystemClock : public Clock {
 public:
  absl::Time Monotonic() const override { return MonotonicNow(); }
  absl::Time Wall() const override { return absl::Now(); }
};

struct FailoverConfig {
  std::string node;
  // This node's interfaces that can answer; a policy's `interfaces` select among them.
  std::vector<std::string> interfaces;
  uint64_t incarnation = 0;  // of this start of the agent (liveness.h)
  LivenessConfig liveness;
  AnnouncementConfig announcements;
};

// What the election runs on. The spans point into `storage`, which they keep
// alive.
struct FailoverInputs {
  std::span<const PolicyMatcher> policies;
  std::span<const ElectionService> services;
  std::span<const ElectionNode> nodes;  // every node, live or not
  std::shared_ptr<const void> storage;
};

// Actions the driver carries out.
struct StartAnswering {  // write the target's answer-table entry; report OnAnswered
  AnnouncementTarget target;
  bool operator==(const StartAnswering&) const = default;
};
struct StopAnswering {  // remove the target's entry; report OnWithdrawn
  AnnouncementTarget target;
  bool operator==(const StopAnswering&) const = default;
};
struct SendAdvertisement {  // multicast on the link; report OnAdvertisementSent
  Advertisement advertisement;
  bool operator==(const SendAdvertisement&) const = default;
};
struct SendAnnouncementFrame {  // gratuitous ARP or unsolicited NA (frames.h)
  AnnouncementTarget target;
  bool operator==(const SendAnnouncementFrame&) const = default;
};
struct SetFence {  // the datapath answers until then (monotonic); UnixEpoch: not at all
  absl::Time deadline;
  bool operator==(const SetFence&) const = default;
};
struct LogLine {  // a change worth a line in the log
  std::string text;
  bool operator==(const LogLine&) const = default;
};
struct Problem {  // something failed; it may come again on every pass
  std::string text;
  bool operator==(const Problem&) const = default;
};
using FailoverAction = std::variant<StartAnswering, StopAnswering, SendAdvertisement,
                                    SendAnnouncementFrame, SetFence, LogLine, Problem>;

enum class FailoverPhase {
  kListening,  // learning who is alive before the first election (or after a freeze)
  kDisabled,   // elected with no policy at all
  kElecting,
};
absl::string_view PhaseName(FailoverPhase phase);  // "listening", "disabled", "electing"

struct FailoverStatus {
  FailoverPhase phase = FailoverPhase::kListening;
  std::vector<std::string> live_nodes;  // of the last election, sorted
  std::vector<Assignment> assignments;  // of the last election
  std::set<AnnouncementTarget> answering;  // in the answer table
  std::set<net::IpAddress> pending;      // won, answered once the previous owner let go
  std::map<net::IpAddress, absl::Time> since;  // wall time each VIP's owner took it
  uint64_t advertisements_sent = 0;
  uint64_t advertisements_received = 0;  // accepted from peers
};

class Failover {
 public:
  // Listens from now: nothing is elected for one hold, while the peers are
  // heard, and until then the answer table keeps what Adopt() found.
  Failover(FailoverConfig config, const Clock& clock);

  // The entries of this node's interfaces found in the answer table at
  // start, and the fence found there (UnixEpoch when none). While that fence
  // holds they stay answered until the first election; once it lapsed the
  // peers have taken them over, so they are withdrawn.
  std::vector<FailoverAction> Adopt(std::span<const AnnouncementTarget> found, absl::Time fence);

  // Elected at the next Tick unless it is the inputs already elected.
  void SetInputs(std::shared_ptr<const FailoverInputs> inputs);
  // The coordination store's latest listing.
  void SetLeases(std::vector<NodeLease> leases);
  // One received from the link.
  void OnAdvertisement(const Advertisement& advertisement);

  std::vector<FailoverAction> Tick();
  // When Tick next has something to do.
  absl::Time NextTick() const;

  std::vector<FailoverAction> OnAnswered(const AnnouncementTarget& target,
                                         const absl::Status& result);
  // NotFound counts as removed.
  std::vector<FailoverAction> OnWithdrawn(const AnnouncementTarget& target,
                                          const absl::Status& result);
  std::vector<FailoverAction> OnAdvertisementSent(uint64_t sequence, const absl::Status& result);

  // The last calls but for the results of their actions. Restart: peers wait
  // the restart hold, and the entries and the fence stay, so nothing moves if
  // the agent is back in time. Leave: everything is withdrawn, the peers take
  // over at once and the fence drops.
  std::vector<FailoverAction> Restart();
  std::vector<FailoverAction> Leave();

  FailoverStatus Status() const;
  const MembershipTracker& peers() const { return tracker_; }

 private:
  std::vector<FailoverAction> Unfreeze(absl::Time now);
  void Advertise(const Advertisement& advertisement, absl::Time now,
                 std::vector<FailoverAction>& actions);
  void Elect(absl::Time now, absl::Time wall, std::vector<FailoverAction>& actions);
  void AnswerPending(absl::Time now, std::vector<FailoverAction>& actions);
  void SendDueFrames(absl::Time now, std::vector<FailoverAction>& actions);
  void WithdrawStuck(std::vector<FailoverAction>& actions) const;

  const FailoverConfig config_;
  const Clock& clock_;
  Advertiser advertiser_;
  MembershipTracker tracker_;
  AnnouncementScheduler scheduler_;
  std::vector<NodeLease> leases_;
  std::shared_ptr<const FailoverInputs> inputs_;

  absl::Time listen_until_;
  absl::Time next_advertisement_;
  absl::Time last_sent_;  // when the last advertisement that went out was sent
  struct InFlight {
    Advertisement advertisement;
    absl::Time at;
  };
  std::optional<InFlight> in_flight_;  // sent, its result not reported yet
  // No advertisement went out for a hold: listening again from the next one.
  bool unheard_ = false;
  bool answer_failed_ = false;  // a StartAnswering of the last election failed: elect again
  // Withdrawn but still in the table: retried before every advertisement,
  // and while any is left the fence is not pushed, so this node answers
  // nothing rather than a VIP another node may hold.
  std::set<AnnouncementTarget> stuck_;

  std::shared_ptr<const FailoverInputs> elected_inputs_;
  std::vector<std::string> elected_live_;
  std::vector<Assignment> assignments_;
  std::map<net::IpAddress, std::string> owner_;  // of the last election; "" for nobody
  std::map<net::IpAddress, absl::Time> since_;
  std::set<AnnouncementTarget> answering_;
  std::map<AnnouncementTarget, absl::Time> pending_;  // won, answered from then
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
};

}  // namespace ferry::l2announce

#endif  // FERRY_L2ANNOUNCE_FAILOVER_H_
