#include "ipam/layout.h"

#include <algorithm>

#include "ipam/service.h"

namespace ferry::ipam {
namespace {

bool Overlap(const Range& a, const Range& b) { return a.first <= b.last && b.first <= a.last; }

std::vector<Range> Subtract(const std::vector<Range>& pieces, const Range& taken) {
  std::vector<Range> rest;
  for (const Range& piece : pieces) {
    if (!Overlap(piece, taken)) {
      rest.push_back(piece);
      continue;
    }
    if (piece.first < taken.first) rest.push_back({piece.first, taken.first - 1});
    if (taken.last < piece.last) rest.push_back({taken.last + 1, piece.last});
  }
  return rest;
}

struct Claimed {
  Range extent;
  const std::string* pool;
};

}  // namespace

std::vector<PoolLayout> LayOut(const std::vector<const Pool*>& pools) {
  std::vector<PoolLayout> layouts;
  std::array<std::vector<Claimed>, 2> claimed;
  for (const Pool* pool : pools) {
    PoolLayout& layout = layouts.emplace_back();
    for (const Block& block : pool->blocks) {
      const int family = FamilyIndex(block.family());
      std::vector<Range> pieces = {pool->GivableRange(block)};
      for (const Claimed& older : claimed[family]) {
        if (!Overlap(block.Extent(), older.extent)) continue;
        if (std::find(layout.conflicts.begin(), layout.conflicts.end(), *older.pool) ==
            layout.conflicts.end()) {
          layout.conflicts.push_back(*older.pool);
        }
        pieces = Subtract(pieces, older.extent);
      }
      layout.givable[family].insert(layout.givable[family].end(), pieces.begin(), pieces.end());
    }
    for (const Block& block : pool->blocks) {
      claimed[FamilyIndex(block.family())].push_back({block.Extent(), &pool->name});
    }
    for (std::vector<Range>& ranges : layout.givable) {
      std::sort(ranges.begin(), ranges.end(),
                [](const Range& a, const Range& b) { return a.first < b.first; });
    }
  }
  return layouts;
}

}  // namespace ferry::ipam
