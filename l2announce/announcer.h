// When to send gratuitous ARP / unsolicited neighbour advertisements: a
// burst of a few, spaced, when this node starts announcing a VIP on an
// interface (a gateway may miss one frame), then optionally one every
// refresh interval for gateways that age their entries out. Pure: the caller
// passes `now` and sends what Due() returns (frames.h builds the frames).
#ifndef FERRY_L2ANNOUNCE_ANNOUNCER_H_
#define FERRY_L2ANNOUNCE_ANNOUNCER_H_

#include <compare>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/address.h"

namespace ferry::l2announce {

struct AnnouncementConfig {
  int takeover_count = 3;  // frames per burst
  absl::Duration takeover_spacing = absl::Milliseconds(100);
  // Zero: no periodic refresh after the burst.
  absl::Duration refresh_interval = absl::ZeroDuration();
};

// InvalidArgument unless takeover_count >= 1, spacing >= 0, refresh >= 0.
absl::Status Validate(const AnnouncementConfig& config);

// A VIP answered on one interface of this node.
struct AnnouncementTarget {
  net::IpAddress vip;
  std::string interface;
  auto operator<=>(const AnnouncementTarget&) const = default;
};

struct AnnouncementChange {
  std::vector<AnnouncementTarget> gained;  // sorted
  std::vector<AnnouncementTarget> lost;    // sorted
  bool operator==(const AnnouncementChange&) const = default;
};

class AnnouncementScheduler {
 public:
  explicit AnnouncementScheduler(AnnouncementConfig config) : config_(config) {}

  // Replaces what this node announces. Gained targets get a burst whose
  // first frame is due at `now`; lost ones are dropped from the schedule.
  AnnouncementChange Update(const std::set<AnnouncementTarget>& announced, absl::Time now);
  // The targets whose frame is due at `now`, each once however late the
  // call is; their next frame is then scheduled from `now`.
  std::vector<AnnouncementTarget> Due(absl::Time now);
  // When Due() next returns something; absl::InfiniteFuture() if never.
  absl::Time NextDue() const;

 private:
  struct Schedule {
    absl::Time next;
    int burst_left;  // frames of the takeover burst still to send
  };

  AnnouncementConfig config_;
  std::map<AnnouncementTarget, Schedule> schedules_;
};

}  // namespace ferry::l2announce

#endif  // FERRY_L2ANNOUNCE_ANNOUNCER_H_
