// The free addresses of one pool in one family, as a set of intervals, so
// that taking the lowest free address, taking a given one and giving one back
// cost O(log intervals) whatever the size of the pool (an IPv6 /48 holds
// 2^80 addresses; nothing here is proportional to that).
#ifndef FERRY_IPAM_FREE_RANGES_H_
#define FERRY_IPAM_FREE_RANGES_H_

#include <optional>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/numeric/int128.h"
#include "net/address.h"

namespace ferry::ipam {

using net::IpAddress;
using net::IpFamily;

// An address as a number within its family (IPv4 uses the low 32 bits).
absl::uint128 ToInteger(const IpAddress& address);
IpAddress FromInteger(IpFamily family, absl::uint128 value);

// Inclusive at both ends.
struct Range {
  absl::uint128 first = 0;
  absl::uint128 last = 0;
  bool Contains(absl::uint128 value) const { return first <= value && value <= last; }
  bool operator==(const Range&) const = default;
};

// avoidBuggyIPs: IPv4 addresses ending in .0 or .255, which some old
// clients and middleboxes take for network or broadcast addresses.
bool IsBuggyIPv4(absl::uint128 value);

// How many addresses of `range` can be given; computed, never counted.
// The whole IPv6 space (2^128 addresses) saturates at 2^128-1.
absl::uint128 CountUsable(const Range& range, bool skip_buggy);

class FreeRanges {
 public:
  FreeRanges() = default;
  // `ranges` sorted and disjoint. skip_buggy: never hand out IsBuggyIPv4.
  FreeRanges(const std::vector<Range>& ranges, bool skip_buggy);

  // The lowest free usable address, if any.
  std::optional<absl::uint128> Lowest();
  // Removes `value`; false if it is not free or not usable.
  bool Take(absl::uint128 value);
  // Gives back an address that Take or Lowest handed out.
  void Release(absl::uint128 value);

 private:
  // first -> last. Intervals may also hold addresses that skip_buggy rules
  // out; they are dropped when found at the front of an interval.
  absl::btree_map<absl::uint128, absl::uint128> ranges_;
  bool skip_buggy_ = false;
};

}  // namespace ferry::ipam

#endif  // FERRY_IPAM_FREE_RANGES_H_
