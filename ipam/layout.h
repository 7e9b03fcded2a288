// Which addresses each pool may give once pools overlap: the older pool
// (IsOlder) keeps the overlap, the younger one gives nothing from it and
// names the older one in its Conflict condition.
#ifndef FERRY_IPAM_LAYOUT_H_
#define FERRY_IPAM_LAYOUT_H_

#include <array>
#include <string>
#include <vector>

#include "ipam/free_ranges.h"
#include "ipam/pool.h"

namespace ferry::ipam {

struct PoolLayout {
  // By FamilyIndex: sorted, disjoint; GivableRange of each block less every
  // older pool's block extents.
  std::array<std::vector<Range>, 2> givable;
  // The older pools whose blocks overlap this pool's, oldest first.
  std::vector<std::string> conflicts;
};

// `pools` oldest first; the result is in the same order.
std::vector<PoolLayout> LayOut(const std::vector<const Pool*>& pools);

}  // namespace ferry::ipam

#endif  // FERRY_IPAM_LAYOUT_H_
