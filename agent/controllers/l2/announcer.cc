#include "agent/controllers/l2/announcer.h"

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
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agent/controllers/condition.h"
#include "agent/datapath/fd.h"
#include "l2announce/announcer.h"
#include "l2announce/failover.h"
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
  const ferry_addr_key address = datapath::ToMapKey(vip);
  ferry_l2_announce_key key{};
  key.vip = address.addr;
  key.ifindex = static_cast<uint32_t>(ifindex);
  key.family = address.family;
  return key;
}

int TimeoutMs(absl::Time now, absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(deadline - now, absl::Milliseconds(1)));
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

}  // namespace

class L2Announcer::Impl {
 public:
  Impl(const L2AnnouncerConfig& config, datapath::LbMaps& maps, int ifindex,
       l2announce::MacAddress mac, std::unique_ptr<l2announce::AdvertisementChannel> channel,
       std::unique_ptr<l2announce::FrameSender> frames, datapath::Fd wake)
      : node_(config.node),
        uplink_(config.uplink),
        ifindex_(ifindex),
        mac_(mac),
        maps_(maps),
        channel_(std::move(channel)),
        frames_(std::move(frames)),
        wake_(std::move(wake)),
        lease_dir_(config.lease_dir),
        failover_({.node = config.node,
                   .interfaces = {config.uplink},
                   .incarnation = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())),
                   .liveness = config.liveness,
                   .announcements = config.announcements},
                  clock_),
        leases_(config.lease_dir),
        renewer_(config.node, config.node_leases) {}

  // Entries of another interface, or that name no address, are removed here;
  // the failover core decides about this interface's.
  void AdoptMap() {
    absl::StatusOr<datapath::Entries<ferry_l2_announce_key, ferry_l2_announce>> entries =
        maps_.ListL2Announcements();
    if (!entries.ok()) {
      Log(absl::StrCat("reading l2_announce: ", entries.status().message()));
      return;
    }
    std::vector<AnnouncementTarget> found;
    for (const auto& [key, value] : *entries) {
      const absl::StatusOr<IpAddress> vip = datapath::FromMap(key.vip, key.family);
      if (vip.ok() && static_cast<int>(key.ifindex) == ifindex_) {
        found.push_back({*vip, uplink_});
      } else if (absl::Status deleted = maps_.DeleteL2Announcement(key); !deleted.ok()) {
        Log(absl::StrCat("removing an entry of another interface: ", deleted.message()));
      }
    }
    absl::StatusOr<uint64_t> fence = maps_.L2LivenessDeadline();
    Carry(failover_.Adopt(found, fence.ok() ? absl::FromUnixNanos(static_cast<int64_t>(*fence))
                                            : absl::UnixEpoch()));
  }

  void StartThread() {
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
    Carry(how == Stopping::kLeaving ? failover_.Leave() : failover_.Restart());
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
      std::shared_ptr<const L2Inputs> inputs;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        inputs = inputs_;
      }
      if (inputs != applied_inputs_) {
        failover_.SetInputs(FailoverInputsOf(inputs));
        applied_inputs_ = std::move(inputs);
      }
      Receive();
      ReadLeases(absl::Now());
      Carry(failover_.Tick());
      Publish();
      WaitForWork();
    }
  }

  static std::shared_ptr<const l2announce::FailoverInputs> FailoverInputsOf(
      const std::shared_ptr<const L2Inputs>& inputs) {
    if (!inputs) return nullptr;
    return std::make_shared<const l2announce::FailoverInputs>(l2announce::FailoverInputs{
        .policies = inputs->policies,
        .services = inputs->services,
        .nodes = inputs->nodes,
        .storage = inputs,
    });
  }

  // Carries out the core's actions in order, each result reported before
  // the next action.
  void Carry(const std::vector<l2announce::FailoverAction>& actions) {
    for (const l2announce::FailoverAction& action : actions) {
      std::visit([this](const auto& each) { Do(each); }, action);
    }
  }

  void Do(const l2announce::StartAnswering& action) {
    ferry_l2_announce value{};
    std::copy(mac_.begin(), mac_.end(), value.mac);
    Carry(failover_.OnAnswered(
        action.target, maps_.UpsertL2Announcement(KeyOf(action.target.vip, ifindex_), value)));
  }

  void Do(const l2announce::StopAnswering& action) {
    Carry(failover_.OnWithdrawn(action.target,
                                maps_.DeleteL2Announcement(KeyOf(action.target.vip, ifindex_))));
  }

  void Do(const l2announce::SendAdvertisement& action) {
    Carry(failover_.OnAdvertisementSent(
        action.advertisement.sequence,
        channel_->Send(l2announce::EncodeAdvertisement(action.advertisement))));
  }

  void Do(const l2announce::SendAnnouncementFrame& action) {
    const std::vector<uint8_t> frame = l2announce::AnnouncementFrame(mac_, action.target.vip);
    if (absl::Status sent = frames_->Send(action.target.interface, frame); !sent.ok()) {
      Problem(absl::StrCat("announcing ", action.target.vip.ToString(), ": ", sent.message()));
      return;
    }
    ++frames_sent_;
  }

  void Do(const l2announce::SetFence& action) {
    const uint64_t nanos =
        action.deadline <= absl::UnixEpoch() ? 0 : l2announce::MonotonicNanos(action.deadline);
    if (absl::Status set = maps_.SetL2LivenessDeadline(nanos); !set.ok()) {
      Problem(absl::StrCat("pushing the fence: ", set.message()));
      return;
    }
    absl::MutexLock lock(&mu_);
    fence_ = action.deadline;
  }

  void Do(const l2announce::LogLine& action) { Log(action.text); }
  void Do(const l2announce::Problem& action) { Problem(action.text); }

  void Receive() {
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
      failover_.OnAdvertisement(*advertisement);
    }
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
    const l2announce::MembershipTracker& peers = failover_.peers();
    uint64_t listings = 0;
    {
      absl::MutexLock lock(&lease_mu_);
      listings = listings_;
      if (listings == listings_read_) {
        // A live peer whose lease looks expired has just renewed it, most
        // likely: look again now rather than leave it out for a period.
        relist_ = std::any_of(leases_seen_.begin(), leases_seen_.end(), [&](auto& lease) {
          return lease.ExpiredAt(wall) && peers.IsAlive(lease.node, now);
        });
        return;
      }
      leases_seen_ = listed_;
    }
    listings_read_ = listings;
    failover_.SetLeases(leases_seen_);
    // Every agent writes its lease as it starts: a peer heard for a while
    // without one writes to another store.
    if (wall - started_ < kLeaseListInterval * 5) return;
    const std::vector<std::string> unleased =
        l2announce::UnleasedPeers(leases_seen_, peers, now);
    if (!unleased.empty()) {
      Problem(absl::StrCat("peers ", absl::StrJoin(unleased, ", "), " advertise on ", uplink_,
                           " but hold no lease in ", lease_dir_.string(),
                           ": is --lease-dir shared by every node?"));
    }
  }

  void WaitForWork() {
    const absl::Time now = l2announce::MonotonicNow();
    std::array<pollfd, 2> fds = {pollfd{.fd = channel_->fd(), .events = POLLIN, .revents = 0},
                                 pollfd{.fd = wake_.get(), .events = POLLIN, .revents = 0}};
    if (poll(fds.data(), fds.size(), TimeoutMs(now, failover_.NextTick())) > 0 &&
        (fds[1].revents & POLLIN)) {
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

  void Publish() {
    const l2announce::FailoverStatus status = failover_.Status();
    agent::v1::L2Announcements out;
    out.set_node(node_);
    out.set_phase(std::string(l2announce::PhaseName(status.phase)));
    for (const std::string& node : status.live_nodes) out.add_live_nodes(node);
    for (const l2announce::Assignment& assignment : status.assignments) {
      agent::v1::L2Announcement* entry = out.add_announcements();
      entry->set_address(assignment.vip.ToString());
      entry->set_announcer(assignment.announcer.value_or(""));
      for (const AnnouncementTarget& target : status.answering) {
        if (target.vip == assignment.vip) entry->add_interfaces(target.interface);
      }
      if (auto since = status.since.find(assignment.vip); since != status.since.end()) {
        entry->set_since_unix_ns(absl::ToUnixNanos(since->second));
      }
      for (const std::string& service : assignment.services) entry->add_services(service);
      for (const std::string& policy : assignment.policies) entry->add_policies(policy);
      entry->set_pending(status.pending.contains(assignment.vip));
    }
    // Once elected, the core has elected the inputs it was last given.
    if (status.phase != l2announce::FailoverPhase::kListening && applied_inputs_) {
      for (const L2PolicyStatus& policy : applied_inputs_->policy_status) {
        agent::v1::L2PolicyStatus* policy_status = out.add_policies();
        policy_status->set_name(policy.name);
        for (const l2announce::Condition& condition : policy.conditions) {
          *policy_status->add_conditions() = ConditionProto(condition);
        }
      }
    }
    out.set_advertisements_sent(status.advertisements_sent);
    out.set_advertisements_received(status.advertisements_received);
    out.set_takeover_frames_sent(frames_sent_);
    absl::MutexLock lock(&mu_);
    if (absl::Now() - last_error_at_ < kProblemRepeat) out.set_last_error(last_error_);
    published_ = std::move(out);
  }

  const std::string node_;
  const std::string uplink_;
  const int ifindex_;
  const l2announce::MacAddress mac_;
  datapath::LbMaps& maps_;
  std::unique_ptr<l2announce::AdvertisementChannel> channel_;
  std::unique_ptr<l2announce::FrameSender> frames_;
  datapath::Fd wake_;  // eventfd: inputs changed or stopping
  std::thread thread_;

  // The thread's own.
  const std::filesystem::path lease_dir_;
  const absl::Time started_ = absl::Now();
  std::thread lease_thread_;
  l2announce::SystemClock clock_;
  l2announce::Failover failover_;
  std::shared_ptr<const L2Inputs> applied_inputs_;  // the last given to failover_
  std::vector<l2announce::NodeLease> leases_seen_;  // the listing in use
  uint64_t listings_read_ = 0;
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

absl::StatusOr<std::unique_ptr<L2Announcer>> L2Announcer::Start(
    const L2AnnouncerConfig& config, datapath::LbMaps& maps) {
  const int ifindex = static_cast<int>(if_nametoindex(config.uplink.c_str()));
  if (ifindex == 0) return absl::NotFoundError(absl::StrCat("uplink ", config.uplink));
  absl::StatusOr<l2announce::MacAddress> mac = InterfaceMac(config.uplink);
  if (!mac.ok()) return mac.status();
  std::error_code error;
  std::filesystem::create_directories(config.lease_dir, error);
  if (error) {
    return absl::PermissionDeniedError(absl::StrCat(
        "creating the lease directory ", config.lease_dir.string(), ": ", error.message()));
  }
  absl::StatusOr<std::unique_ptr<l2announce::UdpMulticastChannel>> channel =
      l2announce::UdpMulticastChannel::Open({.interface = config.uplink});
  if (!channel.ok()) return channel.status();
  absl::StatusOr<std::unique_ptr<l2announce::PacketSocketSender>> frames =
      l2announce::PacketSocketSender::Open();
  if (!frames.ok()) return frames.status();
  datapath::Fd wake(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) return absl::ErrnoToStatus(errno, "eventfd");
  auto impl = std::make_unique<Impl>(config, maps, ifindex, *mac, *std::move(channel),
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
