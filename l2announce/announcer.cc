#include "l2announce/announcer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ferry::l2announce {

absl::Status Validate(const AnnouncementConfig& config) {
  if (config.takeover_count < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("announcement takeover_count ", config.takeover_count, " is below 1"));
  }
  if (config.takeover_spacing < absl::ZeroDuration() ||
      config.refresh_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("announcement spacing and refresh must not be negative");
  }
  return absl::OkStatus();
}

AnnouncementChange AnnouncementScheduler::Update(const std::set<AnnouncementTarget>& announced,
                                                 absl::Time now) {
  AnnouncementChange change;
  for (auto it = schedules_.begin(); it != schedules_.end();) {
    if (announced.contains(it->first)) {
      ++it;
      continue;
    }
    change.lost.push_back(it->first);
    it = schedules_.erase(it);
  }
  for (const AnnouncementTarget& target : announced) {
    if (schedules_.try_emplace(target, Schedule{now, config_.takeover_count}).second) {
      change.gained.push_back(target);
    }
  }
  return change;
}

std::vector<AnnouncementTarget> AnnouncementScheduler::Due(absl::Time now) {
  std::vector<AnnouncementTarget> due;
  for (auto& [target, schedule] : schedules_) {
    if (schedule.next > now) continue;
    due.push_back(target);
    if (schedule.burst_left > 0) --schedule.burst_left;
    if (schedule.burst_left > 0) {
      schedule.next = now + config_.takeover_spacing;
    } else if (config_.refresh_interval > absl::ZeroDuration()) {
      schedule.next = now + config_.refresh_interval;
    } else {
      schedule.next = absl::InfiniteFuture();
    }
  }
  return due;
}

absl::Time AnnouncementScheduler::NextDue() const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [target, schedule] : schedules_) next = std::min(next, schedule.next);
  return next;
}

}  // namespace ferry::l2announce
