#include "agent/ferryd/l2_announcer.h"

#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agent/datapath/fd.h"
#include "agent/ferryd/api_view.h"
#include "l2announce/announcer.h"
#include "l2announce/frames.h"
#include "l2announce/liveness.h"
#include "l2announce/node_lease.h"
#include "l2announce/sockets.h"

namespace ferry::ferryd {
namespace {

using l2announce::AnnouncementTarget;
using net::IpAddress;

// Leases change at most every renew interval; listing them this often
// notices a new node soon enough without reading the store on every tick.
constexpr absl::Duration kLeaseListInterval = absl::Seconds(1);
constexpr absl::Duration kProblemRepeat = absl::Minutes(1);

void Log(absl::string_view line) {
  const std::string stamp =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3S", absl::Now(), absl::LocalTimeZone());
  std::fprintf(stderr, "%s ferryd: l2: %.*s\n", stamp.c_str(), static_cast<int>(line.size()),
               line.data());
  std::fflush(stderr);
}

absl::StatusOr<l2announce::MacAddress> InterfaceMac(const std::string& name) {
  datapath::Fd socket_fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!socket_fd.valid()) return absl::ErrnoToStatus(errno, "opening a socket to ask the MAC");
  ifreq request{};
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(socket_fd.get(), SIOCGIFHWADDR, &request) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("reading the MAC of ", name));
  }
  l2announce::MacAddress mac;
  std::memcpy(mac.data(), request.ifr_hwaddr.sa_data, mac.size());
  return mac;
}

ferry_l2_announce_key KeyOf(const IpAddress& vip, int ifindex) {
  const datapath::IpAddress address = ToDatapath(vip);
  ferry_l2_announce_key key{};
  key.vip = address.addr;
  key.ifindex = static_cast<uint32_t>(ifindex);
  key.family = address.family;
  return key;
}

std::optional<IpAddress> VipOf(const ferry_l2_announce_key& key) {
  IpAddress vip;
  if (key.family == FERRY_FAMILY_IPV4) {
    vip.family = net::IpFamily::kIPv4;
    std::memcpy(vip.bytes.data(), &key.vip, 4);
  } else if (key.family == FERRY_FAMILY_IPV6) {
    vip.family = net::IpFamily::kIPv6;
    std::memcpy(vip.bytes.data(), &key.vip, 16);
  } else {
    return std::nullopt;
  }
  return vip;
}

int TimeoutMs(absl::Time now, absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(deadline - now, absl::Milliseconds(1)));
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

}  // namespace

