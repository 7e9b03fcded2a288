#include "l2announce/failover.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::l2announce {

using net::IpAddress;

absl::string_view PhaseName(FailoverPhase phase) {
  switch (phase) {
    case FailoverPhase::kListening: return "listening";
    case FailoverPhase::kDisabled: return "disabled";
    case FailoverPhase::kElecting: return "electing";
  }
  return "?";
}

Failover::Failover(FailoverConfig config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      advertiser_(config_.node, config_.incarnation, config_.liveness),
      tracker_(config_.node),
      scheduler_(config_.announcements) {
  const absl::Time now = clock_.Monotonic();
  listen_until_ = now + config_.liveness.Hold();
  next_advertisement_ = now;
  last_sent_ = now;
}

std::vector<FailoverAction> Failover::Adopt(std::span<const AnnouncementTarget> found,
                                            absl::Time fence) {
  std::vector<FailoverAction> actions;
  // A fence that lapsed while no agent ran: the peers have taken these VIPs
  // over, so answering them again, even while listening, would make two.
  if (fence <= clock_.Monotonic()) {
    for (const AnnouncementTarget& target : found) actions.push_back(StopAnswering{target});
    return actions;
  }
  answering_.insert(found.begin(), found.end());
  if (!answering_.empty()) {
    actions.push_back(LogLine{absl::StrCat(
        "adopted ", answering_.size(),
        " answered VIPs from the answer table; they stay until the first election")});
  }
  return actions;
}

void Failover::SetInputs(std::shared_ptr<const FailoverInputs> inputs) {
  inputs_ = std::move(inputs);
}

void Failover::SetLeases(std::vector<NodeLease> leases) { leases_ = std::move(leases); }

void Failover::OnAdvertisement(const Advertisement& advertisement) {
  if (tracker_.Observe(advertisement, clock_.Monotonic())) ++received_;
}

std::vector<FailoverAction> Failover::Tick() {
  const absl::Time now = clock_.Monotonic();
  std::vector<FailoverAction> actions;
  if (now - last_sent_ > config_.liveness.Hold() && !unheard_) actions = Unfreeze(now);
  if (now >= next_advertisement_) {
    // Right before the advertisement, whose fence waits for them.
    WithdrawStuck(actions);
    Advertise(advertiser_.Next(), now, actions);
    next_advertisement_ = std::max(next_advertisement_ + config_.liveness.interval, now);
  }
  tracker_.ForgetDeadBefore(now - absl::Hours(1));
  Elect(now, clock_.Wall(), actions);
  AnswerPending(now, actions);
  SendDueFrames(now, actions);
  return actions;
}

absl::Time Failover::NextTick() const {
  const absl::Time now = clock_.Monotonic();
  absl::Time next =
      std::min({next_advertisement_, scheduler_.NextDue(), tracker_.NextExpiry(now)});
  if (listen_until_ > now) next = std::min(next, listen_until_);
  for (const auto& [target, at] : pending_) next = std::min(next, at);
  return next;
}

// No advertisement went out for longer than a peer waits (the agent was
// frozen, or sending failed): the peers have taken this node's VIPs over.
// Stop answering before the next advertisement pushes the fence, and listen
// for one hold after it before electing again.
std::vector<FailoverAction> Failover::Unfreeze(absl::Time now) {
  std::vector<FailoverAction> actions = {LogLine{absl::StrCat(
      "no advertisement sent for ", absl::FormatDuration(now - last_sent_),
      ": peers took the VIPs over; withdrawing ", answering_.size(),
      " and listening before electing again")}};
  for (const AnnouncementTarget& target : answering_) actions.push_back(StopAnswering{target});
  answering_.clear();
  pending_.clear();
  owner_.clear();
  scheduler_.Update({}, now);
  elected_inputs_.reset();
  unheard_ = true;
  return actions;
}

void Failover::WithdrawStuck(std::vector<FailoverAction>& actions) const {
  for (const AnnouncementTarget& target : stuck_) actions.push_back(StopAnswering{target});
}

void Failover::Advertise(const Advertisement& advertisement, absl::Time now,
                         std::vector<FailoverAction>& actions) {
  in_flight_ = InFlight{advertisement, now};
  actions.push_back(SendAdvertisement{advertisement});
}

std::vector<FailoverAction> Failover::OnAdvertisementSent(uint64_t sequence,
                                                          const absl::Status& result) {
  std::vector<FailoverAction> actions;
  if (!in_flight_ || in_flight_->advertisement.sequence != sequence) return actions;
  const InFlight sent = *std::exchange(in_flight_, std::nullopt);
  if (!result.ok()) {
    // The peers did not hear it, so the fence stays where it was.
    actions.push_back(
        Problem{absl::StrCat("sending the liveness advertisement: ", result.message())});
    return actions;
  }
  ++sent_;
  last_sent_ = sent.at;
  if (unheard_) {
    unheard_ = false;
    listen_until_ = sent.at + config_.liveness.Hold();
  }
  if (!stuck_.empty()) {
    actions.push_back(Problem{absl::StrCat(
        stuck_.size(), stuck_.size() == 1 ? " VIP" : " VIPs",
        " could not be withdrawn from the answer table: the fence is left to lapse, so this "
        "node answers none")});
    return actions;
  }
  // A leaving node's fence is dropped by Leave, whatever became of this.
  if (sent.advertisement.hold > absl::ZeroDuration()) {
    actions.push_back(SetFence{advertiser_.FenceDeadline(sent.advertisement, sent.at)});
  }
  return actions;
}

void Failover::Elect(absl::Time now, absl::Time wall, std::vector<FailoverAction>& actions) {
  // Not before a hold after the first advertisement that went out: until
  // then the peers may still hold this node's VIPs.
  if (unheard_ || now < listen_until_ || !inputs_) return;
  std::vector<std::string> live = LiveNodes(leases_, tracker_, config_.node, wall, now);
  if (inputs_ == elected_inputs_ && live == elected_live_ && !answer_failed_) return;
  answer_failed_ = false;
  std::vector<ElectionNode> candidates;
  for (const ElectionNode& node : inputs_->nodes) {
    if (std::binary_search(live.begin(), live.end(), node.name)) candidates.push_back(node);
  }
  std::vector<Assignment> assignments = l2announce::Elect(inputs_->policies, inputs_->services,
                                                          candidates);

  std::set<AnnouncementTarget> wanted;
  std::map<IpAddress, std::string> owners;
  for (const Assignment& assignment : assignments) {
    const std::string announcer = assignment.announcer.value_or("");
    owners[assignment.vip] = announcer;
    auto [since, inserted] = since_.try_emplace(assignment.vip, wall);
    auto previous = owner_.find(assignment.vip);
    if (!inserted && (previous == owner_.end() || previous->second != announcer)) {
      since->second = wall;
    }
    if (announcer != config_.node) continue;
    for (const std::string& interface :
         AnnouncingInterfaces(assignment, inputs_->policies, config_.interfaces)) {
      wanted.insert({assignment.vip, interface});
    }
  }
  for (auto it = answering_.begin(); it != answering_.end();) {
    if (wanted.contains(*it)) {
      ++it;
      continue;
    }
    actions.push_back(StopAnswering{*it});
    it = answering_.erase(it);
  }
  std::erase_if(pending_, [&](const auto& entry) { return !wanted.contains(entry.first); });
  for (const AnnouncementTarget& target : wanted) {
    if (answering_.contains(target) || pending_.contains(target)) continue;
    auto previous = owner_.find(target.vip);
    const bool taken_from_live = previous != owner_.end() && !previous->second.empty() &&
                                 previous->second != config_.node &&
                                 tracker_.IsAlive(previous->second, now);
    if (taken_from_live) {
      pending_[target] = now + config_.liveness.interval;
    } else {
      actions.push_back(StartAnswering{target});
    }
  }
  std::erase_if(since_, [&](const auto& entry) { return !owners.contains(entry.first); });
  owner_ = std::move(owners);
  assignments_ = std::move(assignments);
  elected_inputs_ = inputs_;
  elected_live_ = std::move(live);
  scheduler_.Update(answering_, now);
}

void Failover::AnswerPending(absl::Time now, std::vector<FailoverAction>& actions) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    actions.push_back(StartAnswering{it->first});
    it = pending_.erase(it);
  }
}

