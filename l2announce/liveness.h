// Liveness between the agents on a link, in the shape of VRRP (RFC 5798):
// every agent multicasts a small advertisement every `interval`; a peer not
// heard from for its advertised hold time (3.5 intervals by default, so
// 350 ms) is dead and its VIPs are re-elected among the others.
//
// The sender's side of the same clock is the fence: after each
// advertisement it sends, an agent lets its datapath answer until
// FenceDeadline(), one interval before any peer can declare it dead. A frozen
// agent therefore goes silent before another node takes over.
//
// An agent about to restart sends Restarting(): a longer hold, so peers wait
// for it and nothing moves; one shutting down for good sends Leaving(): hold
// zero, peers take over at once.
//
// Times here are monotonic (CLOCK_MONOTONIC as absl::Time since its epoch,
// see MonotonicNanos()); all of it is pure, the caller passes `now`.
#ifndef FERRY_L2ANNOUNCE_LIVENESS_H_
#define FERRY_L2ANNOUNCE_LIVENESS_H_

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ferry::l2announce {

struct LivenessConfig {
  absl::Duration interval = absl::Milliseconds(100);
  // Missed intervals after which a peer is dead (RFC 5798 uses 3 plus skew).
  double dead_after_intervals = 3.5;
  // The hold a restarting agent asks for: longer than its restart takes.
  absl::Duration restart_hold = absl::Seconds(5);

  absl::Duration Hold() const { return interval * dead_after_intervals; }
};

// InvalidArgument when the fence could not beat the peers' detection: the
// interval must be positive and at least 1 ms, dead_after_intervals above 1,
// restart_hold at least Hold() and at most kMaxHold.
absl::Status Validate(const LivenessConfig& config);

struct Advertisement {
  std::string node;
  // Differs on every start of the agent (its start time, for example) and
  // grows from one start to the next; sequence restarts with it.
  uint64_t incarnation = 0;
  uint64_t sequence = 0;  // grows with every advertisement of one incarnation
  absl::Duration interval;
  // How long peers may go without an advertisement before declaring the
  // sender dead; zero: it is leaving now.
  absl::Duration hold;
  bool operator==(const Advertisement&) const = default;
};

// Wire format, big-endian, 32 bytes then the name:
//   "FL2A" | version 1 (1 byte) | name length (1 byte) | 0 (2 bytes)
//   | interval ms (4) | hold ms (4) | incarnation (8) | sequence (8) | name
// Durations are rounded down to milliseconds.
inline constexpr size_t kMaxNodeNameLength = 253;  // a Kubernetes node name
// The longest hold an advertisement may ask for (a restarting agent's).
inline constexpr absl::Duration kMaxHold = absl::Minutes(10);
std::vector<uint8_t> EncodeAdvertisement(const Advertisement& advertisement);
// InvalidArgument saying what is wrong: short, wrong magic or version, a
// name of the wrong length or with bytes outside printable ASCII, a zero
// interval, a hold above kMaxHold.
absl::StatusOr<Advertisement> DecodeAdvertisement(std::span<const uint8_t> bytes);

// The sending side.
class Advertiser {
 public:
  Advertiser(std::string node, uint64_t incarnation, LivenessConfig config);

  Advertisement Next();        // the regular one
  Advertisement Restarting();  // hold = restart_hold
  Advertisement Leaving();     // hold = 0
  // Until when the datapath may answer after `sent` went out at `sent_at`:
  // one interval before the earliest time a peer declares this node dead.
  // Only a sent advertisement may move the deadline.
  absl::Time FenceDeadline(const Advertisement& sent, absl::Time sent_at) const;

 private:
  Advertisement Make(absl::Duration hold);

  std::string node_;
  uint64_t incarnation_;
  uint64_t sequence_ = 0;
  LivenessConfig config_;
};

// The receiving side: which peers are alive.
class MembershipTracker {
 public:
  explicit MembershipTracker(std::string self);

  // Records an advertisement received at `now`. Ignored (false): our own, a
  // sequence not above the last one of the same incarnation, an older
  // incarnation of a peer still alive (a stale packet of a previous run).
  bool Observe(const Advertisement& advertisement, absl::Time now);
  bool IsAlive(absl::string_view node, absl::Time now) const;
  // Sorted.
  std::vector<std::string> AlivePeers(absl::Time now) const;
  // When the next alive peer would be declared dead if nothing arrives, to
  // re-elect then; absl::InfiniteFuture() when none is alive.
  absl::Time NextExpiry(absl::Time now) const;
  // Forgets peers dead since before `cutoff`, so a node removed for good
  // does not stay in memory.
  void ForgetDeadBefore(absl::Time cutoff);

 private:
  struct Peer {
    uint64_t incarnation = 0;
    uint64_t sequence = 0;
    absl::Time expires;
  };

  std::string self_;
  std::map<std::string, Peer, std::less<>> peers_;
};

// CLOCK_MONOTONIC now, as the absl::Time that many nanoseconds after the
// Unix epoch: the clock bpf_ktime_get_ns() reads, for the fence deadline.
absl::Time MonotonicNow();
uint64_t MonotonicNanos(absl::Time monotonic);

}  // namespace ferry::l2announce

#endif  // FERRY_L2ANNOUNCE_LIVENESS_H_