class L2Announcer::Impl {
 public:
  Impl(const Options& options, datapath::LbMaps& maps, int ifindex, l2announce::MacAddress mac,
       std::unique_ptr<l2announce::AdvertisementChannel> channel,
       std::unique_ptr<l2announce::FrameSender> frames, datapath::Fd wake)
      : node_(options.node),
        uplink_(options.uplink),
        ifindex_(ifindex),
        mac_(mac),
        liveness_(options.l2_liveness),
        maps_(maps),
        channel_(std::move(channel)),
        frames_(std::move(frames)),
        wake_(std::move(wake)),
        lease_dir_(options.lease_dir),
        advertiser_(options.node, static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())),
                    options.l2_liveness),
        tracker_(options.node),
        scheduler_(options.l2_announcements),
        leases_(options.lease_dir),
        renewer_(options.node, options.node_leases) {}

  void AdoptMap() {
    absl::StatusOr<datapath::Entries<ferry_l2_announce_key, ferry_l2_announce>> entries =
        maps_.ListL2Announcements();
    if (!entries.ok()) {
      Log(absl::StrCat("reading l2_announce: ", entries.status().message()));
      return;
    }
    // A fence that lapsed while no agent ran: the peers have taken these VIPs
    // over, so answering them again, even while listening, would make two.
    absl::StatusOr<uint64_t> fence = maps_.L2LivenessDeadline();
    const bool lapsed =
        !fence.ok() || *fence <= l2announce::MonotonicNanos(l2announce::MonotonicNow());
    for (const auto& [key, value] : *entries) {
      std::optional<IpAddress> vip = VipOf(key);
      if (vip && static_cast<int>(key.ifindex) == ifindex_ && !lapsed) {
        answering_.insert({*vip, uplink_});
      } else if (absl::Status deleted = maps_.DeleteL2Announcement(key); !deleted.ok()) {
        Log(absl::StrCat("removing an entry of another interface: ", deleted.message()));
      }
    }
    if (!answering_.empty()) {
      Log(absl::StrCat("adopted ", answering_.size(),
                       " answered VIPs from the map; they stay until the first election"));
    }
  }

  void StartThread() {
    const absl::Time now = l2announce::MonotonicNow();
    listen_until_ = now + liveness_.Hold();
    next_advert_ = now;
    last_sent_ = now;
    lease_thread_ = std::thread([this] { KeepLeases(); });
    thread_ = std::thread([this] { Run(); });
  }

  void SetInputs(std::shared_ptr<const L2Inputs> inputs) {
    {
      absl::MutexLock lock(&mu_);
      inputs_ = std::move(inputs);
    }
    Wake();
  }

  void Stop(Stopping how) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = how;
    }
    Wake();
    if (thread_.joinable()) thread_.join();
    {
      absl::MutexLock lock(&lease_mu_);
      lease_stop_ = true;
    }
    if (lease_thread_.joinable()) lease_thread_.join();
    const absl::Time now = l2announce::MonotonicNow();
    if (how == Stopping::kLeaving) {
      for (const AnnouncementTarget& target : answering_) Withdraw(target);
      answering_.clear();
      RetryStuck();
      SendAdvertisement(advertiser_.Leaving(), now);
      SetFence(absl::UnixEpoch());
      Log("leaving: VIPs withdrawn, peers take over now");
    } else {
      SendAdvertisement(advertiser_.Restarting(), now);
      Log(absl::StrCat("restarting: peers wait ",
                       absl::FormatDuration(liveness_.restart_hold), " for this node"));
    }
  }

  agent::v1::L2Announcements Snapshot() const {
    absl::MutexLock lock(&mu_);
    agent::v1::L2Announcements out = published_;
    out.set_fence_remaining_ns(
        absl::ToInt64Nanoseconds(fence_ - l2announce::MonotonicNow()));
    return out;
  }

 private:
  void Wake() {
    const uint64_t one = 1;
    if (write(wake_.get(), &one, sizeof(one)) < 0) Log("waking the announcer failed");
  }

  void Run() {
    for (;;) {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
      }
      const absl::Time now = l2announce::MonotonicNow();
      if (now - last_sent_ > liveness_.Hold() && !unheard_) Unfreeze(now);
      RetryStuck();
      Receive(now);
      if (now >= next_advert_) {
        SendAdvertisement(advertiser_.Next(), now);
        next_advert_ = std::max(next_advert_ + liveness_.interval, now);
      }
      ReadLeases(absl::Now());
      Elect(now, absl::Now());
      AnswerPending(now);
      SendDueFrames(now);
      Publish(now);
      WaitForWork(now);
    }
  }

  // No advertisement went out for longer than a peer waits (this thread was
  // frozen, or sending failed): the peers have taken this node's VIPs over.
  // Stop answering before the next advertisement pushes the fence, and
  // listen for one hold after it before electing again.
  void Unfreeze(absl::Time now) {
    Log(absl::StrCat("no advertisement sent for ", absl::FormatDuration(now - last_sent_),
                     ": peers took the VIPs over; withdrawing ", answering_.size(),
                     " and listening before electing again"));
    for (const AnnouncementTarget& target : answering_) Withdraw(target);
    answering_.clear();
    pending_.clear();
    owner_.clear();
    scheduler_.Update({}, now);
    elected_inputs_.reset();
    unheard_ = true;
  }

  // Entries whose removal failed are still answered by XDP: retried on every
  // pass, and until they are gone the fence is not pushed, so this node
  // answers nothing rather than a VIP another node may hold.
  void RetryStuck() {
    std::erase_if(stuck_, [&](const AnnouncementTarget& target) { return Withdraw(target); });
  }

  void Receive(absl::Time now) {
    for (int i = 0; i < 1000; ++i) {
      absl::StatusOr<std::optional<std::vector<uint8_t>>> message = channel_->Receive();
      if (!message.ok()) {
        Problem(absl::StrCat("receiving advertisements: ", message.status().message()));
        return;
      }
      if (!*message) return;
      absl::StatusOr<l2announce::Advertisement> advertisement =
          l2announce::DecodeAdvertisement(**message);
      if (!advertisement.ok()) {
        Problem(absl::StrCat("a bad advertisement: ", advertisement.status().message()));
        continue;
      }
      if (tracker_.Observe(*advertisement, now)) ++received_;
    }
  }

  void SendAdvertisement(const l2announce::Advertisement& advertisement, absl::Time now) {
    absl::Status sent = channel_->Send(l2announce::EncodeAdvertisement(advertisement));
    if (!sent.ok()) {
      // The peers did not hear it, so the fence stays where it was.
      Problem(absl::StrCat("sending the liveness advertisement: ", sent.message()));
      return;
    }
    ++sent_;
    last_sent_ = now;
    if (unheard_) {
      unheard_ = false;
      listen_until_ = now + liveness_.Hold();
    }
    if (!stuck_.empty()) {
      Problem(absl::StrCat(stuck_.size(), " VIPs could not be withdrawn from l2_announce: the "
                           "fence is left to lapse, so this node answers none"));
      return;
    }
    SetFence(advertiser_.FenceDeadline(advertisement, now));
  }

  void SetFence(absl::Time deadline) {
    const uint64_t nanos = deadline <= absl::UnixEpoch() ? 0 : l2announce::MonotonicNanos(deadline);
    if (absl::Status set = maps_.SetL2LivenessDeadline(nanos); !set.ok()) {
      Problem(absl::StrCat("pushing the fence: ", set.message()));
      return;
    }
    absl::MutexLock lock(&mu_);
    fence_ = deadline;
  }

  // The lease store's own thread: a write ends in fsync, which can take
  // longer than a peer waits, and the advertisements may not wait for it.
  void KeepLeases() {
    absl::MutexLock lock(&lease_mu_);
    while (!lease_stop_) {
      const absl::Time wall = absl::Now();
      std::optional<l2announce::NodeLease> due = renewer_.Due(wall);
      relist_ = false;
      lease_mu_.Unlock();
      absl::Status written = due ? leases_.Write(*due) : absl::OkStatus();
      absl::StatusOr<l2announce::LeaseListing> listing = leases_.List();
      if (!written.ok()) Problem(absl::StrCat("renewing the node lease: ", written.message()));
      if (!listing.ok()) {
        Problem(absl::StrCat("listing node leases: ", listing.status().message()));
      } else {
        for (const std::string& problem : listing->problems) Problem(problem);
      }
      lease_mu_.Lock();
      if (due && written.ok()) renewer_.Written(*due);
      if (listing.ok()) {
        listed_ = std::move(listing->leases);
        ++listings_;
      }
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lease_mu_) {
        return lease_stop_ || relist_;
      };
      lease_mu_.AwaitWithTimeout(absl::Condition(&wake), kLeaseListInterval);
    }
  }

  // Takes the lease thread's latest listing.
  void ReadLeases(absl::Time wall) {
    const absl::Time now = l2announce::MonotonicNow();
    tracker_.ForgetDeadBefore(now - absl::Hours(1));
    uint64_t listings = 0;
    {
      absl::MutexLock lock(&lease_mu_);
      listings = listings_;
      if (listings == listings_read_) {
        // A live peer whose lease looks expired has just renewed it, most
        // likely: look again now rather than leave it out for a period.
        relist_ = std::any_of(leases_seen_.begin(), leases_seen_.end(), [&](auto& lease) {
          return lease.ExpiredAt(wall) && tracker_.IsAlive(lease.node, now);
        });
        return;
      }
      leases_seen_ = listed_;
    }
    listings_read_ = listings;
    // Every agent writes its lease as it starts: a peer heard for a while
    // without one writes to another store.
    if (wall - started_ < kLeaseListInterval * 5) return;
    const std::vector<std::string> unleased =
        l2announce::UnleasedPeers(leases_seen_, tracker_, now);
    if (!unleased.empty()) {
      Problem(absl::StrCat("peers ", absl::StrJoin(unleased, ", "), " advertise on ", uplink_,
                           " but hold no lease in ", lease_dir_.string(),
                           ": is --lease-dir shared by every node?"));
    }
  }

  void Elect(absl::Time now, absl::Time wall) {
    if (now < listen_until_) return;
    std::shared_ptr<const L2Inputs> inputs;
    {
      absl::MutexLock lock(&mu_);
      inputs = inputs_;
    }
    if (!inputs) return;
    std::vector<std::string> live = l2announce::LiveNodes(leases_seen_, tracker_, node_, wall, now);
    if (inputs == elected_inputs_ && live == elected_live_ && !answer_failed_) return;
    answer_failed_ = false;
    std::vector<l2announce::ElectionNode> candidates;
    for (const l2announce::ElectionNode& node : inputs->nodes) {
      if (std::binary_search(live.begin(), live.end(), node.name)) candidates.push_back(node);
    }
    std::vector<l2announce::Assignment> assignments =
        l2announce::Elect(inputs->policies, inputs->services, candidates);

    std::set<AnnouncementTarget> wanted;
    std::map<IpAddress, std::string> owners;
    const std::vector<std::string> interfaces = {uplink_};
    for (const l2announce::Assignment& assignment : assignments) {
      const std::string announcer = assignment.announcer.value_or("");
      owners[assignment.vip] = announcer;
      auto [since, inserted] = since_.try_emplace(assignment.vip, wall);
      auto previous = owner_.find(assignment.vip);
      if (!inserted && (previous == owner_.end() || previous->second != announcer)) {
        since->second = wall;
      }
      if (announcer != node_) continue;
      for (const std::string& interface :
           l2announce::AnnouncingInterfaces(assignment, inputs->policies, interfaces)) {
        wanted.insert({assignment.vip, interface});
      }
    }
    for (auto it = answering_.begin(); it != answering_.end();) {
      if (wanted.contains(*it)) {
        ++it;
        continue;
      }
      Withdraw(*it);
      it = answering_.erase(it);
    }
    std::erase_if(pending_, [&](const auto& entry) { return !wanted.contains(entry.first); });
    for (const AnnouncementTarget& target : wanted) {
      if (answering_.contains(target) || pending_.contains(target)) continue;
      auto previous = owner_.find(target.vip);
      const bool taken_from_live = previous != owner_.end() && !previous->second.empty() &&
                                   previous->second != node_ &&
                                   tracker_.IsAlive(previous->second, now);
      if (taken_from_live) {
        pending_[target] = now + liveness_.interval;
      } else {
        Answer(target);
      }
    }
    std::erase_if(since_, [&](const auto& entry) { return !owners.contains(entry.first); });
    owner_ = std::move(owners);
    assignments_ = std::move(assignments);
    elected_inputs_ = std::move(inputs);
    elected_live_ = std::move(live);
    scheduler_.Update(answering_, now);
  }

  void AnswerPending(absl::Time now) {
    bool answered = false;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second > now) {
        ++it;
        continue;
      }
      Answer(it->first);
      answered = true;
      it = pending_.erase(it);
    }
    if (answered) scheduler_.Update(answering_, now);
  }

  void Answer(const AnnouncementTarget& target) {
    ferry_l2_announce value{};
    std::copy(mac_.begin(), mac_.end(), value.mac);
    if (absl::Status written = maps_.UpsertL2Announcement(KeyOf(target.vip, ifindex_), value);
        !written.ok()) {
      Problem(absl::StrCat("answering for ", target.vip.ToString(), ": ", written.message()));
      answer_failed_ = true;  // elected again on the next pass
      return;
    }
    answering_.insert(target);
    Log(absl::StrCat("answering for ", target.vip.ToString(), " on ", target.interface));
  }

  // False when the entry is still in the map (it is then in stuck_).
  bool Withdraw(const AnnouncementTarget& target) {
    if (absl::Status deleted = maps_.DeleteL2Announcement(KeyOf(target.vip, ifindex_));
        !deleted.ok() && !absl::IsNotFound(deleted)) {
      Problem(absl::StrCat("withdrawing ", target.vip.ToString(), ": ", deleted.message()));
      stuck_.insert(target);
      return false;
    }
    Log(absl::StrCat("no longer answering for ", target.vip.ToString(), " on ",
                     target.interface));
    return true;
  }

  void SendDueFrames(absl::Time now) {
    for (const AnnouncementTarget& target : scheduler_.Due(now)) {
      const std::vector<uint8_t> frame = l2announce::AnnouncementFrame(mac_, target.vip);
      if (absl::Status sent = frames_->Send(target.interface, frame); !sent.ok()) {
        Problem(absl::StrCat("announcing ", target.vip.ToString(), ": ", sent.message()));
        continue;
      }
      ++frames_sent_;
    }
  }

  void WaitForWork(absl::Time now) {
    absl::Time until = std::min({next_advert_, scheduler_.NextDue(), tracker_.NextExpiry(now)});
    if (listen_until_ > now) until = std::min(until, listen_until_);
    for (const auto& [target, at] : pending_) until = std::min(until, at);
    std::array<pollfd, 2> fds = {pollfd{.fd = channel_->fd(), .events = POLLIN, .revents = 0},
                                 pollfd{.fd = wake_.get(), .events = POLLIN, .revents = 0}};
    if (poll(fds.data(), fds.size(), TimeoutMs(now, until)) > 0 && (fds[1].revents & POLLIN)) {
      uint64_t count = 0;
      if (read(wake_.get(), &count, sizeof(count)) < 0) Log("reading the wake-up event failed");
    }
  }

  // Logged at most once a minute each; the latest shown by ferryctl for a
  // minute. From either thread.
  void Problem(std::string line) {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    std::erase_if(logged_, [&](const auto& entry) { return now - entry.second > kProblemRepeat; });
    if (logged_.try_emplace(line, now).second) Log(line);
    last_error_ = std::move(line);
    last_error_at_ = now;
  }

  void Publish(absl::Time now) {
    agent::v1::L2Announcements out;
    out.set_node(node_);
    const bool listening = now < listen_until_ || !elected_inputs_;
    out.set_phase(listening                             ? "listening"
                  : elected_inputs_->policies.empty()   ? "disabled"
                                                        : "electing");
    for (const std::string& node : elected_live_) out.add_live_nodes(node);
    const std::set<IpAddress> pending_vips = [&] {
      std::set<IpAddress> vips;
      for (const auto& [target, at] : pending_) vips.insert(target.vip);
      return vips;
    }();
    for (const l2announce::Assignment& assignment : assignments_) {
      agent::v1::L2Announcement* entry = out.add_announcements();
      entry->set_address(assignment.vip.ToString());
      entry->set_announcer(assignment.announcer.value_or(""));
      for (const AnnouncementTarget& target : answering_) {
        if (target.vip == assignment.vip) entry->add_interfaces(target.interface);
      }
      if (auto since = since_.find(assignment.vip); since != since_.end()) {
        entry->set_since_unix_ns(absl::ToUnixNanos(since->second));
      }
      for (const std::string& service : assignment.services) entry->add_services(service);
      for (const std::string& policy : assignment.policies) entry->add_policies(policy);
      entry->set_pending(pending_vips.contains(assignment.vip));
    }
    if (elected_inputs_) {
      for (const L2PolicyStatus& policy : elected_inputs_->policy_status) {
        agent::v1::L2PolicyStatus* status = out.add_policies();
        status->set_name(policy.name);
        for (const l2announce::Condition& condition : policy.conditions) {
          *status->add_conditions() = ConditionProto(condition);
        }
      }
    }
    out.set_advertisements_sent(sent_);
    out.set_advertisements_received(received_);
    out.set_takeover_frames_sent(frames_sent_);
    absl::MutexLock lock(&mu_);
    if (absl::Now() - last_error_at_ < kProblemRepeat) out.set_last_error(last_error_);
    published_ = std::move(out);
  }

  const std::string node_;
  const std::string uplink_;
  const int ifindex_;
  const l2announce::MacAddress mac_;
  const l2announce::LivenessConfig liveness_;
  datapath::LbMaps& maps_;
  std::unique_ptr<l2announce::AdvertisementChannel> channel_;
  std::unique_ptr<l2announce::FrameSender> frames_;
  datapath::Fd wake_;  // eventfd: inputs changed or stopping
  std::thread thread_;

  // The thread's own.
  const std::filesystem::path lease_dir_;
  const absl::Time started_ = absl::Now();
  std::thread lease_thread_;
  l2announce::Advertiser advertiser_;
  l2announce::MembershipTracker tracker_;
  l2announce::AnnouncementScheduler scheduler_;
  std::vector<l2announce::NodeLease> leases_seen_;  // the listing in use
  uint64_t listings_read_ = 0;
  absl::Time listen_until_;
  absl::Time next_advert_;
  absl::Time last_sent_;  // of the last advertisement that went out
  // No advertisement went out for a hold: listening again from the next one.
  bool unheard_ = false;
  bool answer_failed_ = false;  // an election's map write failed: elect again
  std::set<AnnouncementTarget> stuck_;  // withdrawn but still in the map
  std::shared_ptr<const L2Inputs> elected_inputs_;
  std::vector<std::string> elected_live_;
  std::vector<l2announce::Assignment> assignments_;
  std::map<IpAddress, std::string> owner_;  // of the last election; "" for nobody
  std::map<IpAddress, absl::Time> since_;   // wall time the owner took it
  std::set<AnnouncementTarget> answering_;  // in the map
  std::map<AnnouncementTarget, absl::Time> pending_;  // won, answered from then
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
  uint64_t frames_sent_ = 0;


  mutable absl::Mutex mu_;
  std::shared_ptr<const L2Inputs> inputs_ ABSL_GUARDED_BY(mu_);
  std::optional<Stopping> stopping_ ABSL_GUARDED_BY(mu_);
  absl::Time fence_ ABSL_GUARDED_BY(mu_) = absl::UnixEpoch();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> logged_ ABSL_GUARDED_BY(mu_);  // problem -> when logged
  absl::Time last_error_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  agent::v1::L2Announcements published_ ABSL_GUARDED_BY(mu_);

  // The lease thread's; the store and renewer only it touches.
  l2announce::DirectoryLeaseStore leases_;
  absl::Mutex lease_mu_;
  l2announce::LeaseRenewer renewer_ ABSL_GUARDED_BY(lease_mu_);
  std::vector<l2announce::NodeLease> listed_ ABSL_GUARDED_BY(lease_mu_);
  uint64_t listings_ ABSL_GUARDED_BY(lease_mu_) = 0;
  bool relist_ ABSL_GUARDED_BY(lease_mu_) = false;
  bool lease_stop_ ABSL_GUARDED_BY(lease_mu_) = false;
};