void Failover::SendDueFrames(absl::Time now, std::vector<FailoverAction>& actions) {
  for (const AnnouncementTarget& target : scheduler_.Due(now)) {
    actions.push_back(SendAnnouncementFrame{target});
  }
}

std::vector<FailoverAction> Failover::OnAnswered(const AnnouncementTarget& target,
                                                 const absl::Status& result) {
  std::vector<FailoverAction> actions;
  if (!result.ok()) {
    answer_failed_ = true;  // elected again on the next Tick
    actions.push_back(
        Problem{absl::StrCat("answering for ", target.vip.ToString(), ": ", result.message())});
    return actions;
  }
  answering_.insert(target);
  stuck_.erase(target);  // written again: wanted after all
  actions.push_back(LogLine{
      absl::StrCat("answering for ", target.vip.ToString(), " on ", target.interface)});
  // The takeover burst starts now that the datapath answers.
  const absl::Time now = clock_.Monotonic();
  scheduler_.Update(answering_, now);
  SendDueFrames(now, actions);
  return actions;
}

std::vector<FailoverAction> Failover::OnWithdrawn(const AnnouncementTarget& target,
                                                  const absl::Status& result) {
  if (!result.ok() && !absl::IsNotFound(result)) {
    stuck_.insert(target);
    return {Problem{
        absl::StrCat("withdrawing ", target.vip.ToString(), ": ", result.message())}};
  }
  stuck_.erase(target);
  return {LogLine{absl::StrCat("no longer answering for ", target.vip.ToString(), " on ",
                               target.interface)}};
}

std::vector<FailoverAction> Failover::Restart() {
  std::vector<FailoverAction> actions;
  Advertise(advertiser_.Restarting(), clock_.Monotonic(), actions);
  actions.push_back(LogLine{absl::StrCat("restarting: peers wait ",
                                         absl::FormatDuration(config_.liveness.restart_hold),
                                         " for this node")});
  return actions;
}

std::vector<FailoverAction> Failover::Leave() {
  std::vector<FailoverAction> actions;
  for (const AnnouncementTarget& target : answering_) actions.push_back(StopAnswering{target});
  answering_.clear();
  pending_.clear();
  WithdrawStuck(actions);
  Advertise(advertiser_.Leaving(), clock_.Monotonic(), actions);
  actions.push_back(SetFence{absl::UnixEpoch()});
  actions.push_back(LogLine{"leaving: VIPs withdrawn, peers take over now"});
  return actions;
}

FailoverStatus Failover::Status() const {
  const absl::Time now = clock_.Monotonic();
  FailoverStatus status;
  status.phase = now < listen_until_ || !elected_inputs_ ? FailoverPhase::kListening
                 : elected_inputs_->policies.empty()      ? FailoverPhase::kDisabled
                                                          : FailoverPhase::kElecting;
  status.live_nodes = elected_live_;
  status.assignments = assignments_;
  status.answering = answering_;
  for (const auto& [target, at] : pending_) status.pending.insert(target.vip);
  status.since = since_;
  status.advertisements_sent = sent_;
  status.advertisements_received = received_;
  return status;
}

}  // namespace ferry::l2announce
