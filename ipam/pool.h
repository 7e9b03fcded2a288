// ferry.dev/v1alpha1 LoadBalancerIPPool: the manifest's fields (PoolSpec, as
// decoded, unchecked) and the validated pool the Allocator takes (Pool).
#ifndef FERRY_IPAM_POOL_H_
#define FERRY_IPAM_POOL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/address.h"
#include "net/selector.h"
#include "ipam/free_ranges.h"

namespace ferry::ipam {

using net::FieldError;
using net::IpPrefix;
using net::LabelSelector;
using net::LabelSelectorSpec;

inline constexpr absl::string_view kPoolKind = "LoadBalancerIPPool";

// spec.blocks[]: either `cidr`, or `start` and `stop`; the others empty.
struct BlockSpec {
  std::string cidr;
  std::string start;
  std::string stop;
  bool operator==(const BlockSpec&) const = default;
};

struct PoolSpec {
  std::string name;  // metadata.name (the kind is cluster-scoped)
  std::vector<BlockSpec> blocks;
  // Absent and empty both select every Service. A Service's namespace is
  // seen as the label kNamespaceLabel (service.h).
  LabelSelectorSpec service_selector;
  bool disabled = false;
  bool allow_first_last_ips = false;
  bool avoid_buggy_ips = false;
  // metadata.creationTimestamp; InfinitePast when unknown (manifest mode),
  // so that pools are then ordered by name alone.
  absl::Time creation_timestamp = absl::InfinitePast();
  bool operator==(const PoolSpec&) const = default;
};

struct Block {
  IpAddress first;
  IpAddress last;
  std::optional<int> prefix_length;  // set for a `cidr` block

  IpFamily family() const { return first.family; }
  // "198.19.0.0/16" or "198.18.0.200-198.18.0.250".
  std::string ToString() const;
  // Every address of the block, the extent other pools may not overlap.
  Range Extent() const { return {ToInteger(first), ToInteger(last)}; }
  bool operator==(const Block&) const = default;
};

struct Pool {
  std::string name;
  std::vector<Block> blocks;
  LabelSelector service_selector;
  bool disabled = false;
  bool allow_first_last_ips = false;
  bool avoid_buggy_ips = false;
  absl::Time creation_timestamp = absl::InfinitePast();

  // The addresses of `block` this pool may give, before other pools are
  // considered: unless allowFirstLastIPs, an IPv4 CIDR of /30 or wider loses
  // its network and broadcast addresses, and an IPv6 CIDR of /126 or wider
  // its first, the Subnet-Router anycast address (RFC 4291 §2.6.1), which
  // routers on the prefix answer. avoidBuggyIPs is applied address by
  // address (SkipsBuggy), not here.
  Range GivableRange(const Block& block) const;
  bool SkipsBuggy(IpFamily family) const { return avoid_buggy_ips && family == IpFamily::kIPv4; }
  bool operator==(const Pool&) const = default;
};

// Older first: by creation timestamp, then by name. The older of two
// overlapping pools keeps the overlap.
bool IsOlder(const Pool& a, const Pool& b);

// Checks every field and returns every problem found, as
// `LoadBalancerIPPool NAME: FIELD: REASON; FIELD: REASON`, e.g.
// `LoadBalancerIPPool lan: spec.blocks[1].start: "198.18.0.250" is after
// stop "198.18.0.200"`.
absl::StatusOr<Pool> ParsePool(const PoolSpec& spec);
// The same problems, one FieldError each; empty exactly when ParsePool
// succeeds.
std::vector<FieldError> ValidatePool(const PoolSpec& spec);

}  // namespace ferry::ipam

#endif  // FERRY_IPAM_POOL_H_