absl::StatusOr<std::unique_ptr<L2Announcer>> L2Announcer::Start(const Options& options,
                                                               datapath::LbMaps& maps) {
  const int ifindex = static_cast<int>(if_nametoindex(options.uplink.c_str()));
  if (ifindex == 0) return absl::NotFoundError(absl::StrCat("uplink ", options.uplink));
  absl::StatusOr<l2announce::MacAddress> mac = InterfaceMac(options.uplink);
  if (!mac.ok()) return mac.status();
  std::error_code error;
  std::filesystem::create_directories(options.lease_dir, error);
  if (error) {
    return absl::PermissionDeniedError(absl::StrCat(
        "creating the lease directory ", options.lease_dir.string(), ": ", error.message()));
  }
  absl::StatusOr<std::unique_ptr<l2announce::UdpMulticastChannel>> channel =
      l2announce::UdpMulticastChannel::Open({.interface = options.uplink});
  if (!channel.ok()) return channel.status();
  absl::StatusOr<std::unique_ptr<l2announce::PacketSocketSender>> frames =
      l2announce::PacketSocketSender::Open();
  if (!frames.ok()) return frames.status();
  datapath::Fd wake(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) return absl::ErrnoToStatus(errno, "eventfd");
  auto impl = std::make_unique<Impl>(options, maps, ifindex, *mac, *std::move(channel),
                                     *std::move(frames), std::move(wake));
  impl->AdoptMap();
  impl->StartThread();
  return std::unique_ptr<L2Announcer>(new L2Announcer(std::move(impl)));
}

L2Announcer::L2Announcer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

L2Announcer::~L2Announcer() { impl_->Stop(Stopping::kRestarting); }

void L2Announcer::SetInputs(std::shared_ptr<const L2Inputs> inputs) {
  impl_->SetInputs(std::move(inputs));
}

void L2Announcer::Stop(Stopping how) { impl_->Stop(how); }

agent::v1::L2Announcements L2Announcer::Snapshot() const { return impl_->Snapshot(); }

}  // namespace ferry::ferryd
