// Small integer ids (indices into the datapath's arrays) for named things:
// services, backends, nodes.
//
// An id stays with its thing for as long as the thing exists, so a
// recomputation rewrites nothing that did not change. A released id is handed
// out again only once every never-used id is taken, oldest release first:
// conntrack entries name backend ids, and an entry left over from a deleted
// pod must find nothing (and be rescheduled) rather than a stranger that got
// the recycled id.
#ifndef FERRY_AGENT_LB_IDS_H_
#define FERRY_AGENT_LB_IDS_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace ferry::lb {

class IdAllocator {
 public:
  // Ids 0 .. capacity-1.
  explicit IdAllocator(uint32_t capacity);

  // The allocator of an agent that restarts over populated maps. `in_use`:
  // what the maps say each live thing has (ids out of range, and a second
  // claim on a key or an id, are dropped). `stale`: ids the maps still hold
  // for things that are gone; they are released now, after the free ids below
  // the highest recovered one, whose release time is unknown.
  static IdAllocator Recover(uint32_t capacity,
                             const std::vector<std::pair<std::string, uint32_t>>& in_use,
                             const std::vector<uint32_t>& stale);

  // Keeps the ids of the `live` keys that have one, releases the ids of every
  // other key, then gives ids to the live keys without one, in the order
  // listed. Returns the keys left without an id because none was free.
  std::vector<std::string> Sync(const std::vector<std::string>& live);

  // The key's id, given now if it has none; nullopt when none is free.
  std::optional<uint32_t> Acquire(absl::string_view key);
  // Frees the key's id (if it has one) for reuse, after the never-used ones.
  void Release(absl::string_view key);

  std::optional<uint32_t> Find(absl::string_view key) const;
  size_t size() const { return ids_.size(); }
  uint32_t capacity() const { return capacity_; }

 private:
  std::optional<uint32_t> Take();

  uint32_t capacity_;
  uint32_t next_unused_ = 0;       // every id from here up has never been given out
  std::deque<uint32_t> released_;  // oldest release first
  absl::flat_hash_map<std::string, uint32_t> ids_;
};

}  // namespace ferry::lb

#endif  // FERRY_AGENT_LB_IDS_H_
