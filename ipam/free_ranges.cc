#include "ipam/free_ranges.h"

#include <algorithm>

namespace ferry::ipam {
namespace {

// Usable addresses below `value` when .0 and .255 are skipped: 254 in each
// full /24, plus those of the partial /24 above .0.
absl::uint128 UsableBelow(absl::uint128 value) {
  const absl::uint128 in_last_block = value & 0xff;
  return (value >> 8) * 254 + (in_last_block == 0 ? 0 : std::min<absl::uint128>(in_last_block - 1, 254));
}

// The first address at or after `value` that skip_buggy allows.
absl::uint128 FirstUsableFrom(absl::uint128 value, bool skip_buggy) {
  if (!skip_buggy) return value;
  const absl::uint128 low = value & 0xff;
  if (low == 255) return value + 2;
  if (low == 0) return value + 1;
  return value;
}

}  // namespace

absl::uint128 ToInteger(const IpAddress& address) {
  const int length = address.family == IpFamily::kIPv4 ? 4 : 16;
  absl::uint128 value = 0;
  for (int i = 0; i < length; ++i) value = (value << 8) | address.bytes[i];
  return value;
}

IpAddress FromInteger(IpFamily family, absl::uint128 value) {
  IpAddress address{.family = family};
  const int length = family == IpFamily::kIPv4 ? 4 : 16;
  for (int i = length - 1; i >= 0; --i) {
    address.bytes[i] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
  return address;
}

bool IsBuggyIPv4(absl::uint128 value) {
  const absl::uint128 low = value & 0xff;
  return low == 0 || low == 255;
}

absl::uint128 CountUsable(const Range& range, bool skip_buggy) {
  if (skip_buggy) return UsableBelow(range.last + 1) - UsableBelow(range.first);
  if (range.first == 0 && range.last == absl::Uint128Max()) return absl::Uint128Max();
  return range.last - range.first + 1;
}

FreeRanges::FreeRanges(const std::vector<Range>& ranges, bool skip_buggy)
    : skip_buggy_(skip_buggy) {
  for (const Range& range : ranges) ranges_.emplace(range.first, range.last);
}

std::optional<absl::uint128> FreeRanges::Lowest() {
  while (!ranges_.empty()) {
    auto front = ranges_.begin();
    const absl::uint128 candidate = FirstUsableFrom(front->first, skip_buggy_);
    // `candidate` can wrap only past the top of IPv4's space, which is far
    // from the top of a uint128, so comparing with `last` is enough.
    if (candidate <= front->second) return candidate;
    ranges_.erase(front);  // nothing in it can ever be handed out
  }
  return std::nullopt;
}

bool FreeRanges::Take(absl::uint128 value) {
  if (skip_buggy_ && IsBuggyIPv4(value)) return false;
  auto containing = ranges_.upper_bound(value);
  if (containing == ranges_.begin()) return false;
  --containing;
  const absl::uint128 first = containing->first;
  const absl::uint128 last = containing->second;
  if (value > last) return false;
  ranges_.erase(containing);
  if (first < value) ranges_.emplace(first, value - 1);
  if (value < last) ranges_.emplace(value + 1, last);
  return true;
}

void FreeRanges::Release(absl::uint128 value) {
  absl::uint128 first = value;
  absl::uint128 last = value;
  auto after = ranges_.upper_bound(value);
  if (after != ranges_.end() && after->first == value + 1) {
    last = after->second;
    after = ranges_.erase(after);
  }
  if (after != ranges_.begin()) {
    auto before = std::prev(after);
    if (before->second + 1 == value) {
      first = before->first;
      ranges_.erase(before);
    }
  }
  ranges_.emplace(first, last);
}

}  // namespace ferry::ipam
