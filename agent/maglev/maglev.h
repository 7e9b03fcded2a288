// Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4): the lookup
// table the datapath indexes with a flow's hash to pick a backend.
#ifndef FERRY_AGENT_MAGLEV_MAGLEV_H_
#define FERRY_AGENT_MAGLEV_MAGLEV_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ferry::maglev {

inline constexpr uint32_t kDefaultTableSize = 16381;
// The datapath's inner tables are arrays of this many slots at most.
inline constexpr uint32_t kMaxTableSize = 131071;

// OK for any prime 2 < m <= kMaxTableSize. A prime size makes every
// backend's permutation visit every slot.
absl::Status ValidateTableSize(uint64_t m);

struct Backend {
  // Stable identity, the same text on every node (the datapath uses the
  // pod's "addr:port"); it alone decides the backend's preferred slots.
  std::string key;
  // A backend of weight w gets w times the slots of a backend of weight 1.
  uint32_t weight = 1;
};

// Returns, for each of the table_size slots, the index into `backends` of
// the backend that owns it. The same set of backends yields the same
// key-to-slot assignment whatever order they are listed in, so every node
// computes the same table. Rejects an empty list, an empty or duplicate key,
// a zero weight, more backends than slots and a bad table size.
absl::StatusOr<std::vector<uint32_t>> BuildTable(std::span<const Backend> backends,
                                                 uint32_t table_size);

// The slot a flow lands in. This must stay exactly what the BPF program
// computes, ferry_flow_hash(&key, config.flow_hash_seed) % M, or user space
// and the datapath disagree on which backend a flow belongs to.
inline uint32_t SlotFor(uint32_t flow_hash, uint32_t table_size) {
  return flow_hash % table_size;
}

}  // namespace ferry::maglev

#endif  // FERRY_AGENT_MAGLEV_MAGLEV_H_
