// Internal: raw BPF map syscalls with errors that name the map. Not part of
// the library's public surface.
#ifndef FERRY_AGENT_DATAPATH_MAP_IO_H_
#define FERRY_AGENT_DATAPATH_MAP_IO_H_

#include <cstdint>
#include <cstring>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath/maps.h"

namespace ferry::datapath::internal {

// An errno-carrying status: "<what> <map>: <strerror>".
absl::Status MapError(absl::string_view what, absl::string_view map, int err);

absl::Status Update(int fd, absl::string_view map, const void* key, const void* value);
// false when the key is absent.
absl::StatusOr<bool> Lookup(int fd, absl::string_view map, const void* key, void* value);
// OK when the key is absent.
absl::Status Delete(int fd, absl::string_view map, const void* key);

struct RawEntries {
  std::vector<uint8_t> keys;    // count * key_size
  std::vector<uint8_t> values;  // count * value_size
  size_t count = 0;
};
// Every entry, read in batches. value_size is the whole value as the
// syscall returns it (all CPUs' copies for a per-CPU map).
absl::StatusOr<RawEntries> ReadAll(int fd, absl::string_view map, size_t key_size,
                                   size_t value_size);

template <typename Key, typename Value>
absl::StatusOr<Entries<Key, Value>> ReadAllTyped(int fd, absl::string_view map) {
  absl::StatusOr<RawEntries> raw = ReadAll(fd, map, sizeof(Key), sizeof(Value));
  if (!raw.ok()) return raw.status();
  Entries<Key, Value> entries(raw->count);
  for (size_t i = 0; i < raw->count; ++i) {
    std::memcpy(&entries[i].first, raw->keys.data() + i * sizeof(Key), sizeof(Key));
    std::memcpy(&entries[i].second, raw->values.data() + i * sizeof(Value), sizeof(Value));
  }
  return entries;
}

// The kernel lays out a per-CPU value as one 8-byte-aligned copy per
// possible CPU.
absl::StatusOr<int> PossibleCpus();
inline size_t PerCpuStride(size_t value_size) { return (value_size + 7) & ~size_t{7}; }

}  // namespace ferry::datapath::internal

#endif  // FERRY_AGENT_DATAPATH_MAP_IO_H_
