#include "l2announce/liveness.h"

#include <time.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ferry::l2announce {
namespace {

constexpr char kMagic[4] = {'F', 'L', '2', 'A'};
constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderLength = 32;

void PutBigEndian(std::vector<uint8_t>& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

uint64_t GetBigEndian(std::span<const uint8_t> bytes, size_t offset, int length) {
  uint64_t value = 0;
  for (int i = 0; i < length; ++i) value = (value << 8) | bytes[offset + i];
  return value;
}

uint32_t Millis(absl::Duration duration) {
  return static_cast<uint32_t>(std::clamp<int64_t>(absl::ToInt64Milliseconds(duration), 0, UINT32_MAX));
}

}  // namespace

absl::Status Validate(const LivenessConfig& config) {
  if (config.interval < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "liveness interval ", absl::FormatDuration(config.interval), " is below 1ms"));
  }
  if (!(config.dead_after_intervals > 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("liveness dead_after_intervals ", config.dead_after_intervals,
                     " must be above 1: the fence ends one interval before peers give up"));
  }
  if (config.restart_hold > kMaxHold) {
    return absl::InvalidArgumentError(absl::StrCat(
        "liveness restart_hold ", absl::FormatDuration(config.restart_hold),
        " is over the most peers accept, ", absl::FormatDuration(kMaxHold)));
  }
  if (config.restart_hold < config.Hold()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "liveness restart_hold ", absl::FormatDuration(config.restart_hold),
        " is shorter than the regular hold ", absl::FormatDuration(config.Hold())));
  }
  return absl::OkStatus();
}

std::vector<uint8_t> EncodeAdvertisement(const Advertisement& advertisement) {
  const size_t name_length = std::min(advertisement.node.size(), kMaxNodeNameLength);
  std::vector<uint8_t> out(kMagic, kMagic + sizeof(kMagic));
  out.push_back(kVersion);
  out.push_back(static_cast<uint8_t>(name_length));
  PutBigEndian(out, 0, 2);
  PutBigEndian(out, Millis(advertisement.interval), 4);
  PutBigEndian(out, Millis(advertisement.hold), 4);
  PutBigEndian(out, advertisement.incarnation, 8);
  PutBigEndian(out, advertisement.sequence, 8);
  out.insert(out.end(), advertisement.node.begin(), advertisement.node.begin() + name_length);
  return out;
}

absl::StatusOr<Advertisement> DecodeAdvertisement(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderLength) {
    return absl::InvalidArgumentError(absl::StrCat("advertisement of ", bytes.size(),
                                                   " bytes is shorter than its ", kHeaderLength,
                                                   "-byte header"));
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::InvalidArgumentError("not a Ferry L2 advertisement: no \"FL2A\" magic");
  }
  if (bytes[4] != kVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("advertisement version ", bytes[4], ", this agent reads ", kVersion));
  }
  const size_t name_length = bytes[5];
  if (name_length == 0 || bytes.size() != kHeaderLength + name_length) {
    return absl::InvalidArgumentError(absl::StrCat("advertisement names a ", name_length,
                                                   "-byte node in ", bytes.size() - kHeaderLength,
                                                   " bytes"));
  }
  Advertisement advertisement;
  advertisement.node.assign(bytes.begin() + kHeaderLength, bytes.end());
  if (!std::all_of(advertisement.node.begin(), advertisement.node.end(),
                   [](char c) { return c > ' ' && c < 0x7f; })) {
    return absl::InvalidArgumentError("advertisement node name is not printable ASCII");
  }
  advertisement.interval = absl::Milliseconds(GetBigEndian(bytes, 8, 4));
  advertisement.hold = absl::Milliseconds(GetBigEndian(bytes, 12, 4));
  advertisement.incarnation = GetBigEndian(bytes, 16, 8);
  advertisement.sequence = GetBigEndian(bytes, 24, 8);
  if (advertisement.interval == absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("advertisement from ", advertisement.node, " has a zero interval"));
  }
  // One stray packet must not keep a dead node's VIPs unanswered for long.
  if (advertisement.hold > kMaxHold) {
    return absl::InvalidArgumentError(
        absl::StrCat("advertisement from ", advertisement.node, " asks for a hold of ",
                     absl::FormatDuration(advertisement.hold), ", over the most allowed, ",
                     absl::FormatDuration(kMaxHold)));
  }
  return advertisement;
}

Advertiser::Advertiser(std::string node, uint64_t incarnation, LivenessConfig config)
    : node_(std::move(node)), incarnation_(incarnation), config_(config) {}

Advertisement Advertiser::Make(absl::Duration hold) {
  return {node_, incarnation_, ++sequence_, config_.interval, hold};
}

Advertisement Advertiser::Next() { return Make(config_.Hold()); }
Advertisement Advertiser::Restarting() { return Make(config_.restart_hold); }
Advertisement Advertiser::Leaving() { return Make(absl::ZeroDuration()); }

absl::Time Advertiser::FenceDeadline(const Advertisement& sent, absl::Time sent_at) const {
  return sent_at + sent.hold - sent.interval;
}

MembershipTracker::MembershipTracker(std::string self) : self_(std::move(self)) {}

bool MembershipTracker::Observe(const Advertisement& advertisement, absl::Time now) {
  if (advertisement.node == self_) return false;
  auto [it, inserted] = peers_.try_emplace(advertisement.node);
  Peer& peer = it->second;
  if (!inserted) {
    const bool alive = now < peer.expires;
    if (advertisement.incarnation == peer.incarnation && advertisement.sequence <= peer.sequence) {
      return false;
    }
    // A restarted agent's clock may have stepped back: once the previous
    // incarnation is dead, any incarnation is the new one.
    if (advertisement.incarnation < peer.incarnation && alive) return false;
  }
  peer = {advertisement.incarnation, advertisement.sequence, now + advertisement.hold};
  return true;
}

bool MembershipTracker::IsAlive(absl::string_view node, absl::Time now) const {
  const auto it = peers_.find(node);
  return it != peers_.end() && now < it->second.expires;
}

std::vector<std::string> MembershipTracker::AlivePeers(absl::Time now) const {
  std::vector<std::string> alive;
  for (const auto& [node, peer] : peers_) {
    if (now < peer.expires) alive.push_back(node);
  }
  return alive;
}

absl::Time MembershipTracker::NextExpiry(absl::Time now) const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [node, peer] : peers_) {
    if (now < peer.expires) next = std::min(next, peer.expires);
  }
  return next;
}

void MembershipTracker::ForgetDeadBefore(absl::Time cutoff) {
  std::erase_if(peers_, [&](const auto& entry) { return entry.second.expires < cutoff; });
}

absl::Time MonotonicNow() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return absl::TimeFromTimespec(now);
}

uint64_t MonotonicNanos(absl::Time monotonic) {
  return static_cast<uint64_t>(std::max<int64_t>(absl::ToUnixNanos(monotonic), 0));
}

}  // namespace ferry::l2announce
